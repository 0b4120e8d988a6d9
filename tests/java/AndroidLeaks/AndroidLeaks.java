// Android leak situations rebuilt on a plain JVM with stand-in framework classes (android.*,
// androidx.*, leakcanary.*: real class and field names, no behaviour), then a heap dump of them.
// Run as `java AndroidLeaks <dump-path> [a|b|c|d [SDK_INT [MANUFACTURER]]]`. SCENARIOS.md says what
// the dump holds: for each scenario the leaking objects, their shortest strong path, what must not
// be reported and the retained payload.
//
// Variants: "a" (default) as in SCENARIOS.md; "b" the same bugs with other counts, payloads 16
// bytes bigger and other object ids; "c" as "a" but S1's activity hangs from another static field;
// "d" as "a" plus S18-S21 and an android.os.Build saying SDK_INT (default 21) and MANUFACTURER
// (default "samsung"). Only "d" loads android.os.Build and the classes of S18-S21.
//
// The dump is written with live=false: a live dump runs a full GC first, which would clear the
// weak references of S3 and of the LeakCanary watchers. Nothing built here may be near a GC either
// (the young generation of the default test options holds it all); main checks the referents.

import android.app.Activity;
import android.app.ActivityThread;
import android.os.Handler;
import android.os.Looper;
import android.os.Message;
import android.os.MessageQueue;
import android.text.TextLine;
import android.util.ArrayMap;
import android.view.ViewRootImpl;
import android.view.Window;
import android.view.inputmethod.InputMethodManager;
import androidx.lifecycle.Lifecycle;
import androidx.lifecycle.LifecycleRegistry;
import com.example.app.*;
import com.example.server.Connection;
import com.example.server.ConnectionPool;
import com.example.server.Session;
import com.example.server.SessionRegistry;
import com.squareup.leakcanary.RefWatcher;
import com.sun.management.HotSpotDiagnosticMXBean;
import java.lang.management.ManagementFactory;
import java.lang.ref.Reference;
import java.lang.ref.ReferenceQueue;
import java.lang.ref.SoftReference;
import java.lang.ref.WeakReference;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.concurrent.CopyOnWriteArraySet;

public class AndroidLeaks {
    public static void main(String[] args) throws Exception {
        // The management machinery allocates a lot: start it before building anything.
        HotSpotDiagnosticMXBean bean =
            ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
        String variant = args.length > 1 ? args[1] : "a";
        if (!variant.equals("a") && !variant.equals("b") && !variant.equals("c")
                && !variant.equals("d")) {
            throw new IllegalArgumentException("variant must be a, b, c or d: " + variant);
        }
        if (variant.equals("d")) {
            android.os.Build.VERSION.SDK_INT = args.length > 2 ? Integer.parseInt(args[2]) : 21;
            android.os.Build.MANUFACTURER = args.length > 3 ? args[3] : "samsung";
        }

        // Everything is built in methods that return nothing, so that no local variable of main
        // (a java-frame GC root) holds it -- except the one object that is meant to be.
        build(variant);
        checkReferents();

        // Frame-held case: also held by this local variable of main.
        FrameHeldActivity frameHeld = AppState.sFrameHeld;

        bean.dumpHeap(args[0], false);
        Reference.reachabilityFence(frameHeld);
    }

    static void build(String variant) {
        boolean b = variant.equals("b");
        if (b) {
            warmup();
        }
        int extra = b ? 16 : 0;  // variant b: every `payload` is 16 bytes bigger

        // Framework singletons.
        ExampleApp app = new ExampleApp();
        ExampleApp.sInstance = app;
        ActivityThread thread = new ActivityThread();
        thread.mActivities = new ArrayMap();
        thread.mServices = new ArrayMap();
        ActivityThread.sCurrentActivityThread = thread;
        Looper mainLooper = new Looper();
        mainLooper.mQueue = new MessageQueue();
        Looper.sMainLooper = mainLooper;
        // Classes that no object below uses, loaded so that they are in the dump.
        Class<?>[] present = {android.support.v4.app.Fragment.class, android.view.ViewGroup.class};

        // LeakCanary 2.x watcher (watches S1) and 1.x watcher (watches S7's activity).
        leakcanary.AppWatcher.objectWatcher = new leakcanary.ObjectWatcher();
        leakcanary.AppWatcher.objectWatcher.watchedObjects = new LinkedHashMap<>();
        RefWatcher refWatcher = new RefWatcher();
        refWatcher.retainedKeys = new CopyOnWriteArraySet<>();
        refWatcher.queue = new ReferenceQueue<>();
        ExampleApp.sRefWatcher = refWatcher;
        ExampleApp.sPendingChecks = new ArrayList<>();

        // S1 destroyed Activity held by a static field (another field in variant c).
        DetailActivity detail = activity(new DetailActivity(), app, true);
        detail.payload = new byte[2_000_000 + extra];
        if (variant.equals("c")) {
            AppState.sPreviousDetail = detail;
        } else {
            AppState.sLastDetail = detail;
        }
        String key = "key-detail";
        leakcanary.AppWatcher.objectWatcher.watchedObjects.put(key, new leakcanary.KeyedWeakReference(
            detail, key, "com.example.app.DetailActivity received Activity#onDestroy() callback",
            1_000L, 6_000L));

        // S2 live Activity, registered in ActivityThread.mActivities (through its record).
        MainActivity main = activity(new MainActivity(), app, false);
        ActivityThread.ActivityClientRecord mainRecord = new ActivityThread.ActivityClientRecord();
        mainRecord.activity = main;
        thread.mActivities.put(new Object(), mainRecord);

        // S3 destroyed activities held only weakly / only softly.
        WeakHeldActivity weakHeld = activity(new WeakHeldActivity(), app, true);
        weakHeld.payload = new byte[100_000 + extra];
        WeakCache.sRef = new WeakReference<>(weakHeld);
        SoftHeldActivity softHeld = activity(new SoftHeldActivity(), app, true);
        softHeld.payload = new byte[110_000 + extra];
        WeakCache.sSoftRef = new SoftReference<>(softHeld);

        // S4 destroyed androidx Fragment held by an event-bus listener; a live one beside it.
        EventBus.sListeners = new ArrayList<>();
        EventBus.sListeners.add(listener(fragment(false, 120_000 + extra)));
        EventBus.sListeners.add(listener(fragment(true, 130_000 + extra)));

        // S5 android.app.Fragment without a manager, held by a Runnable posted to the main queue.
        LegacyFragment legacy = new LegacyFragment();
        legacy.payload = new byte[140_000 + extra];
        Handler handler = new Handler();
        handler.mLooper = mainLooper;
        handler.mQueue = mainLooper.mQueue;
        Message posted = new Message();
        posted.target = handler;
        posted.callback = legacy.refreshTask();
        mainLooper.mQueue.mMessages = posted;

        // S6 detached root View.
        BannerView banner = new BannerView();
        banner.mContext = app;
        banner.mWindowAttachCount = 1;
        banner.payload = new byte[160_000 + extra];
        ViewCache.sBanner = banner;

        // S7 attached View whose context is a destroyed Activity (also watched by LeakCanary 1.x).
        SettingsActivity settings = activity(new SettingsActivity(), app, true);
        settings.payload = new byte[170_000 + extra];
        PreviewView preview = new PreviewView();
        preview.mContext = settings;
        preview.mParent = new Object();
        preview.mAttachInfo = new Object();
        preview.mWindowAttachCount = 1;
        Themes.sPreview = preview;
        refWatcher.retainedKeys.add("key-settings");
        ExampleApp.sPendingChecks.add(new com.squareup.leakcanary.KeyedWeakReference(
            settings, "key-settings", "com.example.app.SettingsActivity", refWatcher.queue));

        // S8 destroyed Window; ViewRootImpl without a view.
        Window window = new Window();
        window.mDestroyed = true;
        window.mContext = context(180_000 + extra);
        Dialogs.sLastWindow = window;
        ViewRootImpl root = new ViewRootImpl();
        root.mContext = context(190_000 + extra);
        Dialogs.sLastRoot = root;

        // S9 Service the ActivityThread no longer knows; a live one it does.
        SyncService sync = new SyncService();
        sync.payload = new byte[200_000 + extra];
        SyncService.sInstance = sync;
        LiveService live = new LiveService();
        live.payload = new byte[210_000 + extra];
        LiveService.sInstance = live;
        thread.mServices.put(new Object(), live);

        // S10 cleared ViewModel; a live one in the same list.
        CartRepository.sObservers = new ArrayList<>();
        CartRepository.sObservers.add(viewModel(true, 220_000 + extra));
        CartRepository.sObservers.add(viewModel(false, 230_000 + extra));

        // S11 MessageQueue that has quit, with a message still in it.
        MessageQueue quit = new MessageQueue();
        quit.mQuitting = true;
        quit.mMessages = new Message();
        quit.mMessages.obj = new byte[240_000 + extra];
        Workers.sQueue = quit;

        // S12 InputMethodManager.mNextServedView: a detached View of a destroyed Activity.
        SearchActivity search = activity(new SearchActivity(), app, true);
        search.payload = new byte[250_000 + extra];
        SearchBox box = new SearchBox();
        box.mContext = search;
        box.mWindowAttachCount = 1;
        InputMethodManager.sInstance = new InputMethodManager();
        InputMethodManager.sInstance.mNextServedView = box;

        // S13 ActivityThread.mNewActivities: a record of a destroyed Activity.
        SplashActivity splash = activity(new SplashActivity(), app, true);
        splash.payload = new byte[260_000 + extra];
        ActivityThread.ActivityClientRecord newRecord = new ActivityThread.ActivityClientRecord();
        newRecord.activity = splash;
        thread.mNewActivities = newRecord;

        // S14 TextLine.sCached: text whose span references a destroyed Activity.
        ReaderActivity reader = activity(new ReaderActivity(), app, true);
        reader.payload = new byte[270_000 + extra];
        SpannedText text = new SpannedText();
        text.span = reader;
        TextLine line = new TextLine();
        line.mText = text;
        TextLine.sCached[0] = line;

        // S15 many destroyed Activities held by one list.
        int items = b ? 45 : 30;
        History.sVisited = new ArrayList<>();
        for (int i = 0; i < items; i++) {
            ItemActivity item = activity(new ItemActivity(), app, true);
            item.payload = new byte[10_000 + extra];
            History.sVisited.add(item);
        }

        // S16 many ArticleCells held by two holders, and one big ImageCache.
        main.adapter = new ArticleAdapter();
        main.adapter.cells = new ArrayList<>();
        for (int i = 0, n = b ? 310 : 280; i < n; i++) {
            main.adapter.cells.add(cell());
        }
        Prefetcher.sQueue = new ArrayDeque<>();
        for (int i = 0, n = b ? 90 : 84; i < n; i++) {
            Prefetcher.sQueue.add(cell());
        }
        ImageCache.sInstance = new ImageCache();
        ImageCache.sInstance.entries = new HashMap<>();
        for (int i = 0; i < 8; i++) {
            ImageCache.sInstance.entries.put("img-" + i, new byte[1_000_000]);
        }

        // S17 classes for users' own rules.
        ConnectionPool.sAll = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            Connection connection = new Connection();
            connection.closed = i < 3;
            connection.state = connection.closed ? "CLOSED" : "OPEN";
            connection.owner = new byte[5_000 + extra];
            ConnectionPool.sAll.add(connection);
        }
        SessionRegistry.sSessions = new Session[3];
        for (int i = 0; i < 3; i++) {
            SessionRegistry.sSessions[i] = new Session();
        }
        SessionRegistry.sSessions[1].owner = new byte[6_000 + extra];

        // Frame-held case: a destroyed Activity held by a static field (and, in main, a local).
        // No mApplication: through it the java-frame root would reach ExampleApp's class, and its
        // static fields, in fewer steps than the class loader does.
        FrameHeldActivity frameHeld = activity(new FrameHeldActivity(), null, true);
        frameHeld.payload = new byte[280_000 + extra];
        AppState.sFrameHeld = frameHeld;

        if (variant.equals("d")) {
            RuleCases.build(app);  // another class: a and c load none of its classes
        }
        Reference.reachabilityFence(present);
    }

    static <A extends Activity> A activity(A activity, ExampleApp app, boolean destroyed) {
        activity.mApplication = app;
        activity.mDestroyed = destroyed;
        activity.mFinished = destroyed;
        return activity;
    }

    static ProfileFragment fragment(boolean live, int payload) {
        ProfileFragment fragment = new ProfileFragment();
        fragment.mFragmentManager = live ? new Object() : null;
        fragment.mCalled = true;
        fragment.mLifecycleRegistry = new LifecycleRegistry();
        fragment.mLifecycleRegistry.mState =
            live ? Lifecycle.State.RESUMED : Lifecycle.State.DESTROYED;
        fragment.payload = new byte[payload];
        return fragment;
    }

    static ProfileListener listener(ProfileFragment fragment) {
        ProfileListener listener = new ProfileListener();
        listener.fragment = fragment;
        return listener;
    }

    static DialogContext context(int payload) {
        DialogContext context = new DialogContext();
        context.payload = new byte[payload];
        return context;
    }

    static CartViewModel viewModel(boolean cleared, int payload) {
        CartViewModel model = new CartViewModel();
        model.mCleared = cleared;
        model.payload = new byte[payload];
        return model;
    }

    static ArticleCell cell() {
        ArticleCell cell = new ArticleCell();
        cell.image = new byte[150_000];
        return cell;
    }

    /** Variant b: unrelated live objects and some garbage first, so every object id differs. */
    static void warmup() {
        Warmup.sKeep = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            Warmup.sKeep.add(i % 2 == 0 ? new Object() : "warm-" + i);
            byte[] garbage = new byte[1000 + i];
            garbage[0] = (byte) i;
        }
    }

    /** Fails if a GC ran before the dump (it would have cleared the weak references). */
    static void checkReferents() {
        Reference<?>[] references = {WeakCache.sRef, WeakCache.sSoftRef,
            leakcanary.AppWatcher.objectWatcher.watchedObjects.get("key-detail"),
            ExampleApp.sPendingChecks.get(0)};
        for (Reference<?> reference : references) {
            if (reference.get() == null) {
                throw new IllegalStateException("a GC ran before the dump: " + reference);
            }
        }
    }
}

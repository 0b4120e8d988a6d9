// Variant d of AndroidLeaks (SCENARIOS.md, S18-S21): fields an app class declares with the names
// of the framework's, chains of context wrappers, and a field only Samsung's builds have. A class
// of its own, so that the other variants do not load these classes (the verifier of a method loads
// the classes whose assignments it checks).

import com.example.app.*;

public class RuleCases {
    static void build(ExampleApp app) {
        // S18 MyActivity declares its own mDestroyed, set opposite to the framework's.
        // activity() sets Activity#mDestroyed, `x.mDestroyed` MyActivity's own.
        MyActivity destroyed = AndroidLeaks.activity(new MyActivity(), app, true);
        destroyed.mDestroyed = false;
        destroyed.payload = new byte[290_000];
        RuleHolders.sShadowDestroyed = destroyed;
        MyActivity alive = AndroidLeaks.activity(new MyActivity(), app, false);
        alive.mDestroyed = true;
        alive.payload = new byte[300_000];
        RuleHolders.sShadowAlive = alive;

        // S19 LabelView declares its own mContext; both views are attached.
        LabelView leaking = attached(new LabelView());
        LabelActivity first = AndroidLeaks.activity(new LabelActivity(), app, true);
        first.payload = new byte[310_000];
        ((android.view.View) leaking).mContext = first;  // View#mContext
        leaking.mContext = app;  // LabelView#mContext
        RuleHolders.sLabelLeaking = leaking;
        LabelView held = attached(new LabelView());
        LabelActivity second = AndroidLeaks.activity(new LabelActivity(), app, true);
        second.payload = new byte[320_000];
        ((android.view.View) held).mContext = app;
        held.mContext = second;
        RuleHolders.sLabelAlive = held;

        // S20 an attached View whose context is 3 wrappers around a destroyed Activity, and one
        // whose context wrappers form a cycle.
        ChainActivity chained = AndroidLeaks.activity(new ChainActivity(), app, true);
        chained.payload = new byte[330_000];
        TintContext tint = new TintContext();
        tint.mBase = chained;
        LocaleContext locale = new LocaleContext();
        locale.mBase = tint;
        android.view.ContextThemeWrapper themed = new android.view.ContextThemeWrapper();
        themed.mBase = locale;
        ChainView chain = attached(new ChainView());
        chain.mContext = themed;
        RuleHolders.sChain = chain;
        LocaleContext loopA = new LocaleContext();
        TintContext loopB = new TintContext();
        loopA.mBase = loopB;
        loopB.mBase = loopA;
        ChainView loop = attached(new ChainView());
        loop.mContext = loopA;
        RuleHolders.sLoop = loop;

        // S21 Samsung's static TextView.mLastHoveredView: a detached TextView of a destroyed
        // Activity, held by nothing else.
        HoverActivity hover = AndroidLeaks.activity(new HoverActivity(), app, true);
        hover.payload = new byte[340_000];
        android.widget.TextView hovered = new android.widget.TextView();
        hovered.mContext = hover;
        hovered.mWindowAttachCount = 1;
        android.widget.TextView.mLastHoveredView = hovered;
    }

    static <V extends android.view.View> V attached(V view) {
        view.mParent = new Object();
        view.mAttachInfo = new Object();
        view.mWindowAttachCount = 1;
        return view;
    }
}

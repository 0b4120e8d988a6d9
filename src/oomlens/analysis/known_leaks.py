"""Known references from the platform that keep app objects alive ("library leaks").

Some leak traces end in a reference the app did not create and cannot clear in the normal way:
a framework singleton, an OS inner class held over IPC, or a field a phone manufacturer added to
a framework class. Reporting those as the app's own leaks sends people hunting in the wrong
place, so the analyser matches each step of a path against ``LIBRARY_LEAKS`` and, when one
matches, labels the leak as caused by the platform and shows the description. Separately,
``IGNORED_REFERENCES`` lists references that never keep an object alive in a way that matters
(reference queues, finalizer bookkeeping, LeakCanary's own holders), so path finding may skip
them.

Facts from LeakCanary's AndroidReferenceMatchers, Apache-2.0, descriptions written for oomlens.
The ignored references also come from its JdkReferenceMatchers. Only patterns that name a
(class, field) pair are kept; thread-local and JNI-global patterns are left out.

A pattern may be limited to Android API levels (``api_min`` / ``api_max``, inclusive, compared
with the dump's ``Build.VERSION.SDK_INT``) and to manufacturers (``manufacturers``, compared with
``Build.MANUFACTURER`` ignoring case): the leak is known only there, and elsewhere the same
reference is no excuse. ``applies_in`` decides for one dump (``android_build``), ``applies_to``
says it in words ("samsung, API 19-31"). A reference known on two (manufacturer, API) pairs is
two entries with one name.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class ReferencePattern:
    """A reference from ``class_name.field`` (static or instance) known to the platform.

    An instance field is the one ``class_name`` declares or inherits, as in
    ``((ClassName) holder).field``: a same-named field of a subclass is another field."""

    name: str            # stable identifier in UPPER_SNAKE_CASE, e.g. "IMM_NEXT_SERVED_VIEW"
    class_name: str      # fully qualified, inner classes with $
    field: str
    static: bool
    description: str
    api_min: int | None = None  # lowest Build.VERSION.SDK_INT the leak is known on; None: any
    api_max: int | None = None  # highest, inclusive; None: up to the newest
    manufacturers: tuple[str, ...] = ()  # Build.MANUFACTURER values, any case; (): every one

    def __post_init__(self):
        for bound in (self.api_min, self.api_max):
            if bound is not None and (isinstance(bound, bool) or not isinstance(bound, int)
                                      or bound < 1):
                raise ValueError(f"{self.name}: an API level is a positive integer, "
                                 f"not {bound!r}")
        if self.api_min is not None and self.api_max is not None and \
                self.api_min > self.api_max:
            raise ValueError(f"{self.name}: api_min {self.api_min} is above api_max "
                             f"{self.api_max}")
        if not isinstance(self.manufacturers, tuple) or \
                not all(isinstance(m, str) and m.strip() for m in self.manufacturers):
            raise ValueError(f"{self.name}: manufacturers must be a tuple of names")

    @property
    def api_range(self) -> str:
        """The API levels in words: "API 19-27", "API 29+", "API 22 and lower", "API 24"."""
        low, high = self.api_min, self.api_max
        if low is None and high is None:
            return ""
        if low == high:
            return f"API {low}"
        if high is None:
            return f"API {low}+"
        if low is None:
            return f"API {high} and lower"
        return f"API {low}-{high}"

    @property
    def applies_to(self) -> str:
        """Where the leak is known, in words: "samsung, API 19-31", "API 29+", "" when always."""
        vendors = ", ".join(self.manufacturers)
        if not vendors or not self.api_range:
            return vendors or self.api_range
        return f"{vendors}{'; ' if len(self.manufacturers) > 1 else ', '}{self.api_range}"

    def excluded_by(self, build) -> str:
        """Why the dump's build (``android_build.AndroidBuild``) is outside this pattern's
        limits, "" when it is not. An unknown value excludes nothing (see ``applies_in``)."""
        sdk = build.sdk_int
        if sdk is not None and ((self.api_min is not None and sdk < self.api_min) or
                                (self.api_max is not None and sdk > self.api_max)):
            return f"the dump is API {sdk}, the leak is known on {self.api_range}"
        vendor = build.manufacturer
        if vendor is not None and self.manufacturers and \
                vendor.casefold() not in {m.casefold() for m in self.manufacturers}:
            return (f"the dump's manufacturer is {vendor!r}, the leak is known on "
                    f"{', '.join(self.manufacturers)}")
        return ""

    def applies_in(self, build) -> bool:
        """Whether to apply the pattern to a dump of this build.

        A limit whose value the dump does not say (no ``android.os.Build``, a String stripped by
        ``oomlens strip``, SDK_INT zeroed at ``--level all``) cannot exclude the pattern, so it
        applies. LeakCanary, which always has both values, applies a vendor's pattern only on
        that vendor's builds; here an unknown manufacturer is taken as a possible match,
        because a pattern applied in error shows an app's leak apart as a library leak, still
        with its trace and its retained size, while one missed sends the developer after a
        field the vendor added, which the app cannot change. Most vendors' patterns name a
        field only that vendor's builds declare, so finding the reference in the dump is
        evidence in itself; and a stripped dump (the default for uploads) then keeps the
        findings of the original.
        ``unchecked`` names the limits that were taken on trust, for the report to say."""
        return not self.excluded_by(build)

    def unchecked(self, build) -> str:
        """The limits of this pattern the dump's build could not be compared with, and why
        ("the dump's manufacturer is unknown (...)"); "" when every limit was checked."""
        api = (self.api_min is not None or self.api_max is not None) and build.sdk_int is None
        vendor = bool(self.manufacturers) and build.manufacturer is None
        if api and vendor and build.sdk_unknown_why == build.manufacturer_unknown_why:
            return f"the dump's API level and manufacturer are unknown ({build.sdk_unknown_why})"
        gaps = []
        if api:
            gaps.append(f"the dump's API level is unknown ({build.sdk_unknown_why})")
        if vendor:
            gaps.append(f"the dump's manufacturer is unknown ({build.manufacturer_unknown_why})")
        return "; ".join(gaps)


_SENSOR_MANAGER_LENOVO = ReferencePattern(
    name="SYSTEM_SENSOR_MANAGER_APP_CONTEXT",
    class_name="android.hardware.SystemSensorManager",
    field="mAppContextImpl",
    static=True,
    description=(
        "These builds store the context given to SensorManager in a static field. Get "
        "SensorManager from the application context."
    ),
    manufacturers=("LENOVO",),
    api_min=19,
    api_max=19,
)


LIBRARY_LEAKS: tuple[ReferencePattern, ...] = (
    # ---------------------------------------------------------------- AOSP framework
    ReferencePattern(
        name="PERMISSION_CONTROLLER_MANAGER_CONTEXT",
        class_name="android.permission.PermissionControllerManager",
        field="mContext",
        static=False,
        description=(
            "The PermissionControllerManager service object can be created with an activity as "
            "its context and outlive it. Fetch the \"permission_controller\" service from the "
            "application context first so the cached instance holds that instead."
        ),
        api_min=29,
    ),
    ReferencePattern(
        name="ACTIVITY_REQUEST_FINISH_CALLBACK",
        class_name="android.app.Activity$1",
        field="this$0",
        static=False,
        description=(
            "An anonymous IRequestFinishCallback stub created by Activity points back at the "
            "activity, and system_server keeps the stub alive after onDestroy(). Calling "
            "finishAfterTransition() instead of the default back handling on a task-root "
            "activity avoids it."
        ),
        api_min=29,
        api_max=29,
    ),
    ReferencePattern(
        name="ACTIVITY_THREAD_NEW_ACTIVITIES",
        class_name="android.app.ActivityThread",
        field="mNewActivities",
        static=False,
        description=(
            "ActivityThread queues freshly resumed activities to report to the system once the "
            "main thread goes idle; if the main thread never idles, finished activities stay "
            "queued. Keep the main thread from being busy without pause."
        ),
        api_min=19,
    ),
    ReferencePattern(
        name="ACTIVITY_CLIENT_RECORD_NEXT_IDLE",
        class_name="android.app.ActivityThread$ActivityClientRecord",
        field="nextIdle",
        static=False,
        description=(
            "ActivityThread chains client records through nextIdle, and a record of a destroyed "
            "activity sometimes stays in that chain. The cause is not well understood."
        ),
        api_min=19,
        api_max=27,
    ),
    ReferencePattern(
        name="EDITOR_SPAN_CONTROLLER",
        class_name="android.widget.Editor$SpanController",
        field="this$0",
        static=False,
        description=(
            "A span the Editor adds to the text points at the EditText; old TextView state "
            "saving copied the text with this span kept, so the saved Bundle holds the view "
            "tree. Clearing NoCopySpan spans from the saved text works around it."
        ),
        api_max=19,
    ),
    ReferencePattern(
        name="EDITOR_EASY_EDIT_SPAN_CONTROLLER",
        class_name="android.widget.Editor$EasyEditSpanController",
        field="this$0",
        static=False,
        description=(
            "Same problem as the SpanController: saved TextView state keeps an Editor span and "
            "through it the whole view tree. Strip NoCopySpan spans from the saved text."
        ),
        api_max=19,
    ),
    ReferencePattern(
        name="MEDIA_SESSION_LEGACY_HELPER_INSTANCE",
        class_name="android.media.session.MediaSessionLegacyHelper",
        field="sInstance",
        static=True,
        description=(
            "The lazily created MediaSessionLegacyHelper singleton keeps whichever context first "
            "asked for it. Call getHelper() early with the application context."
        ),
        api_min=21,
        api_max=21,
    ),
    ReferencePattern(
        name="TEXT_LINE_CACHED",
        class_name="android.text.TextLine",
        field="sCached",
        static=True,
        description=(
            "TextLine keeps a small static pool of recycled instances, and recycling did not "
            "always clear their text, so spans and views stay reachable. Emptying the pool by "
            "reflection (for example when an activity is destroyed) helps."
        ),
        api_max=22,
    ),
    ReferencePattern(
        name="MESSAGE_OBJ",
        class_name="android.os.Message",
        field="obj",
        static=False,
        description=(
            "An idle handler thread keeps the last Message it handled as a stack local; dialog "
            "template messages are never recycled, so their listeners (and the activity) stay "
            "reachable. Posting an empty message to idle handler threads now and then flushes it."
        ),
        api_max=30,
    ),
    ReferencePattern(
        name="IMM_NEXT_SERVED_VIEW",
        class_name="android.view.inputmethod.InputMethodManager",
        field="mNextServedView",
        static=False,
        description=(
            "The process-wide InputMethodManager remembers the view that will next take keyboard "
            "input and only forgets it when another view takes focus, so a detached view and its "
            "activity linger."
        ),
        api_min=15,
        api_max=33,
    ),
    ReferencePattern(
        name="IMM_SERVED_VIEW",
        class_name="android.view.inputmethod.InputMethodManager",
        field="mServedView",
        static=False,
        description=(
            "InputMethodManager keeps the view currently served by the keyboard after that view "
            "is detached, until some other view asks for input."
        ),
        api_min=15,
        api_max=28,
    ),
    ReferencePattern(
        name="IMM_SERVED_INPUT_CONNECTION",
        class_name="android.view.inputmethod.InputMethodManager",
        field="mServedInputConnection",
        static=False,
        description=(
            "The input connection of the last focused text view stays in InputMethodManager after "
            "the view is gone, and it points back to that view."
        ),
        api_min=15,
        api_max=27,
    ),
    ReferencePattern(
        name="IMM_LAST_SRV_VIEW",
        class_name="android.view.inputmethod.InputMethodManager",
        field="mLastSrvView",
        static=False,
        description=(
            "A vendor-added InputMethodManager field that remembers the last served view and is "
            "not cleared when that view is detached."
        ),
        manufacturers=("HUAWEI",),
        api_min=23,
        api_max=28,
    ),
    ReferencePattern(
        name="IMM_CUR_ROOT_VIEW",
        class_name="android.view.inputmethod.InputMethodManager",
        field="mCurRootView",
        static=False,
        description=(
            "The InputMethodManager singleton keeps the root view of the window that last had "
            "input focus, long after its activity is destroyed."
        ),
        api_min=15,
        api_max=28,
    ),
    ReferencePattern(
        name="IMM_IME_INSETS_CONSUMER",
        class_name="android.view.inputmethod.InputMethodManager",
        field="mImeInsetsConsumer",
        static=False,
        description=(
            "InputMethodManager does not reset its IME insets consumer when the activity that "
            "owns it is destroyed, so the window's view root stays reachable."
        ),
        api_min=30,
    ),
    ReferencePattern(
        name="IMM_CURRENT_INPUT_CONNECTION",
        class_name="android.view.inputmethod.InputMethodManager",
        field="mCurrentInputConnection",
        static=False,
        description=(
            "On these builds InputMethodManager keeps the EditableInputConnection of a text view "
            "after its activity is destroyed."
        ),
        manufacturers=("samsung",),
        api_min=28,
        api_max=30,
    ),
    ReferencePattern(
        name="IMM_LAST_FOCUS_VIEW",
        class_name="android.view.inputmethod.InputMethodManager",
        field="mLastFocusView",
        static=False,
        description=(
            "A vendor-added InputMethodManager field holds the last focused view and is not "
            "cleared when that view is detached."
        ),
        manufacturers=("LGE",),
        api_min=29,
        api_max=29,
    ),
    ReferencePattern(
        name="INPUT_MANAGER_LATE_INIT_CONTEXT",
        class_name="android.hardware.input.InputManager",
        field="mLateInitContext",
        static=False,
        description=(
            "The InputManager singleton keeps the context it was first initialised with, which "
            "can be an activity."
        ),
        api_min=33,
        api_max=33,
    ),
    ReferencePattern(
        name="LAYOUT_TRANSITION_PARENT",
        class_name="android.animation.LayoutTransition$1",
        field="val$parent",
        static=False,
        description=(
            "A pre-draw listener registered by LayoutTransition captures the parent ViewGroup and "
            "stays on the ViewTreeObserver until the window goes away."
        ),
        api_min=14,
        api_max=22,
    ),
    ReferencePattern(
        name="SPELL_CHECKER_SESSION_HANDLER",
        class_name="android.view.textservice.SpellCheckerSession$1",
        field="this$0",
        static=False,
        description=(
            "If a SpellCheckerSession is closed before the spell checker service connects, the "
            "session's handler keeps it (and its activity) referenced."
        ),
        api_min=16,
        api_max=24,
    ),
    ReferencePattern(
        name="SPELL_CHECKER_RUNNABLE",
        class_name="android.widget.SpellChecker$1",
        field="this$0",
        static=False,
        description=(
            "A queued SpellChecker runnable outlives the text view it checks, probably because "
            "the session was closed late or not at all, keeping the detached view."
        ),
        api_min=22,
        api_max=22,
    ),
    ReferencePattern(
        name="SUPPORT_ACTIVITY_CHOOSER_MODEL_POLICY",
        class_name="android.support.v7.internal.widget.ActivityChooserModel",
        field="mActivityChoserModelPolicy",
        static=False,
        description=(
            "The shared ActivityChooserModel of the old support library keeps the last policy "
            "set on it, which is often an activity."
        ),
        api_min=15,
        api_max=22,
    ),
    ReferencePattern(
        name="ACTIVITY_CHOOSER_MODEL_POLICY",
        class_name="android.widget.ActivityChooserModel",
        field="mActivityChoserModelPolicy",
        static=False,
        description=(
            "The framework ActivityChooserModel, cached per history file, keeps the last policy "
            "set on it, which is often an activity."
        ),
    ),
    ReferencePattern(
        name="MEDIA_PROJECTION_CALLBACK",
        class_name="android.media.projection.MediaProjection$MediaProjectionCallback",
        field="this$0",
        static=False,
        description=(
            "Another process holds the MediaProjection callback stub, which keeps the "
            "MediaProjection and the activity it was created with."
        ),
        api_min=22,
        api_max=28,
    ),
    ReferencePattern(
        name="SPEECH_RECOGNIZER_INTERNAL_LISTENER",
        class_name="android.speech.SpeechRecognizer$InternalListener",
        field="this$0",
        static=False,
        description=(
            "The recognizer's IPC listener was a non-static inner class, so the remote side kept "
            "the SpeechRecognizer and its activity context alive."
        ),
        api_max=20,
    ),
    ReferencePattern(
        name="ACCOUNT_MANAGER_AMS_TASK_RESPONSE",
        class_name="android.accounts.AccountManager$AmsTask$Response",
        field="this$1",
        static=False,
        description=(
            "The AmsTask response stub is kept by native binder code until the other process lets "
            "go, and the task holds the activity passed in. Pass a null activity and start any "
            "returned intent yourself."
        ),
        api_max=27,
    ),
    ReferencePattern(
        name="MEDIA_SCANNER_CONNECTION_CONTEXT",
        class_name="android.media.MediaScannerConnection",
        field="mContext",
        static=False,
        description=(
            "MediaScannerConnection.scanFile() binds to the scanner with the given context and "
            "may stay bound after that activity is gone. Create the connection with the "
            "application context and connect/disconnect it yourself."
        ),
        api_max=22,
    ),
    ReferencePattern(
        name="USER_MANAGER_CONTEXT",
        class_name="android.os.UserManager",
        field="mContext",
        static=False,
        description=(
            "UserManager.get() caches one instance in a static field, built with whatever context "
            "called first. Call it from Application.onCreate() so the application context wins."
        ),
        api_min=18,
        api_max=25,
    ),
    ReferencePattern(
        name="APP_WIDGET_HOST_CALLBACKS",
        class_name="android.appwidget.AppWidgetHost$Callbacks",
        field="this$0",
        static=False,
        description=(
            "Native binder code keeps the AppWidgetHost callbacks stub, which never released the "
            "host and its context."
        ),
        api_max=21,
    ),
    ReferencePattern(
        name="AUDIO_MANAGER_FOCUS_LISTENER",
        class_name="android.media.AudioManager$1",
        field="this$0",
        static=False,
        description=(
            "AudioManager kept the context it was created with, and VideoView requested audio "
            "focus without giving it up, leaking the activity. Get AudioManager from the "
            "application context."
        ),
        api_max=22,
    ),
    ReferencePattern(
        name="EDITOR_BLINK",
        class_name="android.widget.Editor$Blink",
        field="this$0",
        static=False,
        description=(
            "The cursor blink runnable is re-posted with a delay, so a dialog with a blinking "
            "cursor leaves a pending message that holds its view. Call setCursorVisible(false) "
            "when dismissing the dialog."
        ),
        api_max=23,
    ),
    ReferencePattern(
        name="CONNECTIVITY_MANAGER_INSTANCE",
        class_name="android.net.ConnectivityManager",
        field="sInstance",
        static=True,
        description=(
            "The first ConnectivityManager created is stored in a static field together with its "
            "context, so an activity that asked first is kept forever. Get the service once from "
            "the application context at startup."
        ),
        api_max=23,
    ),
    ReferencePattern(
        name="ACCESSIBILITY_NODE_INFO_ORIGINAL_TEXT",
        class_name="android.view.accessibility.AccessibilityNodeInfo",
        field="mOriginalText",
        static=False,
        description=(
            "Pooled AccessibilityNodeInfo objects were not cleared of their original text, whose "
            "spans reach a TextView watcher and so the whole view tree."
        ),
        api_min=26,
        api_max=27,
    ),
    ReferencePattern(
        name="ASSIST_STRUCTURE_VIEW_NODE_TEXT",
        class_name="android.app.assist.AssistStructure$ViewNodeText",
        field="mText",
        static=False,
        description=(
            "Assist and autofill snapshots keep on-screen text with its spans, and text watcher "
            "or editor spans lead back to the views."
        ),
        api_min=24,
    ),
    ReferencePattern(
        name="ACCESSIBILITY_LINE_TEXT_SEGMENT_ITERATOR",
        class_name="android.widget.AccessibilityIterators$LineTextSegmentIterator",
        field="mLayout",
        static=False,
        description=(
            "The shared line iterator used for accessibility keeps a text Layout whose spans can "
            "reach a TextView and its hierarchy."
        ),
        api_min=27,
        api_max=27,
    ),
    ReferencePattern(
        name="BIOMETRIC_PROMPT_FINGERPRINT_MANAGER",
        class_name="android.hardware.biometrics.BiometricPrompt",
        field="mFingerprintManager",
        static=False,
        description=(
            "BiometricPrompt keeps a FingerprintManager that was created with an activity that "
            "has since been destroyed."
        ),
        api_min=28,
        api_max=28,
    ),
    ReferencePattern(
        name="MAGNIFIER_POPUP_CALLBACK",
        class_name="android.widget.Magnifier$InternalPopupWindow",
        field="mCallback",
        static=False,
        description=(
            "The magnifier popup is held natively by the renderer's frame callback and keeps the "
            "completion callback of a text handle view after the activity is gone."
        ),
        api_min=28,
        api_max=28,
    ),
    ReferencePattern(
        name="BACKDROP_FRAME_RENDERER_DECOR_VIEW",
        class_name="com.android.internal.policy.BackdropFrameRenderer",
        field="mDecorView",
        static=False,
        description=(
            "In some release paths the backdrop renderer thread keeps running and holds the "
            "window's DecorView, and with it the destroyed activity."
        ),
        api_min=24,
        api_max=26,
    ),
    ReferencePattern(
        name="VIEW_LOCATION_HOLDER_ROOT",
        class_name="android.view.ViewGroup$ViewLocationHolder",
        field="mRoot",
        static=False,
        description=(
            "Pooled ViewLocationHolder objects do not reset their root ViewGroup when cleared, so "
            "a detached hierarchy stays reachable from the pool."
        ),
        api_min=28,
        api_max=28,
    ),
    ReferencePattern(
        name="ACCESSIBILITY_NODE_ID_MANAGER_VIEWS",
        class_name="android.view.accessibility.AccessibilityNodeIdManager",
        field="mIdsToViews",
        static=False,
        description=(
            "This registry keeps every attached view strongly until it is detached; a view that "
            "gets detached before it is attached is never removed."
        ),
        api_min=28,
        api_max=29,
    ),
    ReferencePattern(
        name="TEXT_TO_SPEECH_CONTEXT",
        class_name="android.speech.tts.TextToSpeech",
        field="mContext",
        static=False,
        description=(
            "shutdown() does not drop the context, and the TTS service process keeps the object "
            "alive. Create TextToSpeech with the application context."
        ),
        api_min=24,
        api_max=24,
    ),
    ReferencePattern(
        name="TTS_ENGINES_CONTEXT",
        class_name="android.speech.tts.TtsEngines",
        field="mContext",
        static=False,
        description=(
            "The engine list owned by a TextToSpeech object keeps the same context after "
            "shutdown(). Create TextToSpeech with the application context."
        ),
        api_min=24,
        api_max=24,
    ),
    ReferencePattern(
        name="PACKAGE_MANAGER_HAS_SYSTEM_FEATURE_QUERY",
        class_name="android.app.ApplicationPackageManager$HasSystemFeatureQuery",
        field="this$0",
        static=False,
        description=(
            "In an Android 11 preview this cached query was an inner class, so the cache kept the "
            "package manager and the context it was obtained from."
        ),
        api_min=29,
        api_max=29,
    ),
    ReferencePattern(
        name="COMPANION_DEVICE_SERVICE_STUB",
        class_name="android.companion.CompanionDeviceService$Stub",
        field="this$0",
        static=False,
        description=(
            "The service's binder stub is an inner class held by the system, and the service does "
            "not drop it when destroyed, so the destroyed service is kept."
        ),
        api_min=31,
        api_max=31,
    ),
    ReferencePattern(
        name="BACK_INVOKED_CALLBACK_WRAPPER",
        class_name="android.window.WindowOnBackInvokedDispatcher$OnBackInvokedCallbackWrapper",
        field="mCallback",
        static=False,
        description=(
            "Another process keeps this back-navigation IPC stub, whose callback leads to a "
            "detached view root. Seen on the Android 13 preview build TPP2.220218.008."
        ),
        api_min=32,
        api_max=32,
    ),
    ReferencePattern(
        name="CONNECTIVITY_MANAGER_CALLBACK_HANDLER",
        class_name="android.net.ConnectivityManager$CallbackHandler",
        field="this$0",
        static=False,
        description=(
            "A statically kept callback handler points to the ConnectivityManager that created "
            "it, which may hold an activity context. Fixed in API 34."
        ),
        api_min=33,
        api_max=33,
    ),
    ReferencePattern(
        name="HOST_APDU_SERVICE_MSG_HANDLER",
        class_name="android.nfc.cardemulation.HostApduService$MsgHandler",
        field="this$0",
        static=False,
        description=(
            "The NFC card emulation service's message handler outlives the service and keeps "
            "the destroyed HostApduService."
        ),
        api_min=29,
        api_max=33,
    ),
    ReferencePattern(
        name="VIEW_GROUP_PRE_SORTED_CHILDREN",
        class_name="android.view.ViewGroup",
        field="mPreSortedChildren",
        static=False,
        description=(
            "A scratch list of children sorted for drawing is not emptied after use, so removed "
            "child views stay referenced by their former parent."
        ),
        api_min=30,
        api_max=30,
    ),
    ReferencePattern(
        name="VIEW_GROUP_CURRENT_DRAG_CHILD",
        class_name="android.view.ViewGroup",
        field="mCurrentDragChild",
        static=False,
        description=(
            "After a drag and drop, the parent keeps the child that was dragged over even once "
            "that child has been detached."
        ),
        api_min=29,
        api_max=30,
    ),
    ReferencePattern(
        name="VIEW_TOOLTIP_HIDE_CALLBACK",
        class_name="android.view.View$$ExternalSyntheticLambda3",
        field="f$0",
        static=False,
        description=(
            "Hovering a view with tooltip text posts a delayed hide callback that captures the "
            "view, keeping it for about 15 seconds after it is removed. The lambda class number "
            "differs between releases; this one was seen on API 33."
        ),
        api_min=26,
        api_max=34,
    ),
    ReferencePattern(
        name="ACTIVITY_TRANSITION_STATE_EXITING_TO_VIEW",
        class_name="android.app.ActivityTransitionState",
        field="mExitingToView",
        static=False,
        description=(
            "After a shared element transition the activity's transition state keeps the view "
            "that took part in it."
        ),
        api_min=28,
        api_max=29,
    ),
    ReferencePattern(
        name="ANIMATION_HANDLER_ANIMATOR_REQUESTORS",
        class_name="android.animation.AnimationHandler",
        field="mAnimatorRequestors",
        static=False,
        description=(
            "The per-thread AnimationHandler keeps a destroyed activity's view root in its list "
            "of animation requestors."
        ),
        api_min=33,
        api_max=33,
    ),
    ReferencePattern(
        name="FLIPPER_APPLICATION_DESCRIPTOR",
        class_name="com.facebook.flipper.plugins.inspector.descriptors.ApplicationDescriptor",
        field="editedDelegates",
        static=True,
        description=(
            "The Flipper debugging tool's layout inspector keeps root views in a static "
            "collection after they are detached. Only debug builds with Flipper are affected."
        ),
    ),
    # ---------------------------------------------------------------- Samsung
    ReferencePattern(
        name="SPEN_GESTURE_MANAGER_CONTEXT",
        class_name="com.samsung.android.smartclip.SpenGestureManager",
        field="mContext",
        static=True,
        description="The S Pen gesture manager stores an activity in a static context field.",
        manufacturers=("samsung",),
        api_min=19,
        api_max=19,
    ),
    ReferencePattern(
        name="CLIPBOARD_UI_MANAGER_CONTEXT",
        class_name="android.sec.clipboard.ClipboardUIManager",
        field="mContext",
        static=False,
        description=(
            "The clipboard UI singleton keeps the context it was first created with. Call "
            "ClipboardUIManager.getInstance() with the application context at startup."
        ),
        manufacturers=("samsung",),
        api_min=19,
        api_max=21,
    ),
    ReferencePattern(
        name="SEM_CLIPBOARD_MANAGER_CONTEXT",
        class_name="com.samsung.android.content.clipboard.SemClipboardManager",
        field="mContext",
        static=False,
        description=(
            "Binder callbacks inside the clipboard manager are held over IPC and keep the "
            "manager, whose context is an activity."
        ),
        manufacturers=("samsung",),
        api_min=19,
        api_max=24,
    ),
    ReferencePattern(
        name="CLIPBOARD_EX_MANAGER_CONTEXT",
        class_name="android.sec.clipboard.ClipboardExManager",
        field="mContext",
        static=False,
        description=(
            "A natively held paste-event callback keeps ClipboardExManager, whose context is a "
            "destroyed activity."
        ),
        manufacturers=("samsung",),
        api_min=23,
        api_max=23,
    ),
    ReferencePattern(
        name="CLIPBOARD_EX_MANAGER_PERSONA_MANAGER",
        class_name="android.sec.clipboard.ClipboardExManager",
        field="mPersonaManager",
        static=False,
        description=(
            "The same paste-event callback reaches a PersonaManager through ClipboardExManager, "
            "and that PersonaManager holds a destroyed activity."
        ),
        manufacturers=("samsung",),
        api_min=23,
        api_max=23,
    ),
    ReferencePattern(
        name="TEXT_VIEW_CLIPBOARD_PASTE_EVENT",
        class_name="android.widget.TextView$IClipboardDataPasteEventImpl",
        field="this$0",
        static=False,
        description=(
            "A TextView paste-event callback added by the vendor is held by native code and "
            "keeps the text view after it is detached."
        ),
        manufacturers=("samsung",),
        api_min=22,
        api_max=22,
    ),
    ReferencePattern(
        name="SEM_EMERGENCY_MANAGER_CONTEXT",
        class_name="com.samsung.android.emergencymode.SemEmergencyManager",
        field="mContext",
        static=False,
        description=(
            "The emergency mode singleton keeps a window decor context and so the activity."
        ),
        manufacturers=("samsung",),
        api_min=19,
        api_max=24,
    ),
    ReferencePattern(
        name="SEM_PERSONA_MANAGER_CONTEXT",
        class_name="com.samsung.android.knox.SemPersonaManager",
        field="mContext",
        static=False,
        description="The Knox persona manager keeps the activity context it was created with.",
        manufacturers=("samsung",),
        api_min=24,
        api_max=24,
    ),
    ReferencePattern(
        name="SEM_APP_ICON_SOLUTION_CONTEXT",
        class_name="android.app.SemAppIconSolution",
        field="mContext",
        static=False,
        description="A vendor icon helper keeps the activity context it was created with.",
        manufacturers=("samsung",),
        api_min=28,
        api_max=29,
    ),
    ReferencePattern(
        name="AW_RESOURCE_RESOURCES",
        class_name="com.android.org.chromium.android_webview.AwResource",
        field="sResources",
        static=True,
        description=(
            "The system WebView stores the Resources it was given in a static field, and those "
            "resources can belong to an activity context."
        ),
        manufacturers=("samsung",),
        api_min=19,
        api_max=19,
    ),
    ReferencePattern(
        name="TEXT_VIEW_LAST_HOVERED_VIEW",
        class_name="android.widget.TextView",
        field="mLastHoveredView",
        static=True,
        description=(
            "A static field added to TextView remembers the last view hovered, for example by a "
            "stylus, and is not cleared when it is detached."
        ),
        manufacturers=("samsung",),
        api_min=19,
        api_max=31,
    ),
    ReferencePattern(
        name="PERSONA_MANAGER_CONTEXT",
        class_name="android.os.PersonaManager",
        field="mContext",
        static=False,
        description=(
            "The app's Resources reach a vendor PersonaManager whose context field is an "
            "activity, so the activity lives as long as the package's resources."
        ),
        manufacturers=("samsung",),
        api_min=19,
        api_max=19,
    ),
    ReferencePattern(
        name="RESOURCES_CONTEXT",
        class_name="android.content.res.Resources",
        field="mContext",
        static=False,
        description=(
            "Vendor builds gave Resources a context field, and the preloaded system Resources "
            "kept statically by the zygote end up pointing at an activity."
        ),
        manufacturers=("samsung",),
        api_min=19,
        api_max=19,
    ),
    ReferencePattern(
        name="VIEW_CONFIGURATION_CONTEXT",
        class_name="android.view.ViewConfiguration",
        field="mContext",
        static=False,
        description=(
            "Vendor builds gave ViewConfiguration a context field, and the statically cached "
            "configurations keep the activity that created them."
        ),
        manufacturers=("samsung",),
        api_min=19,
        api_max=19,
    ),
    ReferencePattern(
        name="AUDIO_MANAGER_CONTEXT_STATIC",
        class_name="android.media.AudioManager",
        field="mContext_static",
        static=True,
        description=(
            "A static context field added to AudioManager by the vendor ends up holding an "
            "activity."
        ),
        manufacturers=("samsung",),
        api_min=19,
        api_max=19,
    ),
    ReferencePattern(
        name="ACTIVITY_MANAGER_CONTEXT",
        class_name="android.app.ActivityManager",
        field="mContext",
        static=True,
        description=(
            "ActivityManager was given a static context field that keeps the activity which "
            "first obtained the service."
        ),
        manufacturers=("samsung",),
        api_min=22,
        api_max=23,
    ),
    ReferencePattern(
        name="TEXT_VIEW_TARGET_VIEW",
        class_name="android.widget.TextView",
        field="mTargetView",
        static=True,
        description="A static field added to TextView keeps a view after it is detached.",
        manufacturers=("samsung",),
        api_min=27,
        api_max=27,
    ),
    ReferencePattern(
        name="MULTI_WINDOW_DECOR_SUPPORT_WINDOW",
        class_name="com.android.internal.policy.MultiWindowDecorSupport",
        field="mWindow",
        static=False,
        description=(
            "A vendor multi-window helper hanging off DecorView keeps the PhoneWindow of a "
            "destroyed activity."
        ),
        manufacturers=("samsung",),
        api_min=26,
        api_max=29,
    ),
    # ---------------------------------------------------------------- other manufacturers
    ReferencePattern(
        name="GESTURE_BOOST_MANAGER_CONTEXT",
        class_name="android.gestureboost.GestureBoostManager",
        field="mContext",
        static=True,
        description=(
            "A vendor gesture performance singleton stores an activity in a static context field."
        ),
        manufacturers=("HUAWEI",),
        api_min=24,
        api_max=25,
    ),
    ReferencePattern(
        name="BUBBLE_POPUP_HELPER_HELPER",
        class_name="android.widget.BubblePopupHelper",
        field="sHelper",
        static=True,
        description=(
            "The vendor's text selection bubble popup uses a static helper that remembers the "
            "most recently focused text view."
        ),
        manufacturers=("LGE",),
        api_min=19,
        api_max=22,
    ),
    ReferencePattern(
        name="LG_CONTEXT_CONTEXT",
        class_name="com.lge.systemservice.core.LGContext",
        field="mContext",
        static=False,
        description="A vendor singleton keeps the activity context it was first created with.",
        manufacturers=("LGE",),
        api_min=21,
        api_max=21,
    ),
    ReferencePattern(
        name="SMART_COVER_MANAGER_CONTEXT",
        class_name="com.lge.systemservice.core.SmartCoverManager",
        field="mContext",
        static=False,
        description=(
            "A natively held smart cover callback keeps the cover manager and the activity "
            "context it holds."
        ),
        manufacturers=("LGE",),
        api_min=27,
        api_max=27,
    ),
    ReferencePattern(
        name="NVIDIA_MAPPER_SERVICE_CLIENT",
        class_name="com.nvidia.ControllerMapper.MapperClient$ServiceClient",
        field="this$0",
        static=False,
        description=(
            "A handler inside the vendor game controller mapper keeps its MapperClient, which "
            "holds an activity context."
        ),
        manufacturers=("NVIDIA",),
        api_min=19,
        api_max=19,
    ),
    _SENSOR_MANAGER_LENOVO,
    # the same reference on another build
    replace(_SENSOR_MANAGER_LENOVO, manufacturers=("vivo",), api_min=22, api_max=22),
    ReferencePattern(
        name="INSTRUMENTATION_RECOMMEND_ACTIVITY",
        class_name="android.app.Instrumentation",
        field="mRecommendActivity",
        static=True,
        description=(
            "FlymeOS added a static field to Instrumentation that keeps its internal "
            "RecommendActivity alive."
        ),
        manufacturers=("Meizu",),
        api_min=21,
        api_max=22,
    ),
    ReferencePattern(
        name="DEVICE_POLICY_MANAGER_SETTINGS_OBSERVER",
        class_name="android.app.admin.DevicePolicyManager$SettingsObserver",
        field="this$0",
        static=False,
        description=(
            "A vendor content observer inside DevicePolicyManager is held by a binder transport "
            "and keeps the manager, which keeps its creating context rather than the "
            "application context."
        ),
        manufacturers=("motorola",),
        api_min=19,
        api_max=22,
    ),
    ReferencePattern(
        name="EXTENDED_STATUS_BAR_MANAGER_CONTEXT",
        class_name="android.app.ExtendedStatusBarManager",
        field="mContext",
        static=False,
        description=(
            "A vendor status bar manager keeps a decor context belonging to a destroyed activity."
        ),
        manufacturers=("SHARP",),
        api_min=30,
    ),
    ReferencePattern(
        name="EXTENDED_STATUS_BAR_MANAGER_INSTANCE",
        class_name="android.app.ExtendedStatusBarManager",
        field="sInstance",
        static=True,
        description=(
            "The same vendor status bar manager is cached in a static field, and its context is a "
            "decor context of a destroyed activity."
        ),
        manufacturers=("SHARP",),
        api_min=28,
        api_max=28,
    ),
    ReferencePattern(
        name="ONEPLUS_SCENE_CALL_BLOCKER_CONTEXT",
        class_name="com.oneplus.util.OemSceneCallBlocker",
        field="sContext",
        static=True,
        description="A vendor utility keeps an activity in a static context field.",
        manufacturers=("OnePlus",),
        api_min=28,
        api_max=28,
    ),
    ReferencePattern(
        name="PERF_MONITOR_LAST_CALLBACK",
        class_name="android.os.PerfMonitor",
        field="mLastCallback",
        static=True,
        description=(
            "A vendor performance monitor keeps the last click callback, which points at the "
            "clicked view, in a static field."
        ),
        manufacturers=("OnePlus",),
        api_min=30,
        api_max=30,
    ),
    ReferencePattern(
        name="RAZER_TEXT_KEY_LISTENER_CONTEXT",
        class_name="android.text.method.TextKeyListener",
        field="mContext",
        static=False,
        description=(
            "TextKeyListener instances are shared through a static array, and this vendor build "
            "gave them a context field that ends up holding an activity."
        ),
        manufacturers=("Razer",),
        api_min=28,
        api_max=28,
    ),
    ReferencePattern(
        name="RESOURCES_IMPL_APP_CONTEXT",
        class_name="android.content.res.ResourcesImpl",
        field="mAppContext",
        static=True,
        description=(
            "A forked framework shared by several vendors added a static context field to "
            "ResourcesImpl that can end up holding a service or activity context."
        ),
        manufacturers=("HMD Global", "INFINIX", "LENOVO", "Xiaomi", "TES", "realme"),
        api_min=30,
    ),
)


IGNORED_REFERENCES: tuple[ReferencePattern, ...] = (
    ReferencePattern(
        name="WEAK_REFERENCE_REFERENT",
        class_name="java.lang.ref.WeakReference",
        field="referent",
        static=False,
        description="A weak reference does not stop its target from being collected.",
    ),
    ReferencePattern(
        name="KEYED_WEAK_REFERENCE_REFERENT",
        class_name="leakcanary.KeyedWeakReference",
        field="referent",
        static=False,
        description="LeakCanary's own weak reference to a watched object; weak, so never a cause.",
    ),
    ReferencePattern(
        name="SOFT_REFERENCE_REFERENT",
        class_name="java.lang.ref.SoftReference",
        field="referent",
        static=False,
        description="Soft references are cleared before the VM runs out of memory.",
    ),
    ReferencePattern(
        name="PHANTOM_REFERENCE_REFERENT",
        class_name="java.lang.ref.PhantomReference",
        field="referent",
        static=False,
        description="A phantom reference never makes its target reachable.",
    ),
    ReferencePattern(
        name="FINALIZER_PREV",
        class_name="java.lang.ref.Finalizer",
        field="prev",
        static=False,
        description="Link in the JVM's list of objects awaiting finalization, not a real owner.",
    ),
    ReferencePattern(
        name="FINALIZER_ELEMENT",
        class_name="java.lang.ref.Finalizer",
        field="element",
        static=False,
        description="Finalizer bookkeeping for an object that is already unreachable otherwise.",
    ),
    ReferencePattern(
        name="FINALIZER_NEXT",
        class_name="java.lang.ref.Finalizer",
        field="next",
        static=False,
        description="Link in the JVM's list of objects awaiting finalization, not a real owner.",
    ),
    ReferencePattern(
        name="FINALIZER_REFERENCE_PREV",
        class_name="java.lang.ref.FinalizerReference",
        field="prev",
        static=False,
        description="Link in the Android runtime's finalization queue, not a real owner.",
    ),
    ReferencePattern(
        name="FINALIZER_REFERENCE_ELEMENT",
        class_name="java.lang.ref.FinalizerReference",
        field="element",
        static=False,
        description="Android runtime bookkeeping for an object that only waits to be finalized.",
    ),
    ReferencePattern(
        name="FINALIZER_REFERENCE_NEXT",
        class_name="java.lang.ref.FinalizerReference",
        field="next",
        static=False,
        description="Link in the Android runtime's finalization queue, not a real owner.",
    ),
    ReferencePattern(
        name="CLEANER_PREV",
        class_name="sun.misc.Cleaner",
        field="prev",
        static=False,
        description="Link in the list of pending cleaners; a cleaner is phantom-reachable only.",
    ),
    ReferencePattern(
        name="CLEANER_NEXT",
        class_name="sun.misc.Cleaner",
        field="next",
        static=False,
        description="Link in the list of pending cleaners; a cleaner is phantom-reachable only.",
    ),
    ReferencePattern(
        name="LEAKCANARY_RESUMED_ACTIVITY",
        class_name="leakcanary.internal.InternalLeakCanary",
        field="resumedActivity",
        static=False,
        description="LeakCanary tracks the resumed activity, which is alive by definition.",
    ),
    ReferencePattern(
        name="LEAKCANARY_HEAP_DUMPER_RESUMED_ACTIVITY",
        class_name="leakcanary.internal.AndroidHeapDumper",
        field="resumedActivity",
        static=False,
        description="Older LeakCanary heap dumper's handle on the live resumed activity.",
    ),
    ReferencePattern(
        name="LEAKCANARY_APPLICATION",
        class_name="leakcanary.internal.InternalLeakCanary",
        field="application",
        static=False,
        description="LeakCanary's handle on the Application, which lives as long as the process.",
    ),
    ReferencePattern(
        name="CHOREOGRAPHER_EVENT_RECEIVER_QUEUE",
        class_name="android.view.Choreographer$FrameDisplayEventReceiver",
        field="mMessageQueue",
        static=False,
        description=(
            "Keeps the main message queue for native code; the main Looper owns that queue "
            "anyway, so this shortcut only hides the meaningful path."
        ),
    ),
)

"""Android rules that depend on the dump: the build it says it comes from (Build.VERSION.SDK_INT,
Build.MANUFACTURER) limits the known library leaks; rule fields are read as the framework class
that declares them sees them; a View's context is unwrapped through ContextWrapper.mBase at any
depth.

On the bundled dumps and on tests/java/AndroidLeaks variant d (SCENARIOS.md, S18-S21), which
adds an android.os.Build saying the SDK_INT and MANUFACTURER given on its command line.

What the bundled dumps say of their build (checked below): both Dalvik dumps are Android 4.4
emulators, SDK_INT 19 and MANUFACTURER "unknown" (the emulator's own value, Build.UNKNOWN: a
value like any other, not a missing one); the ART dump of AOSP's ahat test program ran on a
host and has no android.os.Build at all.
"""

from __future__ import annotations

import pytest

import oomlens
from oomlens.analysis import inspectors
from oomlens.analysis.android_build import UNKNOWN_BUILD, AndroidBuild, read_android_build
from oomlens.analysis.app_code import AppPackages
from oomlens.analysis.fields import FieldReader
from oomlens.analysis.inspectors import ANDROID_RULES, CompiledRule, Inspector, LeakRule
from oomlens.analysis.known_leaks import IGNORED_REFERENCES, LIBRARY_LEAKS, ReferencePattern
from oomlens.analysis.leaks import find_leaks
from oomlens.config import ConfigError, Settings, load_settings
from oomlens.errors import OomlensError
from oomlens.hprof.strip import strip_dump
from oomlens.ids import format_id
from oomlens.report.document import build_report

DIALER = "dalvik_dialer.hprof.gz"
LEAKCANARY = "dalvik_leak_service_binder.hprof.gz"
AHAT = "art_ahat_test-dump.hprof.gz"
NO_BUILD = "no android.os.Build in the dump"
CHAIN_REASON = ("View#mContext is a destroyed Activity, unwrapped from 3 ContextWrappers (mBase): "
                "android.view.ContextThemeWrapper > com.example.app.LocaleContext > "
                "com.example.app.TintContext")


def by_name(name: str) -> ReferencePattern:
    return next(p for p in LIBRARY_LEAKS if p.name == name)


def groups(report, key="leaks") -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for group in report[key]:
        found.setdefault(group["class"], []).append(group)
    return found


def path_names(group) -> list[str]:
    return [n["reference"]["name"] for n in group["traces"][0]["nodes"][:-1]]


def static_id(heap, class_name: str, field: str) -> str:
    return format_id(heap.find_class(class_name).static_fields()[field].id)


@pytest.fixture(scope="module")
def scenario(java_dumps, tmp_path_factory):
    """Variant d as a Samsung API 21 build, as an LG API 23 build, and that LG dump stripped at
    --level strings (the manufacturer's text gone, SDK_INT kept)."""
    samsung = java_dumps("AndroidLeaks", "d", "21", "samsung")
    lge = java_dumps("AndroidLeaks", "d", "23", "LGE")
    stripped = tmp_path_factory.mktemp("strip") / "lge.strings.hprof.zst"
    strip_dump(lge, stripped, "strings")
    return {"samsung": samsung, "lge": lge, "lge_stripped": stripped}


@pytest.fixture(scope="module")
def reports(scenario):
    made = {}
    for name, path in scenario.items():
        with oomlens.open_heap(path) as heap:
            made[name] = build_report(heap, Settings())
    return made


# -- the build a dump says it comes from ---------------------------------------------------------

def test_bundled_dumps_say_their_build(open_dump):
    for name in (DIALER, LEAKCANARY):
        assert read_android_build(open_dump(name)) == AndroidBuild(19, "unknown")
    ahat = read_android_build(open_dump(AHAT))
    assert (ahat.sdk_int, ahat.manufacturer) == (None, None)
    assert ahat.sdk_unknown_why == ahat.manufacturer_unknown_why == NO_BUILD


@pytest.mark.parametrize("level", ["strings", "arrays", "all"])
def test_a_stripped_dump_loses_what_its_level_removes(data_dir, tmp_path, level):
    """strip removes String contents at every level (the manufacturer is unknown) and numbers
    only at ``all`` (SDK_INT is then 0, which no build has: unknown)."""
    out = tmp_path / f"dialer.{level}.hprof.zst"
    strip_dump(data_dir / DIALER, out, level)
    with oomlens.open_heap(out) as heap:
        build = read_android_build(heap)
    assert build.manufacturer is None
    assert build.manufacturer_unknown_why == "Build.MANUFACTURER's text was removed by oomlens strip"
    if level == "all":
        assert build.sdk_int is None and "SDK_INT is 0" in build.sdk_unknown_why
    else:
        assert build.sdk_int == 19 and build.sdk_unknown_why == ""


def test_the_scenario_program_says_the_build_it_was_given(scenario, java_dumps):
    expected = {"samsung": AndroidBuild(21, "samsung"), "lge": AndroidBuild(23, "LGE")}
    for name, build in expected.items():
        with oomlens.open_heap(scenario[name]) as heap:
            assert read_android_build(heap) == build
    with oomlens.open_heap(java_dumps("AndroidLeaks")) as heap:  # variant a has no Build
        assert read_android_build(heap).sdk_unknown_why == NO_BUILD


# -- known leaks limited to API levels and manufacturers -----------------------------------------

def test_limits_are_fields_and_the_text_is_made_of_them():
    assert by_name("PERMISSION_CONTROLLER_MANAGER_CONTEXT").applies_to == "API 29+"
    assert (by_name("ACTIVITY_CLIENT_RECORD_NEXT_IDLE").api_min,
            by_name("ACTIVITY_CLIENT_RECORD_NEXT_IDLE").api_max) == (19, 27)
    assert by_name("TEXT_LINE_CACHED").applies_to == "API 22 and lower"
    assert by_name("ACTIVITY_REQUEST_FINISH_CALLBACK").applies_to == "API 29"
    hovered = by_name("TEXT_VIEW_LAST_HOVERED_VIEW")
    assert (hovered.manufacturers, hovered.applies_to) == (("samsung",), "samsung, API 19-31")
    assert by_name("RESOURCES_IMPL_APP_CONTEXT").applies_to == \
        "HMD Global, INFINIX, LENOVO, Xiaomi, TES, realme; API 30+"
    assert by_name("FLIPPER_APPLICATION_DESCRIPTOR").applies_to == ""
    # a reference known on two (manufacturer, API) pairs is two entries with one name
    sensor = [p for p in LIBRARY_LEAKS if p.name == "SYSTEM_SENSOR_MANAGER_APP_CONTEXT"]
    assert [p.applies_to for p in sensor] == ["LENOVO, API 19", "vivo, API 22"]
    names = {}
    for p in LIBRARY_LEAKS:
        names.setdefault(p.name, set()).add((p.class_name, p.field, p.static, p.description))
    assert all(len(same) == 1 for same in names.values())
    assert len(names) == 85
    assert all(not p.applies_to for p in IGNORED_REFERENCES)


def test_bad_limits_are_refused():
    for kwargs, message in (({"api_min": 30, "api_max": 29}, "api_min 30 is above api_max 29"),
                            ({"api_min": 0}, "positive integer"),
                            ({"manufacturers": "samsung"}, "tuple of names")):
        with pytest.raises(ValueError, match=message):
            ReferencePattern("P", "a.B", "f", False, "", **kwargs)


def test_a_pattern_applies_unless_a_known_value_is_outside_its_limits():
    p = ReferencePattern("P", "a.B", "f", True, "", api_min=19, api_max=22,
                         manufacturers=("samsung", "LGE"))
    assert p.applies_in(AndroidBuild(19, "samsung")) and p.applies_in(AndroidBuild(22, "lge"))
    assert p.applies_in(AndroidBuild(21, "SAMSUNG"))  # compared ignoring case
    assert p.excluded_by(AndroidBuild(18, "samsung")) == \
        "the dump is API 18, the leak is known on API 19-22"
    assert not p.applies_in(AndroidBuild(23, "samsung"))
    assert p.excluded_by(AndroidBuild(21, "unknown")) == \
        "the dump's manufacturer is 'unknown', the leak is known on samsung, LGE"
    # what the dump does not say cannot exclude: applied, and said to be unchecked
    stripped = AndroidBuild(21, None, "", "Build.MANUFACTURER's text was removed by oomlens strip")
    assert p.applies_in(stripped)
    assert p.unchecked(stripped) == ("the dump's manufacturer is unknown (Build.MANUFACTURER's "
                                     "text was removed by oomlens strip)")
    jvm = UNKNOWN_BUILD
    assert p.applies_in(jvm)
    assert p.unchecked(jvm) == f"the dump's API level and manufacturer are unknown ({NO_BUILD})"
    assert not p.unchecked(AndroidBuild(21, "LGE"))
    assert ReferencePattern("Q", "a.B", "f", True, "").unchecked(jvm) == ""  # no limits


def test_bundled_dalvik_dumps_apply_the_patterns_of_api_19_on_no_vendor(open_dump):
    heap = open_dump(DIALER)
    findings = find_leaks(heap, list(ANDROID_RULES), AppPackages([]))
    applied = {p.name for p in findings.library_patterns}
    assert "TEXT_LINE_CACHED" in applied  # API 22 and lower
    assert "ACTIVITY_THREAD_NEW_ACTIVITIES" in applied  # API 19+
    assert "IMM_IME_INSETS_CONSUMER" not in applied  # API 30+
    assert "PERMISSION_CONTROLLER_MANAGER_CONTEXT" not in applied  # API 29+
    assert "SPEN_GESTURE_MANAGER_CONTEXT" not in applied  # samsung, API 19: "unknown" is no vendor
    assert not any(p.manufacturers for p in findings.library_patterns)
    assert len(applied) == len({p.name for p in LIBRARY_LEAKS
                                if p.applies_in(AndroidBuild(19, "unknown"))})
    # the one known reference the dialer holds, TextLine.sCached, is walked last
    assert {p.name for p in findings.finder.library_edges.values()} == {"TEXT_LINE_CACHED"}


def _library_edges(heap, pattern: ReferencePattern) -> set[str]:
    findings = find_leaks(heap, [], AppPackages([]), library_patterns=[pattern])
    return {p.name for p in findings.finder.library_edges.values()}


def test_user_limits_decide_on_a_bundled_dump(open_dump, data_dir, tmp_path):
    """The same reference (the dialer's TextLine.sCached) as a user's pattern with limits."""
    heap = open_dump(DIALER)

    def pattern(**limits):
        return ReferencePattern("MINE", "android.text.TextLine", "sCached", True, "", **limits)

    assert _library_edges(heap, pattern(api_max=19)) == {"MINE"}
    assert _library_edges(heap, pattern(api_min=20)) == set()
    assert _library_edges(heap, pattern(manufacturers=("samsung",))) == set()
    assert _library_edges(heap, pattern(manufacturers=("UNKNOWN",))) == {"MINE"}
    # stripped, the manufacturer is unknown: the vendor's pattern applies
    out = tmp_path / "dialer.hprof.zst"
    strip_dump(data_dir / DIALER, out, "strings")
    with oomlens.open_heap(out) as stripped:
        assert _library_edges(stripped, pattern(manufacturers=("samsung",))) == {"MINE"}
        assert _library_edges(stripped, pattern(api_min=20)) == set()  # SDK_INT stays


def library(report) -> dict[str, tuple[str, str]]:
    return {g["class"]: (g["library_leak"]["pattern"], g["library_leak"]["applies_to"])
            for g in report["library_leaks"]}


def test_scenario_on_samsung_api_21_has_every_library_leak(reports):
    assert library(reports["samsung"]) == {
        "com.example.app.SearchBox": ("IMM_NEXT_SERVED_VIEW", "API 15-33"),
        "com.example.app.SplashActivity": ("ACTIVITY_THREAD_NEW_ACTIVITIES", "API 19+"),
        "com.example.app.ReaderActivity": ("TEXT_LINE_CACHED", "API 22 and lower"),
        "android.widget.TextView": ("TEXT_VIEW_LAST_HOVERED_VIEW", "samsung, API 19-31")}
    assert "com.example.app.ReaderActivity" not in groups(reports["samsung"])


def test_scenario_on_lg_api_23_reports_the_excluded_ones_as_leaks(reports):
    """TextLine.sCached is known up to API 22 and TextView.mLastHoveredView on Samsung only:
    on an LG API 23 build they are the app's leaks, with the same paths."""
    report = reports["lge"]
    assert set(library(report)) == {"com.example.app.SearchBox",
                                    "com.example.app.SplashActivity"}
    leaks = groups(report)
    reader = leaks["com.example.app.ReaderActivity"][0]
    assert path_names(reader)[-4:] == ["sCached", "[0]", "mText", "span"]
    assert reader["library_leak"] is None and reader["rule"] == "ACTIVITY"
    hovered = leaks["android.widget.TextView"][0]
    assert path_names(hovered)[-1:] == ["mLastHoveredView"]
    assert not any(n["reference"]["library_leak"] for g in report["leaks"]
                   for t in g["traces"] for n in t["nodes"][:-1])


def test_a_stripped_manufacturer_applies_the_vendor_pattern_and_says_so(reports):
    """Stripped at --level strings, the LG dump's manufacturer is unknown: Samsung's pattern
    is applied (the reference is in the dump), and its applies_to says it went unchecked.
    SDK_INT stays, so TextLine.sCached stays excluded. Apart from that one leak, the findings
    are the original's."""
    before, after = reports["lge"], reports["lge_stripped"]
    assert library(after)["android.widget.TextView"] == (
        "TEXT_VIEW_LAST_HOVERED_VIEW",
        "samsung, API 19-31, not checked: the dump's manufacturer is unknown "
        "(Build.MANUFACTURER's text was removed by oomlens strip)")
    assert "com.example.app.ReaderActivity" in groups(after)

    def without_hovered(report):
        return {key: [{k: v for k, v in g.items() if k not in ("watch_keys",
                                                                "watch_descriptions")}
                      for g in report[key] if g["class"] != "android.widget.TextView"]
                for key in ("leaks", "library_leaks")}

    assert without_hovered(after) == without_hovered(before)


def test_without_android_build_every_limit_is_said_unchecked(java_dumps):
    with oomlens.open_heap(java_dumps("AndroidLeaks")) as heap:
        report = build_report(heap, Settings())
    texts = {g["library_leak"]["applies_to"] for g in report["library_leaks"]}
    assert texts == {f"{limits}, not checked: the dump's API level is unknown ({NO_BUILD})"
                     for limits in ("API 15-33", "API 19+", "API 22 and lower")}


# -- fields read as the framework declares them --------------------------------------------------

def test_every_built_in_rule_names_the_class_of_each_field_it_reads():
    for rule in ANDROID_RULES:
        compiled = CompiledRule(rule)
        reads_fields = compiled.leaking or compiled.not_leaking or rule.registered_in
        assert bool(compiled.fields) == bool(reads_fields), rule.name
        assert all(owner.startswith(("android.", "androidx."))
                   for owners in compiled.fields.values() for owner in owners)
    assert CompiledRule(next(r for r in ANDROID_RULES
                             if r.name == "VIEW_OF_DESTROYED_ACTIVITY")).context == \
        ("android.view.View", "mContext")
    unnamed = LeakRule("R", "a.B", "x == true and y == 1", fields=("a.B.x",))
    with pytest.raises(OomlensError, match="y is read but its class is not named in fields"):
        CompiledRule(unnamed)


@pytest.mark.parametrize("name", [DIALER, LEAKCANARY])
def test_the_named_classes_declare_those_fields_in_real_android(open_dump, name):
    """Android 4.4's framework classes declare (or inherit) every field the rules name."""
    heap = open_dump(name)
    reader = FieldReader(heap)
    named = [(owner, field) for rule in ANDROID_RULES
             for field, owners in CompiledRule(rule).fields.items() for owner in owners]
    named += [("android.view.View", "mContext"), ("android.app.Activity", "mDestroyed"),
              ("android.content.ContextWrapper", "mBase")]
    checked = 0
    for owner, field in named:
        for cls in heap.classes_named(owner):
            checked += 1
            assert reader.slot(cls.index, owner, field) is not None, (owner, field)
    assert checked >= 10


def test_android_44s_context_theme_wrapper_shadows_mbase(open_dump):
    """A real case of a subclass declaring a field of its superclass's name: the dialer's
    ContextThemeWrapper has its own mBase besides ContextWrapper's. The rules read
    ContextWrapper's (here both hold the same Service)."""
    heap = open_dump(DIALER)
    themed = heap.instances_of("android.view.ContextThemeWrapper", subclasses=False)[0]
    declaring = [d for name, _, _, d in themed.field_layout() if name == "mBase"]
    assert declaring == ["android.view.ContextThemeWrapper", "android.content.ContextWrapper"]
    reader = FieldReader(heap)
    k = themed.klass.index
    assert reader.slot(k, "android.content.ContextWrapper", "mBase") != heap.field_slots(k)["mBase"]
    assert reader.slot(k, "android.view.ContextThemeWrapper", "mBase") == \
        heap.field_slots(k)["mBase"]
    framework = reader.value(themed.index, "android.content.ContextWrapper", "mBase")
    assert framework.class_name == "com.android.dialer.calllog.CallLogNotificationsService"


def test_an_apps_own_mdestroyed_does_not_stand_in_for_the_frameworks(scenario, reports):
    """S18: MyActivity declares its own mDestroyed, set opposite to Activity's."""
    report = reports["samsung"]
    with oomlens.open_heap(scenario["samsung"]) as heap:
        destroyed = heap.find_class("com.example.app.RuleHolders").static_fields()[
            "sShadowDestroyed"]
        alive = heap.find_class("com.example.app.RuleHolders").static_fields()["sShadowAlive"]
        assert (destroyed["mDestroyed"], alive["mDestroyed"]) == (False, True)  # the app's
        inspector = Inspector(heap, list(ANDROID_RULES))
        assert inspector.judge(destroyed.index) == ("yes", "Activity#mDestroyed is true")
        assert inspector.judge(alive.index) == ("no", "Activity#mDestroyed is false")
        # a user's rule reads the name as the class's own source would: the app's field
        mine = Inspector(heap, [LeakRule("MINE", "com.example.app.MyActivity",
                                         "mDestroyed == true", "mine", source="test")])
        assert mine.judge(alive.index) == ("yes", "mine")
        expected = [format_id(destroyed.id)]
    [group] = groups(report)["com.example.app.MyActivity"]
    assert group["objects"] == expected and group["reason"] == "Activity#mDestroyed is true"
    assert path_names(group)[-1:] == ["sShadowDestroyed"]


def test_an_apps_own_mcontext_does_not_stand_in_for_the_views(scenario, reports):
    """S19: LabelView declares its own mContext. The one whose View#mContext is a destroyed
    Activity is leaking; the one whose own field holds a destroyed Activity is not (the
    Activity is, as an Activity, held through that field)."""
    report = reports["samsung"]
    with oomlens.open_heap(scenario["samsung"]) as heap:
        leaking = static_id(heap, "com.example.app.RuleHolders", "sLabelLeaking")
    [label] = groups(report)["com.example.app.LabelView"]
    assert label["objects"] == [leaking] and label["rule"] == "VIEW_OF_DESTROYED_ACTIVITY"
    assert label["reason"] == "View#mContext is a destroyed Activity"
    [activity] = groups(report)["com.example.app.LabelActivity"]  # the other one: a consequence
    assert path_names(activity)[-2:] == ["sLabelAlive", "mContext"]
    view = activity["traces"][0]["nodes"][-2]
    assert view["class"] == "com.example.app.LabelView" and view["leaking"] == "no"
    assert 320_000 < activity["retained_bytes"] < 321_000


# -- ContextWrapper chains ------------------------------------------------------------------------

def test_a_views_context_is_unwrapped_through_three_wrappers(reports):
    """S20: ChainView's mContext is ContextThemeWrapper > LocaleContext > TintContext > the
    destroyed ChainActivity; the Activity is held through the View, so the View is the leak."""
    for name in ("samsung", "lge", "lge_stripped"):
        [chain] = groups(reports[name])["com.example.app.ChainView"]
        assert chain["reason"] == CHAIN_REASON and chain["instances"] == 1
        assert path_names(chain)[-1:] == ["sChain"]
        assert chain["traces"][0]["nodes"][-1]["reason"] == CHAIN_REASON
        assert "com.example.app.ChainActivity" not in groups(reports[name])
        assert 330_000 < chain["retained_bytes"] < 331_000
    # a View whose mContext is the Activity itself says nothing of wrappers
    assert groups(reports["samsung"])["com.example.app.PreviewView"][0]["reason"] == \
        "View#mContext is a destroyed Activity"


def test_unwrapping_stops_at_a_cycle_and_at_the_bound(scenario, monkeypatch):
    with oomlens.open_heap(scenario["samsung"]) as heap:
        holders = heap.find_class("com.example.app.RuleHolders").static_fields()
        inspector = Inspector(heap, list(ANDROID_RULES))
        reader = inspector.reader

        def context(view):
            return reader.value(view.index, "android.view.View", "mContext")

        loop, chain = holders["sLoop"], holders["sChain"]
        activity, wrappers = inspector.activity_of_context(context(loop))
        assert activity is None
        assert [heap.class_name_of(w) for w in wrappers] == ["com.example.app.LocaleContext",
                                                             "com.example.app.TintContext"]
        assert inspector.judge(loop.index) == ("no", "View#mAttachInfo is not null (attached "
                                                     "to a window)")
        activity, wrappers = inspector.activity_of_context(context(chain))
        assert heap.class_name_of(activity) == "com.example.app.ChainActivity"
        assert len(wrappers) == 3
        monkeypatch.setattr(inspectors, "MAX_CONTEXT_WRAPPERS", 2)
        assert inspector.activity_of_context(context(chain))[0] is None
        assert inspector.judge(chain.index)[0] == "no"  # attached, and no Activity found


def test_an_application_context_wraps_no_activity(open_dump):
    """The LeakCanary dump's Views all have the ExampleApplication as mContext: a ContextWrapper
    around a ContextImpl, so no Activity, and no View of a destroyed Activity."""
    heap = open_dump(LEAKCANARY)
    inspector = Inspector(heap, list(ANDROID_RULES))
    views = heap.instances_of("android.view.View")
    assert len(views) == 6
    for view in views:
        base = inspector.reader.value(view.index, "android.view.View", "mContext")
        activity, wrappers = inspector.activity_of_context(base)
        assert activity is None
        assert [heap.class_name_of(w) for w in wrappers] == [
            "com.example.leakcanary.ExampleApplication"]
    found = inspector.leaking_objects(heap.instance_indices("android.view.View"))
    assert "VIEW_OF_DESTROYED_ACTIVITY" not in {rule for rule, _ in found.values()}


# -- the config's [[library_leaks]] limits --------------------------------------------------------

def _config(tmp_path, body: str):
    path = tmp_path / "oomlens.toml"
    path.write_text('[[library_leaks]]\nclass = "com.vendor.Tracker"\nfield = "sLast"\n'
                    'static = true\n' + body)
    return load_settings(path)


def test_config_library_leaks_take_limits(tmp_path):
    mine = _config(tmp_path, 'api_min = 26\napi_max = 30\nmanufacturer = "samsung"\n'
                   ).library_leaks[-1]
    assert (mine.api_min, mine.api_max, mine.manufacturers) == (26, 30, ("samsung",))
    assert mine.applies_to == "samsung, API 26-30"
    both = _config(tmp_path, 'manufacturer = ["LGE", "HUAWEI"]\n').library_leaks[-1]
    assert both.manufacturers == ("LGE", "HUAWEI") and both.applies_to == "LGE, HUAWEI"
    assert _config(tmp_path, "").library_leaks[-1].applies_to == ""


@pytest.mark.parametrize("body, message", [
    ("api_min = 31\napi_max = 30\n", "library_leaks #1: api_min 31 is above api_max 30"),
    ('api_min = "29"\n', "'api_min' must be an Android API level"),
    ("api_max = 0\n", "'api_max' must be an Android API level"),
    ("api_max = true\n", "'api_max' must be an Android API level"),
    ("manufacturer = []\n", "'manufacturer' must be a name or a non-empty list"),
    ('manufacturer = ["LGE", 3]\n', "'manufacturer' must be a name or a non-empty list"),
    ("manufacturers = 'LGE'\n", "library_leaks #1: unknown key(s) manufacturers"),
])
def test_bad_config_limits_are_one_line_errors(tmp_path, body, message):
    with pytest.raises(ConfigError) as e:
        _config(tmp_path, body)
    assert message in str(e.value) and "\n" not in str(e.value)

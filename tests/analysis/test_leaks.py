"""Leak findings on dumps of tests/java/AndroidLeaks (see its SCENARIOS.md): stand-in Android
classes with the real field names, on a real JVM."""

from __future__ import annotations

import pytest

import oomlens
from oomlens.config import Settings, load_settings
from oomlens.report.document import build_report

pytestmark = pytest.mark.jvm

BYTE_ARRAY_HEADER = 16  # HotSpot, 64-bit, compressed oops: byte[n] takes 16 + n bytes
ACTIVITY_SHALLOW = 32
USER_RULES = '''
app_packages = ["com.example"]

[[leak_rules]]
class = "com.example.server.Connection"
leaking_when = 'closed == true and state == "CLOSED"'
reason = "Connection is closed"
not_leaking_when = "closed == false"

[[leak_rules]]
class = "com.example.server.Session"
leaking_when = "owner == null"
'''


@pytest.fixture(scope="module")
def reports(java_dumps, tmp_path_factory):
    """Report documents for variants a, b, c, and a with the user rules."""
    config = tmp_path_factory.mktemp("config") / "oomlens.toml"
    config.write_text(USER_RULES)
    made = {}
    for variant in ("a", "b", "c"):
        with oomlens.open_heap(java_dumps("AndroidLeaks", variant)) as heap:
            made[variant] = build_report(heap, Settings())
            if variant == "a":
                made["rules"] = build_report(heap, load_settings(config))
                made["few_traces"] = build_report(heap, Settings(max_traces=5))
    return made


def groups_by_class(report, key="leaks"):
    found = {}
    for group in report[key]:
        found.setdefault(group["class"], []).append(group)
    return found


def path_names(trace) -> list[str]:
    """The reference names along a trace, root first."""
    return [n["reference"]["name"] for n in trace["nodes"][:-1]]


EXPECTED_LEAKS = {
    # class: (path from the static field / root on, payload bytes)
    "com.example.app.DetailActivity": (["sLastDetail"], 2_000_000),
    "com.example.app.ProfileFragment": (["sListeners", "elementData", "[0]", "fragment"],
                                        120_000),
    "com.example.app.LegacyFragment": (["sMainLooper", "mQueue", "mMessages", "callback",
                                        "this$0"], 140_000),
    "com.example.app.BannerView": (["sBanner"], 160_000),
    "com.example.app.SyncService": (["sInstance"], 200_000),
    "com.example.app.CartViewModel": (["sObservers", "elementData", "[0]"], 220_000),
    "android.os.MessageQueue": (["sQueue"], 240_000),
    "android.view.Window": (["sLastWindow"], None),
    "android.view.ViewRootImpl": (["sLastRoot"], None),
    "com.example.app.PreviewView": (["sPreview"], None),
}


@pytest.mark.parametrize("class_name", sorted(EXPECTED_LEAKS))
def test_each_android_leak_is_found_with_its_trace(reports, class_name):
    groups = groups_by_class(reports["a"])[class_name]
    assert len(groups) == 1
    group = groups[0]
    assert group["instances"] == 1 and group["library_leak"] is None
    trace = group["traces"][0]
    expected_path, payload = EXPECTED_LEAKS[class_name]
    assert path_names(trace) == expected_path
    first, last = trace["nodes"][0], trace["nodes"][-1]
    assert first["kind"] == "class" and first["leaking"] == "no"
    assert last["class"] == class_name and last["leaking"] == "yes" and last["reason"]
    assert trace["retained_bytes"] == group["retained_bytes"]
    if payload is not None:
        # the object, its payload array, and (for subclasses with more fields) nothing else big
        assert payload + BYTE_ARRAY_HEADER < group["retained_bytes"] < payload + 1000


def test_destroyed_activity_trace_reads_like_leakcanary(reports):
    group = groups_by_class(reports["a"])["com.example.app.DetailActivity"][0]
    assert group["reason"] == "Activity#mDestroyed is true"
    assert group["retained_bytes"] == ACTIVITY_SHALLOW + BYTE_ARRAY_HEADER + 2_000_000
    assert group["watch_keys"] == ["key-detail"]
    assert group["watch_descriptions"] == [
        "com.example.app.DetailActivity received Activity#onDestroy() callback"]
    root, leak = group["traces"][0]["nodes"]
    assert root["class"] == "class com.example.app.AppState"
    assert root["reason"] == "a class is never leaking"
    assert root["reference"] == {"name": "sLastDetail", "kind": "static", "suspect": True,
                                 "library_leak": None}


def test_verdicts_propagate_and_mark_the_suspect_window(reports):
    group = groups_by_class(reports["a"])["com.example.app.CartViewModel"][0]
    nodes = group["traces"][0]["nodes"]
    # class CartRepository (NO) -> ArrayList -> Object[] -> CartViewModel (YES): the list and
    # its array are unknown, and every reference from the class down is a suspect
    assert [n["leaking"] for n in nodes] == ["no", "unknown", "unknown", "yes"]
    assert [n["reference"]["suspect"] for n in nodes[:-1]] == [True, True, True]


def test_live_and_weakly_held_objects_are_not_reported(reports):
    report = reports["a"]
    leaking_ids = {obj for g in report["leaks"] + report["library_leaks"] for obj in g["objects"]}
    reported = groups_by_class(report)
    for name in ("com.example.app.MainActivity", "com.example.app.WeakHeldActivity",
                 "com.example.app.SoftHeldActivity", "com.example.app.LiveService"):
        assert name not in reported
    # one of the two ProfileFragments, CartViewModels and MessageQueues is alive
    for name in ("com.example.app.ProfileFragment", "com.example.app.CartViewModel",
                 "android.os.MessageQueue"):
        assert sum(g["instances"] for g in reported[name]) == 1
    # no object is in two groups
    assert len(leaking_ids) == sum(g["instances"] for g in report["leaks"] + report["library_leaks"])


def test_library_leaks_are_walked_last_and_reported_apart(reports):
    library = groups_by_class(reports["a"], "library_leaks")
    expected = {"com.example.app.SearchBox": ("IMM_NEXT_SERVED_VIEW", "mNextServedView"),
                "com.example.app.SplashActivity": ("ACTIVITY_THREAD_NEW_ACTIVITIES",
                                                   "mNewActivities"),
                "com.example.app.ReaderActivity": ("TEXT_LINE_CACHED", "sCached")}
    assert set(library) == set(expected)
    for name, (pattern, field) in expected.items():
        group = library[name][0]
        assert group["library_leak"]["pattern"] == pattern
        flagged = [n["reference"]["name"] for n in group["traces"][0]["nodes"][:-1]
                   if n["reference"]["library_leak"]]
        assert flagged == [field]
    assert not set(library) & set(groups_by_class(reports["a"]))


def test_a_leak_held_through_another_is_not_reported_twice(reports):
    # SettingsActivity is only reachable through the leaking PreviewView: it is reported only
    # because LeakCanary 1.x watched it, and its trace goes through the view
    settings = groups_by_class(reports["a"])["com.example.app.SettingsActivity"][0]
    assert settings["watch_keys"] == ["key-settings"]
    nodes = settings["traces"][0]["nodes"]
    assert [n["class"] for n in nodes[-2:]] == ["com.example.app.PreviewView",
                                                "com.example.app.SettingsActivity"]
    assert nodes[-2]["leaking"] == "yes"
    # SearchActivity hangs below the leaking SearchBox and nobody watched it
    assert "com.example.app.SearchActivity" not in groups_by_class(reports["a"], "library_leaks")


def test_many_instances_are_one_group_with_bounded_traces(reports):
    full = groups_by_class(reports["a"])["com.example.app.ItemActivity"]
    assert len(full) == 1
    assert full[0]["instances"] + full[0]["untraced_instances"] == 30
    assert full[0]["instances"] == Settings().max_traces
    few = groups_by_class(reports["few_traces"])["com.example.app.ItemActivity"][0]
    assert (few["instances"], few["untraced_instances"], len(few["traces"])) == (5, 25, 3)
    # the group's retained size is that of the traced objects as a set
    each = ACTIVITY_SHALLOW + BYTE_ARRAY_HEADER + 10_000
    assert few["retained_bytes"] == 5 * each
    assert full[0]["retained_bytes"] == Settings().max_traces * each


def signatures(report) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for group in report["leaks"] + report["library_leaks"]:
        found.setdefault(group["class"], set()).add(group["signature"])
    return found


def test_signatures_are_stable_across_runs_and_differ_across_bugs(reports):
    a, b, c = (signatures(reports[v]) for v in "abc")
    assert a == b  # other ids, counts and sizes: the same bugs
    changed = {name for name in a if a[name] != c.get(name)}
    assert changed == {"com.example.app.DetailActivity"}  # held by another static field in c
    every = [s for sigs in a.values() for s in sigs]
    assert len(every) == len(set(every))


def test_user_rules_from_the_config(reports):
    groups = groups_by_class(reports["rules"])
    connections = groups["com.example.server.Connection"][0]
    assert connections["instances"] == 3 and connections["reason"] == "Connection is closed"
    assert path_names(connections["traces"][0])[0] == "sAll"
    sessions = groups["com.example.server.Session"][0]
    assert sessions["instances"] == 2
    assert path_names(sessions["traces"][0]) in (["sSessions", "[0]"], ["sSessions", "[2]"])
    assert reports["rules"]["settings"]["app_packages"] == ["com.example"]
    assert "com.example.server.Connection" not in groups_by_class(reports["a"])


def test_big_objects_are_named_by_their_owner_and_holder(reports):
    big = {b["class"]: b for b in reports["a"]["big_objects"]}
    adapter = big["com.example.app.ArticleAdapter"]
    assert adapter["holder"] == "com.example.app.MainActivity.adapter"
    assert adapter["accumulation_point"]["class"] == "java.lang.Object[]"
    cache = big["com.example.app.ImageCache"]
    assert cache["holder"] == "com.example.app.ImageCache.sInstance"
    assert cache["retained_bytes"] >= 8 * (1_000_000 + BYTE_ARRAY_HEADER)
    queue = big["java.util.ArrayDeque"]
    assert queue["holder"] == "com.example.app.Prefetcher.sQueue"
    assert queue["retained_bytes"] > 84 * (150_000 + BYTE_ARRAY_HEADER)
    assert big["com.example.app.DetailActivity"]["retained_bytes"] == \
        ACTIVITY_SHALLOW + BYTE_ARRAY_HEADER + 2_000_000
    assert all(b["retained_bytes"] >= 1 << 20 for b in big.values())
    assert not any(name.endswith("ClassLoader") for name in big)


def test_class_cluster_retained_as_a_set_with_owners(reports):
    clusters = {c["class"]: c for c in reports["a"]["class_clusters"]}
    cells = clusters["com.example.app.ArticleCell"]
    assert cells["instances"] == 364
    assert cells["retained_bytes"] == 364 * (16 + BYTE_ARRAY_HEADER + 150_000)
    owners = {o["holder"]: o["instances"] for o in cells["owners"]}
    assert owners == {"com.example.app.ArticleAdapter.cells": 280,
                      "com.example.app.Prefetcher.sQueue": 84}
    # the images are the cells' memory: folded under them, not a second cluster
    assert [c["class"] for c in cells["contains"]] == ["byte[]"]
    assert "byte[]" not in clusters
    b_cells = {c["class"]: c for c in reports["b"]["class_clusters"]}["com.example.app.ArticleCell"]
    assert b_cells["signature"] == cells["signature"] and b_cells["instances"] == 400


def test_leakcanary_sample_dump(open_dump):
    """LeakCanary's own test dump: the watched service leaks through a static field."""
    heap = open_dump("dalvik_leak_service_binder.hprof.gz")
    report = build_report(heap, Settings())
    group = groups_by_class(report)["com.example.leakcanary.LeakyService"][0]
    assert "b3abfae6-2c53-42e1-b8c1-96b0558dbeae" in group["watch_keys"]
    root = group["traces"][0]["nodes"][0]
    assert root["class"] == "class com.example.leakcanary.LeakyService"
    assert root["reference"]["kind"] == "static"
    assert root["reference"]["name"] == "leakAllTheBinders"


def test_big_object_and_cluster_signatures_are_stable(reports):
    def big(report):
        return {b["class"]: b["signature"] for b in report["big_objects"]}

    def clusters(report):
        return {c["class"]: c["signature"] for c in report["class_clusters"]}

    assert big(reports["a"]) == big(reports["b"])
    assert clusters(reports["a"]) == clusters(reports["b"])
    # in c the DetailActivity hangs from another static field: another holder, another bug
    assert big(reports["a"])["com.example.app.DetailActivity"] != \
        big(reports["c"])["com.example.app.DetailActivity"]


def test_enum_constants_compare_by_their_static_field_name(java_dumps):
    """`mLifecycleRegistry.mState == "DESTROYED"` reads the constant's name from its enum
    class's static fields, so it holds on dumps whose strings were stripped too."""
    from oomlens.analysis.conditions import evaluate, parse_condition
    from oomlens.analysis.inspectors import ANDROID_RULES, Inspector

    with oomlens.open_heap(java_dumps("AndroidLeaks")) as heap:
        inspector = Inspector(heap, list(ANDROID_RULES))
        states = {}
        for fragment in heap.instance_indices("com.example.app.ProfileFragment").tolist():
            read = inspector._read_path(fragment)
            states[read(("mLifecycleRegistry", "mState"))] = evaluate(
                parse_condition('mLifecycleRegistry.mState == "DESTROYED"'), read)
    assert states == {"DESTROYED": True, "RESUMED": False}

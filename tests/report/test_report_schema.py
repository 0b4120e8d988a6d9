"""The report document against its published schema, src/oomlens/report/schema/report-1.json.

Real documents (every bundled dump, default and low thresholds, an OOM message, the JVM-made
AndroidLeaks dump, the command line with --mapping) must validate; the tests also check that
those documents hold a non-empty instance of every shape the schema defines, so no part of the
schema goes untested, and that the schema rejects what it should (it is strict on purpose)."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import tomllib
from importlib import resources

import pytest
from conftest import ALL_DUMPS, DATA, TESTS
from jsonschema import Draft202012Validator, validators

from oomlens.analysis.bitmaps import DuplicateBitmaps
from oomlens.analysis.trigger import capture_section
from oomlens.capture.sidecar import checked_sidecar
from oomlens.config import Settings
from oomlens.report.document import SCHEMA, build_report

BINDER = "dalvik_leak_service_binder.hprof.gz"
ART = "art_ahat_test-dump.hprof.gz"
MAPPING = "art_ahat_test-dump.map"
LOW = dict(big_object_bytes=1024, cluster_min_instances=2, cluster_min_bytes=1024,
           large_bitmap_bytes=1024)
ART_OOM = ("Failed to allocate a 4194320 byte allocation with 1048576 free bytes and 3MB until "
           "OOM, target footprint 268435456, growth limit 268435456")
OOM_MESSAGES = ["Java heap space", ART_OOM,
                "pthread_create (1040KB stack) failed: Try again",
                "Could not allocate JNI Env: Too many open files", "something else entirely"]
# Shapes the bundled dumps cannot show: no bundled dump has a known library leak.
JVM_ONLY = {"library_leak_pattern"}
# Shapes only a capture's sidecar gives (tests/report/test_capture_report.py checks them).
CAPTURE_ONLY = {"capture", "capture_threshold"}
# A heap-threshold capture as the agent writes it (docs/capture.md), for the strictness tests.
SIDECAR = {"schema": "oomlens.capture/1", "capture_id": "5b1c", "trigger": "heap-threshold",
           "threshold": {"metric": "heap", "value": 461_373_440, "limit": 429_496_729,
                         "max": 536_870_912, "checks": 3, "rule": "sustained"},
           "heap_used_bytes": 501_219_328, "heap_after_gc_bytes": 461_373_440,
           "heap_max_bytes": 536_870_912, "threads": 41, "open_fds": 88, "fd_limit": 4096,
           "pid": 4711, "host": "build-7", "jvm": {"name": "OpenJDK 64-Bit Server VM"}}


def _strict_integer(checker, instance) -> bool:
    """JSON Schema lets 3.0 pass as an integer; the report never writes a float, so here it
    does not (a count that is sometimes 3 and sometimes 3.0 is a bug)."""
    return isinstance(instance, int) and not isinstance(instance, bool)


StrictValidator = validators.extend(
    Draft202012Validator,
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", _strict_integer))


def as_printed(doc: dict) -> dict:
    """The document as ``--format json`` writes it (tuples become lists, and anything JSON
    cannot hold, such as a NumPy integer, fails here)."""
    return json.loads(json.dumps(doc, ensure_ascii=False))


@pytest.fixture(scope="module")
def schema() -> dict:
    text = resources.files("oomlens.report").joinpath("schema/report-1.json").read_text("utf-8")
    return json.loads(text)


@pytest.fixture(scope="module")
def validator(schema):
    return StrictValidator(schema)


def errors_of(validator, doc: dict) -> list[str]:
    return [f"{e.json_path}: {e.message[:300]}" for e in validator.iter_errors(doc)]


def assert_valid(validator, doc: dict) -> None:
    errors = errors_of(validator, doc)
    assert not errors, "\n".join(errors[:20])


@pytest.fixture(scope="module")
def report_of(open_dump):
    """``report_of(dump, "default" | "low")``: the document of a bundled dump, as printed."""
    cache: dict[tuple[str, str], dict] = {}

    def make(name: str, thresholds: str) -> dict:
        key = (name, thresholds)
        if key not in cache:
            settings = Settings(**LOW) if thresholds == "low" else Settings()
            cache[key] = as_printed(build_report(open_dump(name), settings))
        return cache[key]

    return make


def run_analyze(*args: str) -> dict:
    done = subprocess.run([sys.executable, "-m", "oomlens.cli.main", "analyze", *args,
                           "--format", "json", "--no-progress"],
                          capture_output=True, text=True, cwd=TESTS.parent, timeout=600)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def mapped_doc() -> dict:
    return run_analyze(str(DATA / ART), "--mapping", str(DATA / MAPPING))


@pytest.fixture(scope="module")
def oom_docs(open_dump) -> list[dict]:
    heap = open_dump(ART)
    return [as_printed(build_report(heap, Settings(), oom_message=m)) for m in OOM_MESSAGES]


@pytest.fixture(scope="module")
def duplicates_doc(report_of) -> dict:
    """The bundled dumps have no identical bitmaps: a real group, made by the analysis's own
    dataclass, put into a real document."""
    doc = copy.deepcopy(report_of(BINDER, "low"))
    dup = DuplicateBitmaps(44, 64, 11264, [0xb0d4db38, 0xb0ec5720, 0xb0ec5758],
                           {"class android.content.res.Resources": 3})
    doc["bitmaps"]["duplicates"] = [dup.to_json()]
    doc["bitmaps"]["duplicate_wasted_bytes"] = dup.wasted_bytes
    return as_printed(doc)


@pytest.fixture(scope="module")
def android_leaks_doc(java_dumps) -> dict:
    import oomlens

    with oomlens.open_heap(java_dumps("AndroidLeaks")) as heap:
        return as_printed(build_report(heap, Settings()))


# -- the schema itself ------------------------------------------------------------------------

def test_schema_is_valid_draft_2020_12(schema):
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["properties"]["schema"] == {"const": SCHEMA}


def test_schema_ships_in_the_package():
    pyproject = tomllib.loads((TESTS.parent / "pyproject.toml").read_text("utf-8"))
    assert "schema/*.json" in pyproject["tool"]["setuptools"]["package-data"]["oomlens.report"]
    assert resources.files("oomlens.report").joinpath("schema/report-1.json").is_file()


def _objects_in(node, where="$"):
    if isinstance(node, dict):
        if node.get("type") == "object" or "properties" in node:
            yield where, node
        for key, value in node.items():
            yield from _objects_in(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _objects_in(value, f"{where}/{i}")


def test_every_object_is_closed_and_its_keys_required(schema):
    """Strict by construction: no object accepts unknown keys, and every listed key is
    required, except the OOM message's numbers (only those the message has)."""
    optional_ok = {"$/$defs/oom_cause/properties/numbers": None,
                   # added to oomlens.report/1 later: documents made before have no capture
                   "$": {"capture"},
                   # the list limits, recorded later: older documents listed 50 and 20
                   "$/$defs/settings": {"max_big_objects", "max_class_clusters"}}
    for where, obj in _objects_in(schema):
        if "properties" not in obj or where.endswith("/items"):
            continue  # a $ref with one more constraint on a property (the leaks lists)
        assert obj.get("additionalProperties") is False, where
        missing = set(obj["properties"]) - set(obj.get("required", []))
        if where in optional_ok:
            allowed = optional_ok[where]
            assert allowed is None or missing == allowed, where
        else:
            assert not missing, f"{where}: not required: {sorted(missing)}"


# -- real documents ---------------------------------------------------------------------------

@pytest.mark.parametrize("thresholds", ["default", "low"])
@pytest.mark.parametrize("name", ALL_DUMPS)
def test_bundled_dump_documents_validate(validator, report_of, name, thresholds):
    assert_valid(validator, report_of(name, thresholds))


def test_low_thresholds_fill_every_section(report_of):
    docs = [report_of(name, "low") for name in ALL_DUMPS]
    assert any(b["nested"] for d in docs for b in d["big_objects"])
    assert any(c["contains"] for d in docs for c in d["class_clusters"])
    assert any(d["bitmaps"]["large"] for d in docs)
    assert any(d["leaks"] for d in docs)


@pytest.mark.parametrize("message", OOM_MESSAGES)
def test_oom_message_documents_validate(validator, oom_docs, message):
    doc = oom_docs[OOM_MESSAGES.index(message)]
    assert doc["oom_cause"]["message"] == message
    assert_valid(validator, doc)


def test_java_heap_space(oom_docs):
    cause = oom_docs[0]["oom_cause"]
    assert (cause["kind"], cause["runtime"]) == ("heap-exhausted", "HotSpot")
    assert oom_docs[1]["oom_cause"]["numbers"]["allocation_bytes"] == 4194320


def test_duplicate_bitmaps_validate(validator, duplicates_doc):
    assert duplicates_doc["bitmaps"]["duplicates"]
    assert_valid(validator, duplicates_doc)


def test_command_line_with_mapping_validates(validator, mapped_doc):
    assert mapped_doc["retrace"]["mapping_classes_in_dump"] > 0
    assert_valid(validator, mapped_doc)


def test_command_line_without_mapping_validates(validator):
    doc = run_analyze(str(DATA / BINDER), "--oom-message", "Java heap space")
    assert doc["retrace"] is None
    assert_valid(validator, doc)


@pytest.mark.jvm
def test_android_leaks_document_validates(validator, android_leaks_doc):
    doc = android_leaks_doc
    assert doc["leaks"] and doc["library_leaks"] and doc["big_objects"]
    assert doc["class_clusters"]
    assert any(g["watch_keys"] for g in doc["leaks"])
    assert_valid(validator, doc)


# -- every shape of the schema appears, non-empty, in the documents validated -----------------

def _big(items):
    for b in items:
        yield b
        yield from _big(b["nested"])


def _clusters(items):
    for c in items:
        yield c
        yield from _clusters(c["contains"])


def _groups(d):
    return d["leaks"] + d["library_leaks"]


def _traces(d):
    return [t for g in _groups(d) for t in g["traces"]]


def _nodes(d):
    return [n for t in _traces(d) for n in t["nodes"]] + \
        [n for b in _big(d["big_objects"]) for n in b["path"]]


# $def -> (instances in one document, what a good example must show)
SHAPES = {
    "object_id": (lambda d: [n["object"] for n in _nodes(d)], None),
    "signature": (lambda d: [b["signature"] for b in _big(d["big_objects"])], None),
    "bytes": (lambda d: [d["dump"]["shallow_bytes"]], None),
    "count": (lambda d: [d["dump"]["objects"]], None),
    "class_name": (lambda d: [r["class"] for r in d["histogram"]], None),
    "holder_counts": (lambda d: [t["holders"] for t in d["threads"]]
                      + [g["holders"] for g in d["file_descriptors"]["by_owner"]]
                      + [g["holders"] for g in d["bitmaps"]["duplicates"]], None),
    "root_kind": (lambda d: [k for t in _traces(d) for k in t["root_kinds"]]
                  + [k for b in _big(d["big_objects"]) for k in b["root_kinds"]],
                  lambda k: k == "class"),
    "root_kinds": (lambda d: [t["root_kinds"] for t in _traces(d)]
                   + [b["root_kinds"] for b in _big(d["big_objects"])], None),
    "reference": (lambda d: [n["reference"] for n in _nodes(d) if n["reference"]],
                  lambda r: r["suspect"]),
    "trace_node": (_nodes, lambda n: n["leaking"] == "yes"),
    "trace": (_traces, None),
    "library_leak_pattern": (lambda d: [g["library_leak"] for g in d["library_leaks"]], None),
    "leak_group": (_groups, None),
    "object_brief": (lambda d: [x for b in _big(d["big_objects"])
                                for x in [b["accumulation_point"], *b["dominates"]]], None),
    "big_object": (lambda d: d["big_objects"], lambda b: b["nested"]),
    "cluster_owner": (lambda d: [o for c in _clusters(d["class_clusters"]) for o in c["owners"]],
                      None),
    "cluster": (lambda d: d["class_clusters"], lambda c: c["contains"]),
    "bitmap": (lambda d: d["bitmaps"]["large"], None),
    "duplicate_bitmaps": (lambda d: d["bitmaps"]["duplicates"], None),
    "bitmap_summary": (lambda d: [d["bitmaps"]], lambda s: s["count"]),
    "thread_group": (lambda d: d["threads"], lambda t: t["holders"]),
    "descriptor_owner_group": (lambda d: d["file_descriptors"]["by_owner"],
                               lambda g: g["owner_objects"]),
    "descriptor_summary": (lambda d: [d["file_descriptors"]],
                           lambda s: s["cursor_windows"] is not None),
    "reachability_level": (lambda d: [b["reachability"] for b in d["bitmaps"]["large"]], None),
    "objects_and_bytes": (lambda d: list(d["dump"]["by_reachability"].values()), None),
    "dump": (lambda d: [d["dump"]], None),
    "settings": (lambda d: [d["settings"]], None),
    "oom_cause": (lambda d: [d["oom_cause"]] if d["oom_cause"] else [], lambda c: c["numbers"]),
    "summary": (lambda d: [d["summary"]], lambda s: s["leaks"]),
    "retained_object": (lambda d: d["top_retained"], None),
    "histogram_row": (lambda d: d["histogram"], None),
    "retrace": (lambda d: [d["retrace"]] if d.get("retrace") else [], None),
    "capture": (lambda d: [d["capture"]] if d.get("capture") else [],
                lambda c: c["threshold"] and c["jvm"]),
    "capture_threshold": (lambda d: [d["capture"]["threshold"]] if d.get("capture") else [],
                          lambda t: t["max"] and t["checks"]),
}


def _non_empty(value) -> bool:
    return value is not None and value != [] and value != {} and value != ""


def check_shapes(schema, docs: list[dict], wanted: set[str]) -> None:
    """Each $def in ``wanted`` has an instance in ``docs`` that is non-empty, shows what a
    good example must show (a nested big object, a cluster with contains...) and validates
    against that $def alone."""
    assert set(SHAPES) == set(schema["$defs"]), "SHAPES must list every $def of the schema"
    missing = []
    for name in sorted(wanted):
        extract, interesting = SHAPES[name]
        found = [x for d in docs for x in extract(d) if _non_empty(x)]
        good = [x for x in found if interesting is None or _non_empty(interesting(x))]
        if not good:
            missing.append(name)
            continue
        one = StrictValidator({"$ref": f"#/$defs/{name}", "$defs": schema["$defs"]})
        assert_valid(one, good[0])
    assert not missing, f"no good non-empty instance of: {missing}"


def test_documents_hold_every_shape(schema, report_of, oom_docs, duplicates_doc, mapped_doc):
    docs = [report_of(name, t) for name in ALL_DUMPS for t in ("default", "low")]
    check_shapes(schema, [*docs, *oom_docs, duplicates_doc, mapped_doc],
                 set(schema["$defs"]) - JVM_ONLY - CAPTURE_ONLY)


@pytest.mark.jvm
def test_android_leaks_holds_the_jvm_only_shapes(schema, android_leaks_doc):
    check_shapes(schema, [android_leaks_doc], JVM_ONLY | {"leak_group", "reference"})
    references = [n["reference"] for n in _nodes(android_leaks_doc) if n["reference"]]
    assert any(r["library_leak"] for r in references)


# -- the schema is strict ---------------------------------------------------------------------

def _first_nested(doc):
    return next(b for b in doc["big_objects"] if b["nested"])["nested"][0]


def _first_contained(doc):
    return next(c for c in doc["class_clusters"] if c["contains"])["contains"][0]


def _first_node(doc):
    return doc["leaks"][0]["traces"][0]["nodes"][0]


def _set(get, key, value):
    def mutate(doc):
        get(doc)[key] = value
    return mutate


def _delete(get, key):
    def mutate(doc):
        del get(doc)[key]
    return mutate


def _library_group_in_leaks(doc):
    doc["leaks"][0]["library_leak"] = {"pattern": "P", "class": "a.B", "field": "f",
                                       "static": True, "description": "", "applies_to": ""}


def _plain_group_in_library_leaks(doc):
    doc["library_leaks"].append(copy.deepcopy(doc["leaks"][0]))


BAD = {
    "top-level key missing": _delete(lambda d: d, "histogram"),
    "summary key missing": _delete(lambda d: d["summary"], "leaks"),
    "trace node key missing": _delete(_first_node, "leaking"),
    "nested big object key missing": _delete(_first_nested, "dominates"),
    "unknown top-level key": _set(lambda d: d, "extra", 1),
    "unknown trace node key": _set(_first_node, "extra", 1),
    "unknown key in a contained cluster": _set(_first_contained, "extra", 1),
    "unknown key in dump": _set(lambda d: d["dump"], "size_model", "x"),
    "string for an integer": _set(lambda d: d["dump"], "objects", "12"),
    "float for an integer": _set(lambda d: d["summary"], "leaked_bytes", 848.0),
    "boolean for an integer": _set(lambda d: d["dump"], "classes", True),
    "negative byte count": _set(lambda d: d["top_retained"][0], "retained_bytes", -1),
    "null for an integer": _set(lambda d: d["bitmaps"], "count", None),
    "object id without 0x": _set(_first_node, "object", "7f3a01c8"),
    "object id in upper case": _set(_first_node, "object", "0x7F3A01C8"),
    "object id as a number": _set(lambda d: d["top_retained"][0], "object", 12),
    "malformed nested object id": _set(_first_nested, "object", "0x"),
    "verdict outside yes/no/unknown": _set(_first_node, "leaking", "maybe"),
    "unknown reference kind": _set(lambda d: _first_node(d)["reference"], "kind", "weak"),
    "unknown root kind": _set(lambda d: d["leaks"][0]["traces"][0], "root_kinds", ["stack"]),
    "unknown oom cause kind": _set(lambda d: d["oom_cause"], "kind", "out-of-memory"),
    "short signature": _set(lambda d: d["leaks"][0], "signature", "abc"),
    "wrong schema version": _set(lambda d: d, "schema", "oomlens.report/2"),
    "library leak in leaks": _library_group_in_leaks,
    "plain leak in library_leaks": _plain_group_in_library_leaks,
    "retrace key missing": _delete(lambda d: d["retrace"], "compiler"),
    "unknown capture trigger": _set(lambda d: d["capture"], "trigger", "gc-threshold"),
    "capture key missing": _delete(lambda d: d["capture"], "threads"),
    "float for a capture count": _set(lambda d: d["capture"], "heap_max_bytes", 536870912.0),
    "unknown threshold metric": _set(lambda d: d["capture"]["threshold"], "metric", "cpu"),
    "unknown key in the capture's jvm": _set(lambda d: d["capture"]["jvm"], "arch", "x86"),
}


@pytest.fixture(scope="module")
def good_doc(report_of, oom_docs, mapped_doc) -> dict:
    """A real document with leaks, nested big objects and clusters with contains, given the
    OOM cause and the retrace section of two other real documents, and the capture section
    of a sidecar."""
    doc = copy.deepcopy(report_of(BINDER, "low"))
    doc["oom_cause"] = copy.deepcopy(oom_docs[0]["oom_cause"])
    doc["retrace"] = copy.deepcopy(mapped_doc["retrace"])
    doc["capture"] = as_printed(capture_section(checked_sidecar(SIDECAR)))
    return doc


def test_the_document_mutated_below_is_valid(validator, good_doc):
    assert_valid(validator, good_doc)


@pytest.mark.parametrize("case", sorted(BAD))
def test_schema_rejects(validator, good_doc, case):
    doc = copy.deepcopy(good_doc)
    BAD[case](doc)
    assert errors_of(validator, doc), f"schema accepted: {case}"

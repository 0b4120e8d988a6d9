"""ProGuard / R8 mapping files: the parser (class, field and method lines, R8's JSON metadata,
inner classes, one obfuscated name for many fields, stack frames), bad and mismatched files, and
``--mapping`` on every command that prints names."""

from __future__ import annotations

import csv
import json

import pytest

import oomlens
from conftest import DATA
from oomlens.hprof import constants as C
from oomlens.retrace.mapping import Frame, MappingError, load_mapping, parse_mapping
from cliutil import oomlens_cli

AHAT_DUMP = DATA / "art_ahat_test-dump.hprof.gz"
AHAT_MAP = DATA / "art_ahat_test-dump.map"

R8_TEXT = """\
# compiler: R8
# compiler_version: 8.5.35
# min_api: 24
# {"id":"com.android.tools.r8.mapping","version":"2.2"}
# pg_map_id: 4f6b8a1
com.example.feed.Feed -> a.b:
# {"id":"sourceFile","fileName":"Feed.kt"}
    java.util.List cells -> a
    int count -> b
    com.example.feed.Feed$Cell[] pinned -> c
      # {"id":"com.android.tools.r8.residualsignature","signature":"[La/b$a;"}
    1:4:void refresh(int):12:15 -> d
    5:5:void com.example.util.Log.d(java.lang.String):7:7 -> d
    5:5:void refresh(int):16 -> d
    6:6:void refresh(int):18:18 -> d
    1:1:void <init>():0:0 -> <init>
      # {"id":"com.android.tools.r8.synthesized"}
com.example.feed.Feed$Cell -> a.b$a:
# {"id":"sourceFile","fileName":"Feed.kt"}
    byte[] image -> a
    com.example.feed.Feed this$0 -> b
com.example.feed.Feed$Cell$Holder -> a.b$a$a:
    java.lang.Object value -> a
com.example.settings.Settings -> a.c:
    java.lang.String title -> a
    boolean dark -> b
"""

PROGUARD_TEXT = """\
com.example.Foo -> a:
    int count -> a
    java.lang.String label -> a
    12:15:void bar(int) -> a
    20:21:void bar(int):40:41 -> c
    void baz() -> b
    void qux(long) -> b
com.example.Foo$Bar -> a$a:
    com.example.Foo this$0 -> a
"""


# -- the parser --------------------------------------------------------------------------

def test_class_field_and_method_lines():
    m = parse_mapping(R8_TEXT, "r8.map")
    assert set(m.classes) == {"a.b", "a.b$a", "a.b$a$a", "a.c"}
    feed = m.classes["a.b"]
    assert (feed.original, feed.obfuscated) == ("com.example.feed.Feed", "a.b")
    assert [(f.original, f.type) for fs in feed.fields.values() for f in fs] == [
        ("cells", "java.util.List"), ("count", "int"), ("pinned", "com.example.feed.Feed$Cell[]")]
    refresh = feed.methods["d"]
    assert [(r.original, r.original_class, r.obfuscated_lines, r.original_lines)
            for r in refresh] == [
        ("refresh", None, (1, 4), (12, 15)), ("d", "com.example.util.Log", (5, 5), (7, 7)),
        ("refresh", None, (5, 5), (16, 16)), ("refresh", None, (6, 6), (18, 18))]
    assert refresh[0].arguments == "int" and refresh[0].return_type == "void"
    assert [r.original_line(3) for r in refresh[:1]] == [14]


def test_r8_json_metadata_of_file_class_and_member():
    m = parse_mapping(R8_TEXT, "r8.map")
    assert (m.compiler, m.compiler_version, m.format_version) == ("R8", "8.5.35", "2.2")
    feed = m.classes["a.b"]
    assert feed.source_file == "Feed.kt"
    assert feed.metadata == [{"id": "sourceFile", "fileName": "Feed.kt"}]
    assert feed.fields["c"][0].metadata == [{"id": "com.android.tools.r8.residualsignature",
                                              "signature": "[La/b$a;"}]
    assert not feed.fields["a"][0].metadata
    init = feed.methods["<init>"][0]
    assert init.synthesized and not feed.methods["d"][0].synthesized
    assert init.original_line(1) is None  # R8's ":0:0": no source line
    assert m.classes["a.c"].source_file is None


def test_inner_classes_and_arrays_of_obfuscated_classes():
    m = parse_mapping(R8_TEXT)
    assert m.class_name("a.b$a") == "com.example.feed.Feed$Cell"
    assert m.class_name("a.b$a$a") == "com.example.feed.Feed$Cell$Holder"
    assert m.class_name("a.b$a[]") == "com.example.feed.Feed$Cell[]"
    assert m.class_name("a.b$a$a[][]") == "com.example.feed.Feed$Cell$Holder[][]"
    assert m.class_name("a.z") == "a.z"  # not in the mapping: unchanged
    assert m.class_name("int[]") == "int[]"
    assert m.field_name("a.b$a", "b") == "this$0"


def test_one_obfuscated_name_is_many_fields_across_classes():
    m = parse_mapping(R8_TEXT)
    assert {cls: m.field_name(cls, "a") for cls in m.classes} == {
        "a.b": "cells", "a.b$a": "image", "a.b$a$a": "value", "a.c": "title"}
    assert m.field_name("a.c", "b") == "dark" and m.field_name("a.b", "b") == "count"
    assert m.field_name("a.c", "zz") is None and m.field_name("nope", "a") is None


def test_two_fields_of_one_name_in_one_class_told_apart_by_type():
    # ProGuard's -overloadaggressively names fields of different types alike
    m = parse_mapping(PROGUARD_TEXT)
    assert m.field_name("a", "a") is None  # cannot tell without the type
    assert m.field_name("a", "a", C.TYPE_INT) == "count"
    assert m.field_name("a", "a", C.TYPE_OBJECT) == "label"
    assert m.field_name("a", "a", C.TYPE_LONG) is None


def test_stack_frames_from_method_lines():
    m = parse_mapping(R8_TEXT)
    assert m.retrace_frame("a.b", "d", 3) == [
        [Frame("com.example.feed.Feed", "refresh", 14, "Feed.kt")]]
    # line 5 is code of Log.d inlined into refresh: innermost first
    assert m.retrace_frame("a.b", "d", 5) == [
        [Frame("com.example.util.Log", "d", 7, None),
         Frame("com.example.feed.Feed", "refresh", 16, "Feed.kt")]]
    assert m.retrace_frame("a.b", "d", 6)[0][0].line == 18
    # no line: every entry of the name is the same method
    assert m.retrace_frame("a.b", "d") == [
        [Frame("com.example.feed.Feed", "refresh", None, "Feed.kt")]]
    assert m.retrace_frame("a.b", "nope", 3) == [] and m.retrace_frame("x", "d", 3) == []

    pg = parse_mapping(PROGUARD_TEXT)
    # ProGuard without inlining: the range is the source's own lines
    assert pg.retrace_frame("a", "a", 13) == [[Frame("com.example.Foo", "bar", 13, None)]]
    assert pg.retrace_frame("a", "c", 21) == [[Frame("com.example.Foo", "bar", 41, None)]]
    # two methods renamed alike, no line numbers: both are candidates
    assert [c[0].method for c in pg.retrace_frame("a", "b", -1)] == ["baz", "qux"]


def test_real_r8_file():
    """The R8 mapping of AOSP ahat's test program (tests/data)."""
    m = load_mapping(AHAT_MAP)
    assert (m.compiler, m.compiler_version, m.format_version) == ("R8", "8.10.9-dev", "2.2")
    assert len(m.classes) == 26
    stuff = m.classes["DumpedStuff"]
    assert stuff.original == "DumpedStuff" and stuff.source_file == "DumpedStuff.java"
    assert {m.field_name("DumpedStuff", f) for f in "deg"} == {"basicString", "nonAscii",
                                                                "charArray"}
    assert m.field_name("Main", "a") == "stuff"
    # "a" is a field of eleven classes, each with its own name
    owners = {cls.original: m.field_name(name, "a") for name, cls in m.classes.items()
              if "a" in cls.fields}
    assert owners["DumpedStuff$StackSmasher"] == "child"
    assert owners["DumpedStuff$ObjectTree"] == "left"
    assert owners["android.graphics.Bitmap"] == "mNativePtr"
    assert len(set(owners.values())) >= 8
    assert m.class_name("o") == "DumpedStuff$StackSmasher"
    assert m.class_name("l[]") == "DumpedStuff$ObjectTree[]"
    assert m.class_name("e") == "DumpedStuff$IBinderInterfaceImpostor$Stub$Proxy"
    assert m.classes["r"].synthesized and m.classes["r"].source_file == "R8$$SyntheticClass"
    assert m.classes["DumpedStuff"].fields["E"][0].metadata[0]["signature"] == "La;"
    assert m.retrace_frame("DumpedStuff", "c", 9) == [
        [Frame("DumpedStuff", "allocateObjectAtKnownSite", 31, "DumpedStuff.java")]]
    assert m.retrace_frame("Main", "main", 11)[0][0].line == 60


@pytest.mark.jvm
def test_proguard_written_file(obfuscated_android_leaks):
    """The -printmapping output of Debian's ProGuard for tests/java/AndroidLeaks."""
    m = load_mapping(obfuscated_android_leaks.mapping)
    assert m.compiler is None and m.format_version is None  # ProGuard writes no header
    by_original = {cls.original: cls for cls in m.classes.values()}
    detail = by_original["com.example.app.DetailActivity"]
    assert detail.obfuscated != detail.original and detail.obfuscated.count(".") == 3
    assert m.field_name(detail.obfuscated, next(iter(detail.fields))) == "payload"
    app_state = by_original["com.example.app.AppState"]
    assert {fs[0].original for fs in app_state.fields.values()} == {
        "sLastDetail", "sPreviousDetail", "sFrameHeld"}
    assert by_original["android.app.Activity"].obfuscated == "android.app.Activity"
    assert m.field_name("android.app.Activity", "mDestroyed") == "mDestroyed"
    inner = by_original["com.example.app.LegacyFragment$1"]  # ProGuard drops the "$"
    assert m.field_name(inner.obfuscated, next(iter(inner.fields))) == "this$0"
    # method lines with the (kept) line numbers: AndroidLeaks.main stays main
    main = m.methods("AndroidLeaks", "main")[0]
    assert main.obfuscated_lines is not None and main.original_lines is None
    line = main.obfuscated_lines[0] + 1
    assert m.retrace_frame("AndroidLeaks", "main", line) == [
        [Frame("AndroidLeaks", "main", line, None)]]
    assert any(r.original == "build" for rs in m.classes["AndroidLeaks"].methods.values()
               for r in rs)


# -- bad files -----------------------------------------------------------------------------

BAD_FILES = [
    ("binary", b"\x7fELF\x02\x01\x01\x00" + bytes(200), "binary data"),
    ("empty", b"", "empty file"),
    ("blank", b"\n  \n\n", "empty file"),
    ("hprof", b"JAVA PROFILE 1.0.2\0" + bytes(40), "binary data"),
    ("java source", b"package a;\n\npublic class A {}\n", "bad.map:1: not a ProGuard/R8 mapping"),
    ("comments only", b"# compiler: R8\n# nothing else\n", "no class lines"),
    ("latin-1", b"com.example.A -> a:\n    int caf\xe9 -> a\n", "bad.map:2: not a ProGuard/R8"),
    ("malformed line", b"com.example.A -> a:\n    int count -> a\n    this is not a member\n",
     "bad.map:3: cannot read mapping line 'this is not a member'"),
    ("member first", b"    int count -> a\ncom.example.A -> a:\n", "bad.map:1: not a ProGuard"),
    ("class twice", b"com.example.A -> a:\n    int x -> a\ncom.example.B -> a:\n",
     "bad.map:3: class a is mapped twice"),
]


@pytest.mark.parametrize("content, message", [(c, m) for _, c, m in BAD_FILES],
                         ids=[name for name, _, _ in BAD_FILES])
def test_bad_files_are_one_line_errors(tmp_path, content, message):
    path = tmp_path / "bad.map"
    path.write_bytes(content)
    with pytest.raises(MappingError) as e:
        load_mapping(path)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_unreadable_paths(tmp_path):
    with pytest.raises(MappingError, match="cannot read mapping .*missing.map"):
        load_mapping(tmp_path / "missing.map")
    with pytest.raises(MappingError, match="is a directory"):
        load_mapping(tmp_path)


@pytest.mark.parametrize("command", [("histogram",), ("info",), ("dominators",),
                                     ("path", "0x60806b0"), ("analyze",)])
def test_bad_mapping_on_the_command_line(tmp_path, command):
    bad = tmp_path / "bad.map"
    bad.write_text("com.example.A -> a:\n    int count -> a\n    garbage here\n")
    result = oomlens_cli(command[0], AHAT_DUMP, *command[1:], "--mapping", bad)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "bad.map:3: cannot read mapping line" in \
        result.stderr and "Traceback" not in result.stderr


# -- a mapping of another build ------------------------------------------------------------

def other_build_mapping(tmp_path):
    """The ahat mapping as another build of the app would have it: StackSmasher got another
    obfuscated name and ModifiedObject's ``int value`` is no longer ``a``."""
    out, current = [], None
    for line in AHAT_MAP.read_text().splitlines():
        if not line[0].isspace() and not line.startswith("#"):
            current = line
        if line == "DumpedStuff$StackSmasher -> o:":
            line = "DumpedStuff$StackSmasher -> s:"
        elif line == "    int value -> a" and current == "DumpedStuff$ModifiedObject -> k:":
            line = "    int value -> d"
        out.append(line)
    path = tmp_path / "other-build.map"
    path.write_text("\n".join(out) + "\n")
    return path


def test_mapping_of_another_build_warns_with_counts(tmp_path):
    other = other_build_mapping(tmp_path)
    with oomlens.open_heap(AHAT_DUMP, mapping=other) as heap:
        assert heap.retrace["obfuscated_classes_not_in_mapping"] == 1
        assert heap.retrace["obfuscated_fields_not_in_mapping"] == 1
        warning = heap.warnings[-1]
        assert warning.startswith("2 obfuscated-looking names could not be resolved")
        assert "1 class (e.g. o)" in warning
        assert "1 field (e.g. DumpedStuff$ModifiedObject.a)" in warning
        assert heap.find_class("o") is not None  # left as it was
        assert heap.find_class("DumpedStuff$ModifiedObject").declared_fields()[0][0] == "a"
    result = oomlens_cli("histogram", AHAT_DUMP, "--mapping", other, "--top", "3")
    assert result.returncode == 0
    assert "warning: 2 obfuscated-looking names could not be resolved" in result.stderr


def test_the_right_mapping_resolves_everything():
    with oomlens.open_heap(AHAT_DUMP, mapping=AHAT_MAP) as heap:
        assert heap.retrace["obfuscated_classes_not_in_mapping"] == 0
        assert heap.retrace["obfuscated_fields_not_in_mapping"] == 0
        assert heap.retrace["classes_renamed"] == 24 and heap.retrace["fields_renamed"] == 75
        assert not any("resolved" in w for w in heap.warnings)


def test_mapping_of_another_app_is_an_error(tmp_path):
    other = tmp_path / "other.map"
    other.write_text("com.other.App -> zz.yy:\n    int count -> a\n")
    with pytest.raises(MappingError, match="names no class of this dump"):
        oomlens.open_heap(AHAT_DUMP, mapping=other)
    result = oomlens_cli("dominators", AHAT_DUMP, "--mapping", other)
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "names no class of this dump" in result.stderr


# -- --mapping on every command ------------------------------------------------------------

@pytest.fixture(scope="module")
def ahat():
    with oomlens.open_heap(AHAT_DUMP) as plain, \
            oomlens.open_heap(AHAT_DUMP, mapping=AHAT_MAP) as mapped:
        yield plain, mapped


def cli_json(*args):
    result = oomlens_cli(*args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_histogram_with_mapping(ahat):
    plain = {r["class"]: r for r in cli_json("histogram", AHAT_DUMP, "--top", "1000")["rows"]}
    mapped = {r["class"]: r for r in cli_json("histogram", AHAT_DUMP, "--top", "1000",
                                              "--mapping", AHAT_MAP)["rows"]}
    mapping = load_mapping(AHAT_MAP)
    assert {mapping.class_name(name) for name in plain} == set(mapped)
    for name, row in plain.items():
        assert mapped[mapping.class_name(name)]["retained_bytes"] == row["retained_bytes"]
    assert mapped["DumpedStuff$StackSmasher"]["instances"] == 20000 and "o" not in mapped
    text = oomlens_cli("histogram", AHAT_DUMP, "--mapping", AHAT_MAP, "--top", "3").stdout
    assert "DumpedStuff$StackSmasher" in text


def test_dominators_with_mapping(tmp_path):
    mapping = load_mapping(AHAT_MAP)

    def real(name):
        if name.startswith("class "):
            return "class " + mapping.class_name(name[len("class "):])
        return mapping.class_name(name)

    rows = {}
    for label, extra in (("plain", ()), ("mapped", ("--mapping", AHAT_MAP))):
        out = tmp_path / f"{label}.csv"
        top = cli_json("dominators", AHAT_DUMP, "--top", "10", "--csv", out, *extra)["top"]
        assert top[1]["class"] == "class Main"
        with open(out, newline="") as f:
            rows[label] = list(csv.DictReader(f))
    plain, mapped = rows["plain"], rows["mapped"]
    assert [(r["object_id"], r["retained_bytes"], r["dominator_id"]) for r in plain] == \
        [(r["object_id"], r["retained_bytes"], r["dominator_id"]) for r in mapped]
    assert [real(r["class"]) for r in plain] == [r["class"] for r in mapped]
    classes = {r["class"] for r in mapped}
    assert {"DumpedStuff", "DumpedStuff$StackSmasher", "class DumpedStuff$ObjectTree",
            "android.graphics.Bitmap"} <= classes
    assert "o" in {r["class"] for r in plain} and "o" not in classes


def test_path_with_mapping(ahat):
    _, mapped = ahat
    stuff = mapped.find_class("Main").static_fields()["stuff"]
    tree = stuff["gcPathArray"]
    result = cli_json("path", AHAT_DUMP, hex(tree.id), "--mapping", AHAT_MAP)
    assert [s["reference"] for s in result["path"]][-2:] == ["stuff", "gcPathArray"]
    assert result["path"][-1]["class"] == "DumpedStuff$ObjectTree[]"
    plain = cli_json("path", AHAT_DUMP, hex(tree.id))
    assert [s["reference"] for s in plain["path"]][-2:] == ["a", "y"]
    assert plain["path"][-1]["class"] == "l[]"
    text = oomlens_cli("path", AHAT_DUMP, hex(tree.id), "--mapping", AHAT_MAP).stdout
    assert ".stuff → DumpedStuff" in text and ".gcPathArray → DumpedStuff$ObjectTree[]" in text


def test_info_with_mapping():
    info = cli_json("info", AHAT_DUMP, "--mapping", AHAT_MAP)
    assert info["retrace"]["classes_renamed"] == 24
    assert "retrace" not in cli_json("info", AHAT_DUMP)
    text = oomlens_cli("info", AHAT_DUMP, "--mapping", AHAT_MAP).stdout
    assert "24 classes and 75 fields renamed" in text


def test_the_api_takes_a_mapping(ahat):
    plain, mapped = ahat
    assert plain.retrace is None
    stuff = mapped.find_class("Main").static_fields()["stuff"]
    assert stuff.class_name == "DumpedStuff"
    assert stuff["basicString"].as_string() == "hello, world"
    assert stuff["nonAscii"].as_string() == "Sigma (Ʃ) is not ASCII"
    chars = stuff["charArray"]
    assert "".join(map(chr, chars.primitive_values())) == "char thing"
    assert stuff["stackSmasher"].class_name == "DumpedStuff$StackSmasher"
    assert stuff["stackSmasher"]["child"] is None or \
        stuff["stackSmasher"]["child"].class_name == "DumpedStuff$StackSmasher"
    # the same objects, only the names differ
    plain_stuff = plain.find_class("Main").static_fields()["a"]
    assert plain_stuff.id == stuff.id and plain_stuff["d"].id == stuff["basicString"].id

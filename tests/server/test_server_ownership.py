"""Issue owners: the ownership file's parser and matcher, owners of folded findings on SQLite and
PostgreSQL, and the API of a real server with real dumps (owners set when an issue is created,
recomputed when the file changes, keys kept to their project)."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import httpx
import pytest

from conftest import DATA
from oomlens.server.core.models import Project, Report
from oomlens.server.core.vocabulary import ReportStatus
from oomlens.server.issues import fold, queries as issue_queries
from oomlens.server.issues.owners import candidate_classes, holder_class, replace_ownership
from oomlens.server.issues.ownership import MAX_BYTES, MAX_RULES, OwnershipError, parse
from serverrun import DUMP, upload, wait_done
from test_server_store import database  # noqa: F401  (fixture)

OOM_ONLY_DUMP = DATA / "art_ahat_test-dump.hprof.gz"  # no finding: its issue is the OOM cause


def owner(text: str, class_name: str) -> str | None:
    rule = parse(text).rule_for(class_name)
    return None if rule is None else rule.owner


# --- the file format ---------------------------------------------------------------------------

def test_the_last_matching_rule_wins():
    text = "com.example.**  @everyone\ncom.example.pay.*  @payments\n"
    assert owner(text, "com.example.pay.Card") == "@payments"
    assert owner(text, "com.example.ui.Home") == "@everyone"
    flipped = "com.example.pay.*  @payments\ncom.example.**  @everyone\n"
    assert owner(flipped, "com.example.pay.Card") == "@everyone"


def test_one_star_stays_in_its_package_two_stars_go_down():
    text = "com.example.*  @direct\n"
    assert owner(text, "com.example.Foo") == "@direct"
    assert owner(text, "com.example.sub.Foo") is None
    assert owner(text, "com.examples.Foo") is None
    tree = "com.example.**  @tree\n"
    assert owner(tree, "com.example.sub.deeper.Foo") == "@tree"
    assert owner(tree, "com.example") is None  # a class named like the package is not in it
    middle = "com.**.internal.*  @core\n"
    assert owner(middle, "com.internal.A") == "@core"
    assert owner(middle, "com.x.y.internal.A") == "@core"
    assert owner(middle, "com.x.internal.sub.A") is None
    assert owner("**  @all\n", "Main") == "@all"


def test_a_pattern_without_dots_is_a_simple_name_in_any_package():
    text = "*Activity  @ui\nLeakyService  @services\n"
    assert owner(text, "com.example.MainActivity") == "@ui"
    assert owner(text, "MainActivity") == "@ui"
    assert owner(text, "com.example.MainActivityHelper") is None
    assert owner(text, "com.example.leakcanary.LeakyService") == "@services"


def test_inner_classes_go_with_their_outer_class():
    text = "com.example.Foo  @foo\n*Activity  @ui\n"
    assert owner(text, "com.example.Foo$Bar") == "@foo"
    assert owner(text, "com.example.Foo$Bar$1") == "@foo"
    assert owner(text, "com.example.Foo$$Lambda$3") == "@foo"
    assert owner(text, "com.example.FooBar") is None
    assert owner(text, "com.example.MainActivity$1") == "@ui"
    assert owner("com.example.Foo$Bar  @bar\n", "com.example.Foo") is None


def test_a_rule_without_owners_makes_its_classes_unowned():
    text = "com.example.**  @app\ncom.example.generated.**\n"
    ownership = parse(text)
    assert ownership.rule_for("com.example.generated.Proto").owners == ()
    assert ownership.owner_of(["com.example.generated.Proto"]) == ""
    # the next candidate class is tried: the first one a rule owns gives the owner
    assert ownership.owner_of(["com.example.generated.Proto", "com.example.Main"]) == "@app"


def test_comments_blank_lines_and_several_owners():
    ownership = parse("# owners\n\n  com.example.*\t@a  b@example.com  # the app\n#x.* @no\n")
    [rule] = ownership.rules
    assert (rule.line, rule.pattern, rule.owners) == (3, "com.example.*",
                                                      ("@a", "b@example.com"))
    assert rule.owner == "@a b@example.com"


def test_only_a_catch_all_owns_what_names_no_class():
    assert parse("com.example.**  @app\n").owner_of([]) == ""
    assert parse("**  @first\ncom.example.**  @app\n**  @last\n").owner_of([]) == "@last"


@pytest.mark.parametrize("text, line, words", [
    ("com.example.*  @a\n\ncom..Foo  @b\n", 3, "empty name"),
    ("com.Fo**o  @a\n", 1, "'**' must be a whole name"),
    ("# ok\ncom.foo-bar.*  @a\n", 2, "not a class-name pattern"),
    ("com.example.**.**  @a\n", 1, "'**.**'"),
    ("com.example.*  -\n", 1, "not an owner"),
    ("com.example.*  @" + "x" * 200 + "\n", 1, "more than 200 characters"),
])
def test_a_bad_line_is_named(text, line, words):
    with pytest.raises(OwnershipError) as caught:
        parse(text)
    assert caught.value.line == line
    assert str(caught.value).startswith(f"line {line}: ") and words in str(caught.value)


def test_non_utf8_too_many_rules_and_too_big_are_refused():
    with pytest.raises(OwnershipError, match="^line 2: not UTF-8 text$"):
        parse(b"com.a.*  @a\ncom.\xff.*  @b\n")
    many = "".join(f"com.example.m{i}.*  @t\n" for i in range(MAX_RULES + 1))
    with pytest.raises(OwnershipError, match=f"^line {MAX_RULES + 1}: more than"):
        parse(many)
    assert len(parse(many.rsplit("com", 1)[0]).rules) == MAX_RULES  # the limit itself is fine
    with pytest.raises(OwnershipError, match="larger than"):
        parse(b"#" * (MAX_BYTES + 1))


def test_the_index_answers_as_a_scan_of_every_rule_would():
    """The indexed look-up against the definition (last rule whose pattern matches), on a
    generated file of every pattern shape and thousands of class names."""
    rng = random.Random(5)
    packages = [f"com.example.m{i}" for i in range(40)] + ["org.lib", "org.lib.internal"]
    shapes = ["{p}.*", "{p}.**", "{p}.C{n}", "C{n}", "*Activity", "C{n}*", "{p}.*.C{n}",
              "**.internal.*", "{p}.C{n}$Inner", "{p}.C*", "**.C{n}"]
    lines = ["**  @all"]  # more of them would win for nearly every class and prove little
    for _ in range(400):
        shape = rng.randrange(len(shapes))
        pattern = shapes[shape].format(p=rng.choice(packages), n=rng.randrange(30))
        lines.append(f"{pattern}  @shape{shape}" if rng.random() < 0.85 else pattern)
    ownership = parse("\n".join(lines))
    suffixes = ["", "$Inner", "$1", "Activity", "$$Lambda$2", "Activity$1"]
    names = [f"{rng.choice(packages)}{rng.choice(['', '.sub', '.internal'])}."
             f"C{rng.randrange(40)}{rng.choice(suffixes)}" for _ in range(5000)]
    winners = set()
    for name in names:
        expected = next((r for r in reversed(ownership.rules) if r.matches(name)), None)
        assert ownership.rule_for(name) is expected, name
        winners.add(expected.owner)
    assert {f"@shape{n}" for n in range(len(shapes))} <= winners  # every shape won somewhere


# --- which classes a finding is owned through ---------------------------------------------------

def test_holder_labels_name_their_class():
    assert holder_class("com.example.Cache.entries") == "com.example.Cache"
    assert holder_class("java.lang.Object[][3]") == "java.lang.Object"
    assert holder_class("com.example.Cell[][]") == "com.example.Cell"


def test_candidates_per_kind():
    big = {"class": "byte[]", "holder": "com.example.ImageCache.bytes"}
    assert candidate_classes("big_object", big) == ["com.example.ImageCache", "byte"]
    assert candidate_classes("big_object", {"class": "int[]", "holder": None}) == ["int"]
    assert candidate_classes("class_cluster", {"class": "com.example.Row"}) == \
        ["com.example.Row"]
    assert candidate_classes("oom_cause", {"kind": "heap-exhausted"}) == []


# --- owners in the database ------------------------------------------------------------------

@pytest.fixture(scope="module")
def leak_document():
    """The real report document of the bundled leak dump, as the server's job builds it."""
    from oomlens import open_heap
    from oomlens.config import Settings
    from oomlens.report.document import build_report

    with open_heap(DUMP) as heap:
        return build_report(heap, Settings(), None)


def test_folded_issues_get_owners_and_the_filter_finds_them(database, leak_document):  # noqa: F811
    [leak] = leak_document["leaks"]
    holders = [n["class"].removeprefix("class ")
               for n in reversed(leak["traces"][0]["nodes"][:-1]) if n["app"]]
    assert holders and holders[0] != leak["class"]
    oom_only = {**{section: [] for _, section in fold.SECTIONS},
                "oom_cause": {"kind": "heap-exhausted", "summary": "heap full"}}
    with database() as s:
        project = Project(slug="app", name="App", created_at=datetime.now(UTC),
                          ownership=f"{leak['class']}  @leaked\n{holders[0]}  @team_%  @other\n")
        s.add(project)
        s.flush()
        for n, document in enumerate((leak_document, oom_only)):
            report = Report(id=f"r{n}", project_id=project.id, idempotency_key=f"k{n}",
                            status=ReportStatus.DONE, received_at=datetime.now(UTC), dump_key="-",
                            dump_bytes=1, dump_format="gzip")
            s.add(report)
            s.flush()
            fold.fold(s, report, document)
        s.commit()

        def listed(owner):
            return [(i["kind"], i["owner"], i["unowned"])
                    for i in issue_queries.list_issues(s, project.id, owner=owner)]

        # created with owners: the leak through its nearest app holder, the OOM cause nobody's
        assert sorted(listed(None)) == [("leak", "@team_% @other", False),
                                        ("oom_cause", None, True)]
        assert listed("@other") == listed("@team_%") == [("leak", "@team_% @other", False)]
        assert listed("@team_") == listed("@team") == listed("%") == []  # exact, not LIKE
        assert listed("-") == [("oom_cause", None, True)]

        counts = replace_ownership(s, project.id, f"**  @all\n{holders[0]}\n".encode())
        s.commit()
        assert counts == {"rules": 2, "issues": 2, "owned": 2, "unowned": 0}
        assert sorted(listed(None)) == [("leak", "@all", False), ("oom_cause", "@all", False)]
        with pytest.raises(OwnershipError):
            replace_ownership(s, project.id, b"com..X  @a\n")
        s.rollback()
        assert s.get(Project, project.id).ownership == f"**  @all\n{holders[0]}\n"


@pytest.fixture
def postgres():
    """Sessions on a fresh PostgreSQL database (where two transactions can overlap; SQLite lets
    one writer in at a time, so the race below cannot happen there)."""
    from services import migrated_sessions

    with migrated_sessions(None) as sessions:
        yield sessions


def test_a_new_file_waits_for_a_fold_in_progress_and_then_owns_its_new_issue(postgres,
                                                                             leak_document):
    """The race: a fold has read the old file, a new file is stored and recomputed, then the
    fold creates its issue. The new file must still decide that issue's owner."""
    import threading
    import time

    with postgres() as s:
        project = Project(slug="app", name="App", created_at=datetime.now(UTC),
                          ownership="**  @old\n")
        report = Report(id="r1", project_id=1, idempotency_key="k", status=ReportStatus.DONE,
                        received_at=datetime.now(UTC), dump_key="-", dump_bytes=1,
                        dump_format="gzip")
        s.add(project)
        s.flush()
        report.project_id = project.id
        s.add(report)
        s.commit()
    new_file_stored = threading.Event()

    def store_new_file():
        with postgres() as other:
            replace_ownership(other, project.id, b"**  @new\n")
            other.commit()
        new_file_stored.set()

    with postgres() as s:
        owners = fold.ProjectOwners(s, project.id)  # the fold has begun
        assert owners.owner("leak", leak_document["leaks"][0]) == "@old"
        writer = threading.Thread(target=store_new_file)
        writer.start()
        time.sleep(1.0)
        assert not new_file_stored.is_set()  # it waits for the fold
        fold.fold(s, s.get(Report, "r1"), leak_document)
        s.commit()
    writer.join(timeout=30)
    assert new_file_stored.is_set()
    with postgres() as s:
        assert {i["owner"] for i in issue_queries.list_issues(s, project.id)} == {"@new"}


# --- the API of a real server ------------------------------------------------------------------

def test_owners_through_the_api(server):  # noqa: F811
    a = server.create_project("a")
    b = server.create_project("b")
    server.start()

    def call(method, key, path, **kw):
        return httpx.request(method, f"{server.url}/api/v1/{path}", timeout=60,
                             headers={"Authorization": f"Bearer {key}"}, **kw)

    def put(key, text):
        return call("PUT", key, "ownership", content=text.encode())

    def issues(key, **params):
        return call("GET", key, "issues", params=params).json()

    # a file stored before any report: new issues get their owner when they are created
    assert put(a["admin_key"], "**  @triage\n").json() == \
        {"rules": 1, "issues": 0, "owned": 0, "unowned": 0}
    for path, idem in ((DUMP, "leak"), (OOM_ONLY_DUMP, "oom")):
        report_id = upload(server, a["ingest_key"], path=path, idem=idem).json()["id"]
        assert wait_done(server, a["read_key"], report_id)["status"] == "done"
    listed = issues(a["read_key"])
    assert sorted(i["kind"] for i in listed) == ["leak", "oom_cause"]
    assert {(i["owner"], i["unowned"]) for i in listed} == {("@triage", False)}
    leak_id = next(i["id"] for i in listed if i["kind"] == "leak")
    oom_id = next(i["id"] for i in listed if i["kind"] == "oom_cause")

    # owners from the classes the finding names, as the API shows them
    leak = call("GET", a["read_key"], f"issues/{leak_id}").json()["representative"]
    leaking = leak["class"]
    holders = [n["class"].removeprefix("class ")
               for n in reversed(leak["traces"][0]["nodes"][:-1]) if n["app"]]
    assert holders and holders[0] != leaking

    def owners():
        return {i["id"]: i["owner"] for i in issues(a["read_key"])}

    # the nearest app holder first: its rule is the last to match it (the leaking class's rule
    # matches it too when it is an inner class)
    second = f"{leaking}  @leaked\n{holders[0]}  @holders alice@example.com\n"
    assert put(a["admin_key"], second).json() == \
        {"rules": 2, "issues": 2, "owned": 1, "unowned": 1}
    assert owners() == {leak_id: "@holders alice@example.com", oom_id: None}
    assert [i["id"] for i in issues(a["read_key"], owner="alice@example.com")] == [leak_id]
    assert issues(a["read_key"], owner="alice") == []
    assert [(i["id"], i["unowned"]) for i in issues(a["read_key"], owner="-")] == \
        [(oom_id, True)]

    # the holder unowned: the next candidate that a rule owns; ** owns the OOM cause
    third = f"**  @triage\n{second}{holders[0]}\n"
    expected_leak_owner = next(o for o in (parse(third).owner_of([c]) for c in
                                           [*holders, leaking]) if o)
    assert expected_leak_owner == "@leaked"
    assert put(a["admin_key"], third).json() == \
        {"rules": 4, "issues": 2, "owned": 2, "unowned": 0}
    assert owners() == {leak_id: "@leaked", oom_id: "@triage"}
    assert call("GET", a["read_key"], "ownership").text == third

    # keys: a read key only reads, an ingest key neither; another project sees its own file
    assert put(a["read_key"], "**  @x\n").status_code == 403
    assert call("GET", a["ingest_key"], "ownership").status_code == 403
    assert call("GET", b["read_key"], "ownership").text == ""
    package = leaking.rpartition(".")[0]
    assert put(b["admin_key"], f"{package}.**  @b-team\n").json()["issues"] == 0
    report_id = upload(server, b["ingest_key"], idem="b-leak").json()["id"]
    assert wait_done(server, b["read_key"], report_id)["status"] == "done"
    assert [(i["kind"], i["owner"]) for i in issues(b["read_key"])] == [("leak", "@b-team")]
    assert call("GET", a["read_key"], "ownership").text == third
    assert owners() == {leak_id: "@leaked", oom_id: "@triage"}

    # bad files change nothing
    bad = put(a["admin_key"], "**  @x\n\ncom..Foo  @y\n")
    assert bad.status_code == 422 and bad.json()["detail"].startswith("line 3: ")
    assert put(a["admin_key"], "#" * (MAX_BYTES + 1)).status_code == 413
    assert call("GET", a["read_key"], "ownership").text == third
    assert owners() == {leak_id: "@leaked", oom_id: "@triage"}

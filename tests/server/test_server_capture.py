"""A capture's metadata through a real `oomlens serve`: real JVM dumps uploaded over HTTP with
the ``trigger`` and ``capture`` form fields as `oomlens watch` sends them. The report row and
document keep them, a threshold report's cause is its trigger (the cause filter finds it) and
folds into an issue of that trigger, an issue's breakdown counts its reports by trigger; a bad
capture is refused with its reason and nothing is stored."""

from __future__ import annotations

import json
from dataclasses import dataclass

import httpx
import pytest
from serverrun import Server, upload, wait_done
from test_server_faults import blobs

from oomlens.analysis.trigger import DESCRIPTIONS
from oomlens.capture.sidecar import upload_fields

pytestmark = pytest.mark.jvm

OOM = "java.lang.OutOfMemoryError: unable to create native thread: possibly out of memory"


def sidecar(trigger: str, **fields) -> dict:
    return {"schema": "oomlens.capture/1", "capture_id": f"id-{trigger}", "trigger": trigger,
            "app": "checkout", "version": "3.1", "host": "web-7", "pid": 4711,
            "heap_max_bytes": 256 << 20, "captured_at": "2026-12-03T11:34:24.512Z", **fields}


@dataclass
class World:
    server: Server
    keys: dict
    ids: dict[str, str]
    threads: int  # the ThreadFixtures dump's threads, the capture's count
    fds: int  # the Resources dump's open descriptors

    def get(self, path: str, **params):
        answer = httpx.get(f"{self.server.url}{path}", params=params, timeout=30,
                           headers={"Authorization": f"Bearer {self.keys['read_key']}"})
        assert answer.status_code == 200, answer.text
        return answer.json()

    def send(self, path, idem: str, **form):
        return send(self.server, self.keys, path, idem, **form)


def send(server: Server, keys: dict, path, idem: str, **form):
    """An upload as watch makes it: the sidecar's fields, no OOM message of the test's."""
    return upload(server, keys["ingest_key"], path=path, idem=idem, **{"oom_message": "", **form})


def started(folder) -> tuple[Server, dict]:
    """A server analysing two dumps at a time, and the keys of its project "app"."""
    server = Server(folder / "data")
    server.env["OOMLENS_ANALYSIS_WORKERS"] = "2"
    keys = server.create_project("app")
    server.start()
    return server, keys


def analysed_captures(server: Server, keys: dict, java_dumps, captures: dict) -> dict[str, str]:
    """Upload each ``name: (program, sidecar)`` as watch does and wait for its analysis;
    the report ids by name."""
    ids = {}
    for name, (program, capture) in captures.items():
        answer = send(server, keys, java_dumps(program), f"capture-{name}",
                      **upload_fields(capture))
        assert answer.status_code == 202, answer.text
        ids[name] = answer.json()["id"]
    for report_id in ids.values():
        assert wait_done(server, keys["read_key"], report_id)["status"] == "done"
    return ids


def counted(java_dumps, server, keys, name: str, section: str) -> int:
    """What the dump holds, read from its analysis without a capture."""
    answer = send(server, keys, java_dumps(name), f"plain-{name}")
    report_id = answer.json()["id"]
    assert wait_done(server, keys["read_key"], report_id)["status"] == "done"
    doc = httpx.get(f"{server.url}/api/v1/reports/{report_id}/report", timeout=30,
                    headers={"Authorization": f"Bearer {keys['read_key']}"}).json()
    if section == "threads":
        return sum(g["count"] for g in doc["threads"])
    return doc["file_descriptors"]["open"]


@pytest.fixture(scope="module")
def world(tmp_path_factory, java_dumps):
    server, keys = started(tmp_path_factory.mktemp("capture"))
    threads = counted(java_dumps, server, keys, "ThreadFixtures", "threads")
    fds = counted(java_dumps, server, keys, "Resources", "fds")
    captures = {
        "threads": ("ThreadFixtures", sidecar(
            "thread-threshold", threads=threads, thread_limit=2 * threads,
            threshold={"metric": "threads", "value": threads, "limit": threads,
                       "max": 2 * threads, "checks": 1, "rule": "sustained"})),
        "fds": ("Resources", sidecar(
            "fd-threshold", open_fds=fds, fd_limit=4 * fds, truncated=True,
            threshold={"metric": "fds", "value": fds, "limit": fds, "max": 4 * fds})),
        "oom": ("ThreadFixtures", sidecar(
            "oom", oom_message=OOM, oom_thread="main",
            oom_stack_trace=f"{OOM}\n\tat java.base/java.lang.Thread.start0(Native Method)\n")),
    }
    w = World(server, keys, analysed_captures(server, keys, java_dumps, captures), threads, fds)
    answer = w.send(java_dumps("ThreadFixtures"), "trigger-only", trigger="heap-threshold")
    assert answer.status_code == 202, answer.text
    w.ids["trigger_only"] = answer.json()["id"]
    assert wait_done(server, keys["read_key"], w.ids["trigger_only"])["status"] == "done"
    yield w
    server.kill()


def test_the_report_row_and_document_keep_the_capture(world):
    row = world.get(f"/api/v1/reports/{world.ids['threads']}")
    assert row["trigger"] == "thread-threshold"
    assert row["capture"]["threads"] == world.threads
    assert row["capture"]["threshold"]["max"] == 2 * world.threads
    assert row["oom_cause"] == "thread-threshold"  # its cause is the threshold, not an OOM kind
    doc = world.get(f"/api/v1/reports/{world.ids['threads']}/report")
    assert doc["oom_cause"] is None
    assert doc["capture"]["summary"] == f"{world.threads} threads, limit {2 * world.threads} (50%)"
    assert doc["capture"]["look_first"] == ["threads"] and doc["capture"]["host"] == "web-7"

    fds = world.get(f"/api/v1/reports/{world.ids['fds']}/report")
    assert fds["capture"]["summary"] == f"{world.fds} open files of {4 * world.fds} (25%)"
    assert fds["capture"]["truncated"] is True
    assert world.get(f"/api/v1/reports/{world.ids['fds']}")["oom_cause"] == "fd-threshold"

    oom = world.get(f"/api/v1/reports/{world.ids['oom']}")
    assert (oom["trigger"], oom["oom_cause"], oom["oom_message"]) == ("oom", "thread-limit", OOM)
    oom_doc = world.get(f"/api/v1/reports/{world.ids['oom']}/report")
    assert oom_doc["oom_cause"]["kind"] == "thread-limit"
    assert oom_doc["capture"]["oom_thread"] == "main"

    # a trigger sent alone: kept, no capture, the report still leads with what it means
    alone = world.get(f"/api/v1/reports/{world.ids['trigger_only']}")
    assert (alone["trigger"], alone["capture"], alone["oom_cause"]) == \
        ("heap-threshold", None, "heap-threshold")
    alone_doc = world.get(f"/api/v1/reports/{world.ids['trigger_only']}/report")
    assert alone_doc["capture"]["summary"] == DESCRIPTIONS["heap-threshold"]
    # and an upload without them has neither
    plain = [r for r in world.get("/api/v1/reports")["reports"] if r["id"] not in
             world.ids.values()]
    assert [(r["trigger"], r["capture"]) for r in plain] == [("", None), ("", None)]


def test_the_cause_filter_finds_threshold_reports(world):
    listed = world.get("/api/v1/reports", cause="thread-threshold")["reports"]
    assert [r["id"] for r in listed] == [world.ids["threads"]]
    assert [r["id"] for r in world.get("/api/v1/reports", cause="fd-threshold")["reports"]] == \
        [world.ids["fds"]]
    bad = httpx.get(f"{world.server.url}/api/v1/reports", params={"cause": "cpu-threshold"},
                    headers={"Authorization": f"Bearer {world.keys['read_key']}"}, timeout=10)
    assert bad.status_code == 422 and "thread-threshold" in bad.json()["detail"]


def test_a_threshold_report_without_findings_counts_for_an_issue_of_its_trigger(world):
    doc = world.get(f"/api/v1/reports/{world.ids['threads']}/report")
    assert not any(doc[s] for s in ("leaks", "library_leaks", "big_objects", "class_clusters"))
    issues = {(i["kind"], i["signature"]): i for i in world.get("/api/v1/issues")}
    issue = issues[("oom_cause", "oom-cause/1:thread-threshold")]
    assert issue["title"] == DESCRIPTIONS["thread-threshold"] and issue["reports"] == 1
    detail = world.get(f"/api/v1/issues/{issue['id']}")
    assert detail["representative"] == doc["capture"]
    assert detail["breakdown"]["triggers"] == [{"trigger": "thread-threshold", "reports": 1}]
    reports = world.get(f"/api/v1/issues/{issue['id']}/reports")["reports"]
    assert [(r["id"], r["trigger"]) for r in reports] == \
        [(world.ids["threads"], "thread-threshold")]
    # the trigger alone also makes an issue of its own; the oom capture's is the OOM kind's
    assert issues[("oom_cause", "oom-cause/1:heap-threshold")]["reports"] == 1
    assert issues[("oom_cause", "oom-cause/1:thread-limit")]["reports"] == 1


def test_an_issue_counts_its_reports_by_trigger(world):
    """The Resources program's findings, seen plain and in the fd-threshold capture."""
    fds = world.get(f"/api/v1/reports/{world.ids['fds']}/report")
    findings = [(kind, item["signature"]) for kind, section in
                (("big_object", "big_objects"), ("class_cluster", "class_clusters"),
                 ("leak", "leaks")) for item in fds[section]]
    assert findings
    issues = {(i["kind"], i["signature"]): i for i in world.get("/api/v1/issues")}
    for key in findings:
        detail = world.get(f"/api/v1/issues/{issues[key]['id']}")
        assert detail["breakdown"]["triggers"] == [{"trigger": "", "reports": 1},
                                                   {"trigger": "fd-threshold", "reports": 1}]


@pytest.mark.parametrize("form, reason", [
    ({"capture": "{not json"}, "capture: not JSON"),
    ({"capture": json.dumps({"trigger": "cpu"})}, "trigger must be one of"),
    ({"capture": json.dumps(sidecar("oom", pid="4711"))}, "pid must be a non-negative integer"),
    ({"capture": json.dumps(sidecar("oom", reason="x" * (70 << 10)))}, "larger than 64 KiB"),
    ({"capture": json.dumps(sidecar("oom")), "trigger": "fd-threshold"},
     "trigger fd-threshold is not the capture's (oom)"),
    ({"trigger": "gc-threshold"}, "trigger must be one of"),
])
def test_a_bad_capture_is_refused_and_nothing_is_stored(world, java_dumps, form, reason):
    before = [r["id"] for r in world.get("/api/v1/reports", limit=500)["reports"]]
    stored = blobs(world.server.data_dir / "dumps")
    assert any(b.endswith(".dump") for b in stored)  # the uploads so far are there
    key = f"bad-{abs(hash(json.dumps(form)))}"
    answer = world.send(java_dumps("ThreadFixtures"), key, **form)
    assert answer.status_code == 422 and reason in answer.json()["detail"], answer.text
    assert "\n" not in answer.json()["detail"]
    assert [r["id"] for r in world.get("/api/v1/reports", limit=500)["reports"]] == before
    assert blobs(world.server.data_dir / "dumps") == stored
    # the key was not used up: the same upload without the bad fields is a new report
    again = world.send(java_dumps("ThreadFixtures"), key)
    assert again.status_code == 202 and again.json()["created"] is True

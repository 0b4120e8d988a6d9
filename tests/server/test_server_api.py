"""The server as users run it: `oomlens project create`, `oomlens serve` in its own process, real
HTTP uploads of real dumps, analysis in the embedded runner; a server killed mid-analysis loses
nothing."""

from __future__ import annotations

import json
import subprocess
import time

import httpx
import pytest

from conftest import DATA
from oomlens.server.probe import free_port
from serverrun import DUMP, OOM, OOMLENS, upload, wait_done

def test_an_uploaded_dump_is_analysed_like_the_command_line_does(server, tmp_path):
    keys = server.create_project("app")
    server.start()
    answer = upload(server, keys["ingest_key"])
    assert answer.status_code == 202, answer.text
    report_id = answer.json()["id"]
    state = wait_done(server, keys["read_key"], report_id)
    assert state["status"] == "done", state
    doc = httpx.get(f"{server.url}/api/v1/reports/{report_id}/report",
                    headers={"Authorization": f"Bearer {keys['read_key']}"}, timeout=10).json()
    local = subprocess.run([*OOMLENS, "analyze", "--format", "json", "--no-progress",
                            "--oom-message", OOM, DUMP], capture_output=True, text=True,
                           timeout=300)
    expected = json.loads(local.stdout)
    assert doc["leaks"] == expected["leaks"] and doc["leaks"]
    assert doc["oom_cause"] == expected["oom_cause"]
    assert state["oom_cause"] == expected["oom_cause"]["kind"]


def test_keys_open_only_their_own_project_and_only_what_their_kind_allows(server):
    a = server.create_project("a")
    b = server.create_project("b")
    server.start()
    report_id = upload(server, a["ingest_key"]).json()["id"]
    get = lambda key: httpx.get(f"{server.url}/api/v1/reports/{report_id}",  # noqa: E731
                                headers={"Authorization": f"Bearer {key}"}, timeout=10)
    assert get(a["read_key"]).status_code == 200
    assert get(a["admin_key"]).status_code == 200  # an admin key reads too
    assert get(b["read_key"]).status_code == 404  # another project's report does not exist
    assert get(b["admin_key"]).status_code == 404
    assert get(a["ingest_key"]).status_code == 403  # an ingest key cannot read
    assert get("oomlens_read_forged").status_code == 401
    assert upload(server, a["read_key"], idem="x").status_code == 403
    assert upload(server, a["admin_key"], idem="x").status_code == 403  # uploads: ingest keys
    not_a_dump = server.data_dir.parent / "notes.txt"
    not_a_dump.write_text("hello")
    r = upload(server, a["ingest_key"], path=not_a_dump, idem="y")
    assert r.status_code == 415 and "not a heap dump" in r.json()["detail"]


def test_a_retried_upload_is_one_report(server):
    keys = server.create_project("app")
    server.start()
    first = upload(server, keys["ingest_key"], idem="same").json()
    again = upload(server, keys["ingest_key"], idem="same").json()
    assert first["id"] == again["id"] and first["created"] and not again["created"]


def test_a_server_killed_mid_analysis_analyses_everything_after_restart(server):
    keys = server.create_project("app")
    server.start()
    ids = [upload(server, keys["ingest_key"], idem=f"k{i}").json()["id"] for i in range(3)]
    # wait until an analysis is running, then kill everything
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        states = [httpx.get(f"{server.url}/api/v1/reports/{i}", timeout=10,
                            headers={"Authorization": f"Bearer {keys['read_key']}"}
                            ).json()["status"] for i in ids]
        if "running" in states:
            break
        time.sleep(0.1)
    assert "running" in states
    server.kill()
    server.start()  # the killed job is claimed again once its 3 s lease runs out
    for report_id in ids:
        assert wait_done(server, keys["read_key"], report_id)["status"] == "done"


def test_oomlens_upload_strips_retries_until_the_server_answers_and_is_idempotent(server):
    keys = server.create_project("app")
    # the server is not up yet: the client retries with backoff until it is
    client = subprocess.Popen(
        [*OOMLENS, "upload", DUMP, "--server", server.url, "--key", keys["ingest_key"],
         "--oom-message", OOM, "--app-version", "2.0", "--json", "--retries", "8"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)
    server.start()
    out, err = client.communicate(timeout=120)
    assert client.returncode == 0, err
    assert "retrying" in err
    first = json.loads(out)
    assert first["created"]
    state = wait_done(server, keys["read_key"], first["id"])
    assert state["status"] == "done" and state["dump_format"] == "packed"
    doc = httpx.get(f"{server.url}/api/v1/reports/{first['id']}/report",
                    headers={"Authorization": f"Bearer {keys['read_key']}"}, timeout=10).json()
    local = json.loads(subprocess.run([*OOMLENS, "analyze", "--format", "json", "--no-progress",
                                       "--oom-message", OOM, DUMP], capture_output=True,
                                      text=True, timeout=300).stdout)
    # stripped before upload, analysed the same (only what Strings said is redacted)
    assert doc["leaks"]
    assert [leak["signature"] for leak in doc["leaks"]] == \
        [leak["signature"] for leak in local["leaks"]]
    again = subprocess.run([*OOMLENS, "upload", DUMP, "--server", server.url, "--key",
                            keys["ingest_key"], "--json"], capture_output=True, text=True,
                           timeout=120)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout) == {**first, "created": False, "status": "done"}


@pytest.mark.parametrize("server_arg", ["127.0.0.1:8270", "http://127.0.0.1:port/", "ftp://h/"])
def test_an_upload_url_that_cannot_work_is_one_line_before_any_attempt(server_arg):
    started = time.monotonic()
    result = subprocess.run([*OOMLENS, "upload", DUMP, "--server", server_arg, "--key", "k"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and time.monotonic() - started < 10  # no retries, no strip
    assert result.stderr.count("\n") == 1 and "retrying" not in result.stderr
    assert result.stderr.startswith("oomlens: error: --server ")


def test_a_refused_upload_is_not_retried(server):
    """A 4xx other than 408/425/429 cannot heal: one attempt, its answer, exit 2."""
    server.create_project("app")
    server.start()
    result = subprocess.run([*OOMLENS, "upload", DUMP, "--server", server.url, "--key",
                             "oomlens_ingest_forged", "--no-strip"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "retrying" not in result.stderr and result.stderr.count("\n") == 1
    assert result.stderr.startswith("oomlens: error: ") and ": 401 " in result.stderr


def test_oomlens_upload_gives_up_with_one_line(tmp_path):
    result = subprocess.run([*OOMLENS, "upload", DUMP, "--server", f"http://127.0.0.1:{free_port()}",
                             "--key", "k", "--retries", "1", "--no-strip"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("oomlens: error:") and "gave up after 2 attempts" in lines[-1]
    # the first failure says what the retries wait for (a wrong port reads as one)
    assert len(lines) == 2 and "Connection refused" in lines[0]
    assert "waiting for a server to answer at that address (is it running, and is the port " \
           "right?): retrying in 0.5 s, 1 attempt left" in lines[0]


def test_findings_fold_into_issues_that_reopen_in_a_later_version(server):
    keys = server.create_project("app")
    server.start()
    read = {"Authorization": f"Bearer {keys['read_key']}"}

    def analysed(version: str, device: str) -> dict:
        answer = upload(server, keys["ingest_key"], idem=f"{version}-{device}",
                        app_version=version, device_model=device).json()
        assert wait_done(server, keys["read_key"], answer["id"])["status"] == "done"
        return httpx.get(f"{server.url}/api/v1/reports/{answer['id']}/report", headers=read,
                         timeout=10).json()

    doc = analysed("1.0", "Pixel 7")
    analysed("1.1", "Galaxy S9")
    issues = httpx.get(f"{server.url}/api/v1/issues", headers=read, timeout=10).json()
    leak = doc["leaks"][0]
    found = [i for i in issues if i["kind"] == "leak" and i["signature"] == leak["signature"]]
    assert len(found) == 1, issues
    issue = found[0]
    assert (issue["reports"], issue["devices"], issue["versions"]) == (2, 2, ["1.0", "1.1"])
    assert issue["total_retained_bytes"] == 2 * leak["retained_bytes"]
    assert issue["median_retained_bytes"] == leak["retained_bytes"]
    kinds = {(i["kind"], i["signature"]) for i in issues}
    expected = {(kind, item["signature"]) for kind, section in
                (("leak", "leaks"), ("library_leak", "library_leaks"),
                 ("big_object", "big_objects"), ("class_cluster", "class_clusters"))
                for item in doc[section]}
    assert kinds == expected  # one issue per signature, none twice
    detail = httpx.get(f"{server.url}/api/v1/issues/{issue['id']}", headers=read,
                       timeout=10).json()
    assert detail["representative"]["traces"] == leak["traces"]
    # fixed in 1.1: a 1.0 report (an old install) does not re-open it, a 1.2 report does
    import sqlite3

    with sqlite3.connect(server.data_dir / "oomlens.db") as db:
        db.execute("update issues set status='fixed', fixed_in_version='1.1' where id=?",
                   (issue["id"],))
    analysed("1.0", "Moto G")
    assert httpx.get(f"{server.url}/api/v1/issues/{issue['id']}", headers=read,
                     timeout=10).json()["status"] == "fixed"
    analysed("1.2", "Moto G")
    again = httpx.get(f"{server.url}/api/v1/issues/{issue['id']}", headers=read,
                      timeout=10).json()
    assert again["status"] == "open" and again["regressed_at"] and again["reports"] == 4
    other = server.create_project("other")
    assert httpx.get(f"{server.url}/api/v1/issues/{issue['id']}", timeout=10,
                     headers={"Authorization": f"Bearer {other['read_key']}"}).status_code == 404


def test_an_analysis_that_keeps_crashing_ends_dead_with_its_reason(server):
    """A memory ceiling too small for any analysis: each attempt dies, the report is retried,
    then given up on, with the last reason kept (and the server keeps serving)."""
    server.env.update({"OOMLENS_ANALYSIS_MEMORY_MB": "200", "OOMLENS_MAX_ATTEMPTS": "2"})
    keys = server.create_project("app")
    server.start()
    report_id = upload(server, keys["ingest_key"]).json()["id"]
    state = wait_done(server, keys["read_key"], report_id)
    assert state["status"] == "dead" and state["attempts"] == 3
    assert state["error"].startswith("gave up after 2 attempts; last: ")
    assert httpx.get(f"{server.url}/api/v1/health", timeout=10).status_code == 200


def test_a_mapping_retraces_its_version_reports_analysed_before_it_came(server):
    """ahat's R8-obfuscated test dump: fields read E, F, ... until the mapping arrives."""
    keys = server.create_project("app")
    server.start()
    read = {"Authorization": f"Bearer {keys['read_key']}"}
    ingest = {"Authorization": f"Bearer {keys['ingest_key']}"}
    dump = DATA / "art_ahat_test-dump.hprof.gz"
    report_id = upload(server, keys["ingest_key"], path=dump, app_version="r8").json()["id"]
    assert wait_done(server, keys["read_key"], report_id)["status"] == "done"
    url = f"{server.url}/api/v1/reports/{report_id}/report"
    assert httpx.get(url, headers=read, timeout=10).json()["retrace"] is None
    bad = httpx.put(f"{server.url}/api/v1/mappings/r8", content=b"not a mapping at all\n",
                    headers=ingest, timeout=30)
    assert bad.status_code == 422 and "mapping" in bad.json()["detail"]
    put = httpx.put(f"{server.url}/api/v1/mappings/r8", headers=ingest, timeout=60,
                    content=(DATA / "art_ahat_test-dump.map").read_bytes())
    assert put.status_code == 200, put.text
    assert put.json()["requeued_reports"] == 1 and put.json()["classes"] > 0
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        doc = httpx.get(url, headers=read, timeout=10)
        if doc.status_code == 200 and doc.json()["retrace"] is not None:
            break
        time.sleep(0.3)
    local = subprocess.run([*OOMLENS, "analyze", "--format", "json", "--no-progress",
                            "--mapping", DATA / "art_ahat_test-dump.map", dump],
                           capture_output=True, text=True, timeout=300)
    expected = json.loads(local.stdout)
    retraced = doc.json()
    assert retraced["retrace"] == {**expected["retrace"], "mapping": "mapping of version r8"}
    assert retraced["histogram"] == expected["histogram"]


def test_a_failed_reports_reason_names_the_upload_not_the_servers_files(server, tmp_path):
    keys = server.create_project("app")
    server.start()
    bad = tmp_path / "bad.hprof"
    bad.write_bytes(b"JAVA PROFILE 1.0.2\0" + (9).to_bytes(4, "big") + bytes(8))  # id size 9
    report_id = upload(server, keys["ingest_key"], path=bad).json()["id"]
    state = wait_done(server, keys["read_key"], report_id)
    assert state["status"] == "failed"
    assert state["error"].startswith("the uploaded dump: "), state["error"]
    assert "oomlens-job-" not in state["error"] and "/tmp" not in state["error"]

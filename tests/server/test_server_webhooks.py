"""Notifications by webhook: a real `oomlens serve` posting to a real HTTP receiver (and to one
that never answers), and the outbox, spike rule and delivery against real databases (a SQLite
file and the local PostgreSQL)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import sqlite3
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from sqlalchemy import select

from oomlens.server.core.models import Issue, Notification, Report, Webhook
from oomlens.server.core.vocabulary import DeliveryState, IssueStatus
from oomlens.server.issues import fold
from oomlens.server.notify import delivery, outbox, payloads, spikes
import test_server_store
from serverrun import Server, upload, wait_done

# the storage tests' fixtures: a fresh SQLite file or PostgreSQL database per test, a project in
# it, and the report of a real dump
database = test_server_store.database
project = test_server_store.project
analysed_document = test_server_store.analysed_document


class Receiver:
    """An HTTP server that records every request. ``answers[path]`` lists (status, body) to
    give the next requests to that path, in order; then it answers 200 "ok"."""

    def __init__(self):
        self.requests: list[dict] = []
        self.answers: dict[str, list[tuple[int, bytes]]] = {}
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.requests.append({"path": self.path, "headers": self.headers,
                                              "body": body, "at": time.monotonic()})
                    queued = receiver.answers.get(self.path) or []
                    status, reply = queued.pop(0) if queued else (200, b"ok")
                self.send_response(status)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *_args):
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.http.server_address[1]}{path}"

    def received(self, path: str) -> list[dict]:
        with self.lock:
            return [r for r in self.requests if r["path"] == path]

    def wait_for(self, path: str, count: int, timeout: float = 30) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(got := self.received(path)) >= count:
                return got
            time.sleep(0.1)
        raise AssertionError(f"{path}: {len(self.received(path))} requests, not {count}")


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.http.shutdown()


@pytest.fixture
def server(tmp_path):
    s = Server(tmp_path / "data")
    s.env["OOMLENS_WEBHOOK_BACKOFF_S"] = "1"  # retries after 1 s, 3 s, ...
    yield s
    if s.process and s.process.poll() is None:
        s.kill()


def verifies(request: dict, secret: str) -> bool:
    """The check a receiver makes (README, Notifications)."""
    timestamp = request["headers"]["X-Oomlens-Timestamp"]
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + request["body"],
                        hashlib.sha256).hexdigest()
    return hmac.compare_digest(f"sha256={expected}", request["headers"]["X-Oomlens-Signature"])


def test_new_issues_and_a_regression_reach_every_format_once_signed(server, receiver):
    keys = server.create_project("app")
    server.start()
    admin = {"Authorization": f"Bearer {keys['admin_key']}"}
    api = f"{server.url}/api/v1"

    def create(**spec) -> dict:
        answer = httpx.post(f"{api}/webhooks", json=spec, headers=admin, timeout=10)
        assert answer.status_code == 201, answer.text
        return answer.json()

    plain = create(url=receiver.url("/json"), events=["new_issue", "regression"])
    slack = create(url=receiver.url("/slack"), format="slack", events=["new_issue"])
    lark = create(url=receiver.url("/lark"), format="lark", events=["new_issue"],
                  secret="lark-bot-signing-secret")
    hung = socket.create_server(("127.0.0.1", 0))  # accepts connections, never answers
    down = create(url=f"http://127.0.0.1:{hung.getsockname()[1]}/hook",
                  events=["new_issue", "regression"])
    assert len(plain["secret"]) >= 40 and lark["secret"] == "lark-bot-signing-secret"
    listed = httpx.get(f"{api}/webhooks", headers=admin, timeout=10).json()
    assert [w["id"] for w in listed] == [plain["id"], slack["id"], lark["id"], down["id"]]
    assert all("secret" not in w for w in listed)

    first = upload(server, keys["ingest_key"], idem="v1.0")
    assert wait_done(server, keys["read_key"], first.json()["id"])["status"] == "done"
    read = {"Authorization": f"Bearer {keys['read_key']}"}
    issues = httpx.get(f"{api}/issues", headers=read, timeout=10).json()
    assert issues
    news = receiver.wait_for("/json", len(issues))
    bodies = [json.loads(r["body"]) for r in news]
    assert sorted(b["issue"]["id"] for b in bodies) == sorted(i["id"] for i in issues)
    by_id = {i["id"]: i for i in issues}
    for request, body in zip(news, bodies, strict=True):
        issue = by_id[body["issue"]["id"]]
        assert body["event"] == request["headers"]["X-Oomlens-Event"] == "new_issue"
        assert body["project"] == "app" and body["sent_at"]
        assert {k: body["issue"][k] for k in ("kind", "title", "signature", "status")} == \
            {k: issue[k] for k in ("kind", "title", "signature", "status")}
        assert body["issue"]["reports"] == 1 and body["issue"]["owner"] == ""
        assert body["issue"]["path"] == f"/api/v1/issues/{issue['id']}"
        assert verifies(request, plain["secret"])
        assert not verifies(request, slack["secret"])
    assert len({r["headers"]["X-Oomlens-Delivery"] for r in news}) == len(news)

    titles = sorted(i["title"] for i in issues)
    chat = receiver.wait_for("/slack", len(issues))
    assert all(set(json.loads(r["body"])) == {"text"} for r in chat)
    assert sorted(t for t in titles for r in chat if t in json.loads(r["body"])["text"]) == titles
    assert all(verifies(r, slack["secret"]) for r in chat)
    for r in receiver.wait_for("/lark", len(issues)):
        body = json.loads(r["body"])
        assert body["msg_type"] == "text" and any(t in body["content"]["text"] for t in titles)
        key = f"{body['timestamp']}\n{lark['secret']}".encode()
        assert body["sign"] == base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()
                                                ).decode()
        assert verifies(r, lark["secret"])

    # the receiver that never answers holds up neither uploads nor the other webhooks
    leak = next(i for i in issues if i["kind"] == "leak")
    with sqlite3.connect(server.data_dir / "oomlens.db") as db:
        db.execute("update issues set status='fixed', fixed_in_version='1.0' where id=?",
                   (leak["id"],))
    started = time.monotonic()
    second = upload(server, keys["ingest_key"], idem="v1.1", app_version="1.1")
    assert second.status_code == 202 and time.monotonic() - started < 5
    stuck = httpx.get(f"{api}/webhooks/{down['id']}/deliveries", headers=admin,
                      timeout=10).json()
    assert stuck and all(d["state"] == DeliveryState.PENDING for d in stuck), stuck
    assert any(d["attempts"] >= 1 for d in stuck)
    assert wait_done(server, keys["read_key"], second.json()["id"])["status"] == "done"
    regression = json.loads(receiver.wait_for("/json", len(issues) + 1)[-1]["body"])
    assert regression["event"] == "regression" and regression["issue"]["id"] == leak["id"]
    assert (regression["issue"]["status"], regression["issue"]["fixed_in_version"],
            regression["issue"]["reports"]) == ("open", "1.0", 2)
    assert regression["report_id"] == second.json()["id"]

    # the 1.1 report folded again (e.g. re-analysed): the issue re-opens once more, but this
    # report already counted for it, so nobody hears of it twice
    with sqlite3.connect(server.data_dir / "oomlens.db") as db:
        db.execute("update issues set status='fixed' where id=?", (leak["id"],))
        db.execute("update reports set status='queued', attempts=0 where id=?",
                   (second.json()["id"],))
    time.sleep(1)
    assert wait_done(server, keys["read_key"], second.json()["id"])["status"] == "done"
    again = httpx.get(f"{api}/issues/{leak['id']}", headers=read, timeout=10).json()
    assert again["status"] == "open" and again["reports"] == 2
    outbox_rows = httpx.get(f"{api}/webhooks/{plain['id']}/deliveries", headers=admin,
                            timeout=10).json()
    assert sorted(d["event"] for d in outbox_rows) == ["new_issue"] * len(issues) + ["regression"]
    time.sleep(1.5)  # a second delivery would have arrived by now
    assert len(receiver.received("/json")) == len(issues) + 1
    hung.close()


def test_a_failing_receiver_gets_the_test_event_on_its_third_try(server, receiver):
    keys = server.create_project("app")
    other = server.create_project("other")
    server.start()
    api = f"{server.url}/api/v1"
    admin = {"Authorization": f"Bearer {keys['admin_key']}"}
    receiver.answers["/flaky"] = [(500, b"down for maintenance")] * 2
    hook = httpx.post(f"{api}/webhooks", json={"url": receiver.url("/flaky")}, headers=admin,
                      timeout=10).json()
    assert hook["events"] == ["new_issue", "regression", "spike"] and hook["format"] == "json"
    queued = httpx.post(f"{api}/webhooks/{hook['id']}/test", headers=admin, timeout=10)
    assert queued.status_code == 202
    delivery_id = queued.json()["delivery_id"]
    tries = receiver.wait_for("/flaky", 3)
    assert [r["headers"]["X-Oomlens-Delivery"] for r in tries] == [str(delivery_id)] * 3
    assert all(json.loads(r["body"])["event"] == "test" and verifies(r, hook["secret"])
               for r in tries)
    # backoff: 1 s then 3 s (base 1)
    assert tries[1]["at"] - tries[0]["at"] >= 0.9 and tries[2]["at"] - tries[1]["at"] >= 2.9
    time.sleep(0.5)
    [row] = httpx.get(f"{api}/webhooks/{hook['id']}/deliveries", headers=admin,
                      timeout=10).json()
    assert (row["id"], row["event"], row["state"], row["attempts"], row["last_status"]) == \
        (delivery_id, "test", DeliveryState.SENT, 3, 200)
    assert row["last_error"] == "HTTP 500: down for maintenance"

    def refused(spec: dict) -> str:
        answer = httpx.post(f"{api}/webhooks", json=spec, headers=admin, timeout=10)
        assert answer.status_code == 422, answer.text
        return answer.json()["detail"]

    assert "http:// or https://" in refused({"url": "ftp://example.com/hook"})
    assert "http:// or https://" in refused({"url": "http://"})
    assert "2000" in refused({"url": "https://example.com/" + "a" * 2000})
    assert "format" in refused({"url": receiver.url("/x"), "format": "teams"})
    assert "sneeze" in refused({"url": receiver.url("/x"), "events": ["sneeze"]})
    assert "events" in refused({"url": receiver.url("/x"), "events": []})
    assert "secret" in refused({"url": receiver.url("/x"), "secret": "short"})
    for key in (keys["read_key"], keys["ingest_key"]):
        assert httpx.get(f"{api}/webhooks", timeout=10,
                         headers={"Authorization": f"Bearer {key}"}).status_code == 403
    stranger = {"Authorization": f"Bearer {other['admin_key']}"}
    assert httpx.get(f"{api}/webhooks", headers=stranger, timeout=10).json() == []
    for method, path in (("DELETE", ""), ("POST", "/test"), ("GET", "/deliveries")):
        assert httpx.request(method, f"{api}/webhooks/{hook['id']}{path}", headers=stranger,
                             timeout=10).status_code == 404
    assert httpx.delete(f"{api}/webhooks/{hook['id']}", headers=admin,
                        timeout=10).status_code == 204
    assert httpx.get(f"{api}/webhooks", headers=admin, timeout=10).json() == []
    assert httpx.post(f"{api}/webhooks/{hook['id']}/test", headers=admin,
                      timeout=10).status_code == 404


# the outbox, the spike rule and delivery, on SQLite and PostgreSQL


def _webhook(sessions, project, events: str, url: str = "http://127.0.0.1:9/hook") -> int:
    with sessions() as s:
        hook = Webhook(project_id=project.id, url=url, format="json", events=events,
                       secret="shared-secret", created_at=datetime.now(UTC))
        s.add(hook)
        s.commit()
        return hook.id


def _report(sessions, project, version: str, received_at: datetime | None = None) -> str:
    with sessions() as s:
        report = Report(id=uuid.uuid4().hex, project_id=project.id,
                        idempotency_key=uuid.uuid4().hex, app_version=version,
                        received_at=received_at or datetime.now(UTC), dump_key="unused",
                        dump_bytes=1, dump_format="gzip")
        s.add(report)
        s.commit()
        return report.id


def _fold(sessions, report_id: str, document: dict, now: datetime | None = None,
          commit: bool = True) -> list[tuple[str, int]]:
    """Fold a report and queue its events, as the analysis job does."""
    with sessions() as s:
        report = s.get(Report, report_id)
        counted = outbox.counted_for(s, report)
        folded = fold.refold(s, report, document)
        queued = [(n.event, n.issue_id)
                  for n in outbox.record_fold(s, report, folded, counted, now=now)]
        s.commit() if commit else s.rollback()
        return queued


def test_events_are_queued_with_their_fold_and_never_twice(database, project,
                                                           analysed_document):
    _webhook(database, project, "new_issue,regression,spike")
    expected = {(f.kind, f.signature) for f in fold.findings(analysed_document)}
    first = _report(database, project, "1.0")
    assert _fold(database, first, analysed_document, commit=False)  # ... and rolled back
    with database() as s:
        assert s.scalars(select(Notification)).all() == [] == s.scalars(select(Issue)).all()
    news = _fold(database, first, analysed_document)
    with database() as s:
        issues = s.scalars(select(Issue)).all()
    assert {(i.kind, i.signature) for i in issues} == expected
    assert sorted(news) == sorted(("new_issue", i.id) for i in issues)
    assert _fold(database, first, analysed_document) == []  # a job redone
    with database() as s:
        for issue in s.scalars(select(Issue)):
            issue.status, issue.fixed_in_version = IssueStatus.FIXED, "0.9"
        s.commit()
    assert _fold(database, first, analysed_document) == []  # counted for them already
    with database() as s:
        assert {i.status for i in s.scalars(select(Issue))} == {"open"}  # re-opened, quietly
        for issue in s.scalars(select(Issue)):
            issue.status, issue.fixed_in_version = IssueStatus.FIXED, "1.0"
        s.commit()
    later = _report(database, project, "1.1")
    assert sorted(_fold(database, later, analysed_document)) == \
        sorted(("regression", i.id) for i in issues)
    with database() as s:
        payloads = [json.loads(n.payload) for n in s.scalars(select(Notification)
                                                             .where(Notification.event ==
                                                                    "regression"))]
    assert {(p["issue"]["reports"], p["issue"]["status"], p["report_id"])
            for p in payloads} == {(2, "open", later)}


def test_a_spike_is_five_reports_in_an_hour_notified_once_a_day(database, project,
                                                               analysed_document):
    assert spikes.threshold(0) == 5 and spikes.threshold(7 * 24 * 2) == 6  # 2 an hour -> 6
    _webhook(database, project, "spike")
    now = datetime.now(UTC).replace(microsecond=0)
    for hours_ago in (30, 50, 2):  # the baseline: 3 reports in the week before the hour
        assert _fold(database, _report(database, project, "1.0", now - timedelta(hours=hours_ago)),
                     analysed_document, now=now) == []
    recent = [_report(database, project, "1.0", now - timedelta(minutes=m))
              for m in (50, 40, 30, 20, 10, 5)]
    assert [_fold(database, r, analysed_document, now=now) for r in recent[:4]] == [[]] * 4
    spiked = _fold(database, recent[4], analysed_document, now=now)
    with database() as s:
        issues = s.scalars(select(Issue)).all()
        assert sorted(spiked) == sorted(("spike", i.id) for i in issues)
        assert {spikes.recent_and_baseline(s, i.id, now) for i in issues} == {(5, 3)}
        documents = [json.loads(n.payload) for n in s.scalars(select(Notification))]
    assert {d["spike"]["reports_last_hour"] for d in documents} == {5}
    assert all(payloads.text(d).startswith(f"oomlens: Spike in app: {d['issue']['title']} (")
               and "5 in the last hour" in payloads.text(d) for d in documents)
    assert _fold(database, recent[5], analysed_document, now=now) == []  # once a day
    tomorrow = now + timedelta(days=1, minutes=1)  # a day later, an hour as busy spikes again
    busy = [_fold(database, _report(database, project, "1.0", tomorrow - timedelta(minutes=m)),
                  analysed_document, now=tomorrow) for m in (50, 40, 30, 20, 10)]
    assert busy[:4] == [[]] * 4 and sorted(busy[4]) == sorted(spiked)


def test_deliveries_are_claimed_once_retried_with_backoff_then_dead(database, project,
                                                                  receiver):
    receiver.answers["/down"] = [(500, b"no")] * delivery.MAX_ATTEMPTS
    receiver.answers["/lark"] = [(200, b'{"code":19021,"msg":"sign match fail"}')]
    down = _webhook(database, project, "new_issue", url=receiver.url("/down"))
    client = httpx.Client(timeout=5)
    with database() as s:
        hook = s.get(Webhook, down)
        row = outbox.record_test(s, hook)
        s.commit()
    now = datetime.now(UTC)
    with database() as s1, database() as s2:
        claimed = delivery.claim(s1, now, set())
        assert claimed.id == row.id and delivery.claim(s2, now, set()) is None
    waits = []
    with database() as s:
        for attempt in range(1, delivery.MAX_ATTEMPTS + 1):
            if attempt > 1:
                claimed = delivery.claim(s, now, set())
            assert claimed.attempts == attempt
            outcome = delivery.send(client, s.get(Webhook, down), claimed)
            delivery.record(s, claimed.id, outcome, now, base_s=10)
            after = s.get(Notification, row.id, populate_existing=True)
            if after.state == DeliveryState.PENDING:
                assert delivery.claim(s, now, set()) is None  # not due yet
                waits.append(round((_utc(after.next_attempt_at) - now).total_seconds()))
                now = _utc(after.next_attempt_at)
    assert waits == [10, 30, 120, 600, 3600]
    assert (after.state, after.attempts, after.last_status, after.last_error) == \
        (DeliveryState.DEAD, delivery.MAX_ATTEMPTS, 500, "HTTP 500: no")
    assert len(receiver.received("/down")) == delivery.MAX_ATTEMPTS
    lark = _webhook(database, project, "new_issue", url=receiver.url("/lark"))
    with database() as s:
        hook = s.get(Webhook, lark)
        hook.format = "lark"
        row = outbox.record_test(s, hook)
        s.commit()
        outcome = delivery.send(client, hook, row)
    assert not outcome.ok and outcome.error == "Lark refused it: code 19021: sign match fail"
    client.close()


def _utc(t: datetime) -> datetime:
    return t if t.tzinfo else t.replace(tzinfo=UTC)

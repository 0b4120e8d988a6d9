"""The API's response models: /openapi.json gives every /api/v1 route a schema for what it
answers, and the answers themselves are the JSON the routes wrote before they had models (Python's
json.dumps, key order kept, times as isoformat() writes them).

In process (FastAPI's TestClient), on a SQLite data folder with one analysed report, an issue, a
mapping, a webhook with a delivery and a second key.
"""

from __future__ import annotations

import json
import re
import warnings
from datetime import UTC, datetime

import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse

with warnings.catch_warnings():  # Starlette's TestClient asks for httpx2, one day
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

from conftest import DATA
from oomlens.server import ServerSettings, create_app, create_project
from oomlens.server.api.responses import Answer, Timestamp, api_router
from oomlens.server.jobs.analyse import analyse_report

DUMP = DATA / "oracle_jdk8_05_x64.hprof.gz"
ISO_TIME = re.compile(r'"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:[+-]\d\d:\d\d|Z)?)"')


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    """(client, keys, report id) on a served data folder with a bit of everything in it."""
    settings = ServerSettings.from_env(env={}, data_dir=str(tmp_path_factory.mktemp("data")))
    keys = create_project(settings, "app")
    client = TestClient(create_app(settings, run_jobs=False))
    auth = {k: {"Authorization": f"Bearer {keys[k + '_key']}"} for k in ("ingest", "read",
                                                                          "admin")}
    mapping = client.put("/api/v1/mappings/1.0", headers=auth["ingest"],
                         content=(DATA / "art_ahat_test-dump.map").read_bytes())
    assert mapping.status_code == 200, mapping.text
    with open(DUMP, "rb") as f:
        sent = client.post("/api/v1/reports", files={"dump": ("d.hprof.gz", f)},
                           data={"app_version": "2.0", "device_model": "Pixel 7",
                                 "trigger": "heap-threshold"},
                           headers={**auth["ingest"], "Idempotency-Key": "one"})
    assert sent.status_code == 202, sent.text
    report_id = sent.json()["id"]
    assert analyse_report(settings, report_id) == "done"
    issue = client.get("/api/v1/issues", headers=auth["read"]).json()[0]
    assert client.patch(f"/api/v1/issues/{issue['id']}", headers=auth["admin"],
                        json={"status": "fixed", "fixed_in_version": "2.0"}).status_code == 200
    assert client.post("/api/v1/keys", headers=auth["admin"], json={"kind": "read"}).status_code \
        == 201
    hook = client.post("/api/v1/webhooks", headers=auth["admin"],
                       json={"url": "http://127.0.0.1:9/hook"}).json()
    assert client.post(f"/api/v1/webhooks/{hook['id']}/test",
                       headers=auth["admin"]).status_code == 202
    yield client, auth, report_id, issue["id"], hook["id"]
    client.close()


def test_every_api_route_documents_what_it_answers(api):
    client = api[0]
    paths = client.get("/openapi.json").json()["paths"]
    operations = [(method, path, op) for path, ops in paths.items() if path.startswith("/api/v1")
                  for method, op in ops.items()]
    assert len(operations) >= 23
    for method, path, op in operations:
        codes = [code for code in op["responses"] if code.startswith("2")]
        assert len(codes) == 1, (method, path, codes)
        answer = op["responses"][codes[0]]
        if codes[0] == "204":
            assert not answer.get("content"), (method, path)
            continue
        schemas = [v.get("schema") for v in (answer.get("content") or {}).values()]
        assert schemas and all(schemas), f"{method.upper()} {path}: no schema for {codes[0]}"
        assert all(s.get("$ref") or s.get("type") for s in schemas), (method, path, schemas)


def test_the_answers_are_python_json_with_isoformat_times(api):
    client, auth, report_id, issue_id, hook_id = api
    reads = [("read", "/api/v1/health"), ("read", "/api/v1/reports"),
             ("read", f"/api/v1/reports/{report_id}"),
             ("read", f"/api/v1/reports/{report_id}/dominators"),
             ("read", "/api/v1/issues"), ("read", f"/api/v1/issues/{issue_id}"),
             ("read", f"/api/v1/issues/{issue_id}/reports"), ("read", "/api/v1/mappings"),
             ("admin", "/api/v1/keys"), ("admin", "/api/v1/webhooks"),
             ("admin", f"/api/v1/webhooks/{hook_id}/deliveries")]
    times = 0
    for who, path in reads:
        answer = client.get(path, headers=auth[who])
        assert answer.status_code == 200, (path, answer.text)
        assert answer.content == JSONResponse(answer.json()).body, path
        for written in ISO_TIME.findall(answer.text):
            times += 1
            assert not written.endswith("Z"), (path, written)
            assert datetime.fromisoformat(written).isoformat() == written, (path, written)
    assert times > 10
    assert '"received_at":"' in client.get(f"/api/v1/reports/{report_id}",
                                           headers=auth["read"]).text


def test_the_routes_write_floats_and_times_as_json_dumps_does():
    """Pydantic's own JSON writer, which FastAPI uses for a model unless the route names its
    response class, writes 1e-05 as 1e-5 and UTC as Z; ``api_router`` routes do not."""

    class Shape(Answer):
        small: float
        at: Timestamp

    router = api_router("test")

    @router.get("/shape", response_model=Shape)
    def shape():
        return {"small": 1e-05, "at": datetime(2026, 3, 1, 12, 0, tzinfo=UTC)}

    app = FastAPI()
    app.include_router(router)
    with TestClient(app) as client:
        body = client.get("/api/v1/shape").content
    assert body == json.dumps({"small": 1e-05, "at": "2026-03-01T12:00:00+00:00"},
                              separators=(",", ":")).encode()

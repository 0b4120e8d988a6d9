"""Signatures carry their scheme (issue 14): ``leak/1:DIGEST``, the documented example holds,
the bare digests of older documents read as scheme 1, and migration 0010 renames the issues
folded before, on SQLite and PostgreSQL."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from conftest import TESTS
from services import NO_POSTGRES, drop_postgres, postgres_url
from oomlens.server.core import db
from oomlens.server.issues import fold
from oomlens.analysis.signatures import (SCHEME, leak_signature, oom_cause_signature,
                                         scheme_of, versioned)


def test_the_documented_example_is_what_the_code_makes():
    doc = (TESTS.parent / "docs" / "report-format.md").read_text("utf-8")
    documented = re.search(r"so its signature is `([^`]+)`", doc).group(1)
    made = leak_signature("com.example.leakcanary.LeakyService",
                          ["com.example.leakcanary.LeakyService.leakAllTheBinders",
                           "com.example.leakcanary.LeakyService$MyBinder.service"])
    assert made == documented == f"leak/{SCHEME}:041e91e599781068"


def test_old_bare_digests_read_as_scheme_one_and_versions_are_parsed():
    assert versioned("041e91e599781068", "leak") == "leak/1:041e91e599781068"
    assert versioned("leak/1:041e91e599781068", "leak") == "leak/1:041e91e599781068"
    assert versioned("heap-exhausted", "oom-cause") == oom_cause_signature("heap-exhausted")
    assert scheme_of("big-object/1:00ff00ff00ff00ff") == ("big-object", 1, "00ff00ff00ff00ff")
    assert scheme_of("00ff00ff00ff00ff") is None


@pytest.fixture(params=["sqlite", "postgresql"])
def database_at_0009(request, tmp_path):
    """A database migrated up to 0009 only (before versioned signatures), and its URL."""
    url = f"sqlite:///{tmp_path / 'oomlens.db'}" if request.param == "sqlite" else postgres_url()
    if url is None:
        pytest.fail(NO_POSTGRES)
    config = Config()
    config.set_main_option("script_location", str(db.MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, "0009")
    yield url, config
    if request.param == "postgresql":
        drop_postgres(url)


def test_the_migration_renames_old_issues_so_new_reports_fold_into_them(database_at_0009):
    url, config = database_at_0009
    engine = sa.create_engine(url)
    old = {"leak": "041e91e599781068", "big_object": "00ff00ff00ff00ff",
           "oom_cause": "heap-exhausted"}
    with engine.begin() as c:
        c.execute(sa.text("INSERT INTO projects (slug, name, created_at) "
                          "VALUES ('app', 'App', CURRENT_TIMESTAMP)"))
        for n, (kind, signature) in enumerate(old.items()):
            c.execute(sa.text(
                "INSERT INTO issues (project_id, kind, signature, title, status, first_seen, "
                "last_seen, representative, representative_report_id, representative_bytes, "
                "owner) VALUES (1, :kind, :sig, :title, 'open', CURRENT_TIMESTAMP, "
                "CURRENT_TIMESTAMP, '{}', '', 0, '')"), {"kind": kind, "sig": signature,
                                                        "title": f"issue {n}"})
    db.upgrade(url)  # 0010
    with engine.connect() as c:
        renamed = dict(c.execute(sa.text("SELECT kind, signature FROM issues")).all())
    assert renamed == {"leak": "leak/1:041e91e599781068",
                       "big_object": "big-object/1:00ff00ff00ff00ff",
                       "oom_cause": oom_cause_signature("heap-exhausted")}
    # a report analysed now carries the versioned signature: it folds into the renamed issue
    new_document = {"leaks": [{"signature": "leak/1:041e91e599781068", "class": "C"}]}
    assert [f.signature for f in fold.findings(new_document)] == [renamed["leak"]]
    old_document = {"leaks": [{"signature": "041e91e599781068", "class": "C"}]}
    assert [f.signature for f in fold.findings(old_document)] == [renamed["leak"]]
    command.downgrade(config, "0009")  # and back, for a rollback
    with engine.connect() as c:
        assert dict(c.execute(sa.text("SELECT kind, signature FROM issues")).all()) == old
    engine.dispose()

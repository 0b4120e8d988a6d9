"""``oomlens analyze`` as a user runs it: formats, --output, --fail-on, --config, --mapping,
--oom-message, and one-line errors."""

from __future__ import annotations

import json

import pytest

from conftest import DATA
from cliutil import oomlens_cli

LEAKCANARY_DUMP = DATA / "dalvik_leak_service_binder.hprof.gz"
AHAT_DUMP = DATA / "art_ahat_test-dump.hprof.gz"
AHAT_MAP = DATA / "art_ahat_test-dump.map"


@pytest.fixture(scope="module")
def leakcanary_json():
    result = oomlens_cli("analyze", LEAKCANARY_DUMP, "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_json_report(leakcanary_json):
    report = leakcanary_json
    assert report["schema"] == "oomlens.report/1"
    assert report["dump"]["runtime"] == "Dalvik"
    assert [g["class"] for g in report["leaks"]] == ["com.example.leakcanary.LeakyService"]
    assert report["summary"]["leaks"] == 1
    assert report["oom_cause"] is None  # no message given


def test_text_report_draws_the_trace(leakcanary_json):
    result = oomlens_cli("analyze", LEAKCANARY_DUMP)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "com.example.leakcanary.LeakyService" in out
    assert "↓ static LeakyService.leakAllTheBinders" in out
    assert "Leaking: YES (Service not in ActivityThread#mServices)" in out
    assert leakcanary_json["leaks"][0]["signature"] in out


def test_output_file_and_fail_on(tmp_path):
    out = tmp_path / "report.json"
    result = oomlens_cli("analyze", LEAKCANARY_DUMP, "--format", "json", "-o", out,
                         "--fail-on", "leaks")
    assert result.returncode == 3
    assert "failing because of leaks" in result.stderr
    assert json.loads(out.read_text())["summary"]["leaks"] == 1
    # the dump has no big object (the whole heap is ~2 MB, spread out)
    result = oomlens_cli("analyze", LEAKCANARY_DUMP, "-o", tmp_path / "r.txt",
                         "--fail-on", "big-objects")
    assert result.returncode == 0, result.stderr
    assert "LeakyService" in (tmp_path / "r.txt").read_text()


def test_oom_message_is_classified():
    message = ("Failed to allocate a 4194316 byte allocation with 1048576 free bytes and 3MB "
               "until OOM, target footprint 268435456, growth limit 268435456")
    result = oomlens_cli("analyze", LEAKCANARY_DUMP, "--format", "json", "--oom-message", message)
    cause = json.loads(result.stdout)["oom_cause"]
    assert cause["kind"] == "heap-exhausted" and cause["message"] == message
    assert cause["numbers"]["allocation_bytes"] == 4194316
    assert cause["look_first"][0] == "leaks"
    result = oomlens_cli("analyze", LEAKCANARY_DUMP, "--oom-message",
                         "pthread_create (1040KB stack) failed: Try again")
    assert "thread-limit" in result.stdout
    assert result.stdout.index("Threads") < result.stdout.index("Leaks")


def test_mapping_restores_names():
    plain = json.loads(oomlens_cli("analyze", AHAT_DUMP, "--format", "json").stdout)
    result = oomlens_cli("analyze", AHAT_DUMP, "--format", "json", "--mapping", AHAT_MAP)
    assert result.returncode == 0, result.stderr
    mapped = json.loads(result.stdout)
    assert mapped["retrace"]["mapping_classes_in_dump"] == 26
    assert mapped["retrace"]["fields_renamed"] > 50
    names = {row["class"] for row in mapped["histogram"]}
    plain_names = {row["class"] for row in plain["histogram"]}
    assert "DumpedStuff" in names
    assert "DumpedStuff$StackSmasher" in names - plain_names  # obfuscated as a single letter


def test_wrong_mapping_is_a_one_line_error(tmp_path):
    other = tmp_path / "other.map"
    other.write_text("com.other.App -> zz.yy:\n    int count -> a\n")
    result = oomlens_cli("analyze", AHAT_DUMP, "--mapping", other)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "names no class of this dump" in result.stderr
    broken = tmp_path / "broken.map"
    broken.write_text("this is not a mapping\n")
    result = oomlens_cli("analyze", AHAT_DUMP, "--mapping", broken)
    assert result.returncode == 2 and "broken.map:1" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("config, message", [
    ("app_packages = 3\n", "app_packages must be a list"),
    ("[thresholds]\nbig_object_bytes = -1\n", "non-negative integer"),
    ("[thresholds]\nbig_objects = 1\n", "unknown threshold 'big_objects'"),
    ("[[leak_rules]]\nclass = 'a.B'\nleaking_when = 'closed =='\n", "ends too early"),
    ("[[leak_rules]]\nleaking_when = 'closed == true'\n", "'class' is required"),
    ("not toml [\n", "is not valid TOML"),
])
def test_bad_config_is_a_one_line_error(tmp_path, config, message):
    path = tmp_path / "oomlens.toml"
    path.write_text(config)
    result = oomlens_cli("analyze", LEAKCANARY_DUMP, "--config", path)
    assert result.returncode == 2
    assert message in result.stderr and result.stderr.count("\n") == 1


def test_not_a_dump_is_a_one_line_error(tmp_path):
    junk = tmp_path / "junk.hprof"
    junk.write_bytes(b"hello world, not a heap dump" * 10)
    result = oomlens_cli("analyze", junk)
    assert result.returncode == 2 and result.stderr.count("\n") == 1

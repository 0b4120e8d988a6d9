"""The ``oomlens`` commands as a user runs them: output, --json, --csv, exit codes."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import pytest

import oomlens
from cliutil import oomlens_cli
from conftest import DATA

DUMP = DATA / "dalvik_leak_service_binder.hprof.gz"
LEAKING_SERVICE = "0xb0fa7cb0"




@pytest.fixture(scope="module")
def heap():
    with oomlens.open_heap(DUMP) as h:
        yield h


def test_info_json_matches_the_api(heap):
    result = oomlens_cli("info", DUMP, "--json")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["format"] == "JAVA PROFILE 1.0.3"
    assert info["runtime"] == "Dalvik"
    assert info["id_size"] == 4
    assert info["compression"] == "gzip"
    assert info["classes"] == len(heap.index.classes)
    assert info["instances"] == 25183
    assert info["object_arrays"] == 1980
    assert info["primitive_arrays"] == 13610
    assert info["gc_roots_by_kind"]["sticky-class"] == 3645
    assert set(info["heaps"]) == {"zygote", "app"}
    assert info["reachable_bytes"] + info["unreachable_bytes"] == info["shallow_bytes"]
    assert info["reachable_bytes"] == int(heap.dominator_tree.retained[
        heap.dominator_tree.idom == -2].sum())


def test_info_table_names_everything():
    result = oomlens_cli("info", DUMP)
    assert result.returncode == 0
    for word in ("Dalvik", "JAVA PROFILE 1.0.3", "sticky-class", "zygote", "app",
                 "strongly reachable", "unreachable"):
        assert word in result.stdout


def test_histogram_top_and_sort(heap):
    result = oomlens_cli("histogram", DUMP, "--json", "--top", "5", "--sort", "instances")
    assert result.returncode == 0
    doc = json.loads(result.stdout)
    rows = doc["rows"]
    assert len(rows) == 5
    counts = [r["instances"] for r in rows]
    assert counts == sorted(counts, reverse=True)
    by_name = {r["class"]: r for r in heap.histogram()}
    for r in rows:
        assert r["instances"] == by_name[r["class"]]["instances"]
        assert r["shallow_bytes"] == by_name[r["class"]]["shallow_bytes"]
    text = oomlens_cli("histogram", DUMP, "--top", "3").stdout
    assert rows[0]["class"] in oomlens_cli("histogram", DUMP, "--sort", "instances").stdout
    assert "retained" in text


def test_dominators_top_and_csv(heap, tmp_path):
    out = tmp_path / "dom.csv"
    result = oomlens_cli("dominators", DUMP, "--json", "--top", "3", "--csv", out)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    retained = [r["retained_bytes"] for r in doc["top"]]
    assert retained == sorted(retained, reverse=True)
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["object_id", "class", "shallow_bytes", "retained_bytes",
                             "dominator_id"]
    assert len(rows) == heap.dominator_tree.reachable_count
    by_id = {r["object_id"]: r for r in rows}
    for top in doc["top"]:
        row = by_id[top["object_id"]]
        assert row["dominator_id"] == "root"
        assert int(row["retained_bytes"]) == top["retained_bytes"]
    # every dominator named is itself a row, and sizes agree with the API
    for r in rows[:2000]:
        assert r["dominator_id"] == "root" or r["dominator_id"] in by_id
        obj = heap.object(r["object_id"])
        assert int(r["shallow_bytes"]) == obj.shallow_size
        assert int(r["retained_bytes"]) == heap.retained_size(obj)
        assert r["class"] == obj.class_name


def test_path_command():
    result = oomlens_cli("path", DUMP, LEAKING_SERVICE, "--json", "--exclude-root",
                         "jni-global")
    assert result.returncode == 0, result.stderr
    steps = json.loads(result.stdout)["path"]
    assert steps[0]["class"] == "class com.example.leakcanary.LeakyService"
    assert steps[0]["root_kinds"] == ["sticky-class"]
    assert [s["reference"] for s in steps[1:]] == ["leakAllTheBinders", "array", "[1]",
                                                   "service"]
    assert steps[-1]["object_id"] == LEAKING_SERVICE
    text = oomlens_cli("path", DUMP, LEAKING_SERVICE).stdout
    assert "GC root (jni-global)" in text and ".service" in text


def test_path_errors_are_one_line():
    for args, fragment in [
        (("path", DUMP, "0x1234"), "no object with id 0x1234"),
        (("path", DUMP, "not-an-id"), "not an object id"),
        (("path", DUMP, LEAKING_SERVICE, "--exclude-root", "bogus"), "unknown GC root kind"),
        (("histogram", DUMP, "--top", "0"), "--top"),
        (("info", DUMP, "--dump", "2"), "there is no dump number 2"),
    ]:
        result = oomlens_cli(*args)
        assert result.returncode == 2, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert fragment in result.stderr


def test_path_to_unreachable_object_says_so(heap):
    level = heap.reachability.level
    unreachable = next(i for i in range(heap.object_count) if level[i] == 5)
    obj = heap.object_at(unreachable)
    result = oomlens_cli("path", DUMP, hex(obj.id))
    assert result.returncode == 2
    assert "not strongly reachable" in result.stderr and "unreachable" in result.stderr


def test_help_and_version():
    assert "dominators" in oomlens_cli("--help").stdout
    assert oomlens.__version__ in oomlens_cli("--version").stdout


def test_a_first_run_says_it_compiles_the_kernels_even_into_a_pipe(tmp_path):
    """With an empty kernel cache (NUMBA_CACHE_DIR), the first command says once that it
    compiles, though stderr is a pipe; the next one, reading the cache, says nothing."""
    from oomlens.cli.first_run import MESSAGE

    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "kernels")}

    def run():
        result = subprocess.run([sys.executable, "-m", "oomlens.cli.main", "info", DUMP],
                                capture_output=True, text=True, timeout=300, env=env)
        assert result.returncode == 0, result.stderr
        return result.stderr.splitlines()

    first = run()
    assert first.count(MESSAGE) == 1 and first[0] == MESSAGE
    assert any((tmp_path / "kernels").rglob("*.nbi"))  # the cache it promised is written
    assert MESSAGE not in run()


def test_every_commands_short_help_reads_as_a_phrase():
    """`oomlens --help` shortens each command's docstring at its first full stop: one after an
    abbreviation ("e.g.") cut "How OBJECT_ID (hex, e.g." short."""
    import re

    result = subprocess.run([sys.executable, "-m", "oomlens.cli.main", "--help"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    commands = result.stdout.split("Commands:\n", 1)[1].splitlines()
    shown = dict(line.split(None, 1) for line in commands if line.strip())
    assert {"analyze", "path", "strip", "upload", "watch"} <= set(shown)
    for name, text in shown.items():
        assert not re.search(r"\b(e\.g|i\.e|etc|cf|vs)\.$", text), (name, text)
        assert len(text) >= 20, (name, text)

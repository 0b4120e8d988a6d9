"""Hostile input, every command: a campaign of damaged real dumps (plain, gzip, zstd, packed) and
hostile mapping files, each case a real ``oomlens`` subprocess that must end in a correct
result or one clean error line: no traceback, no signal, no hang past fuzz_runner.TIMEOUT, no
more memory than fuzz_runner.memory_bound (fuzz_runner's docstring has the rules and the bound).

The suite runs CASES cases of seed SEED (about two minutes on two cores); ``make fuzz`` runs
thousands with a fresh seed. A failure names its seed and case number and lists the damage;
``scripts/fuzz.py --seed S --case N`` replays it.
"""

from __future__ import annotations

import gzip
import json
import random
import subprocess
import sys
from itertools import product

import pytest

import fuzz_runner
from conftest import DATA
from hprof_mutations import Layout, mutate, mutate_packed

SEED = 13
CASES = 8 * 4 * 6  # each command on each format six times


@pytest.fixture(scope="module")
def campaign(tmp_path_factory):
    return fuzz_runner.run_campaign(SEED, range(CASES), tmp_path_factory.mktemp("fuzz"))


def test_every_case_ends_in_a_result_or_one_clean_error(campaign):
    failures = [r for r in campaign if not r.passed]
    assert not failures, (f"{len(failures)} of {len(campaign)} cases failed:\n\n"
                          + "\n\n".join(r.report() for r in failures[:8]))


def test_the_campaign_reaches_every_command_format_and_outcome(campaign):
    assert {(r.case.command, r.case.form) for r in campaign} == set(
        product(fuzz_runner.COMMANDS, fuzz_runner.FORMATS))
    # the damage is not all caught at the door: every command also runs to a result
    for command in fuzz_runner.COMMANDS:
        runs = [r.run.rc for r in campaign if r.case.command == command]
        assert runs.count(0) >= 2 and runs.count(2) >= 2, (command, runs)
    assert any(r.reopened is not None for r in campaign)  # outputs opened again
    assert any("mapping" in " ".join(r.case.steps) for r in campaign)


# -- the mutator ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def art():
    data = gzip.decompress((DATA / "art_ahat_test-dump.hprof.gz").read_bytes())
    return data, Layout.of(data)


def test_layout_finds_what_oomlens_indexes(art, tmp_path):
    """The mutator's own walker and oomlens's index agree on the real dump."""
    data, layout = art
    path = tmp_path / "art.hprof"
    path.write_bytes(data)
    out = subprocess.run([*fuzz_runner.OOMLENS, "info", "--json", str(path)],
                         capture_output=True, text=True, check=True)
    info = json.loads(out.stdout)
    tags = [tag for _, tag, _ in layout.subs]
    assert tags.count(0x20) == info["class_objects"] == 1126
    assert tags.count(0x21) == info["instances"]
    assert tags.count(0x22) == info["object_arrays"]
    assert tags.count(0x23) + tags.count(0xC3) == info["primitive_arrays"]
    assert layout.id_size == info["id_size"] == 4


def test_mutations_are_reproducible_and_do_what_they_say(art):
    data, layout = art
    for seed in range(40):
        first = mutate(data, layout, random.Random(seed))
        assert first == mutate(data, layout, random.Random(seed))
        mutant, steps = first
        assert mutant != data and steps
        for step in steps:
            if step.startswith("cut at ") and "inside sub-record" in step:
                at = int(step.split()[2].rstrip(","))
                start, end = map(int, step.split("[")[1].rstrip(")").split(", "))
                assert start < at < end
        if all(s.startswith(("cut at", "patch")) for s in steps):
            cuts = [int(s.split()[2].rstrip(",")) for s in steps if s.startswith("cut at")]
            if cuts:
                assert len(mutant) == min(cuts)


def test_packed_mutations_reach_the_streams(art):
    data, layout = art
    packed = fuzz_runner.pack_bytes(data, layout)
    kinds = set()
    for seed in range(150):
        mutant, steps = mutate_packed(packed, random.Random(seed), max_steps=4)
        assert mutant != packed
        assert mutate_packed(packed, random.Random(seed), max_steps=4) == (mutant, steps)
        kinds.update(s.split(":")[0].split(" at ")[0] for s in steps)
    assert any(k.startswith("packed frame") for k in kinds)  # stream contents, recompressed


# -- the judge --------------------------------------------------------------------------------
def _judged(tmp_path, rc, stderr, stdout="", rss=100 << 20):
    (tmp_path / "tmp").mkdir(exist_ok=True)
    case = fuzz_runner.Case(0, 0, "info", "plain", "test", [], ["info", "x"], tmp_path,
                            hprof_bytes=1 << 20)
    return fuzz_runner.problems_of(case, fuzz_runner.Run(["info", "x"], rc, stdout, stderr, 1.0,
                                                         rss, False))


def test_the_judge_fails_what_it_must(tmp_path):
    assert _judged(tmp_path, 2, "warning: x\noomlens: error: bad dump\n") == []
    assert _judged(tmp_path, 0, "warning: truncated dump\n") == []
    assert _judged(tmp_path, 1, "oomlens: internal error: KeyError: 3\n")
    assert _judged(tmp_path, -11, "")
    assert _judged(tmp_path, 2, "Traceback (most recent call last):\noomlens: error: x\n")
    assert _judged(tmp_path, 2, "oomlens: error: two\nlines\n")
    assert _judged(tmp_path, 2, "oomlens: error: \n")
    assert _judged(tmp_path, 0, "warning: x\n", rss=fuzz_runner.memory_bound(1 << 20) + 1)
    assert _judged(tmp_path, 0, "", stdout="class \x1b]0;title\x07")
    (tmp_path / "tmp" / "oomlens-1.hprof").write_bytes(b"")
    assert _judged(tmp_path, 2, "oomlens: error: x\n")  # a temporary file left behind


def test_a_real_crash_is_caught(tmp_path):
    """The measuring wrapper sees a signal, a timeout and the peak RSS of the command itself."""
    script = tmp_path / "crash.py"
    script.write_text("import os, signal, sys, time\n"
                      "if sys.argv[1] == 'segv': os.kill(os.getpid(), signal.SIGSEGV)\n"
                      "if sys.argv[1] == 'hang': time.sleep(30)\n"
                      "if sys.argv[1] == 'big': b = bytearray(400 << 20)\n")
    program = [sys.executable, str(script)]
    assert fuzz_runner.run_command(["segv"], tmp_path, program=program).rc == -11
    hang = fuzz_runner.run_command(["hang"], tmp_path, timeout=1, program=program)
    assert hang.timed_out and hang.seconds < 10
    assert fuzz_runner.run_command(["big"], tmp_path, program=program).rss > 400 << 20
    assert fuzz_runner.run_command(["small"], tmp_path, program=program).rss < 100 << 20

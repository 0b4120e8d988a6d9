"""The automatic markers (tests/support/needs.py): a need is found however deep the helper that has it,
and collecting with ``-m "not jvm"`` leaves out every test that compiles Java."""

from __future__ import annotations

import subprocess
import sys

from conftest import TESTS
from needs import needs_of


def _uses_javac():
    return ["javac", "Foo.java"]


def _indirect():
    return _uses_javac()


def _plain():
    return sum(range(3))


def test_a_need_is_found_through_helpers_and_constants():
    scope = globals()
    assert needs_of([_indirect], lambda obj: scope) == {"jvm"}
    assert needs_of([_plain], lambda obj: scope) == set()


def _collected(*args) -> set[str]:
    out = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q",
                          "-p", "no:cacheprovider", *args], capture_output=True, text=True,
                         cwd=TESTS.parent, timeout=300)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    return {line for line in out.stdout.splitlines() if "::" in line}


def test_not_jvm_leaves_out_the_tests_that_make_java_dumps():
    files = ["tests/hprof/test_privacy.py", "tests/analysis/test_threads.py", "tests/cli/test_cli.py"]
    everything, without_jvm = _collected(*files), _collected(*files, "-m", "not jvm")
    left_out = everything - without_jvm
    # test_privacy calls dump_program through its module's fixture; test_threads takes the
    # java_dumps fixture; test_cli reads bundled dumps only
    assert {t for t in left_out if "test_privacy" in t} == \
        {t for t in everything if "test_privacy" in t}
    assert {t for t in left_out if "test_threads.py::test_pool" in t}
    assert not {t for t in left_out if "test_cli.py" in t}
    assert "tests/analysis/test_threads.py::test_name_pattern" in without_jvm  # no JVM in that one


def test_a_need_reached_as_module_attribute_is_found():
    """test_fuzz_campaign's fixture calls ``fuzz_runner.run_campaign``, which starts oomlens
    processes: its tests are ``process`` ones, the mutator's unit tests are not."""
    marked = _collected("tests/hprof/test_fuzz_campaign.py", "-m", "process")
    assert "tests/hprof/test_fuzz_campaign.py::test_every_case_ends_in_a_result_or_one_clean_error" \
        in marked
    assert "tests/hprof/test_fuzz_campaign.py::test_mutations_are_reproducible_and_do_what_they_say" \
        not in marked

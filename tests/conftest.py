from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
DATA = TESTS / "data"
# tests/ by layer, lowest first: support holds the helpers (and their own tests), the others
# the tests of one layer each. Test modules share helpers by module name, so every folder is
# importable (the names are unique across folders).
FOLDERS = ("support", "kernels", "hprof", "analysis", "report", "cli", "capture", "server",
           "dashboard")
for folder in FOLDERS:
    sys.path.insert(0, str(TESTS / folder))
sys.path.insert(0, str(TESTS))

from jvmdump import dump_program, java_available  # noqa: E402

HOTSPOT_DUMPS = ["sun_jdk6_18_x64.hprof.gz", "sun_jdk6_32bit.hprof.gz",
                 "oracle_jdk8_05_x64.hprof.gz", "openjdk_jdk11_04_x64.hprof.gz",
                 "java_pid1884.0001.hprof.gz", "hotspot_segments_test1.hprof.gz"]
ANDROID_DUMPS = ["dalvik_dialer.hprof.gz", "dalvik_leak_service_binder.hprof.gz",
                 "art_ahat_test-dump.hprof.gz"]
ALL_DUMPS = HOTSPOT_DUMPS + ANDROID_DUMPS


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def open_dump():
    """Open a bundled dump by file name; heaps are cached for the session and closed at its end."""
    import oomlens

    cache = {}

    def opener(name: str):
        if name not in cache:
            cache[name] = oomlens.open_heap(DATA / name)
        return cache[name]

    yield opener
    for heap in cache.values():
        heap.close()


@pytest.fixture(scope="session")
def java_dumps(tmp_path_factory):
    """Dump a program from tests/java: ``java_dumps("GraphFixtures")`` -> path of its HPROF."""
    if not java_available():
        pytest.fail("java and javac are needed for these tests (make test installs a JDK)")
    out = tmp_path_factory.mktemp("jvm-dumps")

    def make(name: str, *args: str, **kw) -> Path:
        return dump_program(name, out, args=args, **kw)

    return make


@pytest.fixture(scope="session")
def obfuscated_android_leaks(tmp_path_factory):
    """tests/java/AndroidLeaks built plainly and obfuscated by Debian's ProGuard, both dumped:
    ``obfuscation.Builds`` (jars, the ``-printmapping`` file, the two dumps)."""
    from obfuscation import android_leaks_builds, proguard_available

    if not java_available():
        pytest.fail("java and javac are needed for these tests (make test installs a JDK)")
    if not proguard_available():
        pytest.fail("Debian's proguard (package proguard-cli) is needed for these tests "
                    "(make test installs it)")
    return android_leaks_builds(tmp_path_factory.mktemp("proguard"))


@pytest.fixture
def server(tmp_path):
    """A real ``oomlens serve`` on a fresh data folder (test_server_api.Server), not started
    yet; killed, with its analyses, at the end."""
    from serverrun import Server

    s = Server(tmp_path / "data")
    yield s
    if s.process and s.process.poll() is None:
        s.kill()


@pytest.fixture(scope="module")
def browser():
    """Headless Debian Chromium driven by Playwright, one per test module (tests/support/browser.py)."""
    from playwright.sync_api import sync_playwright

    from browser import launch

    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


def pytest_configure(config):
    from needs import MARKERS, refuse_outside_tools

    for name, meaning in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {meaning} (set by tests/support/needs.py)")
    if os.environ.get("OOMLENS_FAST_TIER"):
        refuse_outside_tools()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    import needs

    needs.guarding(bool(os.environ.get("OOMLENS_FAST_TIER")))
    yield
    needs.guarding(False)


def pytest_collection_modifyitems(config, items):
    """Every test gets the markers of what it needs (tests/support/needs.py), on top of any written."""
    from needs import item_needs

    for item in items:
        written = {m.name for m in item.iter_markers()}
        for marker in sorted(item_needs(item) - written):
            item.add_marker(getattr(pytest.mark, marker))

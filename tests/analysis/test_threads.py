"""Threads grouped by name pattern with their owners, on a real JVM's dump."""

from __future__ import annotations

import pytest

import oomlens
from oomlens.analysis.threads import group_threads, name_pattern


def test_name_pattern():
    assert name_pattern("pool-12-thread-7") == "pool-#-thread-#"
    assert name_pattern("OkHttp ConnectionPool") == "OkHttp ConnectionPool"


@pytest.fixture(scope="module")
def groups(java_dumps):
    with oomlens.open_heap(java_dumps("ThreadFixtures")) as heap:
        yield {g.pattern: g for g in group_threads(heap)}


def test_pool_threads_are_one_group_held_by_the_executor(groups):
    pool = groups["pool-#-thread-#"]
    assert pool.count == 12
    assert pool.holders == {"java.util.concurrent.ThreadPoolExecutor$Worker": 12}
    assert len(pool.names) == 5 and all(n.startswith("pool-1-thread-") for n in pool.names)


def test_owner_is_found_through_collections(groups):
    # Thread <- Object[] <- ArrayList <- Uploader.threads
    assert groups["uploader-#"].count == 3
    assert groups["uploader-#"].holders == {"Uploader": 3}


def test_static_field_owner_and_vm_threads(groups):
    assert groups["watchdog"].holders == {"class ThreadFixtures": 1}
    assert groups["main"].count == 1
    # the VM's own threads are there, held by nobody but the VM
    assert groups["Finalizer"].holders == {}
    assert groups["Reference Handler"].count == 1

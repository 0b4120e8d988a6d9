"""Privacy proof for ``oomlens strip``: a JVM program (tests/java/Secrets) fills its heap with
known secrets, dumps it, and no encoding of any secret survives ``strip`` (nor ``restore``),
neither in the compressed file nor in the HPROF inside it.

Set A lives in java.lang.String objects (a Latin-1 compact String, a UTF-16 one with non-Latin-1
characters, new Strings besides the interned literals) and in a Bitmap's pixels: the default
level removes it. Set B lives only in loose char[] / byte[] arrays (UTF-8, UTF-16 BE and LE,
Latin-1): ``--level arrays`` removes it (the default level keeps loose arrays, and says so).
A running thread carries two more: its name, which the default level keeps (threads' names are
the app's; what an app puts into one stays readable, as the README says), and a String field of
the thread, which it removes like any String; ``--no-keep-thread-names``, ``--level arrays`` and
``all`` remove the name too. The original dump holds every secret, so each assertion can fail.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import oomlens
from jvmdump import DEFAULT_JVM_OPTIONS
from oomlens.analysis.threads import group_threads
from oomlens.heap.strings import REDACTED
from oomlens.hprof.source import DumpFile

SET_A = {  # held in Strings (Secrets.java: EMAIL, PASSWORD, CARD, TOKEN)
    "email": "jane.doe+oomlens@example.org",
    "password": "Pässwörd-Ωmega-ключ-42",
    "card": "4929 1801 7433 8912",
    "token": "Bearer eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXRva2Vu.N0tSaWdodA",
}
SET_B = {  # held only in char[] and byte[] arrays
    "email": "john.roe+vault@example.net",
    "password": "Geheimnis-Ωμέγα-7732",
    "card": "5500 0055 5555 5559",
    "token": "Bearer ghp_SeCrEtToKeN0123456789abcdef",
}
THREAD_NAME = {"thread name": "upload-for-olga.petrova@example.com"}  # Courier's name
NEXT_TO_THREAD = {"parcel": "IBAN DE89 3704 0044 0532 0130 00"}  # Courier.parcel, a String
ENCODINGS = ("utf-8", "utf-16-be", "utf-16-le", "latin-1")


def pixels(n: int = 64 * 64 * 4) -> bytes:
    """The Bitmap's pixels, as Secrets.pixels makes them (the same 64-bit LCG)."""
    out, x = bytearray(n), 0x5EED
    for i in range(n):
        x = (x * 6364136223846793005 + 1442695040888963407) & ((1 << 64) - 1)
        out[i] = x >> 56
    return bytes(out)


def needles(secrets: dict[str, str]) -> dict[str, bytes]:
    """Every encoding of every secret (a non-Latin-1 secret has none in Latin-1)."""
    out = {}
    for name, text in secrets.items():
        for encoding in ENCODINGS:
            try:
                out[f"{name} ({encoding})"] = text.encode(encoding)
            except UnicodeEncodeError:
                pass
    return out


def pixel_needles() -> dict[str, bytes]:
    """32-byte windows from the start, the middle and the end of the pixels."""
    p = pixels()
    return {f"pixels[{i}:]": p[i: i + 32] for i in (0, len(p) // 2, len(p) - 32)}


def found(data: bytes, wanted: dict[str, bytes]) -> list[str]:
    return [name for name, needle in wanted.items() if needle in data]


def run_cli(*args):
    result = subprocess.run([sys.executable, "-m", "oomlens.cli.main", *map(str, args)],
                            capture_output=True, text=True, timeout=300,
                            env={k: v for k, v in os.environ.items() if k != "OOMLENS_DEBUG"})
    assert result.returncode == 0, result.stderr
    return result


def decompressed(path) -> bytes:
    """The HPROF inside a packed or zstd-compressed file, as every oomlens command reads it."""
    with DumpFile(path) as dump:
        return bytes(dump.data)


# Compact strings (JDK 9+: Latin-1 Strings are byte[], others UTF-16 byte[]), and without them
# (every String a UTF-16 byte[], as char[]-based JDKs and Android store all of them).
JVMS = {"compact-strings": DEFAULT_JVM_OPTIONS,
        "utf16-strings": (*DEFAULT_JVM_OPTIONS, "-XX:-CompactStrings")}


@pytest.fixture(scope="module", params=sorted(JVMS))
def dump(request, java_dumps):
    return java_dumps("Secrets", jvm_options=JVMS[request.param])


def test_the_original_dump_holds_every_secret(dump):
    data = dump.read_bytes()
    everything = {**needles(SET_A), **needles(SET_B), **needles(THREAD_NAME),
                  **needles(NEXT_TO_THREAD), **pixel_needles()}
    present = set(found(data, everything))
    # each secret in the form the VM keeps it: Strings as Latin-1 or UTF-16 (little-endian on
    # x86), char[] as UTF-16 big-endian (HPROF's byte order), byte[] as the program encoded them
    for name in (*SET_A, *THREAD_NAME, *NEXT_TO_THREAD):
        assert any(f"{name} ({e})" in present for e in ("latin-1", "utf-16-le")), name
    for name in SET_B:
        assert f"{name} (utf-16-be)" in present, name  # the char[]
    for expected in ("email (utf-8)", "password (utf-8)", "card (utf-16-be)",
                     "token (utf-16-le)", "password (utf-16-le)", "email (latin-1)",
                     "card (latin-1)", "token (utf-8)"):
        assert expected in present, expected
    assert set(pixel_needles()) <= present


@pytest.mark.parametrize("form", ["packed", "zstd"])
def test_default_level_removes_strings_and_pixels(dump, tmp_path, form):
    out = tmp_path / f"stripped.{form}"
    run_cli("strip", "--format", form, dump, out)
    restored = tmp_path / "restored.hprof"
    run_cli("restore", out, restored)
    set_a = {**needles(SET_A), **needles(NEXT_TO_THREAD), **pixel_needles()}
    for label, data in (("compressed", out.read_bytes()), ("decompressed", decompressed(out)),
                        ("restored", restored.read_bytes())):
        assert found(data, set_a) == [], label
    # loose arrays are not Strings: this level keeps them (README: use --level arrays)
    assert "card (utf-16-be)" in found(decompressed(out), needles(SET_B))
    # a thread's name is kept, whatever it says (README: --no-keep-thread-names)
    assert found(decompressed(out), needles(THREAD_NAME))
    assert found(restored.read_bytes(), needles(THREAD_NAME))


def test_thread_names_are_kept_and_nothing_next_to_them(dump, tmp_path):
    out = tmp_path / "stripped.oomp"
    run_cli("strip", dump, out)
    name = THREAD_NAME["thread name"]
    with oomlens.open_heap(dump) as heap:
        statics = heap.find_class("Secrets").static_fields()
        assert statics["courier"]["parcel"].as_string() == NEXT_TO_THREAD["parcel"]
        courier_id = statics["courier"].id
    with oomlens.open_heap(out) as heap:
        statics = heap.find_class("Secrets").static_fields()
        courier = heap.object(courier_id)
        assert courier["name"].as_string() == name
        # the same String, also held by a static field: kept, since it is a thread's name
        assert statics["courierName"].id == courier["name"].id
        assert statics["courierName"].as_string() == name
        assert courier["parcel"].as_string() is None  # a String next to the thread: removed
        groups = {g.pattern: g for g in group_threads(heap)}
    assert groups[name].count == 1 and groups[name].holders == {"class Secrets": 1}


@pytest.mark.parametrize("how", [("--no-keep-thread-names",), ("--level", "arrays"),
                                 ("--level", "all")])
def test_thread_names_can_be_removed_too(dump, tmp_path, how):
    out = tmp_path / "stripped.oomp"
    run_cli("strip", *how, dump, out)
    restored = tmp_path / "restored.hprof"
    run_cli("restore", out, restored)
    wanted = {**needles(SET_A), **needles(THREAD_NAME), **needles(NEXT_TO_THREAD),
              **pixel_needles()}
    for label, data in (("compressed", out.read_bytes()), ("decompressed", decompressed(out)),
                        ("restored", restored.read_bytes())):
        assert found(data, wanted) == [], label
    with oomlens.open_heap(out) as heap:
        assert {n for g in group_threads(heap) for n in g.names} == {REDACTED}


@pytest.mark.parametrize("level", ["arrays", "all"])
def test_arrays_level_removes_every_secret(dump, tmp_path, level):
    out = tmp_path / "stripped.hprof.zst"
    run_cli("strip", "--level", level, dump, out)
    plain = tmp_path / "stripped.hprof"
    run_cli("strip", "--level", level, "--no-compress", dump, plain)
    restored = tmp_path / "restored.hprof"
    run_cli("restore", out, restored)
    everything = {**needles(SET_A), **needles(SET_B), **needles(THREAD_NAME),
                  **needles(NEXT_TO_THREAD), **pixel_needles()}
    for label, data in (("compressed", out.read_bytes()), ("decompressed", decompressed(out)),
                        ("plain", plain.read_bytes()), ("restored", restored.read_bytes())):
        assert found(data, everything) == [], label
    assert plain.read_bytes() == decompressed(out)


def test_names_stay(dump, tmp_path):
    """Class and field names are not user data: the analysis needs them."""
    out = tmp_path / "stripped.hprof"
    run_cli("strip", "--level", "all", "--no-compress", dump, out)
    data = out.read_bytes()
    for name in (b"Secrets", b"android/graphics/Bitmap", b"mBuffer", b"PASSWORD", b"loose"):
        assert name in data

"""The hostile-input campaign: every command, as a real subprocess, on damaged real dumps in every
container, and on hostile mapping files (tests/hprof/test_fuzz_campaign.py runs a small one in the
suite, ``make fuzz`` = scripts/fuzz.py a large one).

A case is one command (info, analyze, histogram, dominators --csv, path, strip, restore,
deobfuscate) on one input: a real dump (tests/data: 4-byte ids with one HEAP_DUMP record, 8-byte
ids with segments, ART) or its stripped copy, damaged by hprof_mutations.mutate, stored plain,
gzip, zstd or packed (packed after the damage, or the packed file itself damaged: its frames,
sizes and stream contents, hprof_mutations.mutate_packed); gzip and zstd containers are
sometimes damaged too. deobfuscate and some other commands get a mapping, the dump's real one or
a hostile one (``hostile_mappings``). Everything a case does follows from (campaign seed, case
number), so ``scripts/fuzz.py --seed S --case N`` replays it.

A case passes when the command

- exits 0 with a sane result (JSON parses, the CSV has rows of the header's width, an output
  dump begins with its format's magic; strip, restore and deobfuscate outputs are sometimes
  opened again with ``oomlens info``), and prints nothing on stderr but ``warning:`` lines
  (and the note of a first run that compiles the Numba kernels); or
- exits 2 with its last stderr line ``oomlens: error: <message>`` (one line, non-empty) and
  nothing else on stderr but those (warnings are printed as the heap closes), leaving no
  output file behind;

and in either case prints no traceback and no escape sequence (a name in a dump may hold one:
it must reach a terminal escaped), is not killed by a signal, ends within ``TIMEOUT`` seconds
and leaves no temporary file in its TMPDIR. Exit 1 (``internal error``, ``out of
memory``) is a failure: it is oomlens's own bug by definition (oomlens/errors.py).

Memory: the peak RSS of the command's process (ru_maxrss, measured through a small wrapper
process, since Linux would count the RSS of a large forking parent such as pytest in the
child's peak) must stay under ``memory_bound``: 300 MB (Python, NumPy, Numba and the analysis
on the bundled dumps peak at ~200 MB) plus 8 times the HPROF bytes the input decompresses to
(the mapped dump, its index and the graph) plus 32 times the mapping file's size (a parsed
mapping takes ~25 times its file's size: some 600 bytes of objects per class, field or method
line; 200,000 classes in a 14 MB file peak at 510 MB). RLIMIT_AS cannot be used: Numba and LLVM reserve far more address space
than they touch.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import random
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import zstandard

from hprof_mutations import Layout, damage_compressed, mutate, mutate_packed

DATA = Path(__file__).parents[1] / "data"
OOMLENS = [sys.executable, "-m", "oomlens"]
COMMANDS = ("info", "analyze", "histogram", "dominators", "path", "strip", "restore",
            "deobfuscate")
FORMATS = ("plain", "gzip", "zstd", "packed")
MAPPING_COMMANDS = ("info", "analyze", "histogram", "dominators", "path")  # take --mapping
TIMEOUT = 60.0  # seconds per command; the bundled dumps take ~0.5-2 s
BASE_RSS = 300 << 20

# 4-byte ids and one HEAP_DUMP record; 8-byte ids and segments; Android (ART) with a mapping
BASE_DUMPS = ("sun_jdk6_32bit", "hotspot_segments_test1", "art_ahat_test-dump")
ART = "art_ahat_test-dump"

PACK_MAGIC = b"\x89OOMPACK"
OUTPUT_MAGIC = {"plain": b"JAVA PROFILE 1.0.", "zstd": b"\x28\xb5\x2f\xfd", "packed": PACK_MAGIC}


def memory_bound(hprof_bytes: int, mapping_bytes: int = 0) -> int:
    """The most RSS a case may take (see the module docstring)."""
    return BASE_RSS + 8 * hprof_bytes + 32 * mapping_bytes


# -- the wrapper that runs one command and measures it -------------------------------------------
# argv: timeout, stdout file, stderr file, command...; prints {"rc", "rss_kb", "seconds",
# "timed_out"}. The command runs in its own session, killed with its children on a timeout.
_WRAPPER = r"""
import json, os, signal, subprocess, sys, threading, time
timeout, out, err, cmd = float(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
start = time.monotonic()
with open(out, "wb") as o, open(err, "wb") as e:
    child = subprocess.Popen(cmd, stdout=o, stderr=e, stdin=subprocess.DEVNULL,
                             start_new_session=True)
timed_out = []
def kill():
    timed_out.append(1)
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except OSError:
        pass
timer = threading.Timer(timeout, kill)
timer.start()
_, status, usage = os.wait4(child.pid, 0)
timer.cancel()
try:
    os.killpg(child.pid, signal.SIGKILL)  # anything it left running
except OSError:
    pass
print(json.dumps({"rc": os.waitstatus_to_exitcode(status), "rss_kb": usage.ru_maxrss,
                  "seconds": time.monotonic() - start, "timed_out": bool(timed_out)}))
"""


@dataclass
class Run:
    argv: list[str]
    rc: int
    stdout: str
    stderr: str
    seconds: float
    rss: int  # bytes
    timed_out: bool


def run_command(argv: list[str], cwd: Path, timeout: float = TIMEOUT,
                program: list[str] = OOMLENS) -> Run:
    """Run ``oomlens argv`` (or ``program argv``) in ``cwd`` (also its TMPDIR), measured by the
    wrapper."""
    env = {k: v for k, v in os.environ.items() if k != "OOMLENS_DEBUG"}
    env["TMPDIR"] = str(cwd / "tmp")
    (cwd / "tmp").mkdir(exist_ok=True)
    out, err = cwd / "stdout", cwd / "stderr"
    wrapper = subprocess.run([sys.executable, "-c", _WRAPPER, str(timeout), str(out), str(err),
                              *program, *argv], capture_output=True, text=True, cwd=cwd,
                             env=env, timeout=timeout + 60)
    if wrapper.returncode != 0:
        raise RuntimeError(f"the measuring wrapper failed: {wrapper.stderr}")
    m = json.loads(wrapper.stdout)
    return Run(argv, m["rc"], out.read_text(errors="replace"), err.read_text(errors="replace"),
               m["seconds"], m["rss_kb"] * 1024, m["timed_out"])


# -- inputs ----------------------------------------------------------------------------------------
@dataclass
class Base:
    name: str
    data: bytes
    layout: Layout
    stripped: bool


class Inputs:
    """The base dumps (real ones and their stripped copies), packed copies of them, and the
    mapping files (the ART dump's real one and hostile ones), made once in ``workdir``."""

    def __init__(self, workdir: Path):
        from oomlens.hprof.strip import strip_dump

        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.bases: list[Base] = []
        for name in BASE_DUMPS:
            data = gzip.decompress((DATA / f"{name}.hprof.gz").read_bytes())
            self.bases.append(Base(name, data, Layout.of(data), False))
        for base in list(self.bases):
            src, dst = workdir / f"{base.name}.hprof", workdir / f"{base.name}.stripped.hprof"
            src.write_bytes(base.data)
            strip_dump(src, dst, "strings", "plain")
            data = dst.read_bytes()
            self.bases.append(Base(f"{base.name} (stripped)", data, Layout.of(data), True))
        self._packed: dict[str, bytes] = {}
        self.real_mapping = DATA / f"{ART}.map"
        self.mappings = hostile_mappings(workdir / "maps", self.real_mapping.read_text())

    def packed(self, base: Base) -> bytes:
        if base.name not in self._packed:
            self._packed[base.name] = pack_bytes(base.data, base.layout)
        return self._packed[base.name]


def pack_bytes(data: bytes, layout: Layout) -> bytes:
    """``data`` in oomlens's packed container (lossless for any bytes: the packer passes what it
    cannot read as records through verbatim), with the base's id size and header length."""
    import numpy as np

    from oomlens.hprof import pack

    out = io.BytesIO()
    id_size = layout.id_size if layout.id_size in (4, 8) else 8
    pack.pack(np.frombuffer(data, np.uint8), id_size, min(layout.header_length, len(data)), out)
    return out.getvalue()


def hostile_mappings(folder: Path, real: str) -> dict[str, Path]:
    """Mapping files made to hurt: binary junk, a 50 MB line, markup and control characters in
    names, NULs, invalid UTF-8, huge and deep names, 200,000 classes and fields mapped to one
    name, cycles and duplicates, numbers past any int, deeply nested and ill-typed JSON
    metadata. Most keep the real mapping's obfuscated names, so that they apply to the ART
    dump and their names reach the reports and the rewritten dumps."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(1313)
    lines = real.splitlines()
    files: dict[str, bytes] = {}

    def renamed(make) -> str:
        """The real mapping with every original class, field and method name replaced."""
        out = []
        for i, line in enumerate(lines):
            if line and not line[0].isspace() and " -> " in line and line.endswith(":"):
                orig, obf = line[:-1].split(" -> ")
                out.append(f"{make(i, orig)} -> {obf}:")
            elif line.strip() and not line.strip().startswith("#") and " -> " in line:
                head, obf = line.rsplit(" -> ", 1)
                parts = head.split(" ")
                name = parts[-1]
                if "(" in name:
                    before, _, after = name.partition("(")
                    prefix, _, method = before.rpartition(":")
                    name = (f"{prefix}:" if prefix else "") + make(i, method) + "(" + after
                else:
                    name = make(i, name)
                out.append(" ".join(parts[:-1] + [name]) + " -> " + obf)
            else:
                out.append(line)
        return "\n".join(out) + "\n"

    markup = ["<script>alert(1)</script>", "[bold]x[/bold]", "[link=http://x]y[/link]",
              "\x1b[31mred\x1b[0m", "\"><img/src=x/onerror=alert(2)>", "{{7*7}}%s%n%x",
              "[/]", "&lt;&amp;", "</script><script>alert(3)</script>", "\\u0000"]
    files["markup.map"] = renamed(lambda i, n: markup[i % len(markup)] + n).encode()
    files["control.map"] = renamed(
        lambda i, n: n + ["\x01", "\x07", "\x1b]0;t\x07", "\x7f", "\x08"][i % 5]).encode()
    # characters str.splitlines() breaks lines at, inside names
    files["line-breaks.map"] = renamed(
        lambda i, n: n + ["\r", "\x0b", "\x0c", "\x1c", "\x85", "\u2028"][i % 6] + "x").encode()
    files["crlf.map"] = real.replace("\n", "\r\n").encode()
    files["long-names.map"] = renamed(lambda i, n: n + "A" * 60_000).encode()
    files["deep-names.map"] = renamed(lambda i, n: ".".join(["p"] * 30_000) + "." + n).encode()
    files["inner-names.map"] = renamed(lambda i, n: n + "$1" * 20_000).encode()
    files["one-name.map"] = renamed(lambda i, n: "Same").encode()
    many = [f"com.x.C{i} -> z{i}:\n    int f{i} -> a\n    1:1:void m():1:1 -> b" for i in
            range(200_000)]
    files["many-one-name.map"] = (renamed(lambda i, n: "Same") + "\n".join(many) + "\n").encode()
    nul = renamed(lambda i, n: n).encode()
    files["late-nul.map"] = nul[:6000] + renamed(lambda i, n: n + "\0").encode()[6000:]
    files["invalid-utf8.map"] = nul[: len(nul) // 2] + b"\xff\xfe\xc3(" + nul[len(nul) // 2:]
    files["binary.map"] = rng.randbytes(256 << 10)
    files["binary-no-nul.map"] = bytes(b for b in rng.randbytes(256 << 10) if b)
    files["long-line.map"] = b"a" * (50 << 20)
    files["long-line-after.map"] = nul + b"    int x" + b"y" * (50 << 20) + b" -> a\n"
    files["empty.map"] = b""
    files["bom-only.map"] = "\ufeff\n\n".encode()
    files["comments-only.map"] = b"# compiler: R8\n# {}\n"
    # class names of the dump swapped among themselves, mapped twice, fields of one name twice
    classes = [ln for ln in lines if ln and not ln[0].isspace() and ln.endswith(":")
               and " -> " in ln]
    pairs = [ln[:-1].split(" -> ") for ln in classes]
    swapped = [f"{pairs[(i + 1) % len(pairs)][0]} -> {obf}:" for i, (_, obf) in enumerate(pairs)]
    files["cyclic.map"] = ("\n".join(swapped) + "\n").encode()
    files["back-and-forth.map"] = "".join(f"{obf} -> {orig}:\n{orig} -> {obf}:\n"
                                          for orig, obf in pairs if orig != obf).encode()
    files["duplicate.map"] = (real + "\n" + classes[0] + "\n").encode()
    files["duplicate-fields.map"] = renamed(lambda i, n: n).replace(
        " -> A\n", " -> A\n    int other -> A\n    long third -> A\n").encode()
    huge = "9" * 5000
    numbers = renamed(lambda i, n: n)
    numbers = numbers.replace(":256:256 ->", f":{huge}:{huge} ->", 1)
    numbers = "".join(ln.replace("1:", "4294967296:", 1) + "\n" if "(" in ln else ln + "\n"
                      for ln in numbers.splitlines())
    files["huge-numbers.map"] = numbers.encode()
    files["big-lines.map"] = "".join(
        ln.replace(":45:45 ->", ":99999999999:99999999999 ->") + "\n"
        for ln in real.splitlines()).encode()
    deep = "[" * 30_000 + "]" * 30_000  # within a line's limit, past json's recursion limit
    files["nested-json.map"] = ("# {\"a\":" + deep + "}\n" + real.replace(
        "# {\"id\":\"sourceFile\"", "# {\"x\":" + deep + ", \"id\":\"sourceFile\"")).encode()
    kinds = iter([["x", 1], 7, None, {"a": "b"}, True] * len(lines))
    typed = re.sub(r'"fileName":"[^"]*"', lambda m: '"fileName":' + json.dumps(next(kinds)), real)
    files["json-types.map"] = typed.replace('"version":"2.2"', '"version":{"major":2}').replace(
        '{"id":"com.android.tools.r8.residualsignature"',
        '{"id":"com.android.tools.r8.synthesized","x":null,"y":').encode()
    paths = {}
    for name, data in files.items():
        path = folder / name
        if not path.exists() or path.stat().st_size != len(data):
            path.write_bytes(data)
        paths[name] = path
    return paths


# -- cases -----------------------------------------------------------------------------------------
@dataclass
class Case:
    seed: int
    index: int
    command: str
    form: str
    base: str
    steps: list[str]
    argv: list[str]
    folder: Path
    hprof_bytes: int
    mapping_bytes: int = 0
    output: Path | None = None  # a file the command writes
    output_form: str | None = None  # strip / restore / deobfuscate: plain, zstd or packed
    reopen: bool = False  # open the output again with `oomlens info`

    def describe(self) -> str:
        steps = "\n    ".join(self.steps) or "(none)"
        return (f"case {self.index} of seed {self.seed} (replay: scripts/fuzz.py --seed "
                f"{self.seed} --case {self.index}): {self.command} on {self.form} "
                f"{self.base}\n  oomlens {' '.join(self.argv)}\n  damage:\n    {steps}")


def _encode(form: str, mutant: bytes, base: Base, inputs: Inputs, rng: random.Random,
            steps: list[str]) -> bytes:
    """The mutant in its container (and, for packed, maybe the packed base damaged instead)."""
    if form == "plain":
        return mutant
    if form == "gzip":
        blob = gzip.compress(mutant, compresslevel=1, mtime=0)
    elif form == "zstd":
        blob = zstandard.ZstdCompressor(level=1, write_checksum=rng.random() < 0.5,
                                        write_content_size=rng.random() < 0.5).compress(mutant)
    else:
        if rng.random() < 0.5:
            steps.append("packed after the damage")
            return pack_bytes(mutant, base.layout)
        steps[:] = ["the packed base damaged:"]
        blob, more = mutate_packed(inputs.packed(base), rng)
        steps.extend(more)
        return blob
    if rng.random() < 0.25:
        blob, more = damage_compressed(blob, rng, form)
        steps.extend(more)
    return blob


_JUNK_IDS = ["0x0", "0xffffffffffffffff", "0x" + "f" * 40, "zz", "0x", "12345", "0x-1",
             "1e9", "0x1_0", "\u0660x1", " 0x10 "]


def make_case(seed: int, index: int, inputs: Inputs, folder: Path) -> Case:
    """Case ``index`` of campaign ``seed``: commands and formats take turns, everything else is
    drawn from a generator seeded with both numbers."""
    rng = random.Random(f"{seed}:{index}")
    command = COMMANDS[index % len(COMMANDS)]
    form = FORMATS[(index // len(COMMANDS)) % len(FORMATS)]
    stripped = [b for b in inputs.bases if b.stripped]
    real = [b for b in inputs.bases if not b.stripped]
    art = [b for b in inputs.bases if b.name.startswith(ART)]
    if command == "restore":
        base = rng.choice(stripped)
    elif command == "deobfuscate":
        base = rng.choice(art if rng.random() < 0.8 else inputs.bases)
    else:
        base = rng.choice(real + real + stripped)
    mapping = None
    if command == "deobfuscate" or (command in MAPPING_COMMANDS and base.name.startswith(ART)
                                    and rng.random() < 0.3):
        mapping = (inputs.real_mapping if rng.random() < 0.5
                   else inputs.mappings[rng.choice(sorted(inputs.mappings))])
    # with a hostile mapping, half the time the dump stays whole: the mapping is the damage
    if mapping is not None and mapping != inputs.real_mapping and rng.random() < 0.5:
        mutant, steps = base.data, []
    else:
        mutant, steps = mutate(base.data, base.layout, rng)
    blob = _encode(form, mutant, base, inputs, rng, steps)
    if mapping is not None:
        steps.append(f"mapping {mapping.name}")
    folder.mkdir(parents=True, exist_ok=True)
    dump = folder / {"plain": "dump.hprof", "gzip": "dump.hprof.gz", "zstd": "dump.hprof.zst",
                     "packed": "dump.packed"}[form]
    dump.write_bytes(blob)
    case = Case(seed, index, command, form, base.name, steps, [], folder, len(mutant),
                mapping.stat().st_size if mapping else 0)
    case.argv = _argv(case, rng, dump, base, mapping)
    case.reopen = case.output_form is not None and rng.random() < 0.3
    return case


def _argv(case: Case, rng: random.Random, dump: Path, base: Base, mapping: Path | None
          ) -> list[str]:
    command, folder = case.command, case.folder
    argv = [command, str(dump)]
    json_flag = ["--json"] if rng.random() < 0.5 else []
    if command == "info":
        argv += json_flag
    elif command == "analyze":
        fmt = rng.choice(["json", "json", "text", "html"])
        argv += ["--format", fmt, "--no-sidecar"]
        if rng.random() < 0.3:
            argv += ["--app-package", rng.choice(["com.example", "a", "<script>", "[bold]"])]
    elif command == "histogram":
        argv += json_flag + ["--sort", rng.choice(["retained", "shallow", "instances", "name"]),
                             "--top", str(rng.choice([1, 30, 100000]))]
    elif command == "dominators":
        case.output = folder / "dominators.csv"
        argv += json_flag + ["--csv", str(case.output), "--top", str(rng.choice([1, 20, 5000]))]
    elif command == "path":
        ids = base.layout.object_ids
        target = (f"0x{rng.choice(ids):x}" if ids and rng.random() < 0.8
                  else rng.choice(_JUNK_IDS))
        argv += [target] + json_flag
        if rng.random() < 0.2:
            argv += ["--exclude-root", rng.choice(["jni-global", "sticky-class", "nonsense"])]
    elif command == "strip":
        form = rng.choice(["packed", "packed", "zstd", "plain"])
        case.output, case.output_form = folder / f"out.{form}", form
        level = rng.choice(["strings", "strings", "arrays", "all"])
        argv += [str(case.output), "--level", level, "--format", form] + json_flag
        if level == "strings" and rng.random() < 0.3:
            argv.append("--no-keep-thread-names")
    elif command == "restore":
        compress = rng.random() < 0.3
        case.output = folder / "restored.hprof"
        case.output_form = "zstd" if compress else "plain"
        argv += [str(case.output)] + (["--compress"] if compress else []) + json_flag
    elif command == "deobfuscate":
        compress = rng.random() < 0.3
        case.output = folder / "renamed.hprof"
        case.output_form = "zstd" if compress else "plain"
        argv += [str(case.output), "--mapping", str(mapping)] + json_flag
        argv += ["--compress"] if compress else []
        return argv
    if mapping is not None and command in MAPPING_COMMANDS:
        argv += ["--mapping", str(mapping)]
    return argv


# -- judging -----------------------------------------------------------------------------------
ERROR_PREFIX = "oomlens: error: "
# what else stderr may hold: warnings, and the note a first run prints while Numba compiles
NOTE_PREFIXES = ("warning: ", "oomlens: compiling analysis kernels")


def problems_of(case: Case, run: Run) -> list[str]:
    """What is wrong with how the command ended (empty: the case passes)."""
    found = []
    if run.timed_out:
        found.append(f"no result within {TIMEOUT:.0f} s (killed)")
    elif run.rc < 0:
        found.append(f"killed by signal {-run.rc}")
    elif run.rc not in (0, 2):
        found.append(f"exit status {run.rc}")
    if "Traceback" in run.stderr or "Traceback" in run.stdout:
        found.append("a traceback")
    lines = run.stderr.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if run.rc == 2:
        if not lines or not lines[-1].startswith(ERROR_PREFIX) or \
                not lines[-1][len(ERROR_PREFIX):].strip():
            found.append("stderr does not end in one 'oomlens: error: <message>' line")
        lines = lines[:-1]
    stray = [ln for ln in lines if not ln.startswith(NOTE_PREFIXES)]
    if stray and not run.timed_out:
        found.append(f"stderr lines other than warnings: {stray[:3]!r}")
    if "\x1b" in run.stderr or ("\x1b" in run.stdout and "html" not in run.argv):
        found.append("an escape sequence (from a name in the dump) reached the terminal")
    bound = memory_bound(case.hprof_bytes, case.mapping_bytes)
    if run.rss > bound:
        found.append(f"peak RSS {run.rss / 1e6:.0f} MB over the bound {bound / 1e6:.0f} MB")
    if run.rc == 0:
        found.extend(_result_problems(case, run))
    elif case.output is not None and case.output.exists() and run.rc == 2:
        found.append(f"{case.output.name} written although the command failed")
    leftovers = sorted(p.name for p in (case.folder / "tmp").iterdir())
    leftovers += sorted(p.name for p in case.folder.iterdir() if p.name.endswith(".partial"))
    if leftovers:
        found.append(f"temporary files left behind: {leftovers[:3]}")
    return found


def _result_problems(case: Case, run: Run) -> list[str]:
    argv = run.argv
    wants_json = "--json" in argv or (case.command == "analyze" and "json" in argv)
    if wants_json:
        try:
            json.loads(run.stdout)
        except ValueError as exc:
            return [f"stdout is not JSON: {exc}"]
    if case.command == "analyze" and "html" in argv and "</html>" not in run.stdout:
        return ["the HTML report is incomplete"]
    if case.command == "analyze" and "html" in argv and "<script>alert(" in run.stdout:
        return ["the HTML report holds a hostile name as markup"]
    if case.command == "dominators":
        if not case.output.exists():
            return ["no CSV written"]
        with open(case.output, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        if not rows or any(len(r) != len(rows[0]) for r in rows):
            return ["the CSV's rows do not all have the header's columns"]
    if case.output_form is not None:
        if not case.output.exists():
            return [f"{case.output.name} not written"]
        with open(case.output, "rb") as f:
            head = f.read(len(OUTPUT_MAGIC[case.output_form]))
        if head != OUTPUT_MAGIC[case.output_form]:
            return [f"{case.output.name} is not {case.output_form}: begins {head!r}"]
    return []


@dataclass
class Result:
    case: Case
    run: Run
    problems: list[str]
    reopened: Run | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems

    def report(self) -> str:
        tail = "\n    ".join(self.run.stderr.strip().splitlines()[-4:])
        return (f"{self.case.describe()}\n  exit {self.run.rc} after {self.run.seconds:.1f} s, "
                f"peak RSS {self.run.rss / 1e6:.0f} MB\n  problems: {'; '.join(self.problems)}"
                f"\n  stderr (end):\n    {tail}")


def hprof_size(path: Path, form: str) -> int:
    """The HPROF bytes a plain, zstd or packed output holds."""
    if form == "plain":
        return path.stat().st_size
    if form == "packed":
        with open(path, "rb") as f:
            f.seek(-8, os.SEEK_END)
            return int.from_bytes(f.read(8), "big")
    total = 0
    with open(path, "rb") as f, zstandard.ZstdDecompressor().stream_reader(f) as reader:
        while chunk := reader.read(1 << 22):
            total += len(chunk)
    return total


def run_case(seed: int, index: int, inputs: Inputs, keep_failures: bool = True) -> Result:
    folder = inputs.workdir / "cases" / f"{seed}-{index}"
    if folder.exists():
        shutil.rmtree(folder)
    try:
        case = make_case(seed, index, inputs, folder)
    except Exception as exc:  # the mutator's own bug: say so, and let the campaign go on
        case = Case(seed, index, COMMANDS[index % len(COMMANDS)], "?", "?", [], [], folder, 0)
        return Result(case, Run([], 0, "", "", 0.0, 0, False),
                      [f"the campaign could not make this case: {exc!r}"])
    run = run_command(case.argv, folder)
    result = Result(case, run, problems_of(case, run))
    if result.passed and run.rc == 0 and case.reopen:
        try:
            size = hprof_size(case.output, case.output_form)
        except zstandard.ZstdError as exc:
            result.problems.append(f"{case.output.name} is not a zstd stream: {exc}")
            size = None
        if size is not None:
            again = Case(seed, index, "info", case.output_form, f"{case.command} output", [],
                         ["info", "--json", str(case.output)], folder,
                         max(case.hprof_bytes, size))
            result.reopened = run_command(again.argv, folder)
            more = problems_of(again, result.reopened)
            result.problems.extend(f"reopening the output with info: {p}" for p in more)
    if result.passed or not keep_failures:
        shutil.rmtree(folder, ignore_errors=True)
    return result


def run_campaign(seed: int, cases: range, workdir: Path, workers: int = 2,
                 on_result=None) -> list[Result]:
    """Run ``cases`` of campaign ``seed`` (``workers`` at a time); failing cases keep their
    folder (input, stdout, stderr) under ``workdir/cases``."""
    inputs = Inputs(workdir)
    results = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for result in pool.map(lambda i: run_case(seed, i, inputs), cases):
            results.append(result)
            if on_result:
                on_result(result)
    return results


def summary(results: list[Result]) -> str:
    """Cases, failures, clean errors, peak RSS and longest time per command and format."""
    rows = {}
    for r in results:
        key = (r.case.command, r.case.form)
        row = rows.setdefault(key, {"cases": 0, "failed": 0, "ok": 0, "errors": 0, "rss": 0,
                                    "time": 0.0})
        row["cases"] += 1
        row["failed"] += not r.passed
        row["ok"] += r.run.rc == 0
        row["errors"] += r.run.rc == 2
        row["rss"] = max(row["rss"], r.run.rss)
        row["time"] = max(row["time"], r.run.seconds)
    out = [f"{'command':<12}{'format':<8}{'cases':>7}{'failed':>8}{'exit 0':>8}{'exit 2':>8}"
           f"{'max RSS':>10}{'max time':>10}"]
    for (command, form), row in sorted(rows.items(), key=lambda kv: (
            COMMANDS.index(kv[0][0]), (FORMATS + (kv[0][1],)).index(kv[0][1]))):
        out.append(f"{command:<12}{form:<8}{row['cases']:>7}{row['failed']:>8}{row['ok']:>8}"
                   f"{row['errors']:>8}{row['rss'] / 1e6:>7.0f} MB{row['time']:>8.1f} s")
    total = len(results)
    failed = sum(not r.passed for r in results)
    peak = max((r.run.rss for r in results), default=0)
    slowest = max((r.run.seconds for r in results), default=0.0)
    out.append(f"{'all':<20}{total:>7}{failed:>8}{sum(r.run.rc == 0 for r in results):>8}"
               f"{sum(r.run.rc == 2 for r in results):>8}{peak / 1e6:>7.0f} MB"
               f"{slowest:>8.1f} s")
    return "\n".join(out)



def common_errors(results: list[Result], most: int = 12) -> str:
    """The most frequent error lines (numbers and paths folded), to see how deep the damage
    gets: a campaign whose mutants all fail at the header tests little."""
    shapes: dict[str, int] = {}
    for r in results:
        if r.run.rc == 2 and r.run.stderr.strip():
            line = r.run.stderr.strip().splitlines()[-1][len(ERROR_PREFIX):]
            line = re.sub(r"/\S+/", "", re.sub(r"[0-9][0-9,]*", "N", line))[:110]
            shapes[line] = shapes.get(line, 0) + 1
    ranked = sorted(shapes.items(), key=lambda kv: -kv[1])[:most]
    return "\n".join(f"{n:>6}  {line}" for line, n in ranked)

#!/usr/bin/env bash
# Copied unchanged (apart from this comment) from the shared test-data folder
# (/work/shared/testdata/make_big_dump.sh, see its README "Making large dumps") so that the
# benchmark does not depend on ../shared at run time.
# Writes a real java.lang.OutOfMemoryError heap dump: Debian's ProGuard obfuscates every Java
# library installed on this machine with too small a heap, and the JVM dumps its heap on the OOM.
# usage: make_big_dump.sh OUT.hprof [MAX_HEAP, default 160m]   (160m gives ~250 MB, ~5M objects)
set -euo pipefail
out=$(realpath -m "$1"); heap=${2:-160m}
need=(); command -v proguard >/dev/null || need+=(proguard-cli)
[ -d /usr/share/visualvm ] || need+=(visualvm)
if [ ${#need[@]} -gt 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null; fi
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
# ProGuard 6 reads class files up to Java 13 (major version 57): keep the jars it can read.
python3 - "$work/cfg.pro" "$work/out.jar" <<'PY'
import struct, subprocess, sys, zipfile
jars = subprocess.run("find /usr/share/java /usr/share/visualvm -name '*.jar' -size +20k | sort",
                      shell=True, capture_output=True, text=True).stdout.split()
keep = []
for j in jars:
    if "proguard" in j or "bsh" in j:
        continue
    try:
        with zipfile.ZipFile(j) as z:
            majors = [struct.unpack(">H", z.read(i)[6:8])[0] for i in z.infolist()
                      if i.filename.endswith(".class") and not i.filename.startswith("META-INF")]
    except Exception:
        continue
    if majors and max(majors) <= 57:
        keep.append(j)
with open(sys.argv[1], "w") as f:
    for j in keep:
        f.write(f"-injars {j}(!META-INF/**)\n")
    f.write(f"-outjars {sys.argv[2]}\n-dontwarn\n-ignorewarnings\n-dontnote\n-dontpreverify\n-dontoptimize\n"
            "-keep public class * { public *; }\n")
PY
rm -f "$out"
java -Xmx"$heap" -Xss300000 -XX:+HeapDumpOnOutOfMemoryError -XX:HeapDumpPath="$out" \
  -jar /usr/share/java/proguard.jar @"$work/cfg.pro" >"$work/log" 2>&1 || true
if [ ! -s "$out" ]; then echo "no OutOfMemoryError happened (try a smaller MAX_HEAP)" >&2; tail -3 "$work/log" >&2; exit 1; fi
grep -m1 "OutOfMemoryError" "$work/log" || true
ls -l "$out"

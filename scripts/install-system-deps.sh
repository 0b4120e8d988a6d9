#!/usr/bin/env bash
# Debian packages oomlens needs, installed only when missing.
#   scripts/install-system-deps.sh build   - what `pip install` needs to build oomlens's C
#                                            extensions: gcc, and Python's headers (python3-dev),
#                                            and the capture agent's jar: a JDK (javac)
#   scripts/install-system-deps.sh         - that, and what the tests need:
#     visualvm     - VisualVM's heap library, the reference for the differential tests
#     hprof-conv   - converts Android dumps to the standard format (restore tests)
#     proguard-cli - obfuscates a test program and writes its mapping (retrace tests)
#     chromium     - headless browser that loads the HTML report (browser tests)
#     (the JDK also compiles and runs the test programs)
set -euo pipefail
python=${PYTHON:-python3}
packages=()
command -v gcc >/dev/null || packages+=(gcc)
"$python" -c 'import os, sysconfig, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' \
  || packages+=(python3-dev)
command -v javac >/dev/null || packages+=(default-jdk-headless)
if [ "${1:-}" != build ]; then
  packages+=(visualvm hprof-conv proguard-cli chromium)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing Debian packages: ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

"""C extensions (everything else is in pyproject.toml).

The streaming stages that run on a user's device or CI host before upload (strip, and the packed
container it writes) are C, not Numba: loading Numba and LLVM alone takes ~0.3 s and ~90 MB,
more than the whole job is allowed. They need only a C compiler and Python's headers (gcc and
python3-dev on Debian; scripts/install-system-deps.sh installs them when missing).
"""

from setuptools import Extension, setup

C_FLAGS = ["-O3", "-std=c11", "-Wall", "-Wextra", "-Wno-unused-parameter"]

HEADERS = ["src/oomlens/hprof/hprof_format.h"]  # the record structure both extensions read

EXTENSIONS = [
    Extension(f"oomlens.hprof.{name}", [f"src/oomlens/hprof/{name}.c"], depends=HEADERS,
              extra_compile_args=C_FLAGS)
    for name in ("_pack", "_rewrite")
]

setup(ext_modules=EXTENSIONS)

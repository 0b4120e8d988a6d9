"""Where the JVM capture agent's jar is: built from ``agent/`` by the install (setup.py) into
this package, next to this module, so that apps can be started with
``java -javaagent:$(oomlens agent path)=spool=...``. An install without a JDK has no jar."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from oomlens.errors import OomlensError

JAR_NAME = "oomlens-agent.jar"


class AgentJarMissing(OomlensError):
    """This oomlens was installed without a JDK, so it has no agent jar."""


def agent_jar() -> Path:
    """The jar's absolute path; AgentJarMissing when the package was built without one."""
    jar = Path(__file__).resolve().with_name(JAR_NAME)
    if not jar.is_file():
        raise AgentJarMissing(f"this oomlens was built without a JDK, so it has no {JAR_NAME} "
                              "(install a JDK with javac and reinstall oomlens)")
    return jar


def java_command() -> str:
    """The ``java`` to run the jar's own table of options with: $JAVA_HOME's, else PATH's."""
    home = os.environ.get("JAVA_HOME")
    if home and os.access(os.path.join(home, "bin", "java"), os.X_OK):
        return os.path.join(home, "bin", "java")
    found = shutil.which("java")
    if found is None:
        raise OomlensError("no java found (JAVA_HOME or PATH): the agent's options are printed "
                           "by the agent's jar itself")
    return found

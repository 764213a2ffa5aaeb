"""Which processes are still running somewhere: the check that a run leaves no server behind."""

from __future__ import annotations

import os
from pathlib import Path


def processes_in(workdir: Path) -> list[int]:
    """Pids whose working directory is `workdir` (a Spark Connect server's launcher and JVM run there)."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and Path(os.readlink(entry / "cwd")) == workdir:
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids

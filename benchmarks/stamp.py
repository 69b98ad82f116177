"""What every benchmark's JSON says of its run: when, on what machine, and how busy the machine was (the figures
of a shared 2-core machine mean little without the load beside them)."""

from __future__ import annotations

import os
import platform
from datetime import datetime, timezone


def stamp() -> dict[str, str]:
    """``date`` (UTC, to the minute) and ``machine`` (architecture, cores, Python)."""
    return {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"}


def load() -> float:
    """The one-minute load average, to two decimals."""
    return round(os.getloadavg()[0], 2)

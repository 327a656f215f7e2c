"""What differs between the platforms embedlab runs on (Linux, macOS, Windows)."""

from __future__ import annotations

import os

__all__ = ["available_cores"]


def available_cores() -> int:
    """Cores this process may run on: its CPU affinity where the platform has one (Linux),
    else every core the machine reports (macOS and Windows have no ``sched_getaffinity``).

    >>> available_cores() >= 1
    True
    """
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)

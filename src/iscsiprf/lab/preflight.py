"""What this machine lacks to run the lab, as sentences (empty when nothing is missing)."""

from __future__ import annotations

import os
from pathlib import Path

from .install import missing_packages

TUN = Path("/dev/net/tun")


def machine_problems() -> list[str]:
    """Lacks that installing packages cannot fix."""
    problems = []
    if os.geteuid() != 0:
        problems.append("the lab needs root (network namespaces, veth, TUN)")
    if not TUN.exists():
        problems.append(f"no {TUN}: strongSwan's kernel-libipsec needs a TUN device")
    if not Path("/proc/self/ns/net").exists():
        problems.append("this kernel has no network namespaces")
    return problems


def problems() -> list[str]:
    """Every lack, including missing packages."""
    out = machine_problems()
    missing = missing_packages()
    if missing:
        out.append("missing packages: " + ", ".join(missing))
    return out

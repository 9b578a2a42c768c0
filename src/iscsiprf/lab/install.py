"""Find which of the lab's Debian packages are missing, and install them with apt-get."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from .netns import LabError

PLUGINS = Path("/usr/lib/ipsec/plugins")

# A file each package provides, checked instead of asking dpkg (works on any layout that has them).
REQUIRED: dict[str, list[Path]] = {
    "charon-systemd": [Path("/usr/sbin/charon-systemd")],
    "strongswan-swanctl": [PLUGINS / "libstrongswan-vici.so"],
    "strongswan-libcharon": [PLUGINS / "libstrongswan-counters.so"],
    "libcharon-extra-plugins": [
        PLUGINS / "libstrongswan-error-notify.so",
        PLUGINS / "libstrongswan-kernel-libipsec.so",
    ],
    "libstrongswan-standard-plugins": [PLUGINS / "libstrongswan-openssl.so"],
    "iputils-ping": [Path("/bin/ping"), Path("/usr/bin/ping")],  # either one
    "iproute2": [Path("/sbin/ip"), Path("/usr/sbin/ip"), Path("/bin/ip")],  # either one
    # iSCSI over IPsec (docs/iscsi-over-ipsec.md): target, initiator (pulls libiscsi7), drop
    # rules.
    "tgt": [Path("/usr/sbin/tgtd"), Path("/usr/sbin/tgtadm")],
    "libiscsi-bin": [Path("/usr/bin/iscsi-ls")],
    "nftables": [Path("/usr/sbin/nft")],
}
_ANY_OF = {"iputils-ping", "iproute2"}


def missing_packages() -> list[str]:
    out = []
    for package, paths in REQUIRED.items():
        present = [p.exists() for p in paths]
        if not (any(present) if package in _ANY_OF else all(present)):
            out.append(package)
    return out


def install(packages: list[str], echo: Callable[[str], None] = print) -> None:
    """apt-get install the packages (no recommends, no service start prompts); update once if
    the package lists are stale."""
    if not packages:
        return
    if shutil.which("apt-get") is None:
        raise LabError(f"missing packages {', '.join(packages)} and no apt-get to install them")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    argv = ["apt-get", "install", "-y", "--no-install-recommends", *packages]
    echo("installing: " + " ".join(packages))
    if _apt(argv, env) == 0:
        return
    echo("apt-get install failed; running apt-get update and trying again")
    if _apt(["apt-get", "update"], env) != 0 or _apt(argv, env) != 0:
        raise LabError("apt-get could not install " + " ".join(packages))


def ensure_installed(echo: Callable[[str], None] = print) -> list[str]:
    """Install whatever is missing; return the packages installed."""
    packages = missing_packages()
    install(packages, echo)
    still = missing_packages()
    if still:
        raise LabError("still missing after apt-get install: " + ", ".join(still))
    return packages


def _apt(argv: list[str], env: dict[str, str]) -> int:
    return subprocess.run(argv, env=env, stdin=subprocess.DEVNULL).returncode

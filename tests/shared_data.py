"""Where the reference data lives: `../shared` beside the project root (never copied in).

A plain module, not conftest: several conftest.py files exist and `import conftest` would pick
whichever was loaded first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"
CORPUS = SHARED / "corpus"
SEED_PAGE = SHARED / "seed" / "000_f3a075989f990e0f.txt"


def need_shared(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"reference data {path} is not present beside the project")
    return path


def params_or_skip(params: list[Any], what: str) -> list[Any]:
    """A parametrize list that, when the reference data is absent, holds one skipped case saying
    why (pytest would otherwise report a bare "got empty parameter set")."""
    if params:
        return params
    reason = f"reference data ({what}) is not present beside the project: {CORPUS}"
    return [pytest.param(None, marks=pytest.mark.skip(reason=reason), id="no-reference-data")]


def seed_class_text() -> str:
    """The MOF class exactly as the documentation page prints it."""
    text = need_shared(SEED_PAGE).read_text(encoding="utf-8")
    start = text.index("class MSiSCSI_MMIPSECStats")
    end = text.index("};", start) + 2
    return text[start:end]


def daemonless_adapters(directory: Path, device: str = "ROOT\\ISCSIPRT\\0007") -> Path:
    """An adapters.toml whose one adapter has no IKE daemon behind its sockets (Active FALSE)."""
    config = directory / "adapters.toml"
    escaped = device.replace("\\", "\\\\")
    config.write_text(
        "[[adapter]]\n"
        f'device = "{escaped}"\n'
        f'vici = "unix://{directory}/no-charon.vici"\n'
        f'error_notify = "unix://{directory}/no-charon.enfy"\n'
        f'state = "{directory}/state.sqlite"\n'
    )
    return config

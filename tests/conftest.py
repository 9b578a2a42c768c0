"""Shared test helpers: where the reference corpus lives (../shared beside the project root)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"
CORPUS = SHARED / "corpus"
SEED_PAGE = SHARED / "seed" / "000_f3a075989f990e0f.txt"


def need_shared(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"reference data {path} is not present beside the project")
    return path


@pytest.fixture(scope="session")
def cim_schema_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The DMTF CIM schema 2.49, unpacked from the corpus zip into a temporary directory."""
    zpath = need_shared(CORPUS / "cim" / "cim_schema_2.49.0Final-MOFs.zip")
    out = tmp_path_factory.mktemp("cim")
    with zipfile.ZipFile(zpath) as z:
        z.extractall(out)
    return out


def seed_class_text() -> str:
    """The MOF class exactly as the documentation page prints it."""
    text = need_shared(SEED_PAGE).read_text(encoding="utf-8")
    start = text.index("class MSiSCSI_MMIPSECStats")
    end = text.index("};", start) + 2
    return text[start:end]

"""Fixtures shared by all tests (helpers that tests import live in shared_data.py)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from shared_data import CORPUS, need_shared


@pytest.fixture(scope="session")
def cim_schema_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The DMTF CIM schema 2.49, unpacked from the corpus zip into a temporary directory."""
    zpath = need_shared(CORPUS / "cim" / "cim_schema_2.49.0Final-MOFs.zip")
    out = tmp_path_factory.mktemp("cim")
    with zipfile.ZipFile(zpath) as z:
        z.extractall(out)
    return out

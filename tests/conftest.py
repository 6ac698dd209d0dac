"""Shared fixtures. Keep this small: each test module owns its own helpers."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


@pytest.fixture
def etcdlab_cmd() -> list[str]:
    """The installed ``etcdlab`` console script of the environment running the tests."""
    script = VENV_BIN / "etcdlab"
    return [str(script)] if script.exists() else [sys.executable, "-m", "etcdlab"]

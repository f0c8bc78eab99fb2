"""Test set-up: oneDNN on, quiet logs, and helpers shared by the tests."""

import os
import pathlib

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> pathlib.Path:
    """../shared/data, or skip with the reason."""
    if not (SHARED_DATA / "README.md").exists():
        pytest.skip(f"real face data not found at {SHARED_DATA} (research-only, kept beside the clone)")
    return SHARED_DATA

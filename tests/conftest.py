import os
from pathlib import Path

import pytest
import torch

# SGTK_SHARED_DATA points the tests elsewhere (how the CI guard is checked without moving the
# real folder); by default the data sits beside the checkout, in ../shared/data.
SHARED_DATA = Path(
    os.environ.get("SGTK_SHARED_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data"
)


def under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The one door to ../shared/data: every test that needs it asks for this fixture (session
    scope, so module fixtures can too) and no module skips on its own, so CI cannot skip."""
    if not SHARED_DATA.is_dir():
        if under_ci():  # CI always has it: its absence is a broken setup, not a skip
            pytest.fail(f"CI=true but {SHARED_DATA} is missing")
        pytest.skip(f"{SHARED_DATA} is missing (../shared/data is not beside this checkout)")
    return SHARED_DATA

import os
from pathlib import Path

import pytest
import torch

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        if os.environ.get("CI"):  # CI always has it: its absence is a broken setup, not a skip
            pytest.fail(f"CI=true but {SHARED_DATA} is missing")
        pytest.skip("../shared/data is not beside this checkout")
    return SHARED_DATA

import os
import urllib.request
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


@pytest.fixture(autouse=True, scope="session")
def _data_root(tmp_path_factory):
    """Datasets and caches go to a folder of this session (subprocesses inherit it), never to
    the checkout's data/; a test that wants another root sets SGTK_DATA or passes root."""
    os.environ["SGTK_DATA"] = str(tmp_path_factory.mktemp("sgtk-data"))


@pytest.fixture(autouse=True, scope="session")
def _no_download():
    """No test downloads: a test that needs a server stubs ``urlopen`` (or uses file://)."""
    real = urllib.request.urlopen

    def refuse(url, *args, **kwargs):
        if str(getattr(url, "full_url", url)).startswith("file:"):
            return real(url, *args, **kwargs)
        raise AssertionError(f"a test tried to download {url}: stub urllib.request.urlopen")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(urllib.request, "urlopen", refuse)
        yield


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

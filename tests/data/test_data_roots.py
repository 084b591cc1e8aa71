"""Built-in corpora and MoleculeNet sets: under the data root, pinned by SHA-256, one line
when offline or served the wrong bytes, and nothing left behind. Nothing here downloads: the
server is a monkeypatched ``urlopen``."""

import io
import urllib.error

import pytest

import sgtk.data.molecule_datasets as md
from sgtk import progress
from sgtk.data.text import CORPORA, corpus_path
from sgtk.errors import SgtkError
from tests.helpers import assert_one_line_error, invoke


class Served(io.BytesIO):
    """What ``urlopen`` returns: the bytes, a length header, a context manager."""

    def __init__(self, data: bytes):
        super().__init__(data)
        self.headers = {"Content-Length": str(len(data))}


def serve(monkeypatch, data: bytes) -> list[str]:
    asked: list[str] = []

    def urlopen(url, timeout=None):
        asked.append(url)
        return Served(data)

    monkeypatch.setattr("urllib.request.urlopen", urlopen)
    return asked


def offline(monkeypatch) -> None:
    def urlopen(url, timeout=None):
        raise urllib.error.URLError("network is unreachable")

    monkeypatch.setattr("urllib.request.urlopen", urlopen)


def test_a_corpus_lands_under_sgtk_data_when_its_bytes_match_the_pin(
    shared_data, tmp_path, monkeypatch
):
    monkeypatch.setenv("SGTK_DATA", str(tmp_path / "elsewhere"))
    monkeypatch.chdir(tmp_path)
    asked = serve(monkeypatch, (shared_data / "tinyshakespeare.txt").read_bytes())
    path = corpus_path("tinyshakespeare")
    assert path == tmp_path / "elsewhere" / "tinyshakespeare" / "raw" / "input.txt"
    assert asked == [CORPORA["tinyshakespeare"].url]
    assert not (tmp_path / "data").exists()
    assert corpus_path("tinyshakespeare") == path and len(asked) == 1  # cached: no refetch
    assert corpus_path("tinyshakespeare", tmp_path / "flag").parent.parent.parent.name == "flag"


def test_a_corpus_with_other_bytes_is_refused_in_one_line_leaving_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("SGTK_DATA", str(tmp_path / "root"))
    serve(monkeypatch, b"To be, or not to be: a different file.\n" * 100)
    with pytest.raises(SgtkError) as e:
        corpus_path("tinyshakespeare")
    message = str(e.value)
    assert "\n" not in message and "pinned SHA-256" in message
    assert CORPORA["tinyshakespeare"].url in message and "set `data`" in message
    assert not (tmp_path / "root").exists()  # no raw/, no temp file, no empty folders


def test_an_offline_corpus_names_the_url_and_the_fix(tmp_path, monkeypatch):
    offline(monkeypatch)
    with pytest.raises(SgtkError) as e:
        corpus_path("tinyshakespeare", tmp_path)
    message = str(e.value)
    assert CORPORA["tinyshakespeare"].url in message and "offline?" in message
    dest = tmp_path / "tinyshakespeare" / "raw" / "input.txt"
    assert f"download it to {dest}, or set `data` to a text file" in message
    assert not (tmp_path / "tinyshakespeare").exists()


@pytest.mark.parametrize("name", ["esol", "freesolv", "lipophilicity"])
def test_every_moleculenet_file_is_pinned_and_other_bytes_leave_no_raw_folder(
    name, tmp_path, monkeypatch
):
    monkeypatch.setenv("SGTK_DATA", str(tmp_path / "root"))
    serve(monkeypatch, b"smiles,expt\nCCO,1.0\n")
    source = md.DATASETS[name]
    assert source.sha256 and len(source.sha256) == 64
    with pytest.raises(SgtkError) as e:
        md.load_dataset(name)
    assert "\n" not in str(e.value) and "pinned SHA-256" in str(e.value)
    assert source.url and source.url in str(e.value)
    assert not (tmp_path / "root").exists()  # PyG's own _download made raw/ first


def test_a_moleculenet_set_is_cached_under_the_data_root_and_reports_featurising(
    shared_data, tmp_path, monkeypatch
):
    monkeypatch.setenv("SGTK_DATA", str(tmp_path / "elsewhere"))
    serve(monkeypatch, (shared_data / "freesolv.csv").read_bytes())
    seen: list[tuple] = []
    previous = progress.set_reporter(lambda *a: seen.append(a))
    try:
        ds = md.load_dataset("freesolv")
    finally:
        progress.set_reporter(previous)
    folder = tmp_path / "elsewhere" / "freesolv"
    assert (folder / "raw" / "SAMPL.csv").read_bytes() == (
        shared_data / "freesolv.csv"
    ).read_bytes()
    assert [p.name.split("-")[0] for p in sorted((folder / "processed").iterdir())] == [
        "data",
        "meta",
    ]
    assert [s for s in seen if s[0] == "parsing 642 SMILES"][-1][1:] == (642, 642)
    featurising = [s for s in seen if s[0].startswith("featurising 64")]  # the valid ones
    assert featurising[0][1] == 0 and featurising[-1][1] == featurising[-1][2]
    assert len(featurising) > 100  # how far it is, molecule by molecule
    assert [s for s in seen if s[0] == "downloading SAMPL.csv"]
    assert len(ds.molecules()) > 600


@pytest.mark.parametrize("below", ["", "sub"])
def test_a_data_root_that_is_a_file_is_one_line_naming_sgtk_data(tmp_path, monkeypatch, below):

    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("x")
    root = tmp_path / "afile" / below
    monkeypatch.setenv("SGTK_DATA", str(root))
    r = invoke("train", "molecules", "--steps", 1, "--out", "run")
    assert_one_line_error(r, f"SGTK_DATA={root} is not a folder", "point SGTK_DATA at a folder")
    assert r.exit_code == 2 and not (tmp_path / "run").exists()
    r = invoke("train", "text", "--data-root", "afile", "--steps", 1, "--out", "run")
    assert_one_line_error(r, "--data-root afile is not a folder: pass a folder to --data-root")
    assert r.exit_code == 2 and not (tmp_path / "run").exists()

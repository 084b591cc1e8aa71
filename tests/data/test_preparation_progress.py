"""Long preparation says how far it is: reading a corpus, encoding it, featurising molecules.
(Downloads: test_download.py; a MoleculeNet set end to end: test_data_roots.py.)"""

import pytest

import sgtk.data.text as text_module
from sgtk import progress
from sgtk.data.molecules import featurise
from sgtk.data.text import TextData, read_text


@pytest.fixture
def seen():
    reports: list[tuple] = []
    previous = progress.set_reporter(lambda *a: reports.append(a))
    yield reports
    progress.set_reporter(previous)


def test_reading_a_corpus_reports_bytes_of_the_file_size(tmp_path, seen):
    path = tmp_path / "corpus.txt"
    path.write_text("To be, or not to be, that is the question.\n" * 60_000)  # 2.6 MB
    size = path.stat().st_size
    read_text(path)
    reading = [s for s in seen if s[0] == "reading corpus.txt"]
    assert len(reading) >= 3  # a report a MiB read
    assert all(total == size for _, _, total in reading) and reading[-1][1] == size


def test_encoding_a_corpus_reports_characters_slice_by_slice(monkeypatch, seen):
    monkeypatch.setattr(text_module, "ENCODE_CHUNK", 1000)
    text = "abcdefghij" * 1050
    data = TextData(text, 8)
    encoding = [s for s in seen if s[0].startswith("encoding 10,500 characters")]
    assert [done for _, done, _ in encoding] == [*range(1000, 10_001, 1000), 10_500]
    assert data.vocab.decode(data.train[:10]) == "abcdefghij"  # sliced, still one text


def test_a_character_missing_from_the_vocabulary_is_found_in_any_slice(monkeypatch):
    from sgtk.data.text import Vocab
    from sgtk.errors import SgtkError

    monkeypatch.setattr(text_module, "ENCODE_CHUNK", 4)
    with pytest.raises(SgtkError, match="'x' 'z'"):
        Vocab("abc").encode("abcxabcabcz")


def test_parsing_and_featurising_report_molecule_by_molecule(seen):
    featurise(["CCO", "c1ccccc1", "not a smiles", "CC(=O)O"], [1.0, 2.0, 3.0, 4.0])
    parsing = [s[1:] for s in seen if s[0] == "parsing 4 SMILES"]
    assert parsing == [(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]
    building = [s[1:] for s in seen if s[0] == "featurising 3 molecules"]  # the valid ones
    assert building == [(0, 3), (1, 3), (2, 3), (3, 3)]

"""Downloads: checked against a pinned SHA-256, with progress, never half-written; data roots."""

import hashlib
from pathlib import Path

import pytest

from sgtk import progress
from sgtk.data.download import data_root, fetch
from sgtk.errors import SgtkError

PAYLOAD = b"First Citizen:\nBefore we proceed any further, hear me speak.\n" * 2000


@pytest.fixture
def source(tmp_path) -> tuple[str, str]:
    path = tmp_path / "upstream" / "input.txt"
    path.parent.mkdir()
    path.write_bytes(PAYLOAD)
    return path.as_uri(), hashlib.sha256(PAYLOAD).hexdigest()


def test_a_download_matching_its_sha256_lands_whole(tmp_path, source):
    url, digest = source
    dest = tmp_path / "root" / "corpus" / "raw" / "input.txt"
    assert fetch(url, dest, "fix", sha256=digest) == dest
    assert dest.read_bytes() == PAYLOAD
    assert [p.name for p in dest.parent.iterdir()] == ["input.txt"]  # no temp file left


def test_a_wrong_sha256_is_refused_and_leaves_no_file_and_no_empty_folder(tmp_path, source):
    url, _ = source
    dest = tmp_path / "root" / "corpus" / "raw" / "input.txt"
    with pytest.raises(SgtkError, match="pinned SHA-256"):
        fetch(url, dest, "fix", sha256="0" * 64)
    assert not (tmp_path / "root").exists()


def test_a_failed_download_leaves_nothing_and_says_offline(tmp_path):
    dest = tmp_path / "root" / "corpus" / "raw" / "input.txt"
    with pytest.raises(SgtkError, match=r"could not download .*offline\? pass --data"):
        fetch((tmp_path / "missing.txt").as_uri(), dest, "pass --data FILE")
    assert not (tmp_path / "root").exists()


def test_a_download_reports_its_progress(tmp_path, source):
    url, digest = source
    seen = []
    previous = progress.set_reporter(lambda what, done, total: seen.append((what, done, total)))
    try:
        fetch(url, tmp_path / "raw" / "input.txt", "fix", sha256=digest)
    finally:
        progress.set_reporter(previous)
    assert seen[-1] == ("downloading input.txt", len(PAYLOAD), len(PAYLOAD))
    assert len(seen) > 1  # several chunks, so a long download shows how far it is


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_plain_reporter_waits_then_throttles_then_closes(capsys):
    clock = Clock()
    reporter = progress.PlainReporter(every=10, delay=1, clock=clock)
    for done in range(0, 101, 10):  # one report a second
        reporter("featurising", done, 100)
        clock.now += 1
    lines = capsys.readouterr().err.splitlines()
    # silent for the first second, then at most every 10 s, and the end
    assert lines == ["featurising: 10/100 (10 %)", "featurising: 100/100 (100 %)"]


def test_a_quick_job_says_nothing(capsys):
    reporter = progress.PlainReporter(every=10, delay=1, clock=Clock())
    for done in range(0, 101, 10):
        reporter("reading m.csv", done, 100)
    assert capsys.readouterr().err == ""  # so a one-line error after it stays one line


def test_the_data_root_is_the_flag_then_sgtk_data_then_data(monkeypatch, tmp_path):
    monkeypatch.delenv("SGTK_DATA", raising=False)
    assert data_root() == Path("data")
    monkeypatch.setenv("SGTK_DATA", str(tmp_path / "elsewhere"))
    assert data_root() == tmp_path / "elsewhere"
    assert data_root(tmp_path / "flag") == tmp_path / "flag"


def test_working_reports_the_seconds_of_a_call_that_cannot_count(monkeypatch):
    seen: list[tuple] = []
    previous = progress.set_reporter(lambda *a: seen.append(a))
    try:
        with progress.working("building the C++ LSTM kernel", tick=0.01):
            import time

            time.sleep(0.1)
    finally:
        progress.set_reporter(previous)
    assert {what for what, _, _ in seen} == {"building the C++ LSTM kernel (seconds)"}
    assert seen[0][1:] == (0, None) and len(seen) > 3  # a beat while it works
    assert seen[-1][1] == seen[-1][2]  # and the end, so a reporter can close its line

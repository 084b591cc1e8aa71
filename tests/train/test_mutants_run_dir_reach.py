"""Run-folder rules that mutmut's earlier runs never reached (sgtk.train.run_dir's open, start,
save_state/save_best, the manifest writer; train_state's to_dict and best_record): a resume
without a manifest, what a fresh manifest holds, what each write refuses. No CLI, no subprocess
(CONTRIBUTING.md "Mutation testing")."""

import json

from sgtk.train.run_dir import RunFolder
from sgtk.train.train_config import TrainConfig


def test_a_resume_without_a_manifest_writes_one_and_says_so(tmp_path):
    folder = RunFolder(tmp_path)
    for step in (5, 10, 20):
        folder.metrics.append({"step": step})
    note = folder.open(True, "again", 10, "toy", {"n": 3}, TrainConfig(), lambda: {"file": "d"})
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["rebuilt_at_step"] == 10 and manifest["task"] == "toy"
    assert manifest["fingerprint"] == {"file": "d"} and manifest["resumes"] == []
    assert note == (
        f"note: {tmp_path / 'manifest.json'} was missing: written anew at step 10 with the data "
        "as it is now, so a change to the data before this resume goes unseen"
    )
    assert [r["step"] for r in folder.metrics.read()] == [5, 10]
    assert (tmp_path / "config.toml").is_file()

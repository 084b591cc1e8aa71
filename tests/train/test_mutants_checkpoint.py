"""What a user relies on when sgtk loads a checkpoint (sgtk/train/checkpoint.py): the right
file loads whole onto the device asked, anything else is one short line naming the file and
the fix. Written against mutmut's survivors (CONTRIBUTING.md "Mutation testing").

Kills: load_checkpoint (a folder is no checkpoint, the device asked, every corrupt kind, torch's
warnings silenced), _first_sentence (first line, first sentence, the 80-character cut, the
type of an empty error), fit_model_state (old keys renamed before the check, the first misfit
in sorted order, counts), load_model_state (the task check, the device), load_optimizer_state
(KeyError and ValueError)."""

import warnings

import pytest
import torch
from torch import nn

from sgtk.errors import SgtkError
from sgtk.nn.gcn import GCNLayer
from sgtk.train import checkpoint as ck
from sgtk.train.checkpoint import (
    fit_model_state,
    load_checkpoint,
    load_model_state,
    load_optimizer_state,
    save_checkpoint,
)


def _saved(tmp_path, obj=None, name="c.pt"):
    path = tmp_path / name
    save_checkpoint(
        obj if obj is not None else {"task": "toy", "model": {"w": torch.ones(3)}}, path
    )
    return path


# ---- load_checkpoint ---------------------------------------------------------------------
def test_a_folder_is_no_checkpoint_and_the_line_says_what_to_do(tmp_path):
    with pytest.raises(SgtkError) as e:
        load_checkpoint(tmp_path)  # a run folder, not its checkpoint.pt
    assert str(e.value) == (
        f"no checkpoint at {tmp_path}: train a run first, or point at a run directory that has one"
    )


def test_a_checkpoint_loads_whole_onto_the_device_asked(tmp_path, monkeypatch):
    path = _saved(tmp_path, {"task": "toy", "model": {"w": torch.arange(3.0)}, "step": 7})
    seen = {}
    real_load = torch.load

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    loaded = load_checkpoint(str(path), torch.device("meta"))  # a str path works too
    assert seen == {"map_location": torch.device("meta"), "weights_only": True}
    assert loaded["model"]["w"].device.type == "meta" and loaded["step"] == 7
    loaded = load_checkpoint(path)
    assert seen["map_location"] == "cpu"
    torch.testing.assert_close(loaded["model"]["w"], torch.arange(3.0))


def test_torchs_warnings_on_load_are_not_shown(tmp_path, monkeypatch):
    path = _saved(tmp_path)

    def noisy(*args, **kwargs):
        warnings.warn("a note about pickle protocols", UserWarning, stacklevel=2)
        return {"task": "toy"}

    monkeypatch.setattr(torch, "load", noisy)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_checkpoint(path) == {"task": "toy"}


@pytest.mark.parametrize(
    "error",
    [RuntimeError("r"), EOFError("e"), OSError("o"), ValueError("v"), ck.zipfile.BadZipFile("z")],
)
def test_every_kind_of_corrupt_file_is_one_line_naming_the_file(tmp_path, monkeypatch, error):
    path = _saved(tmp_path)

    def broken(*args, **kwargs):
        raise error

    monkeypatch.setattr(torch, "load", broken)
    with pytest.raises(SgtkError) as e:
        load_checkpoint(path)
    assert str(e.value) == (
        f"checkpoint {path} is truncated or corrupt ({error}): restore it from a copy, or "
        "train a new run into another `run_dir`"
    )
    assert e.value.__cause__ is None and e.value.__suppress_context__


@pytest.mark.parametrize("data", [b"", b"not a checkpoint at all" * 10])
def test_an_empty_or_a_foreign_file_is_one_line(tmp_path, data):
    (tmp_path / "c.pt").write_bytes(data)
    with pytest.raises(SgtkError, match=r"^(checkpoint|refusing to load) .*c\.pt"):
        load_checkpoint(tmp_path / "c.pt")


@pytest.mark.parametrize(
    "reason, shown",
    [
        ("", "UnpicklingError"),  # no text: the error's kind
        (
            "  Weights only load failed. Re-running may help.\nmore advice",
            "Weights only load failed",
        ),
        ("ends with a stop.", "ends with a stop"),
        ("bad key X.", "bad key X"),  # only the full stop is dropped
        ("x" * 80, "x" * 80),  # exactly at the limit: whole
        ("y" * 81, "y" * 79 + "…"),  # one over: cut to 80 with the ellipsis
    ],
)
def test_the_reason_shown_is_torchs_first_sentence_cut_to_80(tmp_path, monkeypatch, reason, shown):
    path = _saved(tmp_path)

    def refuse(*args, **kwargs):
        raise ck.pickle.UnpicklingError(reason)

    monkeypatch.setattr(torch, "load", refuse)
    with pytest.raises(SgtkError) as e:
        load_checkpoint(path)
    assert str(e.value) == (
        f"refusing to load {path}: it is not a checkpoint sgtk wrote, or it holds more than "
        f"weights ({shown}); only load checkpoints that sgtk wrote"
    )
    assert e.value.__suppress_context__


# ---- fit_model_state ---------------------------------------------------------------------
def test_an_old_checkpoint_with_earlier_key_names_fits_and_loads():
    layer = GCNLayer(3, 2)
    old = {"weight": torch.full((2, 3), 0.5), "bias": torch.zeros(2)}  # before lin.weight
    fit_model_state(layer, {"model": old}, "old.pt")
    torch.testing.assert_close(layer.lin.weight.detach(), torch.full((2, 3), 0.5))
    nested = nn.Sequential(GCNLayer(3, 2))
    fit_model_state(nested, {"model": {"0.weight": torch.ones(2, 3), "0.bias": torch.ones(2)}}, "p")
    torch.testing.assert_close(nested[0].lin.weight.detach(), torch.ones(2, 3))


def test_the_first_misfit_named_is_the_first_in_sorted_order():
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2), nn.Linear(2, 2))
    theirs = {k: torch.zeros(5, 5) for k in model.state_dict()}
    with pytest.raises(SgtkError, match=r"\(0\.bias is \[5, 5\] there, \[2\] here\)"):
        fit_model_state(model, {"model": theirs}, "p")
    lacking = {k: v for k, v in model.state_dict().items() if not k.startswith(("0.", "1."))}
    with pytest.raises(SgtkError, match=r"it lacks 4 weight\(s\) such as 0\.bias\)"):
        fit_model_state(model, {"model": lacking}, "p")
    extra = {**model.state_dict(), "z": torch.zeros(1), "a": torch.zeros(1), "m": torch.zeros(1)}
    with pytest.raises(SgtkError, match=r"it has 3 unknown weight\(s\) such as a\)"):
        fit_model_state(model, {"model": extra}, "p")


def test_a_resized_weight_is_named_before_missing_ones():
    model = nn.Linear(2, 1)
    with pytest.raises(SgtkError, match=r"\(weight is \[1, 3\] there, \[1, 2\] here\)"):
        fit_model_state(model, {"model": {"weight": torch.zeros(1, 3)}}, "p")


def test_a_model_entry_that_is_not_a_dict_is_refused():
    with pytest.raises(SgtkError) as e:
        fit_model_state(nn.Linear(2, 1), {"model": [torch.zeros(1)]}, "w.pt")
    assert str(e.value) == "w.pt holds no model weights: point at a checkpoint that sgtk wrote"


# ---- load_model_state --------------------------------------------------------------------
def test_another_tasks_checkpoint_is_refused_with_the_command_that_uses_it(tmp_path):
    path = _saved(tmp_path, {"task": "text", "model": nn.Linear(2, 1).state_dict()})
    with pytest.raises(SgtkError) as e:
        load_model_state(nn.Linear(2, 1), path, "toy")
    assert str(e.value) == (
        f"{path} is a 'text' checkpoint, not 'toy': use it with `sgtk train text`, or "
        "choose another checkpoint"
    )


def test_load_model_state_loads_the_weights_onto_the_device_asked(tmp_path):
    source = nn.Linear(2, 1)
    path = _saved(tmp_path, {"task": "toy", "model": source.state_dict()})
    model = nn.Linear(2, 1)
    checkpoint = load_model_state(model, str(path), "toy")
    torch.testing.assert_close(model.weight.detach(), source.weight.detach())
    assert checkpoint["task"] == "toy"
    on_meta = nn.Linear(2, 1, device="meta")
    on_meta = load_model_state(on_meta, path, "toy", map_location=torch.device("meta"))
    assert on_meta["model"]["weight"].device.type == "meta"


def test_a_misfit_names_the_path_as_given(tmp_path):
    path = _saved(tmp_path, {"task": "toy", "model": nn.Linear(3, 1).state_dict()})
    with pytest.raises(SgtkError, match=rf"^{path} does not fit this model"):
        load_model_state(nn.Linear(2, 1), str(path), "toy")


# ---- load_optimizer_state ----------------------------------------------------------------
def test_an_optimizer_state_without_its_groups_is_one_line():
    adam = torch.optim.Adam(nn.Linear(2, 1).parameters())
    with pytest.raises(SgtkError, match=r"^o\.pt holds optimiser state that does not fit"):
        load_optimizer_state(adam, {"state": {}}, "o.pt")  # KeyError: param_groups


def test_an_optimizer_state_of_another_size_is_one_line_and_a_fitting_one_loads():
    model = nn.Linear(2, 1)
    adam = torch.optim.Adam(model.parameters(), lr=0.1)
    other = torch.optim.Adam(nn.Sequential(nn.Linear(2, 1), nn.Linear(1, 1)).parameters())
    with pytest.raises(SgtkError) as e:  # ValueError: groups of another size
        load_optimizer_state(adam, other.state_dict(), "o.pt")
    assert str(e.value).endswith("resume with the `optimizer` of the run that wrote it")
    assert e.value.__suppress_context__
    saved = torch.optim.Adam(model.parameters(), lr=0.02).state_dict()
    load_optimizer_state(adam, saved, "o.pt")
    assert adam.param_groups[0]["lr"] == 0.02

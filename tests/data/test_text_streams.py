"""Truncated BPTT (carry_train_state): streams read the train split in order, and the LSTM
state one step leaves is the state the next step starts from."""

import pytest
import torch

from sgtk.data.text import TextData, TrainStreams
from sgtk.errors import SgtkError
from sgtk.tasks.text import TextConfig, TextTask

TEXT = "".join(chr(ord("a") + (i * 7) % 13) for i in range(4000))


def _task(**kw):
    return TextTask(TextConfig(seq_length=8, hidden=16, embed=4, **kw), text=TEXT)


def test_each_stream_continues_where_its_last_window_ended_and_wraps_with_a_reset():
    data = TextData(TEXT, seq_length=8)
    streams = TrainStreams(data, 4, torch.Generator().manual_seed(0))
    first, _, reset = streams.next()
    second, targets, _ = streams.next()
    starts = streams.starts - 16
    assert not reset.any()
    assert torch.equal(second, data.windows(starts + 8, data.train)[0])
    assert torch.equal(first[:, 1:], data.windows(starts, data.train)[1][:, :-1])
    streams.starts[0] = streams.limit  # stream 0 has read to the end of the train split
    inputs, _, reset = streams.next()
    assert reset.tolist() == [True, False, False, False]
    assert torch.equal(inputs[0], data.train[:8])


def test_the_state_is_carried_between_steps_and_dropped_where_a_stream_wraps():
    task = _task(carry_train_state=True)
    model = task.build_model().train()
    gen = torch.Generator().manual_seed(0)
    cpu = torch.device("cpu")
    task.loss(model, task.train_batch(4, gen, cpu))
    carried = task.train_state
    assert carried is not None and not carried[0].requires_grad
    batch = task.train_batch(4, gen, cpu)
    tokens = batch.x.view(4, 8)
    loss, _ = task.loss(model, batch)
    logits, _ = model.forward_tokens(tokens, carried)
    expected = torch.nn.functional.cross_entropy(logits.flatten(0, 1), batch.y)
    assert abs(loss.item() - expected.item()) < 1e-5
    cold = torch.nn.functional.cross_entropy(model.forward_tokens(tokens)[0].flatten(0, 1), batch.y)
    assert abs(cold.item() - loss.item()) > 1e-4  # carrying really changes the loss
    task.streams.starts[1] = task.streams.limit
    task.loss(model, task.train_batch(4, gen, cpu))
    expected_h = model.forward_tokens(task.data.train[None, :8])[1][0]
    assert torch.allclose(task.train_state[0][:, 1], expected_h[:, 0], atol=1e-6)


def test_a_resumed_task_reads_on_from_the_saved_streams_and_state():
    task = _task(carry_train_state=True)
    model = task.build_model().train()
    gen = torch.Generator().manual_seed(0)
    task.loss(model, task.train_batch(4, gen, torch.device("cpu")))
    saved = task.state_dict()
    resumed = _task(carry_train_state=True)
    resumed.load_state_dict(saved)
    a = task.train_batch(4, gen, torch.device("cpu"))
    b = resumed.train_batch(4, torch.Generator().manual_seed(99), torch.device("cpu"))
    assert torch.equal(a.x, b.x) and torch.equal(resumed.train_state[0], saved["state"][0])


def test_carry_train_state_needs_a_recurrent_model():
    with pytest.raises(SgtkError, match="carry_train_state"):
        _task(carry_train_state=True, model="gcn")

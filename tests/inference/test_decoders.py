"""Sampling from every text model: a decoder fed one character at a time gives the logits the
model gives on the whole text (recurrent: carried state; graph and attention: the window)."""

import pytest
import torch

from sgtk.data.text import Vocab
from sgtk.errors import SgtkError
from sgtk.graphs.views import path_graph_batch
from sgtk.models.charlm import CharNet, RecurrentDecoder, WindowDecoder, decoder_for
from sgtk.models.sampling import beam_texts, sample

VOCAB = Vocab.from_text("abcdefgh ")


def _logits_of_whole(model, ids):
    """The model's next-token logits at every position of ``ids`` [B, T], read as one window."""
    return model(path_graph_batch(ids, directed=True)).view(*ids.shape, -1)


def test_recurrent_decoder_carries_the_state_of_the_whole_pass():
    torch.manual_seed(0)
    model = CharNet(len(VOCAB), "gru", hidden=12, layers=2, embed=5).eval()
    ids = torch.randint(0, len(VOCAB), (3, 9))
    with torch.no_grad():
        whole = _logits_of_whole(model, ids)
        decoder = decoder_for(model)
        assert isinstance(decoder, RecurrentDecoder)
        steps = [decoder.start(ids[:, :4])]
        steps += [decoder.step(ids[:, t]) for t in range(4, 9)]
    torch.testing.assert_close(torch.stack(steps, 1), whole[:, 3:], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", ["gcn", "transformer", "lstm-gcn"])
def test_window_decoder_reads_the_last_context_characters(name):
    torch.manual_seed(0)
    graph = "complete" if name == "transformer" else "path"
    model = CharNet(len(VOCAB), name, hidden=8, layers=2, embed=4, graph=graph).eval()
    ids = torch.randint(0, len(VOCAB), (2, 10))
    context = 4
    with torch.no_grad():
        decoder = decoder_for(model, context)
        assert isinstance(decoder, WindowDecoder)
        got = [decoder.start(ids[:, :6])] + [decoder.step(ids[:, t]) for t in range(6, 10)]
        # At each position t, the model on the window of the last `context` characters.
        want = [
            _logits_of_whole(model, ids[:, t + 1 - context : t + 1])[:, -1] for t in range(5, 10)
        ]
    torch.testing.assert_close(torch.stack(got, 1), torch.stack(want, 1))


def test_a_window_model_without_a_context_is_one_line():
    model = CharNet(len(VOCAB), "gcn", hidden=8, layers=2, embed=4)
    with pytest.raises(SgtkError, match="seq_length"):
        sample(model, VOCAB, "ab", 5)


def test_beam_search_keeps_each_beam_s_own_window_and_state():
    torch.manual_seed(0)
    for model, context in (
        (CharNet(len(VOCAB), "gcn", hidden=8, layers=2, embed=4).eval(), 3),
        (CharNet(len(VOCAB), "gru", hidden=8, layers=1, embed=4).eval(), None),
    ):
        texts = beam_texts(model, VOCAB, "abc", 6, beam=4, count=4, context=context)
        assert len(texts) == 4 and all(len(t) == 6 for t in texts)
        # The best beam is the greedy text when the beam holds one text.
        greedy = sample(model, VOCAB, "abc", 6, greedy=True, context=context)[0]
        assert beam_texts(model, VOCAB, "abc", 6, beam=1, context=context)[0] == greedy


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"tau": -1.0}, "tau"), ({"top_k": 0}, "top_k"), ({"seed": -1}, "seed"),
     ({"length": -2}, "length"), ({"prefix": ""}, "prefix")],
)  # fmt: skip
def test_sampling_errors_name_the_python_argument_not_a_cli_flag(kwargs, field):
    from sgtk.errors import ConfigError

    model = CharNet(len(VOCAB), "gru", hidden=8, layers=1, embed=4)
    args = {"prefix": "ab", "length": 3, **kwargs}
    with pytest.raises(ConfigError) as e:
        sample(model, VOCAB, args.pop("prefix"), args.pop("length"), **args)
    assert e.value.field == field and "--" not in str(e.value), str(e.value)

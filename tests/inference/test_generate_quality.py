"""Word validity: the words of a sample found in the corpus, per temperature."""

import torch

from sgtk.data.text import TextData, Vocab
from sgtk.inference.quality import count_found, word_validity, words
from sgtk.models.charlm import CharLSTM
from tests.helpers import invoke

TEXT = "the quick brown fox jumps over the lazy dog. " * 40


def test_words_are_letter_runs_lower_cased():
    assert words("Hark, what's THAT?\n3rd  Citizen:") == [
        "hark",
        "what",
        "s",
        "that",
        "rd",
        "citizen",
    ]
    vocabulary = set(words(TEXT))
    assert vocabulary == {"the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog"}
    assert count_found("The foxx jumps ov", vocabulary) == (2, 4)
    assert count_found("The foxx jumps ov", vocabulary, drop_last=True) == (2, 3)


def _trained(steps: int) -> tuple[CharLSTM, Vocab]:
    torch.manual_seed(0)
    data = TextData(TEXT, seq_length=32)
    model = CharLSTM(len(data.vocab), hidden=32, layers=1, embed=8)
    opt = torch.optim.Adam(model.parameters(), 1e-2)
    gen = torch.Generator().manual_seed(0)
    for _ in range(steps):
        starts = torch.randint(0, len(data.train) - 33, (16,), generator=gen)
        inputs, targets = data.windows(starts, data.train)
        loss = torch.nn.functional.cross_entropy(
            model.forward_tokens(inputs)[0].flatten(0, 1), targets.reshape(-1)
        )
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval(), data.vocab


def test_a_model_that_learnt_the_corpus_scores_high_and_an_untrained_one_low():
    trained = word_validity(*_trained(150), TEXT, [0.5], samples=2, length=400)
    noise = word_validity(*_trained(0), TEXT, [0.5], samples=2, length=400)
    assert trained[0]["found"] > 0.9 and trained[0]["words"] > 50
    assert noise[0]["found"] < 0.3


def test_generate_quality_prints_a_row_per_tau(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the king is dead; long live the king\n")
    result = invoke("generate", "--quality", corpus, "--tau", "1,2")
    assert result.exit_code == 0, result.output
    assert "corpus.txt" in result.output and "found" in result.output

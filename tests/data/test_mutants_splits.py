"""What a molecule run relies on in sgtk.data.splits, exactly: 80/10/10 random splits fixed by
the seed, MoleculeNet's scaffold split (largest groups first, ties by first sight, cuts
inclusive) and one-line refusals of splits that leave a part empty. Written to kill the
mutants that the dataset tests let live (CONTRIBUTING.md, "Mutation testing").

kills (sgtk.data.splits.*): x_random_split__mutmut_* (seed, fractions, int cuts, slices),
  x_scaffold_split__mutmut_* (group order by size then first sight, key=None/none: 7, 9;
  <= → < at both cuts; fractions; dtype), x_split_indices__mutmut_* (kind names, error texts,
  "test" in the empty-part list: 29, 30, the scaffold hint).
"""

import pytest
import torch

from sgtk.data.splits import random_split, scaffold_split, split_indices
from sgtk.errors import SgtkError


def _parts(parts):
    return [p.tolist() for p in parts]


def test_random_split_is_80_10_10_of_one_seeded_permutation():
    train, val, test = random_split(20, seed=3)
    perm = torch.randperm(20, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(torch.cat([train, val, test]), perm)
    assert (len(train), len(val), len(test)) == (16, 2, 2)
    assert _parts(random_split(20, seed=3)) == _parts((train, val, test))
    assert _parts(random_split(20, seed=4)) != _parts((train, val, test))


def test_random_split_takes_its_fractions_and_rounds_down():
    train, val, test = random_split(10, seed=0, fractions=(0.55, 0.25))
    assert (len(train), len(val), len(test)) == (5, 2, 3)
    assert sorted(torch.cat([train, val, test]).tolist()) == list(range(10))


def test_scaffold_split_fills_train_then_val_with_the_largest_groups_first():
    # groups: a×5, b×2 (seen before c), c×2, d×1; cuts at 8 and 9 molecules
    scaffolds = ["a", "b", "c", "a", "a", "c", "b", "a", "d", "a"]
    train, val, test = scaffold_split(scaffolds)
    assert _parts((train, val, test)) == [[0, 3, 4, 7, 9, 1, 6, 8], [2, 5], []]
    assert train.dtype == val.dtype == test.dtype == torch.long


def test_scaffold_split_sends_the_rare_scaffolds_to_test():
    # 20 molecules: one scaffold of 12, two of 2, four singletons; cuts at 16 and 18
    scaffolds = ["big"] * 12 + ["p", "p", "q", "q", "w", "x", "y", "z"]
    train, val, test = scaffold_split(scaffolds)
    assert train.tolist() == list(range(12)) + [12, 13, 14, 15]  # exactly at the 80 % cut
    assert val.tolist() == [16, 17]  # exactly at the 90 % cut
    assert test.tolist() == [18, 19]


def test_scaffold_split_takes_its_fractions():
    scaffolds = ["a"] * 4 + ["b"] * 3 + ["c"] * 2 + ["d"]
    parts = scaffold_split(scaffolds, fractions=(0.4, 0.3))
    assert _parts(parts) == [[0, 1, 2, 3], [4, 5, 6], [7, 8, 9]]


def test_split_indices_serves_each_kind():
    torch.testing.assert_close(
        torch.cat(split_indices("random", 30, seed=1)), torch.cat(random_split(30, seed=1))
    )
    scaffolds = ["big"] * 12 + ["p", "p", "q", "q", "w", "x", "y", "z"]
    got = split_indices("scaffold", 20, seed=1, scaffolds=scaffolds)
    assert _parts(got) == _parts(scaffold_split(scaffolds))


def test_an_unknown_split_is_refused_in_one_line():
    with pytest.raises(SgtkError) as e:
        split_indices("stratified", 30, seed=0)
    assert str(e.value) == "unknown split 'stratified': choose one of random, scaffold"


def test_a_split_that_leaves_a_part_empty_is_refused_and_names_the_fix():
    with pytest.raises(SgtkError) as e:
        split_indices("random", 5, seed=0)  # 4 / 0 / 1
    assert str(e.value) == "the random split of 5 molecules leaves val empty: use more molecules"
    with pytest.raises(SgtkError) as e:
        split_indices("scaffold", 10, seed=0)  # no scaffolds: one group of 10, all in test
    assert str(e.value) == (
        "the scaffold split of 10 molecules leaves train and val empty: use more molecules"
        " or set `split` to random"
    )


def test_a_small_scaffold_seen_first_still_waits_for_the_larger_groups():
    scaffolds = ["rare", "common", "common", "common", "mid", "mid"] + ["common"] * 4
    train, val, test = scaffold_split(scaffolds)  # common×7, mid×2, rare×1; cuts at 8 and 9
    assert _parts((train, val, test)) == [[1, 2, 3, 6, 7, 8, 9, 0], [4, 5], []]


def test_no_molecules_at_all_is_refused_naming_every_empty_part():
    with pytest.raises(SgtkError) as e:
        split_indices("random", 0, seed=0)
    assert str(e.value) == (
        "the random split of 0 molecules leaves train and val and test empty: use more molecules"
    )

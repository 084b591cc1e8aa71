"""``predict molecules`` refuses an option it would ignore (issue 28, no silent options):
``--out`` and ``--delimiter`` only serve ``--data``; with ``--smiles`` the table is printed."""

import pytest

from tests.helpers import assert_one_line_error, invoke


@pytest.mark.parametrize(("flag", "value"), [("--out", "p.csv"), ("--delimiter", ";")])
def test_an_option_only_data_uses_is_refused_with_smiles(tmp_path, flag, value):
    r = invoke("predict", "molecules", "--checkpoint", tmp_path / "none", "--smiles", "CCO",
               flag, tmp_path / value if flag == "--out" else value)  # fmt: skip
    assert_one_line_error(r, flag, "--data")
    assert not (tmp_path / "p.csv").exists()

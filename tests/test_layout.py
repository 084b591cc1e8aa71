import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_library_never_imports_the_cli():
    code = (
        "import sys, sgtk, sgtk.graphs.views, sgtk.nn, sgtk.models, sgtk.inference.generate, "
        "sgtk.bench.suite, "
        "sgtk.tasks.palindrome, sgtk.tasks.text, sgtk.tasks.molecules, "
        "sgtk.experiments.compare, sgtk.experiments.plots, sgtk.train.trainer; "
        "print(any(m.split('.')[0] in ('cli', 'sgtk_cli') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip() == "False", out.stderr


@pytest.mark.parametrize("task", ["palindrome", "text", "molecules"])
def test_every_config_key_is_known(task):
    import dataclasses

    from sgtk.tasks.molecules import MoleculeConfig
    from sgtk.tasks.palindrome import PalindromeConfig
    from sgtk.tasks.text import TextConfig
    from sgtk.train.trainer import TrainConfig

    cls = {"palindrome": PalindromeConfig, "text": TextConfig, "molecules": MoleculeConfig}[task]
    from sgtk.train.config import default_config

    data = default_config(task)
    for section, klass in (("task", cls), ("train", TrainConfig)):
        names = {f.name for f in dataclasses.fields(klass)}
        assert set(data[section]) <= names
        klass(**data[section])

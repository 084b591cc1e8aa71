"""Every Python snippet in the README's "Use from Python" section runs as printed."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _snippets() -> list[str]:
    text = README.read_text()
    section = text.split("## Use from Python", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def test_the_section_has_the_four_snippets():
    assert len(_snippets()) == 4


@pytest.mark.parametrize("index", range(4))
def test_readme_snippet_runs(index, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = _snippets()[index]
    exec(compile(code, f"README.md snippet {index + 1}", "exec"), {"__name__": "__readme__"})

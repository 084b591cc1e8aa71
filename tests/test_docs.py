"""The README and docs/ as a user reads them: every ```python block runs as printed, and every
relative link (pages, figures, #anchors) leads somewhere.

A block fenced as ```python no-run is shown but not run: keep that for code that needs a
network, a GPU or a long training run.
"""

import re
from pathlib import Path
from typing import NamedTuple

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINKED = [*PAGES, ROOT / "CONTRIBUTING.md"]
FENCE = re.compile(r"^(\s*)```(.*)$")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


class Block(NamedTuple):
    page: Path
    number: int  # 1-based, counting only ```python blocks of its page
    line: int  # where the block's code starts, 1-based
    info: str
    code: str

    @property
    def name(self) -> str:
        return f"{self.page.relative_to(ROOT)}#{self.number}"


def _split(text: str) -> tuple[list[tuple[int, str, list[str]]], list[tuple[int, str]]]:
    """(fenced blocks as (first code line, info string, lines), prose lines with numbers)."""
    blocks: list[tuple[int, str, list[str]]] = []
    prose: list[tuple[int, str]] = []
    inside: tuple[int, str, str, list[str]] | None = None  # (line, indent, info, lines)
    for number, line in enumerate(text.splitlines(), 1):
        fence = FENCE.match(line)
        if inside is None:
            if fence:
                inside = (number + 1, fence.group(1), fence.group(2).strip(), [])
            else:
                prose.append((number, line))
        elif fence and not fence.group(2).strip():
            blocks.append((inside[0], inside[2], inside[3]))
            inside = None
        else:
            indent = inside[1]
            inside[3].append(line[len(indent) :] if line.startswith(indent) else line)
    assert inside is None, f"a code fence opened at line {inside[0] - 1} is never closed"
    return blocks, prose


def _python_blocks() -> list[Block]:
    found = []
    for page in PAGES:
        blocks, _ = _split(page.read_text(encoding="utf-8"))
        python = [
            (line, info, code) for line, info, code in blocks if info.split()[:1] == ["python"]
        ]
        for index, (line, info, code) in enumerate(python, 1):
            found.append(Block(page, index, line, info, "\n".join(code) + "\n"))
    return found


BLOCKS = _python_blocks()


def _params():
    for block in BLOCKS:
        marks = (
            [pytest.mark.skip(reason="fenced as no-run")] if "no-run" in block.info.split() else []
        )
        yield pytest.param(block, id=block.name, marks=marks)


@pytest.mark.parametrize("block", list(_params()))
def test_python_block_runs(block: Block, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # Blank lines in front, so that a traceback's line numbers are the page's own.
    source = "\n" * (block.line - 1) + block.code
    exec(compile(source, str(block.page), "exec"), {"__name__": "__docs__"})


def test_the_readme_has_one_python_example_and_the_docs_more():
    pages = {block.page for block in BLOCKS}
    assert ROOT / "README.md" in pages
    assert ROOT / "docs" / "python.md" in pages


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    _, prose = _split(page.read_text(encoding="utf-8"))
    seen: dict[str, int] = {}
    anchors = set()
    for _, line in prose:
        heading = re.match(r"#{1,6} (.+)", line)
        if heading:
            slug = _slug(heading.group(1))
            anchors.add(slug if slug not in seen else f"{slug}-{seen[slug]}")
            seen[slug] = seen.get(slug, 0) + 1
    return anchors


def _links(page: Path) -> list[tuple[int, str]]:
    """(line, target) of every link outside code; a link's text may wrap onto the next line."""
    _, prose = _split(page.read_text(encoding="utf-8"))
    lines = [""] * (prose[-1][0] if prose else 0)
    for number, line in prose:
        lines[number - 1] = line
    text = "\n".join(lines)
    return [(text.count("\n", 0, m.start(1)) + 1, m.group(1)) for m in LINK.finditer(text)]


@pytest.mark.parametrize("page", LINKED, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_relative_link_resolves(page: Path):
    broken = []
    for number, target in _links(page):
        if re.match(r"[a-z]+:", target):  # https:, mailto:: not ours to check offline
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            broken.append(f"line {number}: {target} (no such file)")
        elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
            broken.append(f"line {number}: {target} (no heading #{anchor} in {dest.name})")
    assert not broken, f"{page.relative_to(ROOT)}: " + "; ".join(broken)


def test_every_docs_page_is_in_the_index():
    index = ROOT / "docs" / "README.md"
    linked = {(index.parent / target.partition("#")[0]).resolve() for _, target in _links(index)}
    missing = [page.name for page in PAGES[1:] if page != index and page.resolve() not in linked]
    assert not missing, f"docs/README.md does not link {missing}"


def test_the_link_check_sees_a_broken_link_and_anchor(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "# Top\n\n[ok](#top) [gone](missing.md) [a\nb](#nowhere)\n```\n[x](y.md)\n```\n"
    )
    assert _links(page) == [(3, "#top"), (3, "missing.md"), (4, "#nowhere")]
    assert _anchors(page) == {"top"}

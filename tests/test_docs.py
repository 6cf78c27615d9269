"""The documentation stays true to the code: docs/*.md and README.md.

What is checked, per page:

- ```toml blocks. Each is a whole file nanomc accepts: with a [scan] section a scan
  (`nanomc.campaign.scan.load_scan`, every point validated), with [data], [descriptors], [network] or
  [training] a training file (`TRAIN_SCHEMA` and its rules, as `nanomc train` loads it), otherwise a
  campaign parameter file (`nanomc.campaign.schema.load_config`). Two marks, each an HTML comment alone on
  the line before the block's opening fence, change that:
    <!-- fragment -->      part of a file. It must still parse as TOML, and its sections and keys
                           must be known ones with values of the right type: it is checked against
                           the schema of its kind (required keys filled in, no cross-key rules).
    <!-- file: PATH -->    a copy of the repository's file PATH (e.g. runs/CeO2-Cu/params.toml): it
                           must load as above and parse to the same TOML as that file.
- ```python blocks. The blocks of a page run in order, in one namespace (later blocks use names
  from earlier ones), in an empty temporary directory: those of docs/python-api.md with nothing
  else there (they must run from any directory), those of other pages with `runs` and `tests`
  linked to the repository's (they may read the test data or an example's files).
- ```bash blocks. Every command line that runs `nanomc` (also after `mpirun ...` or `cd ... &&`)
  parses with nanomc's own argument parser: a real command, real options, the required arguments.
  Inline code that starts with `nanomc <word>` names a real command too.
- Every command of `nanomc --help` is run by some test (a call whose first argument is its name).
- Links: every relative link (Markdown, and src= or href= of HTML such as <img>) resolves to a file
  or directory of the repository, every #anchor to a heading of its page (GitHub's anchors).
- Tables: the separator row has as many cells as the header (else GitHub does not render the
  table), and a blank line ends the table (else the next line becomes a row).
- The parameter reference in docs/campaigns.md is `nanomc.campaign.schema.reference_markdown()`.

README.md is the front door (issue 40): at most README_MAX_LINES lines, checked like any page; the
manual is in docs/.

About 20 s on one core, almost all of it the Python API page's examples.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import shlex
import tempfile
import tomllib
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import pytest

from nanomc.cli import build_parser, main
from nanomc.campaign.schema import SCHEMA, ConfigError, load_config, reference_markdown, validate

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README = ROOT / "README.md"
PAGES = sorted(DOCS.glob("*.md")) + [README]
#: the README is a front door, the manual is in docs/ (issue 40: "at most ~250 lines")
README_MAX_LINES = 250
FRAGMENT = "<!-- fragment -->"
FILE_MARK = re.compile(r"^<!--\s*file:\s*(\S+)\s*-->$")
TRAINING_SECTIONS = {"data", "descriptors", "network", "training"}


def _name(page: Path) -> str:
    return str(page.relative_to(ROOT))


@dataclass
class Block:
    page: Path
    line: int          # 1-based line of the opening fence
    language: str
    text: str
    mark: str          # the HTML comment on the line before the fence, or ""

    @property
    def where(self) -> str:
        return f"{_name(self.page)}:{self.line}"


def blocks(page: Path, language: str | None = None) -> list[Block]:
    """The fenced code blocks of a page (``` fences), with the mark on the line before each."""
    lines = page.read_text().splitlines()
    found, k = [], 0
    while k < len(lines):
        m = re.match(r"^```\s*([\w+-]*)\s*$", lines[k])
        if m:
            end = k + 1
            while end < len(lines) and not lines[end].startswith("```"):
                end += 1
            before = lines[k - 1].strip() if k else ""
            mark = before if before.startswith("<!--") else ""
            if language is None or m.group(1) == language:
                found.append(Block(page, k + 1, m.group(1), "\n".join(lines[k + 1:end]) + "\n", mark))
            k = end
        k += 1
    return found


def prose_lines(page: Path) -> list[tuple[int, str]]:
    """(line number, text) of the lines outside fenced code blocks."""
    out, fence = [], False
    for number, line in enumerate(page.read_text().splitlines(), 1):
        if line.startswith("```"):
            fence = not fence
            continue
        if not fence:
            out.append((number, line))
    return out


def expect(problems: list[str], page: Path) -> None:
    """Fail with the problems of a page."""
    assert not problems, "\n".join(problems)


# ------------------------------------------------------------------ TOML blocks

def _check_toml(block: Block, tmp: Path) -> str | None:
    """None if the block is a valid file of its kind (or a valid fragment), else the problem."""
    from nanomc.campaign.scan import load_scan
    from nanomc.training import trainer

    try:
        raw = tomllib.loads(block.text)
    except tomllib.TOMLDecodeError as exc:
        return f"{block.where}: not TOML ({exc})"
    training = bool(TRAINING_SECTIONS & set(raw))
    path = tmp / f"block-{block.line}.toml"
    path.write_text(block.text)
    try:
        if block.mark == FRAGMENT:
            raw.pop("scan", None)
            schema = trainer.TRAIN_SCHEMA if training else SCHEMA
            required = {"data": {"files": ["reference.extxyz"]}} if training else {"mc": {"sweeps": 1}}
            for section, values in required.items():
                if isinstance(raw.get(section, {}), dict):
                    raw[section] = {**values, **raw.get(section, {})}
            validate(raw, block.text, str(path), schema, None)
        elif "scan" in raw:
            load_scan(path)
        elif training:
            load_config(path, trainer.TRAIN_SCHEMA, trainer._check)
        else:
            load_config(path)
    except ConfigError as exc:
        return f"{block.where}: {str(exc).replace(str(path), 'block')}"
    m = FILE_MARK.match(block.mark)
    if m:
        copied = ROOT / m.group(1)
        if not copied.is_file():
            return f"{block.where}: {m.group(1)} (the file it copies) does not exist"
        if tomllib.loads(copied.read_text()) != raw:
            return f"{block.where}: differs from {m.group(1)}"
    elif block.mark and block.mark != FRAGMENT:
        return f"{block.where}: unknown mark {block.mark!r} (marks: {FRAGMENT!r}, '<!-- file: PATH -->')"
    return None


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_toml_blocks_are_valid_files_or_marked_fragments(page, tmp_path):
    problems = [p for b in blocks(page, "toml") if (p := _check_toml(b, tmp_path))]
    expect(problems, page)


def test_the_toml_check_catches_a_wrong_key_in_a_file_and_in_a_fragment(tmp_path):
    good = Block(README, 1, "toml", "[particle]\nshape = \"cube\"\nsize = 3\ncomposition = { Au = 1.0 }\n"
                 "[mc]\ntemperatures = [300.0]\nsweeps = 10\n", "")
    assert _check_toml(good, tmp_path) is None
    typo = Block(README, 2, "toml", good.text.replace("sweeps", "sweep"), "")
    assert "sweep" in _check_toml(typo, tmp_path)
    fragment = Block(README, 3, "toml", "[mc]\nstarts = 4\n", FRAGMENT)
    assert _check_toml(fragment, tmp_path) is None
    assert "strats" in _check_toml(Block(README, 4, "toml", "[mc]\nstrats = 4\n", FRAGMENT), tmp_path)
    assert "not TOML" in _check_toml(Block(README, 5, "toml", "[mc]\nt = [1, ..., 2]\n", FRAGMENT), tmp_path)
    copy = Block(README, 6, "toml", (ROOT / "runs/AuCu-pamc/params.toml").read_text(),
                 "<!-- file: runs/AuCu-pamc/params.toml -->")
    assert _check_toml(copy, tmp_path) is None
    assert "differs" in _check_toml(Block(README, 7, "toml", good.text, copy.mark), tmp_path)


# ------------------------------------------------------------------ Python blocks

PYTHON_PAGES = [p for p in PAGES if blocks(p, "python")]


@pytest.mark.parametrize("page", PYTHON_PAGES, ids=_name)
def test_python_blocks_run(page, tmp_path, monkeypatch):
    if page.name != "python-api.md":
        for name in ("runs", "tests"):
            (tmp_path / name).symlink_to(ROOT / name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))   # tempfile.mkdtemp() in an example: here
    namespace: dict = {"__name__": "__docs__"}
    for block in blocks(page, "python"):
        code = compile(block.text, block.where, "exec")
        with contextlib.redirect_stdout(io.StringIO()):
            exec(code, namespace)


# ------------------------------------------------------------------ commands

def _subcommands() -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def nanomc_command_lines(page: Path) -> list[tuple[str, list[str]]]:
    """(where, arguments after `nanomc`) of every command line of the page's bash blocks that runs nanomc."""
    found = []
    for block in blocks(page, "bash"):
        text = block.text.replace("\\\n", " ")
        for offset, line in enumerate(text.splitlines(), 1):
            try:
                words = shlex.split(line, comments=True)
            except ValueError as exc:
                found.append((f"{block.where}+{offset}", ["<unparsable shell line>", str(exc)]))
                continue
            for k, word in enumerate(words):
                if word == "nanomc":
                    rest = words[k + 1:]
                    cut = next((i for i, w in enumerate(rest) if w in ("&&", "||", "|", ";", ">", ">>")), len(rest))
                    found.append((f"{block.where}+{offset}", rest[:cut]))
    return found


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_every_nanomc_command_line_parses(page):
    parser = build_parser()
    problems = []
    for where, argv in nanomc_command_lines(page):
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            try:
                parser.parse_args(argv)
            except SystemExit as exc:
                if exc.code:
                    problems.append(f"{where}: nanomc {' '.join(argv)}: {err.getvalue().strip().splitlines()[-1]}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_inline_nanomc_commands_are_real(page):
    commands = _subcommands()
    problems = [f"{_name(page)}:{n}: `nanomc {word}` is not a command"
                for n, line in prose_lines(page)
                for word in re.findall(r"`nanomc ([a-z][a-z-]*)\b", line) if word not in commands]
    assert not problems, "\n".join(problems)


def test_the_command_check_catches_a_wrong_option():
    parser = build_parser()
    with contextlib.redirect_stderr(io.StringIO()), pytest.raises(SystemExit):
        parser.parse_args(["run", "params.toml", "--resmue"])


def test_every_command_is_exercised_by_a_test():
    tests = "\n".join(p.read_text() for p in (ROOT / "tests").glob("test_*.py"))
    missing = [c for c in _subcommands() if not re.search(rf"[(\[,]\s*[\"']{re.escape(c)}[\"']", tests)]
    assert not missing, f"commands no test runs: {missing}"


def test_nanomc_template_prints_a_valid_parameter_file(tmp_path, capsys):
    assert main(["template"]) == 0
    (tmp_path / "template.toml").write_text(capsys.readouterr().out)
    config, _ = load_config(tmp_path / "template.toml")
    assert config["mc"]["sweeps"] > 0


# ------------------------------------------------------------------ links and tables

def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, markup and punctuation dropped, spaces as hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "").strip().lower()
    kept = "".join(c for c in text if c in " -_" or unicodedata.category(c)[0] in "LMN")
    return kept.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """The anchors of a page's headings; a repeated heading gets -1, -2, ... as on GitHub."""
    found: set[str] = set()
    count: dict[str, int] = {}
    for _, line in prose_lines(page):
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if m:
            s = slug(m.group(1))
            n = count.get(s, 0)
            found.add(s if n == 0 else f"{s}-{n}")
            count[s] = n + 1
    return found


def links(page: Path) -> list[tuple[int, str]]:
    """(line, target) of the page's Markdown links and images, and HTML src= and href=, outside code."""
    text = "\n".join(line for _, line in prose_lines(page))
    numbers = [n for n, _ in prose_lines(page)]
    text = re.sub(r"`[^`\n]*`", lambda m: " " * len(m.group(0)), text)      # code spans are not links
    found = []
    for m in re.finditer(r"\]\(([^)\s]+)\)|\b(?:src|href)=\"([^\"]+)\"", text):
        found.append((numbers[text.count("\n", 0, m.start())], m.group(1) or m.group(2)))
    return found


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_links_and_anchors_resolve(page):
    problems = []
    for line, target in links(page):
        if re.match(r"^[a-z]+:", target):          # https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            problems.append(f"{_name(page)}:{line}: {target}: {path} does not exist")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            problems.append(f"{_name(page)}:{line}: {target}: no heading #{anchor} in {file.name}")
    expect(problems, page)


SEPARATOR = re.compile(r"^\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")


def cells(row: str) -> int:
    """Cells of a table row: unescaped pipes split cells (inside code spans too, as on GitHub)."""
    inner = row.strip()
    inner = inner[1:] if inner.startswith("|") else inner
    inner = inner[:-1] if inner.endswith("|") and not inner.endswith("\\|") else inner
    return len(re.split(r"(?<!\\)\|", inner))


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_tables_render(page):
    problems = []
    lines = prose_lines(page)
    for k in range(len(lines) - 1):
        (n, header), (_, separator) = lines[k], lines[k + 1]
        if not (header.lstrip().startswith("|") and SEPARATOR.match(separator) and "-" in separator):
            continue
        if cells(header) != cells(separator):
            problems.append(f"{_name(page)}:{n}: the header has {cells(header)} cells, the separator row "
                            f"{cells(separator)}")
        end = k + 2
        while end < len(lines) and lines[end][1].lstrip().startswith("|"):
            end += 1
        if end < len(lines) and lines[end][1].strip() and lines[end][0] == lines[end - 1][0] + 1:
            problems.append(f"{_name(page)}:{lines[end][0]}: no blank line after the table (this line becomes a row)")
    expect(problems, page)


def test_the_table_check_counts_escaped_pipes_as_text():
    assert cells("| a | `x \\| y` | c |") == 3
    assert cells("|---|---:|---:|") == 3
    assert cells("| a | b |") == 2


# ------------------------------------------------------------------ generated text

def test_the_parameter_reference_is_generated_from_the_schema():
    text = (DOCS / "campaigns.md").read_text()
    start = text.index("<!-- reference: the output of nanomc.campaign.schema.reference_markdown() -->")
    end = text.index("<!-- end of reference -->")
    shown = text[start:end].split("\n", 1)[1].strip()
    assert shown == reference_markdown().strip(), ("regenerate docs/campaigns.md's parameter reference from "
                                                   "nanomc.campaign.schema")


def test_the_index_lists_every_page():
    index = (DOCS / "README.md").read_text()
    missing = [p.name for p in DOCS.glob("*.md") if p.name != "README.md" and f"({p.name})" not in index]
    assert not missing, f"docs/README.md does not link {missing}"


def test_the_readme_points_to_the_docs():
    assert "docs/" in README.read_text()[:3000]


def test_the_readme_is_a_front_door():
    lines = len(README.read_text().splitlines())
    assert lines <= README_MAX_LINES, (f"README.md has {lines} lines (at most {README_MAX_LINES}): the manual "
                                       "belongs in docs/")


# ------------------------------------------------------------------ the architecture page

def layout_paths() -> set[str]:
    """The files and directories the layout block of docs/architecture.md names, as repository paths."""
    page = DOCS / "architecture.md"
    block = next(b for b in blocks(page) if b.text.startswith("setup.py"))
    paths, stack = set(), []
    for line in block.text.splitlines():
        spaces = len(line) - len(line.lstrip())
        if not line.strip() or spaces > 8:      # a blank line, or the continuation of a description
            continue
        indent = spaces // 2
        name = line.split()[0].rstrip(",")
        stack = stack[:indent] + [name]
        paths.add("".join(stack).rstrip("/"))
    return paths


def test_the_architecture_layout_names_every_module_and_kernel():
    listed = layout_paths()
    modules = {str(p.relative_to(ROOT)) for p in (ROOT / "nanomc").rglob("*.py")
               if p.name != "__init__.py" and "_ext" not in p.parts}
    kernels = {str(p.relative_to(ROOT)) for p in (ROOT / "ext").iterdir() if p.suffix in (".pyx", ".pxd")}
    missing = sorted((modules | kernels) - listed)
    assert not missing, f"docs/architecture.md's layout does not name {missing}"
    stale = sorted(p for p in listed if p.startswith(("nanomc/", "ext/")) and not (ROOT / p).exists())
    assert not stale, f"docs/architecture.md's layout names files that do not exist: {stale}"


def test_the_architecture_lists_every_command():
    text = (DOCS / "architecture.md").read_text()
    table = text[text.index("## Command line"):text.index("## Conventions")]
    missing = [c for c in _subcommands() if f"`nanomc {c}`" not in table]
    assert not missing, f"docs/architecture.md's command table lacks {missing}"

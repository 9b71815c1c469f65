"""The README's family index and the docs stay true to the code.

The lists come from the code, never from this file: the generative families
from `genpipe.config.family_names()` (the registry's own discovery), the
pipelines from the packages under `genpipe.pipelines`, and the models of the
`gnn` and `rl` pipelines from their `MODELS` / `ALGORITHMS` constants. A new
family or pipeline fails here until the index has its row (and its docs page
names it); a renamed module, parameters file, test file or DVC stage fails
until the row follows. Reads files only: no Kedro, no torch.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml

from genpipe.config import family_names
from tests.conftest import ROOT

README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = [*sorted(DOCS.glob("*.md")), README, ROOT / "notebooks" / "README.md"]
README_LIMIT = 12 * 1024  # bytes (issue 20: "README ≤ 12 KB")
# Pipelines whose models are namespaces of one template: (module, constant).
MODEL_CONSTANTS = {"gnn": "MODELS", "rl": "ALGORITHMS"}
# Sentences that went stale in the old README (issue 20); none may come back.
STALE = (
    "plug into the same pieces next",
    "shared with the tabular pipelines to come",
    "runs all four",
)

CODE_FENCE = re.compile(r"^\s*(```|~~~)")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
SEPARATOR = re.compile(r"^\|(\s*:?-+:?\s*\|)+\s*$")
TICKED = re.compile(r"`([^`]+)`")


def _prose_lines(path: Path) -> list[str]:
    """The file's lines with fenced code blocks blanked out."""
    lines, fenced = [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        if CODE_FENCE.match(line):
            fenced = not fenced
            lines.append("")
        else:
            lines.append("" if fenced else line)
    return lines


def _cells(line: str) -> list[str]:
    """The cells of a markdown table row (`\\|` is a literal bar)."""
    parts = re.split(r"(?<!\\)\|", line.strip())
    return [cell.strip() for cell in parts[1:-1]]


def _section(name: str) -> list[str]:
    """The README's lines under `## <name>`, up to the next `## `."""
    lines = _prose_lines(README)
    start = lines.index(f"## {name}") + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("## ")),
               len(lines))
    return lines[start:end]


def _index() -> list[dict[str, str | list[str]]]:
    """Every row of the family index's tables, as {column: cell}; each column
    whose header names a folder (`src/genpipe/models/`) gets `<column>:root`."""
    rows, header = [], None
    for line in _section("Family index"):
        if not line.startswith("|"):
            header = None
            continue
        cells = _cells(line)
        if header is None:
            header = cells
            continue
        if SEPARATOR.match(line):
            continue
        row: dict = {"names": TICKED.findall(cells[0])}
        for title, cell in zip(header[1:], cells[1:], strict=True):
            key = title.split(" (")[0]
            roots = TICKED.findall(title)
            row[key] = cell
            row[f"{key}:root"] = roots[0] if roots else None
        rows.append(row)
    return rows


def _required_names() -> set[str]:
    packages = {p.name for p in (ROOT / "src" / "genpipe" / "pipelines").iterdir()
                if p.is_dir() and not p.name.startswith(("_", "."))}
    models: set[str] = set()
    for package, constant in MODEL_CONSTANTS.items():
        path = ROOT / "src" / "genpipe" / "pipelines" / package / "pipeline.py"
        body = ast.parse(path.read_text()).body
        values = [ast.literal_eval(node.value) for node in body
                  if isinstance(node, ast.Assign)
                  and any(getattr(t, "id", None) == constant for t in node.targets)]
        assert values, f"{path} has no {constant}: update MODEL_CONSTANTS"
        models |= set(values[0])
    return set(family_names()) | packages | models


def _parameter_blocks() -> dict[str, str]:
    """Top-level parameters block -> the `conf/base/` file that holds it."""
    blocks = {}
    for path in sorted((ROOT / "conf" / "base").glob("parameters*.yml")):
        for key in yaml.safe_load(path.read_text()) or {}:
            blocks[key] = path.name
    return blocks


def _dvc_stages() -> set[str]:
    """Every stage name of dvc.yaml, `name@item` for foreach stages."""
    stages = set()
    dvc = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    for name, stage in dvc["stages"].items():
        items = stage.get("foreach")
        if items is None:
            stages.add(name)
        else:
            stages |= {f"{name}@{item}" for item in items}
    return stages


def _row_of(name: str) -> dict:
    rows = [row for row in _index() if name in row["names"]]
    assert len(rows) == 1, f"{name!r} is in {len(rows)} rows of the README's index"
    return rows[0]


def test_the_index_has_a_row_for_every_family_and_pipeline():
    listed = {name for row in _index() for name in row["names"]}
    missing = _required_names() - listed
    assert not missing, (f"add rows for {sorted(missing)} to the README's family "
                         "index (and a section to their docs page)")


def test_every_path_in_the_index_exists():
    checked = 0
    for row in _index():
        for key, root in row.items():
            if not key.endswith(":root") or root is None:
                continue
            for path in TICKED.findall(row[key.removesuffix(":root")]):
                assert (ROOT / root / path).exists(), (
                    f"index row {row['names']}: {root}{path} does not exist")
                checked += 1
    assert checked > 3 * len(family_names())


@pytest.mark.parametrize("env", ["base", "ci", "gpu"])
def test_each_family_block_is_alone_in_its_own_file(env):
    """One hop from a family's name: `<f>:` lives in `conf/<env>/parameters_<f>.yml`."""
    families = set(family_names())
    for path in sorted((ROOT / "conf" / env).glob("parameters*.yml")):
        blocks = set(yaml.safe_load(path.read_text()) or {})
        here = blocks & families
        if here:
            assert [path.name] == [f"parameters_{f}.yml" for f in here], (
                f"conf/{env}/{path.name} holds {sorted(here)}")
            assert blocks == here, f"conf/{env}/{path.name} also holds {blocks - here}"


@pytest.mark.parametrize("family", family_names())
def test_a_family_row_names_its_module_parameters_stage_and_page(family):
    row = _row_of(family)
    assert TICKED.findall(row["model"]) == [f"generative/{family}.py"]
    assert TICKED.findall(row["parameters"]) == [_parameter_blocks()[family]], (
        f"the `{family}:` block is in {_parameter_blocks()[family]}")
    stages = TICKED.findall(row["outputs"])
    assert stages and set(stages) <= _dvc_stages(), f"{stages} not in dvc.yaml"
    assert any(stage.split("@")[-1] == family for stage in stages)
    pages = LINK.findall(row["docs"])
    assert pages, f"index row {family!r} links no docs page"
    page = (README.parent / pages[0].split("#")[0]).read_text(encoding="utf-8")
    assert f"`{family}`" in page, f"{pages[0]} does not mention `{family}`"


def test_pipeline_rows_name_their_parameters_and_stages():
    blocks, stages = _parameter_blocks(), _dvc_stages()
    for row in _index():
        files = set(TICKED.findall(row["parameters"]))
        for name in row["names"]:
            if name in blocks:
                assert blocks[name] in files, (
                    f"index row {row['names']}: `{name}:` is in {blocks[name]}")
        assert set(TICKED.findall(row["outputs"])) <= stages, row["names"]
        assert LINK.findall(row["docs"]), f"index row {row['names']} links no page"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_and_anchors_resolve(page):
    for number, line in enumerate(_prose_lines(page), 1):
        for target in LINK.findall(re.sub(r"`[^`]*`", "", line)):
            if re.match(r"^[a-z]+:", target):  # http:, https:, mailto:
                continue
            path, _, anchor = target.partition("#")
            resolved = (page.parent / path) if path else page
            where = f"{page.relative_to(ROOT)}:{number}: {target}"
            assert resolved.exists(), f"{where} does not exist"
            if anchor and resolved.suffix == ".md":
                assert anchor in _anchors(resolved), f"{where}: no such heading"


def _anchors(path: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces -> '-'."""
    return {re.sub(r"[^\w\- ]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
            for line in _prose_lines(path) if line.startswith("#")}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_table_starts_with_a_header_and_separator(page):
    lines = _prose_lines(page)
    for i, line in enumerate(lines):
        starts = line.startswith("|") and not lines[i - 1].startswith("|")
        if starts:
            where = f"{page.relative_to(ROOT)}:{i + 1}"
            assert i + 1 < len(lines) and SEPARATOR.match(lines[i + 1]), (
                f"{where}: a table without a header row (a blank line inside it?)")
            assert len(_cells(lines[i + 1])) == len(_cells(line)), where


def test_every_docs_page_is_linked_from_the_readme():
    linked = {(README.parent / target.split("#")[0]).resolve()
              for line in _prose_lines(README) for target in LINK.findall(line)}
    unlinked = [p.name for p in DOCS.glob("*.md") if p.resolve() not in linked]
    assert not unlinked, f"link {unlinked} from the README's Documentation table"


def test_readme_is_short_and_keeps_its_commands():
    text = README.read_text(encoding="utf-8")
    assert len(text.encode("utf-8")) <= README_LIMIT
    for command in ("make run", "make test", "kedro run --env ci --pipelines",
                    "make mlflow-ui", "make viz"):
        assert command in text, command


def test_no_stale_sentence_comes_back():
    for page in PAGES:
        text = " ".join(page.read_text(encoding="utf-8").split())
        for sentence in STALE:
            assert sentence not in text, f"{page.name}: {sentence!r}"

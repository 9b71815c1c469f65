"""The layer rule (docs/STYLE "Layers and layout"): every import points down.

Read from the source with `ast` (nothing is imported), every `genpipe` module
belongs to one unit, and each unit to one tier:

    app         Kedro wiring: settings, hooks, registry, CLI, datasets, preflight
    pipelines   one unit per `pipelines/<name>/` package (Kedro glue)
    library     evaluation, explain, tuning, automl, rl, bayes, theory
    models      the networks and generative families
    engine      diffusion, training, data
    utilities   io, plots, checks, tracking, distributed, timings
    schema      `genpipe.config` and the pydantic-only `<package>/config.py`

A module may import its own unit and any unit of a lower tier; never a unit of
its own tier (no two library packages import each other) or of a higher one.
Between pipelines, one `pipeline.py` may compose another pipeline's node set
(Kedro's modular pipelines); no pipeline imports another pipeline's nodes.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "genpipe"
TESTS = ROOT / "tests"

TIERS: tuple[tuple[str, frozenset[str]], ...] = (
    ("app", frozenset({"app"})),
    ("pipelines", frozenset()),  # every `pipelines.<name>`
    ("library", frozenset({"evaluation", "explain", "tuning", "automl", "rl",
                           "bayes", "theory"})),
    ("models", frozenset({"models"})),
    ("engine", frozenset({"diffusion", "training", "data"})),
    ("utilities", frozenset({"io", "plots", "checks", "tracking", "distributed",
                             "timings"})),
    ("schema", frozenset({"schema"})),
)
APP = {"__init__", "__main__", "settings", "hooks", "pipeline_registry", "cli",
       "datasets", "preflight"}
# Packages whose `config.py` is part of the schema `genpipe.config` assembles.
SCHEMA_PACKAGES = {"bayes", "rl", "theory", "tuning"}
NO_KEDRO = {"library", "models", "engine", "schema"}


def module_name(path: Path, root: Path = PACKAGE) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(name: str, root: Path = PACKAGE) -> bool:
    relative = Path(*name.split(".")[1:])
    base = root / relative
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the imported module (a submodule when `from a import b` names one)
    line: int
    top_level: bool  # at module level (not inside a function)


def imports(path: Path, root: Path = PACKAGE) -> list[Import]:
    """Every import of `path` into the package of `root`, resolved to a module."""
    source = module_name(path, root)
    package = source if path.name == "__init__.py" else source.rpartition(".")[0]
    tree = ast.parse(path.read_text(), str(path))
    nested = {id(node) for scope in ast.walk(tree)
              if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef))
              for node in ast.walk(scope)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            targets = [f"{base}.{alias.name}" if is_module(f"{base}.{alias.name}", root)
                       else base for alias in node.names]
        else:
            continue
        found += [Import(source, target, node.lineno, id(node) not in nested)
                  for target in dict.fromkeys(targets)
                  if target.split(".")[0] == root.name]
    return found


def unit(module: str) -> str:
    parts = module.split(".")[1:]
    if not parts or parts[0] in APP:
        return "app"
    if parts[0] == "pipelines" and len(parts) > 1:
        return f"pipelines.{parts[1]}"
    if parts == ["config"] or (parts[0] in SCHEMA_PACKAGES and parts[1:] == ["config"]):
        return "schema"
    return parts[0]


def tier(unit_name: str) -> int:
    if unit_name.split(".")[0] == "pipelines":
        return 1
    for index, (_, units) in enumerate(TIERS):
        if unit_name in units:
            return index
    raise AssertionError(f"genpipe.{unit_name} is in no tier: add it to TIERS")


def violation(edge: Import) -> str | None:
    """Why `edge` breaks the rule, or None."""
    source, target = unit(edge.source), unit(edge.target)
    where = f"{edge.source} (line {edge.line}) imports {edge.target}"
    if source == target:
        return None
    if source.startswith("pipelines.") and target.startswith("pipelines."):
        if edge.target.endswith(".nodes") or not edge.source.endswith(".pipeline"):
            return (f"{where}: a pipeline imports no other pipeline's nodes; move "
                    "the shared code down into a library module")
        return None
    if tier(target) <= tier(source):
        return (f"{where}: `{source}` ({TIERS[tier(source)][0]}) may import only "
                f"lower tiers, not `{target}` ({TIERS[tier(target)][0]})")
    return None


def package_modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def all_imports() -> list[Import]:
    return [edge for path in package_modules() for edge in imports(path)]


def test_every_module_has_a_tier():
    for path in package_modules():
        tier(unit(module_name(path)))


def test_imports_point_down():
    problems = [problem for edge in all_imports() if (problem := violation(edge))]
    assert not problems, "\n".join(problems)


def test_the_rule_catches_upward_and_sideways_imports():
    """The checker itself: an upward, a sideways and a cross-pipeline import."""
    def edge(source: str, target: str) -> Import:
        return Import(source, target, 1, True)

    assert violation(edge("genpipe.models.generative.cgan",
                          "genpipe.evaluation.scoring"))
    assert violation(edge("genpipe.training.engine", "genpipe.diffusion.schedule"))
    assert violation(edge("genpipe.config", "genpipe.tuning.study"))
    assert violation(edge("genpipe.pipelines.gnn_tuning.nodes",
                          "genpipe.pipelines.gnn.nodes"))
    assert violation(edge("genpipe.pipelines.report.pipeline",
                          "genpipe.pipelines.evaluation.nodes"))
    assert not violation(edge("genpipe.pipelines.generative.pipeline",
                              "genpipe.pipelines.evaluation.pipeline"))
    assert not violation(edge("genpipe.evaluation.extractor",
                              "genpipe.models.mnist_classifier"))
    assert not violation(edge("genpipe.config", "genpipe.rl.config"))


def test_relative_and_submodule_imports_resolve(tmp_path):
    package = tmp_path / "genpipe"
    (package / "sub").mkdir(parents=True)
    for name in ("__init__.py", "plots.py", "sub/__init__.py", "sub/a.py"):
        (package / name).write_text("")
    (package / "sub" / "b.py").write_text(
        "from genpipe import plots\nfrom . import a\nfrom ..sub.a import x\n"
        "def f():\n    import genpipe.sub\n")
    found = {(edge.target, edge.top_level)
             for edge in imports(package / "sub" / "b.py", package)}
    assert found == {("genpipe.plots", True), ("genpipe.sub.a", True),
                     ("genpipe.sub", False)}


def test_library_code_never_imports_kedro():
    offenders = []
    for path in package_modules():
        module = module_name(path)
        if TIERS[tier(unit(module))][0] not in NO_KEDRO:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([alias.name for alias in node.names]
                     if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{module} (line {node.lineno}) imports {name}"
                          for name in names if name.split(".")[0] == "kedro"]
    assert not offenders, "\n".join(offenders)


CLASS_BASES = ("Callback", "LightningModule", "Module", "LightningDataModule")


def test_pipelines_define_no_networks_or_callbacks():
    """Kedro glue only: Lightning callbacks and torch modules live in the library."""
    offenders = []
    for path in sorted((PACKAGE / "pipelines").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ClassDef):
                continue
            bases = [ast.unparse(base).rpartition(".")[2] for base in node.bases]
            offenders += [f"{module_name(path)}.{node.name} subclasses {base}"
                          for base in bases if base in CLASS_BASES]
    assert not offenders, "\n".join(offenders)


@pytest.mark.parametrize("module", ["genpipe.config"])
def test_the_schema_imports_no_heavy_libraries(module):
    """Every `kedro run` validates its parameters with the schema: it must not
    pull in optuna, SQLAlchemy, MLflow, torch or Lightning to do so."""
    heavy = ["optuna", "sqlalchemy", "mlflow", "torch", "lightning",
             "torch_geometric"]
    code = (f"import sys, {module}\n"
            f"print(' '.join(m for m in {heavy!r} if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True,
                            text=True, check=True, cwd=ROOT)
    loaded = result.stdout.split()
    assert not loaded, f"import {module} loads {', '.join(loaded)}"


def test_no_test_module_imports_another_test_module():
    """Tests share helpers through `conftest.py` and `tests/helpers/` only."""
    offenders = [f"{edge.source} (line {edge.line}) imports {edge.target}: move "
                 "what it shares to tests/helpers/"
                 for path in sorted(TESTS.rglob("*.py"))
                 for edge in imports(path, TESTS)
                 if edge.target.rpartition(".")[2].startswith("test_")]
    assert not offenders, "\n".join(offenders)


def test_every_test_folder_is_a_package():
    """Without `__init__.py`, pytest imports a folder's modules by their bare
    names, and two `test_config.py` in different folders collide."""
    missing = [str(folder.relative_to(ROOT)) for folder in sorted(TESTS.rglob("*"))
               if folder.is_dir() and folder.name != "__pycache__"
               and any(folder.glob("*.py")) and not (folder / "__init__.py").exists()]
    assert not missing, f"no __init__.py in {', '.join(missing)}"

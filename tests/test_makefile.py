"""`make pull` on a fresh clone whose default DVC remote is missing: one line
naming the remote and the alternative (`make repro`), not DVC's ~140."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_pull_without_its_remote_says_so_in_one_line(tmp_path):
    clone = tmp_path / "clone"
    (clone / ".dvc").mkdir(parents=True)
    shutil.copy2(ROOT / "Makefile", clone / "Makefile")
    shutil.copy2(ROOT / ".dvc" / "config", clone / ".dvc" / "config")
    result = subprocess.run(
        ["make", "-o", "install", "pull", f"BIN={Path(sys.executable).parent}"],
        cwd=clone, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines()
             if not line.startswith("make")]
    assert len(lines) == 1, result.stderr
    assert "default DVC remote" in lines[0] and "not exist" in lines[0]
    assert "make repro" in lines[0]


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_results_doc_prints_the_run_commit_text_and_runs_none_of_it(tmp_path):
    clone = tmp_path / "clone"
    report = clone / "data" / "ci" / "08_reporting" / "report"
    report.mkdir(parents=True)
    (report / "trilemma.md").write_text("| family |\n|---|\n| vae |\n")
    (report / "trilemma.png").write_bytes(b"png")
    shutil.copy2(ROOT / "Makefile", clone / "Makefile")
    text = "abc1234, `touch ran_backticks` and $(touch ran_dollar) 'quoted'"
    result = subprocess.run(  # make reads `$$` as `$`
        ["make", "results-doc", "ENV=ci", f"RUN_COMMIT={text.replace('$', '$$')}"],
        cwd=clone, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert not any(clone.glob("ran_*"))
    written = (clone / "docs" / "results.md").read_text()
    assert f"at commit {text}, copied verbatim" in written
    assert written.endswith("| vae |\n")

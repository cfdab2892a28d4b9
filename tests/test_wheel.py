"""The package works outside the repository: a wheel built from the sources, installed into a fresh venv and run from
another directory finds its bank and prompts (carried inside the wheel), builds its index and grades.

The fresh venv gets only the wheel; the project venv's site-packages is added through a .pth file so the
dependencies resolve without a download. Building, indexing 800+ chunks with e5 and grading take a few minutes."""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from interviewer.bank import load_bank

from .conftest import KNOWLEDGE, ROOT

pytestmark = pytest.mark.slow

SOURCES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "interviewer", "knowledge", "prompts")


def run(cmd: list, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kwargs)
    assert done.returncode == 0, f"{cmd}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The venv's bin folder, with the wheel installed and nothing else."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"  # a clean copy: no stale build/ folder or egg-info of the working tree leaks into the wheel
    src.mkdir()
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "bundled"))
        else:
            shutil.copy(path, src / name)
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--quiet",
            "--disable-pip-version-check",
            "-w",
            tmp / "dist",
            f"{src}{os.sep}",
        ]
    )  # a path, never a name pip could look up on an index
    wheel = next((tmp / "dist").glob("interviewer-*.whl"))

    venv = tmp / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", venv])
    python = venv / "bin" / "python"
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            python,
            "install",
            "--no-deps",
            "--quiet",
            "--disable-pip-version-check",
            wheel,
        ]
    )
    site = Path(run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    (site / "project-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    return venv / "bin"


@pytest.fixture()
def env(tmp_path) -> dict:
    keep = {k: v for k, v in os.environ.items() if not k.startswith("INTERVIEWER_")}
    return {**keep, "INTERVIEWER_DATA_DIR": str(tmp_path / "data"), "INTERVIEWER_CONFIG": str(tmp_path / "absent.toml")}


def test_the_installed_package_reads_the_bank_and_prompts_it_carries(installed, env, tmp_path):
    probe = (
        "import interviewer, json; from interviewer.settings import Settings; s = Settings(); "
        "print(json.dumps([interviewer.__file__, str(s.knowledge_dir), str(s.prompts_dir)]))"
    )
    module, knowledge, prompts = json.loads(run([installed / "python", "-c", probe], env=env, cwd=tmp_path).stdout)
    package = Path(module).parent
    assert package.is_relative_to(installed.parent)  # the wheel's copy, not the working tree
    assert Path(knowledge) == package / "bundled" / "knowledge"
    assert sorted(p.name for p in Path(prompts).glob("*.j2")) == sorted(p.name for p in (ROOT / "prompts").glob("*.j2"))

    n = len(load_bank(KNOWLEDGE))
    done = run([installed / "interviewer", "bank", "check"], env=env, cwd=tmp_path)
    assert f"질문 {n}개" in done.stdout


def test_the_installed_package_indexes_and_grades_from_another_directory(installed, env, tmp_path):
    run([installed / "interviewer", "index"], env=env, cwd=tmp_path)
    assert (tmp_path / "data" / "index").is_dir()
    answer = "드롭아웃은 학습 중 뉴런을 무작위로 꺼서 공동 적응을 막고, 추론 때는 모든 뉴런을 씁니다."
    done = run([installed / "interviewer", "grade", "-q", "dropout", "-a", answer, "--json"], env=env, cwd=tmp_path)
    result = json.loads(done.stdout)
    assert result["question_id"] == "dropout" and 0 <= result["score"] <= 5 and result["key_points"]

"""Build step that pyproject.toml cannot express: the wheel carries knowledge/ and prompts/.

They stay at the repository root (the bank is data anyone edits, not code), and an editable install reads them there.
A built wheel gets a copy inside the package, interviewer/bundled/{knowledge,prompts}, which `Settings` falls back to
(through importlib.resources) when the repository's folders are not beside the package."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
BUNDLED = ("knowledge", "prompts")


class BuildPyWithData(build_py):
    def run(self):
        super().run()
        if self.editable_mode:  # an editable install reads the repository's folders in place
            return
        for name in BUNDLED:
            target = Path(self.build_lib, "interviewer", "bundled", name)
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(ROOT / name, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".*"))

    def get_outputs(self, include_bytecode=True):
        outputs = list(super().get_outputs(include_bytecode))
        if not self.editable_mode:
            for name in BUNDLED:
                root = Path(self.build_lib, "interviewer", "bundled", name)
                outputs += [str(p) for p in root.rglob("*") if p.is_file()]
        return outputs


setup(cmdclass={"build_py": BuildPyWithData})

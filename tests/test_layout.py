"""The repository's layout must not shadow other distributions' top-level modules.

The product card keeps kernel sources in a top-level ``kernels/`` folder, shipped as
``structgen.kernels``.  Hugging Face's ``kernels`` distribution (a dependency of current
transformers) is imported as the top-level module ``kernels``: if the checkout's folder
resolved under that name, transformers would import our folder instead and fail
(``cannot import name 'CUDAProperties' from 'kernels'``).  See docs/architecture.md,
"Layout and import names".
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
KERNELS_DIR = ROOT / "kernels"

_FIND = (
    "import importlib.util as u; s = u.find_spec('kernels'); "
    "print(s.origin if s else None); print(*(s.submodule_search_locations or []) if s else [], sep='\\n')"
)


def _points_at_our_folder(paths: list[str | None]) -> bool:
    for p in paths:
        if not p:
            continue
        resolved = Path(p).resolve()
        if resolved == KERNELS_DIR or KERNELS_DIR in resolved.parents:
            return True
    return False


def _hf_kernels_installed() -> bool:
    from importlib.metadata import PackageNotFoundError, version

    try:
        version("kernels")
    except PackageNotFoundError:
        return False
    return True


def test_kernels_in_this_process_is_not_our_folder() -> None:
    spec = importlib.util.find_spec("kernels")
    if spec is None:
        return
    assert not _points_at_our_folder([spec.origin, *(spec.submodule_search_locations or [])]), spec


@pytest.mark.parametrize("cwd", ["root", "elsewhere"])
def test_kernels_from_a_plain_interpreter_is_not_our_folder(cwd: str, tmp_path: Path) -> None:
    """``python -c`` (and ``python -m pytest``) put the working directory first on
    ``sys.path``; from the checkout's root our folder is then a namespace-package
    portion, which loses to any regular package of that name -- Hugging Face's, which
    transformers requires.  It would win if the folder had an ``__init__.py``."""
    if cwd == "root" and not _hf_kernels_installed():
        pytest.skip("Hugging Face's 'kernels' is not installed, so transformers never imports "
                    "a top-level 'kernels' (its check reads the distribution's metadata)")
    out = subprocess.run([sys.executable, "-c", _FIND], cwd=ROOT if cwd == "root" else tmp_path,
                         capture_output=True, text=True, check=True).stdout.splitlines()
    assert not _points_at_our_folder(out), out


def test_kernel_folder_is_no_regular_package() -> None:
    assert KERNELS_DIR.is_dir()
    assert not (KERNELS_DIR / "__init__.py").exists()


def test_wheel_ships_kernels_only_under_structgen() -> None:
    tomllib = pytest.importorskip("tomllib")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert all(p == "structgen" or p.startswith("structgen.") for p in config["packages"])
    assert config["package-dir"]["structgen.kernels"] == "kernels"


def test_kernels_ship_as_structgen_kernels() -> None:
    from structgen.kernels import bitmask_cpu

    assert Path(bitmask_cpu.__file__).resolve().parent == KERNELS_DIR

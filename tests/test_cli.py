"""The `vlagent` CLI starts, and the runtime path imports no torch."""

import shutil
import subprocess
import sys

import pytest

from tests.notorch import run_without_torch
from vlagent.agent import __version__

RUNTIME_MODULES = ["vlagent.agent.cli", "vlagent.agent.actions", "vlagent.agent.interfaces", "vlagent.perception.coords", "vlagent.perception.grounding",
                   "vlagent.perception.frame"]


def test_help_works_with_torch_unimportable():
    result = run_without_torch(
        """
        import sys
        from vlagent.agent.cli import main
        sys.argv = ["vlagent", "--help"]
        try:
            main()
        except SystemExit as exit:
            assert exit.code in (0, None), exit.code
        assert "torch" not in sys.modules
        """
    )
    assert result.returncode == 0, result.stderr
    assert "version" in result.stdout
    assert "Usage" in result.stdout


def test_version_command_via_console_script():
    executable = shutil.which("vlagent")
    if executable is None:
        pytest.fail("the vlagent console script is not installed: run pip install -e .")
    result = subprocess.run([executable, "version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"vlagent {__version__}"


def test_module_entry_point():
    result = subprocess.run([sys.executable, "-m", "vlagent.agent.cli", "version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and __version__ in result.stdout


def test_unknown_command_fails_with_usage():
    result = subprocess.run([sys.executable, "-m", "vlagent.agent.cli", "teleport"], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "teleport" in result.stderr or "teleport" in result.stdout


@pytest.mark.parametrize("module", RUNTIME_MODULES)
def test_runtime_modules_do_not_import_torch(module):
    result = run_without_torch(f"import importlib, sys; importlib.import_module({module!r}); assert 'torch' not in sys.modules")
    assert result.returncode == 0, result.stderr

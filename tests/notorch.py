"""Run Python code in a subprocess where `import torch` (and transformers) fails.

Used to prove that the runtime path never imports torch: a blocked import raises
ImportError, exactly what a user without the export extra would see. The blocker is
tests/notorch_site/sitecustomize.py, put first on PYTHONPATH, so every process the code
starts (a demo's children, a server) is blocked too.
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

SITE = Path(__file__).resolve().parent / "notorch_site"


def env_without_torch(env: dict | None = None) -> dict:
    """`env` (default: this process's) with the torch blocker first on PYTHONPATH."""
    env = dict(os.environ if env is None else env)
    env["PYTHONPATH"] = os.pathsep.join([str(SITE), *filter(None, [env.get("PYTHONPATH")])])
    return env


def run_without_torch(code: str, *args: str, timeout: float = 300, cwd=None) -> subprocess.CompletedProcess:
    """Run `code` with torch unimportable; returns the completed process (text output)."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd, env=env_without_torch())

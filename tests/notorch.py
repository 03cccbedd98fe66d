"""Run Python code in a subprocess where `import torch` (and transformers) fails.

Used to prove that the runtime path never imports torch: a blocked import raises
ImportError, exactly what a user without the export extra would see.
"""

import subprocess
import sys
import textwrap

BLOCKER = textwrap.dedent(
    """
    import sys
    class _BlockTorch:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("torch", "transformers"):
                raise ImportError(f"{name} is blocked: the runtime path must not import it")
            return None
    sys.meta_path.insert(0, _BlockTorch())
    """
)


def run_without_torch(code: str, *args: str, timeout: float = 300, cwd=None) -> subprocess.CompletedProcess:
    """Run `code` with torch unimportable; returns the completed process (text output)."""
    script = BLOCKER + "\n" + textwrap.dedent(code)
    return subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=timeout, cwd=cwd
    )

"""Layering: the simulator is the far side of the device boundary and must not know the agent.

Every .py file under sim/ is parsed with `ast` (nothing is imported or run) and may not import
`vlagent.agent`, `vlagent.policies` or `vlagent.actuators`, at the top or inside a function.
The phone takes device input; `vlagent.actuators.sim` maps Actions onto it.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SIM = ROOT / "sim"
FORBIDDEN = ("vlagent.agent", "vlagent.policies", "vlagent.actuators")


def _imported_modules(tree: ast.AST, module: str) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in `tree`, relative ones resolved against `module`."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".")[:-node.level]
                base = ".".join(package + ([base] if base else []))
            found += [(node.lineno, base)] + [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def _forbidden(name: str) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in FORBIDDEN)


SIM_FILES = sorted(SIM.rglob("*.py"))


def test_there_are_sim_files_to_check():
    assert len(SIM_FILES) > 20 and SIM / "phone" / "phone.py" in SIM_FILES


@pytest.mark.parametrize("path", SIM_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_sim_imports_nothing_from_the_agent_side(path):
    module = "vlagent." + ".".join(path.relative_to(ROOT).with_suffix("").parts)
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    bad = [f"line {line}: {name}" for line, name in _imported_modules(tree, module) if _forbidden(name)]
    assert not bad, f"{path.relative_to(ROOT)} imports the agent side: {bad}"


def test_the_check_sees_absolute_relative_and_nested_imports():
    source = ("import vlagent.agent.actions\n"
              "def f():\n    from vlagent.policies import oracle\n"
              "from ...actuators import sim\n"
              "from vlagent.perception.coords import Scale\n")
    names = [name for _, name in _imported_modules(ast.parse(source), "vlagent.sim.phone.phone")]
    assert sorted(n for n in names if _forbidden(n)) == ["vlagent.actuators", "vlagent.actuators.sim",
                                                         "vlagent.agent.actions", "vlagent.policies",
                                                         "vlagent.policies.oracle"]

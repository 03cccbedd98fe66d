"""The shipped robot grounding package (perception/robot_model): intact, trained record, both shipped
packages within 25 MB together, and the held-out bars measured on the ONNX package with torch blocked:
grounding on robot frames >= 90% (centre in box), "not visible" >= 90% for objects not in view."""

import importlib.util
import json

import pytest

from tests.notorch import run_without_torch
from vlagent.perception.export.manifest import read_manifest, verify_package
from vlagent.perception.robot_model import path

MAX_BYTES = 25 * 2**20
BAR = 0.9
N = 100

SCORE = f"""
import json, os, sys
os.environ.setdefault("MUJOCO_GL", "osmesa")
from vlagent.perception.robot_model import path
from vlagent.perception.train.robot import evaluate_robot_package
figures = evaluate_robot_package(path(), {N})
assert "torch" not in sys.modules
print(json.dumps(figures))
"""


def test_robot_package_is_complete_records_its_training_and_both_packages_fit_25_mb():
    from vlagent.perception.demo_model import path as phone_path

    total = 0
    for package in (path(), phone_path()):
        manifest = read_manifest(package)
        verify_package(package, manifest)
        total += sum(e["bytes"] for e in manifest["files"].values())
    assert total <= MAX_BYTES, total
    training = json.loads((path() / "training.json").read_text())
    assert read_manifest(path())["training"] == training
    assert "train-robot" in training["command"] and training["eval"]["robot_present_n"] == 200
    assert training["eval"]["robot_grounding_accuracy"] >= BAR and training["eval"]["robot_not_visible_accuracy"] >= BAR


@pytest.mark.skipif(importlib.util.find_spec("mujoco") is None, reason="held-out frames need mujoco")
def test_held_out_robot_grounding_and_not_visible_at_the_bar_without_torch():
    done = run_without_torch(SCORE, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["robot_present_n"] == N and figures["robot_absent_n"] == N
    assert figures["robot_grounding_accuracy"] >= BAR, figures
    assert figures["robot_not_visible_accuracy"] >= BAR, figures
    assert figures["robot_format_validity"] >= BAR, figures

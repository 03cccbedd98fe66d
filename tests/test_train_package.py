"""The shipped demo package (perception/demo_model): intact, trained record, and the CI grounding bar."""

import json

import pytest

from tests.notorch import run_without_torch
from vlagent.perception.demo_model import path
from vlagent.perception.export.manifest import read_manifest, verify_package

MAX_BYTES = 25 * 2**20
CI_BAR = 0.85  # the CI bar: grounding accuracy on 50 held-out screens

SCORE = """
import json, sys
from vlagent.perception.demo_model import path
from vlagent.perception.train.evaluate import evaluate, held_out_grounding
from vlagent.perception.train.final import engine_generator
engine, generate = engine_generator(path())
figures = evaluate(generate, held_out_grounding(50, engine.processor))
assert "torch" not in sys.modules
print(json.dumps(figures))
"""


def test_shipped_package_is_complete_small_and_records_its_training():
    package = path()
    manifest = read_manifest(package)
    verify_package(package, manifest)
    assert sum(e["bytes"] for e in manifest["files"].values()) <= MAX_BYTES
    training = json.loads((package / "training.json").read_text())
    assert manifest["training"] == training
    assert {"command", "seed", "minutes", "eval"} <= set(training)
    assert "train-demo" in training["command"]


@pytest.fixture(scope="module")
def shipped_figures():
    done = run_without_torch(SCORE, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_shipped_package_runs_without_torch_and_answers_in_format(shipped_figures):
    assert shipped_figures["grounding_n"] == 50
    assert shipped_figures["format_validity"] >= 0.9


def test_shipped_package_grounds_at_the_ci_bar(shipped_figures):
    assert shipped_figures["grounding_accuracy"] >= CI_BAR

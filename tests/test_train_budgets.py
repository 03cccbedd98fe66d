"""Training across budgets and screen sizes: the varied-size pool, per-batch budgets, the recipe."""

import json
import random

import numpy as np
import pytest

from vlagent.perception.processor import ImageProcessor
from vlagent.perception.tokenizer import build_small_tokenizer
from vlagent.perception.train.batch import collate
from vlagent.perception.train.loop import Sampler
from vlagent.perception.train.recipe import Recipe, budget_pixels, model_config
from vlagent.perception.train.screens import (
    PHONE_LANDSCAPE,
    PHONE_PORTRAIT,
    TABLET,
    ScreenPool,
    at_budget,
    render_screen,
    screen_geometry,
)

BIG = ImageProcessor(max_pixels=budget_pixels(512), threads=1)


def test_geometry_mix_covers_phones_landscape_and_tablets():
    picks = [screen_geometry(seed) for seed in range(5_000_000, 5_000_400)]
    share = {g: picks.count(g) / len(picks) for g in (PHONE_PORTRAIT, PHONE_LANDSCAPE, TABLET)}
    assert sum(share.values()) == 1.0
    assert 0.4 < share[PHONE_PORTRAIT] < 0.6 and 0.15 < share[PHONE_LANDSCAPE] < 0.35 and 0.15 < share[TABLET] < 0.35
    assert screen_geometry(5_000_007) == screen_geometry(5_000_007)  # a seed always gives one screen


@pytest.mark.parametrize("geometry", [PHONE_LANDSCAPE, TABLET])
def test_varied_size_screens_keep_frame_size_and_boxes(geometry):
    screen = render_screen(5_000_001, BIG, geometry)
    width, height = screen.frame_size
    assert (width > height) == (geometry == PHONE_LANDSCAPE)
    assert screen.image.shape[:2] == BIG.resized_size(height, width)
    assert screen.targets and all(0 <= v <= 1000 for t in screen.targets for v in t.box)
    # the targets' device-px bounds lie on that frame, not on the default phone's
    assert max(t.bounds[2] for t in screen.targets) <= width and max(t.bounds[3] for t in screen.targets) <= height


def test_at_budget_matches_what_the_processor_makes_of_the_full_frame():
    screen = render_screen(5_000_002, BIG, TABLET)
    for tokens in (64, 128, 256):
        small = ImageProcessor(max_pixels=budget_pixels(tokens), threads=1)
        resized = at_budget(screen, small)
        width, height = screen.frame_size
        assert resized.image.shape[:2] == small.resized_size(height, width)
        assert resized.targets is screen.targets
        # the processor then leaves the image as it is: its token count is the budget's
        vision = small.preprocess_image(resized.image)
        assert vision.token_counts[0] == small.num_image_tokens(height, width) <= tokens
    assert at_budget(screen, BIG) is screen


def test_varied_size_pool_round_trips_through_its_cache(tmp_path):
    seeds = range(5_000_010, 5_000_014)
    built = ScreenPool.build(seeds, BIG, tmp_path / "pool", varied_sizes=True)
    loaded = ScreenPool.build(seeds, BIG, tmp_path / "pool", varied_sizes=True)
    assert len(built) == len(loaded) == 4
    for a, b in zip(built.screens, loaded.screens, strict=True):
        assert a.frame_size == b.frame_size and a.targets == b.targets
        np.testing.assert_array_equal(a.image, b.image)
    assert len({s.image.shape for s in loaded.screens}) >= 1
    # a cache made for other sizes is not reused: the same seeds as portrait phones differ
    portrait = ScreenPool.build(seeds, BIG, tmp_path / "pool", varied_sizes=False)
    assert all(s.frame_size == (1080, 2400) for s in portrait.screens)


def test_budget_batches_draw_one_budget_each_and_collate():
    pool = ScreenPool([render_screen(s, ImageProcessor(max_pixels=Recipe().max_pixels, threads=1)) for s in range(3)])
    budget_pool = ScreenPool([render_screen(5_000_020 + i, BIG, g) for i, g in enumerate((PHONE_PORTRAIT, TABLET))])
    processors = {b: ImageProcessor(max_pixels=budget_pixels(b), threads=1) for b in (64, 256, 512)}
    sampler = Sampler(pool, [], 0.0, random.Random(0), 0.1, budget_pool, processors, budget_share=0.5)
    tok = build_small_tokenizer()
    seen = set()
    for _ in range(12):
        samples, targets, processor = sampler.draw_batch(4)
        if processor is None:
            assert all(s.image.shape == (448, 196, 3) for s in samples)
            continue
        seen.add(processor.max_pixels)
        batch = collate(samples, targets, tok, processor, 0)
        pads = int((batch.input_ids == tok.token_id("<|image_pad|>")).sum())
        assert pads == batch.dense_label.shape[0] == int(batch.grid_thw.prod(1).sum()) // 4
    assert len(seen) >= 2, "budgets vary between batches"


def test_recipe_reads_its_json_back_and_checks_budgets():
    recipe = Recipe(abs_pos_ref_grid=(32, 14), budgets=(64, 512), budget_share=0.25, budget_screens=10)
    again = Recipe(**json.loads(recipe.to_json()))
    assert again == recipe and again.abs_pos_ref_grid == (32, 14) and again.budgets == (64, 512)
    assert model_config(again, build_small_tokenizer()).vision.abs_pos_ref_grid == (32, 14)
    with pytest.raises(ValueError, match="budget_share needs budgets"):
        Recipe(budget_share=0.5)


def test_a_stage_started_from_a_package_records_that_package(tmp_path):
    from vlagent.perception.train.final import earlier_stage
    from vlagent.policies.model_options import default_model_dir

    package = default_model_dir()
    record = earlier_stage(package)
    shipped = json.loads((package / "training.json").read_text())
    assert record["state"] == str(package) and record["steps"] == shipped["steps"]


def test_train_demo_init_must_be_a_state_file_or_a_package(tmp_path):
    from typer.testing import CliRunner

    from vlagent.agent.cli import app

    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(app, ["train-demo", "--out", str(tmp_path / "run"), "--init", str(tmp_path / "empty")])
    assert result.exit_code != 0 and "neither a state.pt file nor a package directory" in result.output

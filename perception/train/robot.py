"""Training the robot grounding package: robot camera frames, "the red ball" -> box or "not visible".

`train_robot(out, minutes, ...)` renders `worlds` x `views` training views (`robot_frames`),
draws grounding queries on them (objects in view -> box tokens) and "not visible" queries (a
share `ROBOT_RECIPE.action_share` of the samples), trains with `loop.train` - by default starting
from the shipped phone package's weights, whose vision tower and LM already read positions out
as box digits - and scores it on held-out worlds in the loop. `finish_robot_run` exports
OUT/package, scores the ONNX package itself on `eval_n` present and `eval_n` absent held-out
queries, and records command, seeds, minutes and figures in training.json and the manifest.
"""

from __future__ import annotations

import dataclasses
import json
import random
import shutil
import time
from pathlib import Path

from vlagent.perception.processor import ImageProcessor
from vlagent.perception.train.recipe import Recipe
from vlagent.perception.train.robot_frames import (
    EVAL_WORLD_SEED0,
    MIN_TARGET_PX,
    TRAIN_WORLD_SEED0,
    absent_samples,
    build_views,
    evaluate_robot,
    held_out_robot,
)
from vlagent.perception.train.screens import ScreenPool

# The phone recipe's model and image budget (so the phone package's weights load), robot data:
# 40% "not visible" queries, no nav-bar curriculum, a fine-tuning learning rate.
ROBOT_RECIPE = dataclasses.replace(Recipe(), action_share=0.4, nav_weight=1.0, nav_weight_from_minutes=0.0,
                                   action_seeds=0, detour_seeds=0, lr=1e-3, warmup=50)


def processor_for(recipe: Recipe) -> ImageProcessor:
    return ImageProcessor(min_pixels=recipe.min_pixels, max_pixels=recipe.max_pixels, threads=1)


def train_robot(out: str | Path, minutes: float | None = None, steps: int | None = None, seed: int = 0,
                init_from: str | Path | None = None, worlds: int = 600, views: int = 10, eval_n: int = 60,
                resume: bool = False, workers: int = 2, recipe: Recipe = ROBOT_RECIPE, absent_per_view: int = 2,
                hard_share: float = 0.5, log=print) -> dict:
    """Train on robot views; returns the last in-loop evaluation (see the module docstring)."""
    from vlagent.perception.train.loop import train

    out = Path(out)
    processor = processor_for(recipe)
    t0 = time.perf_counter()
    train_views = build_views(range(TRAIN_WORLD_SEED0, TRAIN_WORLD_SEED0 + worlds), processor, views,
                              out / "robot_views", log, workers)
    pool = ScreenPool([v.screen for v in train_views])
    negatives = absent_samples(train_views, random.Random(seed), absent_per_view, hard_share)
    log(f"{len(train_views)} views of {worlds} worlds ({len(pool)} with objects, "
        f"{sum(len(v.screen.targets) for v in train_views)} objects), {len(negatives)} not-visible queries, "
        f"{time.perf_counter() - t0:.0f} s")
    present, absent = held_out_robot(eval_n, processor) if eval_n else ([], [])
    evaluator = (lambda generate: evaluate_robot(generate, present, absent)) if eval_n else None
    return train(out, recipe, seed=seed, minutes=minutes, steps=steps, resume=resume, pool=pool,
                 extra_samples=negatives, evaluator=evaluator, eval_n=0, init_from=init_from, log=log,
                 workers=workers)


def evaluate_robot_package(package_dir: str | Path, eval_n: int = 200) -> dict:
    """Held-out figures of an exported package through the ONNX engine (what ships)."""
    from vlagent.perception.train.final import engine_generator

    engine, generate = engine_generator(package_dir)
    t0 = time.perf_counter()
    present, absent = held_out_robot(eval_n, engine.processor)
    figures = evaluate_robot(generate, present, absent)
    figures["eval_seconds"] = round(time.perf_counter() - t0, 1)
    return figures


def _earlier(init_from: str | Path | None) -> dict | None:
    """What the run started from: a package (its training record's command and figures) or an
    earlier run's state.pt (`final.earlier_stage`)."""
    if init_from is None:
        return None
    path = Path(init_from)
    if path.is_dir():
        record_path = path / "training.json"
        earlier = json.loads(record_path.read_text()) if record_path.is_file() else {}
        return {"package": str(path), **{k: earlier[k] for k in ("command", "eval") if k in earlier}}
    from vlagent.perception.train.final import earlier_stage

    return earlier_stage(path)


def finish_robot_run(out: str | Path, command: str, seed: int, minutes: float, steps: int, worlds: int, views: int,
                     init_from: str | Path | None, eval_n: int = 200, log=lambda _: None, absent_per_view: int = 2,
                     hard_share: float = 0.5) -> dict:
    """Export OUT/checkpoint to OUT/package, score the package, write its training record."""
    from vlagent.perception.export.package import export_package
    from vlagent.perception.train.ship import add_training_record, inline_weights

    out = Path(out)
    package = out / "package"
    if package.exists():
        shutil.rmtree(package)
    export_package(out / "checkpoint", package, log=log)
    inline_weights(package)
    figures = evaluate_robot_package(package, eval_n)
    log(json.dumps(figures))
    record = {"command": command, "seed": seed, "minutes": minutes, "steps": steps, "quantization": "none",
              "recipe": json.loads((out / "checkpoint" / "recipe.json").read_text()),
              "data": {"train_world_seeds": [TRAIN_WORLD_SEED0, TRAIN_WORLD_SEED0 + worlds - 1],
                       "views_per_world": views, "min_target_px": MIN_TARGET_PX,
                       "absent_queries_per_view": absent_per_view, "hard_absent_share": hard_share},
              "init_from": _earlier(init_from), "eval": figures,
              "eval_protocol": f"{eval_n} queries for objects in view and {eval_n} for objects not in view, on "
                               f"views of held-out worlds (seeds from {EVAL_WORLD_SEED0}); centre in the true "
                               "box; 'not visible' exactly; measured on this ONNX package"}
    add_training_record(package, record)
    return record

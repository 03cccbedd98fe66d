"""After training: export OUT/checkpoint to OUT/package, score the package itself, record it all.

The figures in the record are measured on the exported ONNX package through
`perception.engine.load(..., backend="onnx")` - what ships, not the torch model - on held-out
screen seeds (EVAL_SEED0...) and held-out task seeds (EVAL_TASK_SEED0...). The record (command,
seed, minutes, steps, figures, curve file) goes to training.json and into the manifest.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from vlagent.perception.train.evaluate import evaluate, held_out_actions, held_out_grounding


def engine_generator(package_dir: str | Path, max_new_tokens: int = 48):
    from vlagent.perception.engine import load

    engine = load(package_dir, backend="onnx", threads=1)

    def generate(prompt: str, image) -> str:
        return engine.generate(prompt, images=[image], max_new_tokens=max_new_tokens).text

    return engine, generate


def evaluate_package(package_dir: str | Path, eval_screens: int = 200, action_limit: int | None = None) -> dict:
    """Held-out figures of a package: `eval_screens` grounding queries and the held-out next-action
    steps (all, or the first `action_limit`; 0 skips them)."""
    engine, generate = engine_generator(package_dir)
    processor = engine.processor
    t0 = time.perf_counter()
    grounding = held_out_grounding(eval_screens, processor)
    action_set = held_out_actions(processor, limit=action_limit) if action_limit != 0 else []
    figures = evaluate(generate, grounding, action_set)
    figures["eval_seconds"] = round(time.perf_counter() - t0, 1)
    return figures


def finish_run(out: str | Path, command: str, seed: int, minutes: float, steps: int, eval_screens: int = 200,
               quantize: str = "none", action_limit: int | None = None, log=lambda _: None,
               init_from: str | Path | None = None) -> dict:
    """Export, evaluate and record; returns the training record. With `init_from` (the state.pt a
    second stage started from), the record also names the earlier stage: its training record when
    its run directory has one (package/training.json), else its step count and minutes."""
    from vlagent.perception.export.package import export_package
    from vlagent.perception.train.ship import add_training_record, inline_weights

    out = Path(out)
    package = out / "package"
    if package.exists():
        shutil.rmtree(package)
    export_package(out / "checkpoint", package, quantize=quantize, log=log)
    inline_weights(package)
    figures = evaluate_package(package, eval_screens, action_limit)
    log(json.dumps(figures))
    recipe = json.loads((out / "checkpoint" / "recipe.json").read_text())
    record = {"command": command, "seed": seed, "minutes": minutes, "steps": steps, "quantization": quantize,
              "recipe": recipe, "eval": figures,
              "eval_protocol": f"{eval_screens} held-out sim screens (seeds from 1000000), one query each; "
                               "next action over held-out oracle trajectories (task seeds from 500000); "
                               "measured on this ONNX package"}
    if init_from is not None:
        record["init_from"] = earlier_stage(Path(init_from))
    add_training_record(package, record)
    return record


def earlier_stage(state_path: Path) -> dict:
    """What a second stage started from: the earlier run's training record, or what its state says."""
    record_path = (state_path if state_path.is_dir() else state_path.parent / "package") / "training.json"
    if record_path.is_file():
        earlier = json.loads(record_path.read_text())
        return {"state": str(state_path), **{k: earlier[k] for k in ("command", "seed", "minutes", "steps", "eval")
                                              if k in earlier}}
    import torch

    state = torch.load(state_path, weights_only=False)
    if "trainer" not in state:  # a model-only file: the text-copy probe's model.pt
        return {"state": str(state_path), "steps": state.get("step"), "kind": "model only (perception/train/text_copy.py)"}
    return {"state": str(state_path), "seed": state.get("seed"), "steps": state["step"],
            "minutes": round(state["elapsed"] / 60, 2)}

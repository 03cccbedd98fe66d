"""CI smoke of the training pipeline: 20 steps, export, load with the ONNX engine, generate."""

import json

import numpy as np
from typer.testing import CliRunner

from vlagent.agent.cli import app
from vlagent.perception.export.manifest import read_manifest, verify_package
from vlagent.perception.train.recipe import Recipe

TINY = Recipe(max_pixels=28 * 28 * 32, vision_depth=1, vision_embed=48, vision_heads=3, hidden=96, layers=1,
              heads=3, kv_heads=1, intermediate=128, train_screens=12, action_share=0.0, batch=4, warmup=5)


def test_train_demo_20_steps_exports_a_package_the_onnx_engine_runs(tmp_path):
    recipe = tmp_path / "recipe.json"
    recipe.write_text(TINY.to_json())
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["train-demo", "--out", str(out), "--steps", "20", "--seed", "3",
                                      "--recipe", str(recipe), "--eval-screens", "2"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (out / "curve.jsonl").read_text().splitlines()]
    steps = [r for r in rows if "lm" in r]
    assert steps[-1]["step"] == 20 and all(np.isfinite(r["lm"]) for r in steps)
    assert steps[-1]["lm"] < steps[0]["lm"], "20 steps of AdamW should lower the answer loss"

    package = out / "package"
    manifest = read_manifest(package)
    verify_package(package, manifest)
    training = json.loads((package / "training.json").read_text())
    assert manifest["files"]["training.json"]["bytes"] == (package / "training.json").stat().st_size
    assert manifest["training"] == training
    assert training["seed"] == 3 and training["steps"] == 20 and "train-demo" in training["command"]
    assert set(training["eval"]) >= {"format_validity", "grounding_accuracy", "mean_iou", "next_action_accuracy"}
    assert not list(package.glob("*.data")), "weights are folded into the graphs (package data is *.onnx)"

    from vlagent.perception.engine import load
    from vlagent.perception.train.samples import grounding_prompt

    engine = load(package, backend="onnx")
    frame = np.full((2400, 1080, 3), 200, np.uint8)
    out_gen = engine.generate(grounding_prompt("Wi-Fi"), images=[frame], max_new_tokens=8)
    assert len(out_gen.token_ids) >= 1 and isinstance(out_gen.text, str)


def test_resume_continues_the_step_count(tmp_path):
    import torch

    from vlagent.perception.train.loop import train

    first = train(tmp_path, TINY, seed=1, steps=3, eval_n=0, log=lambda _: None)
    again = train(tmp_path, TINY, seed=1, steps=5, eval_n=0, resume=True, log=lambda _: None)
    assert (first["step"], again["step"]) == (3, 5)
    rows = [json.loads(line) for line in (tmp_path / "curve.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if "lm" in r] == [1, 3, 5]
    state = torch.load(tmp_path / "state.pt", weights_only=False)
    assert state["step"] == 5 and state["elapsed"] > 0


def test_second_stage_starts_from_the_first_stages_weights_and_records_it(tmp_path):
    import torch

    from vlagent.perception.train.final import earlier_stage
    from vlagent.perception.train.loop import train

    train(tmp_path / "one", TINY, seed=1, steps=4, eval_n=0, log=lambda _: None)
    first = torch.load(tmp_path / "one" / "state.pt", weights_only=False)["trainer"]
    log = []
    second = train(tmp_path / "two", TINY, seed=2, steps=1, eval_n=0, log=log.append,
                   init_from=tmp_path / "one" / "state.pt")
    assert second["step"] == 1, "a second stage has its own step count and schedule"
    assert any("initialised from" in line for line in log)
    after = torch.load(tmp_path / "two" / "state.pt", weights_only=False)["trainer"]
    # one small AdamW step away from stage one's weights, not from a fresh init
    name = next(k for k in first if k.endswith("embed_tokens.weight"))
    assert torch.allclose(after[name], first[name], atol=0.01) and not torch.equal(after[name], first[name])
    record = earlier_stage(tmp_path / "one" / "state.pt")
    assert (record["seed"], record["steps"]) == (1, 4) and record["minutes"] >= 0

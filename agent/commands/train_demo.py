"""`vlagent train-demo --out DIR [--minutes M] [--seed S] [--resume]`: train the embedded demo model.

Trains the tiny Qwen2-VL-architecture model on simulator screens (perception.train), evaluates it
on held-out seeds, and exports the ONNX package to OUT/package with a training record (command,
seed, minutes, figures) hashed into its manifest. torch is imported only when the command runs.
"""

import json
import shlex
from pathlib import Path
from typing import Annotated

import typer

from vlagent.agent.commands.common import fail


def train_demo(
    out: Annotated[Path, typer.Option("--out", help="Run directory: curve.jsonl, state.pt, checkpoint/, package/.")],
    minutes: Annotated[float, typer.Option("--minutes", help="Training time budget (minutes of training steps; the shipped model: 42).")] = 42.0,
    seed: Annotated[int, typer.Option("--seed", help="Seed for init and sampling; held-out seeds are fixed.")] = 0,
    resume: Annotated[bool, typer.Option("--resume", help="Continue from OUT/state.pt (same schedule).")] = False,
    steps: Annotated[int | None, typer.Option("--steps", help="Stop after this many steps (smoke runs).")] = None,
    eval_screens: Annotated[int, typer.Option("--eval-screens", help="Held-out screens for the final evaluation.")] = 200,
    quantize: Annotated[str, typer.Option("--quantize", help="Package weights: none, int8 or int4.")] = "none",
    recipe_file: Annotated[Path | None, typer.Option("--recipe", help="recipe.json overriding the default recipe.")] = None,
    init: Annotated[Path | None, typer.Option("--init", help="Start from the weights in an earlier run's state.pt, or an fp32 package directory (a second stage with its own schedule).")] = None,
) -> None:
    """Train the demo model on the simulator, evaluate on held-out seeds and export the package."""
    if minutes <= 0:
        fail(f"--minutes must be positive, got {minutes}")
    if quantize not in ("none", "int8", "int4"):
        fail(f"--quantize must be none, int8 or int4, got {quantize!r}")
    try:
        from vlagent.perception.train.final import finish_run
        from vlagent.perception.train.loop import train
        from vlagent.perception.train.recipe import Recipe
    except ModuleNotFoundError as error:
        fail(f"train-demo needs the export extra (torch): {error}")
    recipe = Recipe.from_file(recipe_file) if recipe_file else Recipe()
    if init is not None and not (init.is_file() or (init / "config.json").is_file()):
        fail(f"--init {init}: neither a state.pt file nor a package directory (give an earlier run's state.pt or a package)")
    if (out / "package").exists():
        fail(f"{out / 'package'} already exists; choose a new --out or remove it")
    words = ["vlagent", "train-demo", "--out", str(out), "--minutes", f"{minutes:g}", "--seed", str(seed)]
    words += (["--resume"] if resume else []) + (["--steps", str(steps)] if steps is not None else [])
    words += (["--quantize", quantize] if quantize != "none" else []) + (["--recipe", str(recipe_file)] if recipe_file else [])
    words += ["--init", str(init)] if init is not None else []
    command = " ".join(shlex.quote(w) for w in words)
    result = train(out, recipe, seed=seed, minutes=minutes, steps=steps, resume=resume, init_from=init,
                   eval_n=50 if steps is None else 0, eval_actions=steps is None,
                   log=lambda line: typer.echo(line, err=True))
    record = finish_run(out, command=command, seed=seed, minutes=result["minutes"], steps=result["step"],
                        eval_screens=eval_screens, quantize=quantize,
                        action_limit=None if steps is None else eval_screens, log=lambda line: typer.echo(line, err=True),
                        init_from=init)
    typer.echo(json.dumps(record["eval"], indent=2))
    typer.echo(f"package: {out / 'package'}")

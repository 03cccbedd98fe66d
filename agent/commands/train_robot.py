"""`vlagent train-robot --out DIR [--minutes M] [--init PACKAGE]`: train the robot grounding package.

Fine-tunes (by default from the shipped phone package's weights) on simulated robot camera
frames: "the red ball" -> box tokens, "not visible" when the object is not in view
(perception.train.robot). Exports OUT/package with a training record hashed into its manifest;
`python -m vlagent.perception.train.ship OUT/package perception/robot_model` installs it.
torch is imported only when the command runs.
"""

import json
import shlex
from pathlib import Path
from typing import Annotated

import typer

from vlagent.agent.commands.common import fail


def train_robot(
    out: Annotated[Path, typer.Option("--out", help="Run directory: curve.jsonl, state.pt, checkpoint/, package/.")],
    minutes: Annotated[float, typer.Option("--minutes", help="Training time budget (minutes of training steps).")] = 20.0,
    seed: Annotated[int, typer.Option("--seed", help="Seed for sampling; held-out worlds are fixed.")] = 0,
    init: Annotated[Path | None, typer.Option("--init", help="Start from an fp32 package (default: the shipped phone model) or a run's state.pt.")] = None,
    scratch: Annotated[bool, typer.Option("--scratch", help="Start from random weights instead of --init.")] = False,
    worlds: Annotated[int, typer.Option("--worlds", help="Training worlds (rooms).")] = 600,
    views: Annotated[int, typer.Option("--views", help="Camera views rendered per world.")] = 10,
    resume: Annotated[bool, typer.Option("--resume", help="Continue from OUT/state.pt (same schedule).")] = False,
    steps: Annotated[int | None, typer.Option("--steps", help="Stop after this many steps (smoke runs).")] = None,
    eval_n: Annotated[int, typer.Option("--eval-n", help="Held-out queries of each kind (in view / not) for the package's figures.")] = 200,
    absent_share: Annotated[float, typer.Option("--absent-share", help="Share of 'not visible' queries among the samples.")] = 0.4,
    lr: Annotated[float, typer.Option("--lr", help="Peak learning rate (warmup, then cosine over the budget).")] = 1e-3,
    hard_share: Annotated[float, typer.Option("--hard-share", help="Share of 'not visible' queries naming the colour or "
                                                                   "shape of an object in view.")] = 0.5,
    absent_per_view: Annotated[int, typer.Option("--absent-per-view", help="'not visible' queries drawn per view.")] = 2,
) -> None:
    """Train the robot grounding model on simulated camera frames and export its package."""
    if minutes <= 0 or worlds <= 0 or views <= 0:
        fail("--minutes, --worlds and --views must be positive")
    if not 0 <= absent_share < 1 or not 0 < lr < 1 or not 0 <= hard_share <= 1 or absent_per_view < 1:
        fail("--absent-share must be within [0, 1), --lr within (0, 1), --hard-share within [0, 1], "
             "--absent-per-view at least 1")
    try:
        import dataclasses

        from vlagent.perception.train.robot import ROBOT_RECIPE, finish_robot_run
        from vlagent.perception.train.robot import train_robot as run
    except ModuleNotFoundError as error:
        fail(f"train-robot needs the export and sim extras (torch, mujoco): {error}")
    if scratch:
        init = None
    elif init is None:
        from vlagent.perception.demo_model import path as shipped

        init = shipped()
    if init is not None and not init.exists():
        fail(f"--init {init}: no such package or state.pt")
    if (out / "package").exists():
        fail(f"{out / 'package'} already exists; choose a new --out or remove it")
    words = ["vlagent", "train-robot", "--out", str(out), "--minutes", f"{minutes:g}", "--seed", str(seed),
             "--worlds", str(worlds), "--views", str(views)]
    words += ["--scratch"] if scratch else ["--init", str(init)]
    words += ["--absent-share", f"{absent_share:g}", "--lr", f"{lr:g}", "--hard-share", f"{hard_share:g}",
              "--absent-per-view", str(absent_per_view)]
    recipe = dataclasses.replace(ROBOT_RECIPE, action_share=absent_share, lr=lr)
    words += (["--resume"] if resume else []) + (["--steps", str(steps)] if steps is not None else [])
    command = " ".join(shlex.quote(w) for w in words)
    log = lambda line: typer.echo(line, err=True)  # noqa: E731
    result = run(out, minutes=None if steps is not None else minutes, steps=steps, seed=seed, init_from=init,
                 worlds=worlds, views=views, eval_n=60 if steps is None else 0, resume=resume, recipe=recipe,
                 absent_per_view=absent_per_view, hard_share=hard_share, log=log)
    record = finish_robot_run(out, command, seed, result["minutes"], result["step"], worlds, views, init,
                              eval_n=eval_n, log=log, absent_per_view=absent_per_view, hard_share=hard_share)
    typer.echo(json.dumps(record["eval"], indent=2))
    typer.echo(f"package: {out / 'package'}")

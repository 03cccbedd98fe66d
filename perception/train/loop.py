"""The training loop: AdamW, warmup + cosine over the time (or step) budget, resumable.

`train(out_dir, recipe, seed, minutes=..., steps=...)` writes into `out_dir`:
- curve.jsonl: one row per logged step (step, minutes, losses, samples/s) and per evaluation;
- state.pt: model + dense heads + optimiser + step + elapsed time + sampler RNG, every
  `checkpoint_minutes` and at the end (`resume=True` continues from it, same schedule);
- checkpoint/: the HF-format Qwen2VL (config.json, model.safetensors, tokenizer.json,
  preprocessor_config.json, generation_config.json, recipe.json) - the export input;
- pool.npy / pool.json: the cached training screens (and budget_pool.* for `Recipe.budgets`).
The learning-rate schedule follows the elapsed fraction of the time budget when `minutes` is
given (CPU speed varies under contention; a time budget is what a user asks for).
"""

from __future__ import annotations

import itertools
import json
import math
import random
import time
from pathlib import Path

import torch

from vlagent.perception.model.qwen2vl import Qwen2VL
from vlagent.perception.processor import ImageProcessor
from vlagent.perception.special_tokens import ENDOFTEXT, IM_END
from vlagent.perception.tokenizer import Tokenizer, build_small_tokenizer, expand_vision_pads
from vlagent.perception.train.batch import collate
from vlagent.perception.train.copying import copy_sample, typed_value
from vlagent.perception.train.evaluate import (
    NAV_LABELS,
    evaluate,
    held_out_actions,
    held_out_grounding,
)
from vlagent.perception.train.heads import TrainModel, sinusoid_abs_pos
from vlagent.perception.train.recipe import Recipe, budget_pixels, model_config, processor_settings
from vlagent.perception.train.samples import Sample, action_samples, grounding_sample
from vlagent.perception.train.screens import ScreenPool, at_budget, parallel_map
from vlagent.perception.train.text_copy import TypeStep, text_copy_sample, text_lm_loss, type_steps


def torch_generator(model: Qwen2VL, tokenizer: Tokenizer, processor: ImageProcessor, max_new_tokens: int = 48):
    """(prompt, image uint8 or None for a text-only prompt) -> greedy answer text, with the KV
    cache; stops at <|im_end|>."""
    eos = tokenizer.token_id(IM_END)

    @torch.no_grad()
    def generate(prompt: str, image) -> str:
        if image is None:
            logits, cache = model(torch.tensor([tokenizer.encode(prompt)]), use_cache=True)
        else:
            vision = processor.preprocess_image(image)
            ids = torch.tensor([tokenizer.encode(expand_vision_pads(prompt, vision.token_counts))])
            logits, cache = model(ids, pixel_values=torch.from_numpy(vision.pixel_values),
                                  image_grid_thw=torch.from_numpy(vision.grid_thw), use_cache=True)
        out = []
        for _ in range(max_new_tokens):
            token = int(logits[0, -1].argmax())
            if token == eos:
                break
            out.append(token)
            logits, cache = model(torch.tensor([[token]]), past_key_values=cache, use_cache=True)
        return tokenizer.decode(out)

    return generate


def save_checkpoint(model: Qwen2VL, tokenizer: Tokenizer, recipe: Recipe, path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path)
    tokenizer.save(path / "tokenizer.json")
    (path / "preprocessor_config.json").write_text(json.dumps(processor_settings(recipe), indent=2) + "\n")
    eos = list(model.config.eos_token_ids)
    (path / "generation_config.json").write_text(json.dumps({"eos_token_id": eos, "pad_token_id": eos[0]}) + "\n")
    (path / "recipe.json").write_text(recipe.to_json() + "\n")


def lr_factor(progress: float, step: int, warmup: int) -> float:
    """Linear warmup over `warmup` steps, then cosine from 1 to 0.05 over progress 0..1."""
    warm = min(1.0, (step + 1) / warmup)
    return warm * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


class Sampler:
    """Draws training samples: grounding queries on pool screens, or oracle next-action steps.

    Weighted draws take (screen, target) pairs with weight `nav_weight` for nav-bar targets
    and 1 for the rest: the three nav buttons sit on every screen (and are all that many app
    screens label), so uniform draws spend most samples on them (docs/TRAINING.md). The loop
    draws unweighted until `Recipe.nav_weight_from_minutes`, then weighted (a curriculum).

    With a `budget_pool` (varied-size screens at a large budget) and `budget_processors`
    (visual-token budget -> ImageProcessor), a `budget_share` of batches are grounding batches
    from that pool at one drawn budget (`draw_batch`): one budget per batch keeps its sequences
    of similar length.

    With `text_steps` (perception.train.text_copy), a `text_share` of optimiser steps are
    text-only copy batches of `text_batch` prompts (`wants_text`, `draw_text`).
    """

    def __init__(self, pool: ScreenPool, actions: list[Sample], action_share: float, rng: random.Random,
                 nav_weight: float = 1.0, budget_pool: ScreenPool | None = None,
                 budget_processors: dict[int, ImageProcessor] | None = None, budget_share: float = 0.0,
                 copy_share: float = 0.0, text_steps: list[TypeStep] | None = None, text_share: float = 0.0,
                 text_batch: int = 32):
        self.pool, self.actions, self.share, self.rng = pool, actions, action_share, rng
        # the copy rung (perception.train.copying): type steps drawn with a fresh value
        self.copy_steps = [a for a in actions if typed_value(a) is not None] if copy_share else []
        self.copy_share = copy_share if self.copy_steps else 0.0
        self.nav_weight = nav_weight
        self.pairs = [(s, t) for s in pool.screens for t in s.targets]
        weights = [nav_weight if t.label in NAV_LABELS else 1.0 for _, t in self.pairs]
        self.cum = list(itertools.accumulate(weights))
        self.budget_pool, self.budget_processors = budget_pool, budget_processors or {}
        self.budget_share = budget_share if budget_pool is not None and self.budget_processors else 0.0
        self.text_steps, self.text_batch = text_steps or [], text_batch
        self.text_share = text_share if self.text_steps else 0.0

    def wants_text(self) -> bool:
        """Whether the next optimiser step is a text-only copy batch (a draw of the sampler's RNG)."""
        return bool(self.text_share) and self.rng.random() < self.text_share

    def draw_text(self) -> list[tuple[str, str]]:
        """`text_batch` text-only (prompt, answer) copy samples."""
        return [text_copy_sample(self.rng.choice(self.text_steps), self.rng) for _ in range(self.text_batch)]

    def draw_batch(self, n: int, weighted: bool = True):
        """(samples, targets, processor): the processor is None for the recipe's default budget."""
        if self.budget_share and self.rng.random() < self.budget_share:
            processor = self.budget_processors[self.rng.choice(sorted(self.budget_processors))]
            samples, targets = [], []
            for _ in range(n):
                screen = at_budget(self.rng.choice(self.budget_pool.screens), processor)
                weights = [self.nav_weight if t.label in NAV_LABELS else 1.0 for t in screen.targets]
                target, = self.rng.choices(screen.targets, weights=weights)
                samples.append(grounding_sample(screen, target))
                targets.append(screen.targets)
            return samples, targets, processor
        return (*self.draw(n, weighted), None)

    def draw(self, n: int, weighted: bool = True):
        """`n` samples; unweighted: a uniform screen, then a uniform target on it."""
        samples, targets = [], []
        for _ in range(n):
            if self.copy_share and self.rng.random() < self.copy_share:
                sample = copy_sample(self.rng.choice(self.copy_steps), self.rng)
                samples.append(sample)
                targets.append(sample.context)
            elif self.actions and self.rng.random() < self.share:
                sample = self.rng.choice(self.actions)
                samples.append(sample)
                targets.append(sample.context)
            elif weighted:
                (screen, target), = self.rng.choices(self.pairs, cum_weights=self.cum)
                samples.append(grounding_sample(screen, target))
                targets.append(screen.targets)
            else:
                screen = self.rng.choice(self.pool.screens)
                samples.append(grounding_sample(screen, self.rng.choice(screen.targets)))
                targets.append(screen.targets)
        return samples, targets


def _trajectory(job: tuple[str, int, bool], arg: tuple[int, int]) -> list[Sample]:
    template_id, seed, detour = job
    processor = ImageProcessor(min_pixels=arg[0], max_pixels=arg[1], threads=1)
    return action_samples(template_id, seed, processor, detour=detour)


def build_actions(processor, seeds, log, detour_seeds=(), workers: int = 1) -> list[Sample]:
    """Oracle next-action samples for every task template and seed (and detour trajectories for
    `detour_seeds`); the demo's task ids are never used (agent.demo.DEMO_TASKS stays held out)."""
    from vlagent.agent.demo import DEMO_TASKS
    from vlagent.sim.tasks import TASKS

    jobs = [(tid, seed, detour) for tid in sorted(TASKS) for detour, chosen in ((False, seeds), (True, detour_seeds))
            for seed in chosen if f"{tid}:{seed}" not in DEMO_TASKS]
    out = []
    with parallel_map(_trajectory, jobs, (processor.min_pixels, processor.max_pixels), workers) as results:
        for samples in results:
            out.extend(samples)
    log(f"{len(out)} next-action samples from {len(jobs)} oracle trajectories")
    return out


def load_weights(trainer: TrainModel, path: Path, log) -> None:
    """Start from the weights of an earlier run (its state.pt), not its optimiser or schedule, or
    from an exported fp32 package (a directory: `from_package.load_package_model`, parity-checked;
    the dense heads then start fresh), or from a model-only file ({"model": state dict}, what the
    text-copy probe writes; dense heads fresh)."""
    if path.is_dir():
        from vlagent.perception.train.from_package import load_package_model

        trainer.model.load_state_dict(load_package_model(path).state_dict())
        log(f"initialised from the package {path}")
        return
    state = torch.load(path, weights_only=False)
    if "trainer" not in state:
        trainer.model.load_state_dict(state["model"])
        log(f"initialised from the model in {path} (step {state.get('step')})")
        return
    trainer.load_state_dict(state["trainer"])
    log(f"initialised from {path} (step {state['step']}, {state['elapsed'] / 60:.1f} min)")


def train(out_dir: str | Path, recipe: Recipe | None = None, seed: int = 0, minutes: float | None = None,
          steps: int | None = None, resume: bool = False, eval_every_minutes: float = 5.0, eval_n: int = 50,
          checkpoint_minutes: float = 5.0, log=print, threads: int = 1,
          pool: ScreenPool | None = None, eval_samples: list[Sample] | None = None,
          init_from: str | Path | None = None, workers: int = 2, extra_samples: list[Sample] | None = None,
          evaluator=None, eval_actions: bool = False) -> dict:
    """Train until `minutes` of training time or `steps` steps; returns the last evaluation.

    `pool` / `eval_samples` replace the sim screens and held-out queries (the ladder's synthetic rungs).
    `init_from`: an earlier run's state.pt, or an fp32 package directory, whose weights this run
    starts from (a second stage with its own schedule). `workers` processes render the pool and
    trajectories before training. `extra_samples` replace the oracle next-action samples (drawn
    with share `recipe.action_share`, no dense targets); `evaluator(generate) -> figures`
    replaces the in-loop held-out evaluation; `eval_actions` adds the held-out next-action steps
    (task seeds from EVAL_TASK_SEED0, held-out values) to it.
    """
    recipe = recipe or Recipe()
    if minutes is None and steps is None:
        raise ValueError("give a time budget (minutes) or a step budget (steps)")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    rng = random.Random(seed)
    tokenizer = build_small_tokenizer()
    processor = ImageProcessor(min_pixels=recipe.min_pixels, max_pixels=recipe.max_pixels, threads=1)
    if pool is None:
        pool = ScreenPool.build(range(recipe.train_screens), processor, out / "pool", log, workers=workers)
    log(f"{len(pool)} training screens")
    if extra_samples is not None:
        actions = extra_samples
    else:
        seed0 = recipe.action_seed0
        actions = build_actions(processor, range(seed0, seed0 + recipe.action_seeds), log,
                                range(seed0, seed0 + recipe.detour_seeds), workers) if recipe.action_share > 0 else []
    budget_pool, budget_processors = None, {}
    if recipe.budget_share:
        budget_processors = {b: ImageProcessor(min_pixels=recipe.min_pixels, max_pixels=budget_pixels(b), threads=1)
                             for b in recipe.budgets}
        budget_pool = ScreenPool.build(range(recipe.budget_seed0, recipe.budget_seed0 + recipe.budget_screens),
                                       budget_processors[max(recipe.budgets)], out / "budget_pool", log,
                                       workers=workers, varied_sizes=True)
        log(f"{len(budget_pool)} varied-size screens for budgets {list(recipe.budgets)}")
    model = Qwen2VL(model_config(recipe, tokenizer))
    if recipe.abs_pos_init == "sinusoid":
        sinusoid_abs_pos(model)
    trainer = TrainModel(model)
    opt = torch.optim.AdamW(trainer.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay, betas=(0.9, 0.98))
    step, elapsed = 0, 0.0
    state_path = out / "state.pt"
    if init_from is not None and not (resume and state_path.is_file()):
        load_weights(trainer, Path(init_from), log)
    if resume and state_path.is_file():
        state = torch.load(state_path, weights_only=False)
        trainer.load_state_dict(state["trainer"])
        opt.load_state_dict(state["opt"])
        step, elapsed = state["step"], state["elapsed"]
        rng.setstate(state["rng"])
        log(f"resumed at step {step}, {elapsed / 60:.1f} min")
    text_steps = []
    if recipe.text_copy_share:
        from vlagent.sim.tasks import TASKS

        seed0 = recipe.action_seed0
        text_steps = type_steps(sorted(TASKS), range(seed0, seed0 + recipe.text_copy_seeds))
        log(f"text-only copy rung: {len(text_steps)} type steps, {recipe.text_copy_share} of steps")
    sampler = Sampler(pool, actions, recipe.action_share, rng, recipe.nav_weight, budget_pool, budget_processors,
                      recipe.budget_share, recipe.copy_share, text_steps, recipe.text_copy_share,
                      recipe.text_copy_batch)
    if sampler.copy_share:
        log(f"copy rung: {len(sampler.copy_steps)} type steps, share {sampler.copy_share}")
    pad_id = tokenizer.token_id(ENDOFTEXT)
    if evaluator is None:
        eval_set = eval_samples if eval_samples is not None else held_out_grounding(eval_n, processor) if eval_n else []
        action_set = held_out_actions(processor) if eval_actions else []
        evaluator = (lambda generate: evaluate(generate, eval_set, action_set)) if eval_set else None
    curve = (out / "curve.jsonl").open("a")
    budget = None if minutes is None else minutes * 60
    last_ckpt = last_eval = elapsed
    result: dict = {}

    def save_state():
        torch.save({"trainer": trainer.state_dict(), "opt": opt.state_dict(), "step": step, "elapsed": elapsed,
                    "rng": rng.getstate(), "recipe": recipe.to_json(), "seed": seed}, state_path)

    def run_eval():
        model.eval()
        figures = evaluator(torch_generator(model, tokenizer, processor))
        model.train()
        row = {"step": step, "minutes": round(elapsed / 60, 2), "eval": figures}
        curve.write(json.dumps(row) + "\n")
        curve.flush()
        log(json.dumps(row))
        return figures

    trainer.train()
    window, t_log = [], time.perf_counter()
    while (budget is None or elapsed < budget) and (steps is None or step < steps):
        t0 = time.perf_counter()
        progress = elapsed / budget if budget else step / steps
        for group in opt.param_groups:
            group["lr"] = recipe.lr * lr_factor(progress, step, recipe.warmup)
        if sampler.wants_text():
            parts = {"text_copy_lm": text_lm_loss(model, sampler.draw_text(), tokenizer, pad_id)}
            loss = parts["text_copy_lm"]
        else:
            samples, targets, batch_processor = sampler.draw_batch(
                recipe.batch, weighted=elapsed >= recipe.nav_weight_from_minutes * 60)
            batch = collate(samples, targets, tokenizer, batch_processor or processor, pad_id)
            parts = trainer(batch)
            loss = parts["lm"]
            # A zero weight drops its term outright: a batch without dense targets (next-action
            # samples only) has a NaN dense loss (a mean over no tokens), and 0 * NaN is NaN.
            if recipe.dense_weight:
                loss = loss + recipe.dense_weight * (parts["dense_label"] + parts["dense_pos"] + parts["dense_box"])
            if recipe.query_weight:
                loss = loss + recipe.query_weight * (parts["query"] + parts["query_box"])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainer.parameters(), 1.0)
        opt.step()
        step += 1
        elapsed += time.perf_counter() - t0
        window.append({k: float(v.detach()) for k, v in parts.items()})
        done = (budget is not None and elapsed >= budget) or (steps is not None and step >= steps)
        if step % 10 == 0 or step == 1 or done:
            now = time.perf_counter()
            # text-only copy steps log only their own loss: each term is averaged over the steps that have it
            keys = dict.fromkeys(k for w in window for k in w)
            row = {"step": step, "minutes": round(elapsed / 60, 2), "lr": opt.param_groups[0]["lr"],
                   **{k: round(sum(w[k] for w in window if k in w) / sum(k in w for w in window), 4) for k in keys},
                   "samples_per_s": round(sum(recipe.text_copy_batch if "text_copy_lm" in w else recipe.batch
                                              for w in window) / (now - t_log), 2)}
            curve.write(json.dumps(row) + "\n")
            curve.flush()
            log(json.dumps(row))
            window, t_log = [], now
        if elapsed - last_ckpt >= checkpoint_minutes * 60:
            save_state()
            last_ckpt = elapsed
        if evaluator and elapsed - last_eval >= eval_every_minutes * 60:
            result = run_eval()
            last_eval = elapsed
    save_state()
    if evaluator and (last_eval < elapsed or not result):
        result = run_eval()
    model.eval()
    save_checkpoint(model, tokenizer, recipe, out / "checkpoint")
    curve.close()
    return {"step": step, "minutes": round(elapsed / 60, 2), **result}

"""Run one ladder rung or lever: `python -m perception.train.run_ladder RUNG OUT --minutes M [--set k=v ...]`.

RUNG is 1 (one square, blank screen), 2 (two-three coloured squares) or 3 (full sim screens).
`--set` overrides Recipe fields (e.g. `--set dense_weight=0 --set learned_abs_pos=false`).
Before training it prints the information-flow checks (pads vs features, gradient norm at the
patch embed); after, the linear position probe R^2 on the vision features, and the held-out
figures. The curve is OUT/curve.jsonl.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random

from vlagent.perception.train.recipe import Recipe


def _parse(recipe: Recipe, pairs: list[str]) -> Recipe:
    fields = {f.name: f.type for f in dataclasses.fields(Recipe)}
    changes = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        if key not in fields:
            raise SystemExit(f"unknown recipe field {key!r}")
        current = getattr(recipe, key)
        changes[key] = (value.lower() in ("1", "true", "yes")) if isinstance(current, bool) else type(current)(value)
    return dataclasses.replace(recipe, **changes)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("rung", type=int, choices=(1, 2, 3))
    ap.add_argument("out")
    ap.add_argument("--minutes", type=float, default=4.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--set", action="append", default=[])
    ap.add_argument("--eval-every", type=float, default=2.0)
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)  # two shared cores: a second OpenMP thread spins under contention
    from vlagent.perception.model.qwen2vl import Qwen2VL
    from vlagent.perception.processor import ImageProcessor
    from vlagent.perception.tokenizer import build_small_tokenizer
    from vlagent.perception.train.batch import collate
    from vlagent.perception.train.heads import TrainModel
    from vlagent.perception.train.ladder import (
        gradient_reaches_vision,
        probe_position,
        rung_eval,
        rung_pool,
    )
    from vlagent.perception.train.loop import Sampler, train
    from vlagent.perception.train.recipe import model_config
    from vlagent.perception.train.screens import ScreenPool

    recipe = _parse(Recipe(action_share=0.0), args.set)
    processor = ImageProcessor(min_pixels=recipe.min_pixels, max_pixels=recipe.max_pixels, threads=1)
    if args.rung == 3:
        pool, evals = None, None
    else:
        k = (1, 1) if args.rung == 1 else (2, 3)
        pool, evals = rung_pool(k, 4000), rung_eval(k, 50)
    tok = build_small_tokenizer()
    torch.manual_seed(args.seed)
    probe_pool = pool or ScreenPool.build(range(recipe.train_screens), processor, f"{args.out}/pool")
    check = TrainModel(Qwen2VL(model_config(recipe, tok)))
    samples, targets = Sampler(probe_pool, [], 0.0, random.Random(1), recipe.nav_weight).draw(4)
    batch = collate(samples, targets, tok, processor, tok.token_id("<|endoftext|>"))
    pads = int((batch.input_ids == check.model.config.image_token_id).sum())
    print(json.dumps({"check": "pads_vs_patches", "image_pads": pads, "patch_rows/4": batch.pixel_values.shape[0] // 4}))
    print(json.dumps({"check": "grad_at_patch_embed_init", "norm": gradient_reaches_vision(check, batch)}))
    print(json.dumps({"check": "probe_r2_init", "r2": probe_position(check.model, processor, probe_pool.screens[:20])}))
    result = train(args.out, recipe, seed=args.seed, minutes=args.minutes, eval_every_minutes=args.eval_every,
                   eval_n=50, pool=pool, eval_samples=evals, checkpoint_minutes=1e9)
    from vlagent.perception.model.qwen2vl import Qwen2VL as Model

    model = Model.from_pretrained(f"{args.out}/checkpoint")
    print(json.dumps({"check": "probe_r2_trained", "r2": probe_position(model, processor, probe_pool.screens[:20])}))
    print(json.dumps({"result": result, "recipe": dataclasses.asdict(recipe)}))


if __name__ == "__main__":
    main()

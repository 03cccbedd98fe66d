"""The ladder of sanity checks: synthetic screens with k coloured squares on a blank background.

Rung 1 (k=1, label "icon"): pure position read-out. Rung 2 (k=2-3, labels = colour names): the
query must pick one element. Screens are built directly at the model-input size (uint8 RGB);
bounds are given in device px of the `DEFAULT_SIZE` (1080x2400) phone so boxes and scoring match
the sim rungs.
`probe_position` fits a least-squares linear probe from vision features to the token's own
cell centre, and `gradient_reaches_vision` checks that the answer loss moves the patch embed.
"""

from __future__ import annotations

import random

import numpy as np

from vlagent.perception.train.samples import Sample, grounding_sample
from vlagent.perception.train.screens import Screen, ScreenPool, Target, norm_box
from vlagent.sim.phone import DEFAULT_SIZE

COLOURS = {"red": (220, 40, 40), "green": (40, 170, 60), "blue": (40, 80, 220), "yellow": (235, 200, 30),
           "purple": (140, 60, 190), "orange": (245, 130, 30), "cyan": (30, 200, 210), "black": (20, 20, 20)}


def blank_screen(seed: int, k: int, size=(196, 448)) -> Screen:
    """k non-overlapping squares (20-48 model px) on a light background; size = (w, h) model px."""
    rng = random.Random(seed)
    w, h = size
    # model px -> device px by hand, not with `coords.Scale`: x * (W / w) rounds differently from
    # Scale's x * W / w at a few rows (y = 91, 175, ... for h = 448), and the rungs' figures were
    # measured with these bounds.
    sx, sy = DEFAULT_SIZE[0] / w, DEFAULT_SIZE[1] / h
    image = np.full((h, w, 3), 235, np.uint8)
    names = ["icon"] if k == 1 else rng.sample(sorted(COLOURS), k)
    colours = [COLOURS[rng.choice(sorted(COLOURS))]] if k == 1 else [COLOURS[n] for n in names]
    placed, targets = [], []
    for name, colour in zip(names, colours, strict=True):
        for _ in range(100):
            s = rng.randint(20, 48)
            x, y = rng.randint(0, w - s), rng.randint(0, h - s)
            if all(x + s <= a or a + b <= x or y + s <= c or c + b <= y for a, c, b in placed):
                break
        placed.append((x, y, s))
        image[y:y + s, x:x + s] = colour
        bounds = (round(x * sx), round(y * sy), round((x + s) * sx), round((y + s) * sy))
        targets.append(Target(name, bounds, norm_box(bounds)))
    return Screen(seed, f"blank{k}", image, targets)


def rung_pool(k_range: tuple[int, int], n: int, seed0: int = 0) -> ScreenPool:
    return ScreenPool([blank_screen(seed0 + i, random.Random(seed0 + i).randint(*k_range)) for i in range(n)])


def rung_eval(k_range: tuple[int, int], n: int, seed0: int = 10_000_000) -> list[Sample]:
    pool = rung_pool(k_range, n, seed0)
    return [grounding_sample(s, random.Random(s.seed).choice(s.targets)) for s in pool.screens]


def probe_position(model, processor, screens: list[Screen]) -> float:
    """R^2 of a linear probe: vision features (merger output) -> the token's cell centre (x, y)."""
    import torch

    feats, pos = [], []
    with torch.no_grad():
        for s in screens:
            v = processor.preprocess_image(s.image)
            f = model.encode_images(torch.from_numpy(v.pixel_values), torch.from_numpy(v.grid_thw)).numpy()
            gh, gw = int(v.grid_thw[0, 1]) // 2, int(v.grid_thw[0, 2]) // 2
            yy, xx = np.meshgrid((np.arange(gh) + 0.5) / gh, (np.arange(gw) + 0.5) / gw, indexing="ij")
            feats.append(f), pos.append(np.stack([xx.ravel(), yy.ravel()], 1))
    x, y = np.concatenate(feats).astype(np.float64), np.concatenate(pos)
    x = (x - x.mean(0)) / (x.std(0) + 1e-6)
    x = np.concatenate([x, np.ones((len(x), 1))], 1)
    half = len(x) // 2  # fit on the first half of the screens, score on the rest (ridge 1.0)
    coef = np.linalg.solve(x[:half].T @ x[:half] + np.eye(x.shape[1]), x[:half].T @ y[:half])
    pred = x[half:] @ coef
    return float(1 - ((pred - y[half:]) ** 2).sum() / ((y[half:] - y[half:].mean(0)) ** 2).sum())


def gradient_reaches_vision(trainer, batch) -> float:
    """Norm of d(answer loss)/d(patch_embed.weight) for one batch (0 means the image is ignored)."""
    trainer.zero_grad(set_to_none=True)
    trainer(batch)["lm"].backward()
    grad = trainer.model.visual.patch_embed.weight.grad
    norm = 0.0 if grad is None else float(grad.norm())
    trainer.zero_grad(set_to_none=True)
    return norm

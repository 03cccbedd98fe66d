"""Visual-token ablation: grounding accuracy and step latency against the image token budget.

    python bench/tokens.py [--model DIR] [--screens 100] [--threads 1] [--no-write]

The Qwen2-VL paper's resolution ablation, on our shipped model. Held-out sim screens (seeds
`perception.train.recipe.EVAL_SEED0 + i`, never trained on; one target per screen chosen by the
seed, as the training evaluation does) are captured at full size (1080 x 2400) and grounded
with `policies.grounding.ground` through the ONNX engine at each budget:

- dynamic resolution: `max_pixels` = T x 28 x 28 for T in 64, 128, 256, 512, 1024 and the
  package's own budget (smart-resize keeps the aspect ratio; the real token count is shown);
- fixed-resolution baseline, at matched token counts: every screen resized (bicubic) to one
  square S x S px, for each dynamic budget the multiple of 28 whose token count is nearest that
  budget's real count; boxes are norm-1000 of the square, which covers the whole screen, so
  they map back with the screen's own size.

Accuracy: the predicted box centre lies inside the target's bounds (device px); format: the
answer holds a box. Latency per budget: p50 of preprocess + model per query, and the whole
step = that + the p50 of a sim capture and of a tap (measured once, budget-independent).
A budget whose patch grid exceeds the model's learned position table (`abs_pos_max_side`,
our tiny model's extension) cannot run and is reported as such. Writes docs/visual_tokens.png
(drawn with Pillow) and the "## Visual tokens" section of docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.step_latency import write_section  # noqa: E402

SECTION = "## Visual tokens"
PLOT = ROOT / "docs" / "visual_tokens.png"
TOKEN_BUDGETS = (64, 128, 256, 512, 1024)
PX_PER_TOKEN = 28 * 28
SCREEN = (1080, 2400)  # sim phone, device px == frame px


@dataclass
class Budget:
    """One configuration: its name, max_pixels, square side (baseline only), tokens per screen."""

    name: str
    max_pixels: int
    square: int | None = None
    tokens: int = 0
    supported: bool = True
    hits: int = 0
    valid: int = 0
    queries: int = 0
    latencies: list[float] = field(default_factory=list)  # s, preprocess + model per query
    engine: object = None


def held_out(n: int) -> list[tuple[object, str, tuple[int, int, int, int]]]:
    """(sim Phone on the screen, target label, target bounds device px) for n held-out screens."""
    from vlagent.perception.train.recipe import EVAL_SEED0
    from vlagent.perception.train.screens import random_phone, targets_of

    out, seed = [], EVAL_SEED0
    while len(out) < n:
        phone = random_phone(seed)
        targets = targets_of(phone.ui_tree(), phone.size)
        if targets:
            target = random.Random(seed).choice(targets)
            out.append((phone, target.label, target.bounds))
        seed += 1
    return out


def budgets_for(model: Path, threads: int | None) -> list[Budget]:
    from vlagent.perception.engine import load
    from vlagent.perception.processor import ImageProcessor

    config = json.loads((model / "preprocessor_config.json").read_text())
    native_max, native_min = int(config["max_pixels"]), int(config["min_pixels"])
    vision = json.loads((model / "config.json").read_text()).get("vision_config", {})
    # a model with `abs_pos_ref_grid` reads its tables at relative coordinates: any grid runs
    index_tables = vision.get("learned_abs_pos") and not vision.get("abs_pos_ref_grid")
    max_side = vision.get("abs_pos_max_side") if index_tables else None
    native_tokens = ImageProcessor(min_pixels=native_min, max_pixels=native_max).num_image_tokens(SCREEN[1], SCREEN[0])
    budgets = [Budget(f"dynamic {t}" + (" (default)" if t * PX_PER_TOKEN == native_max else ""), t * PX_PER_TOKEN)
               for t in TOKEN_BUDGETS]
    if all(b.max_pixels != native_max for b in budgets):
        budgets.append(Budget(f"dynamic {native_tokens} (default)", native_max))
    for b in list(budgets):
        tokens = ImageProcessor(min_pixels=min(native_min, b.max_pixels),
                                max_pixels=b.max_pixels).num_image_tokens(SCREEN[1], SCREEN[0])
        side = min(range(28, 2000, 28), key=lambda s: abs((s // 28) ** 2 - tokens))
        budgets.append(Budget(f"square {side}x{side}", side * side, square=side))
    options = {"threads": threads} if threads else {}
    for b in budgets:
        processor = ImageProcessor(min_pixels=min(native_min, b.max_pixels), max_pixels=b.max_pixels)
        h, w = (b.square, b.square) if b.square else processor.resized_size(SCREEN[1], SCREEN[0])
        b.tokens = (h // 28) * (w // 28)
        b.supported = max_side is None or max(h, w) // 14 <= max_side
        if b.supported:
            b.engine = load(model, backend="onnx", min_pixels=min(native_min, b.max_pixels), max_pixels=b.max_pixels,
                            **options)
    budgets.sort(key=lambda b: (b.square is not None, b.tokens))
    return budgets


def run(model: Path, screens: int, threads: int | None) -> tuple[list[Budget], dict]:
    from PIL import Image

    from vlagent.actuators.sim import SimActuator
    from vlagent.agent.actions import Tap
    from vlagent.agent.errors import PolicyOutputError
    from vlagent.perception.coords import apply_box, norm1000_to_image
    from vlagent.perception.sources.sim import SimSource
    from vlagent.policies.grounding import ground

    budgets = budgets_for(model, threads)
    capture_s, act_s = [], []
    started = time.perf_counter()
    for phone, label, bounds in held_out(screens):
        t0 = time.perf_counter()
        frame = SimSource(phone).capture()
        capture_s.append(time.perf_counter() - t0)
        for b in (b for b in budgets if b.supported):
            image = frame.image
            if b.square:
                image = np.asarray(Image.fromarray(image).resize((b.square, b.square), Image.Resampling.BICUBIC))
            b.queries += 1
            t0 = time.perf_counter()
            try:
                result = ground(b.engine, image, label)
            except PolicyOutputError:
                b.latencies.append(time.perf_counter() - t0)
                continue
            b.latencies.append(time.perf_counter() - t0)
            b.valid += 1
            x1, y1, x2, y2 = apply_box(norm1000_to_image(SCREEN), result.box_norm)
            cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
            b.hits += bounds[0] <= cx <= bounds[2] and bounds[1] <= cy <= bounds[3]
        actuator = SimActuator(phone)
        t0 = time.perf_counter()
        actuator.execute(Tap(x=(bounds[0] + bounds[2]) / 2, y=(bounds[1] + bounds[3]) / 2), frame)
        act_s.append(time.perf_counter() - t0)
    fixed = {"capture_ms": statistics.median(capture_s) * 1000, "act_ms": statistics.median(act_s) * 1000,
             "seconds": time.perf_counter() - started, "screens": screens}
    return budgets, fixed


def rows(budgets: list[Budget], fixed: dict) -> list[dict]:
    out = []
    for b in budgets:
        row = {"budget": b.name, "max_pixels": b.max_pixels, "tokens": b.tokens, "supported": b.supported}
        if b.supported and b.queries:
            policy = statistics.median(b.latencies) * 1000
            row.update(accuracy=b.hits / b.queries, format=b.valid / b.queries, policy_ms=round(policy, 1),
                       step_ms=round(policy + fixed["capture_ms"] + fixed["act_ms"], 1))
        out.append(row)
    return out


def plot(table: list[dict], path: Path = PLOT) -> Path:
    """Accuracy (%) and step p50 (ms) against visual tokens (log2 axis); the square baseline as
    hollow markers. Drawn with Pillow: no plotting library on the install path."""
    from PIL import Image, ImageDraw

    W, H, L, R, T, B = 720, 420, 70, 70, 40, 60
    image = Image.new("RGB", (W, H), "white")
    draw = ImageDraw.Draw(image)
    runs = [r for r in table if "accuracy" in r]
    if not runs:
        raise ValueError("no budget ran: nothing to plot")
    lo, hi = np.log2(32), np.log2(2048)
    max_ms = max(r["step_ms"] for r in runs) * 1.15
    x_of = lambda t: L + (np.log2(t) - lo) / (hi - lo) * (W - L - R)  # noqa: E731
    acc_y = lambda a: H - B - a * (H - T - B)  # noqa: E731
    ms_y = lambda m: H - B - m / max_ms * (H - T - B)  # noqa: E731
    draw.rectangle((L, T, W - R, H - B), outline="black")
    for t in (64, 128, 256, 512, 1024):
        draw.line((x_of(t), H - B, x_of(t), H - B + 5), fill="black")
        draw.text((x_of(t) - 10, H - B + 8), str(t), fill="black")
    for a in (0, 0.25, 0.5, 0.75, 1.0):
        draw.text((L - 40, acc_y(a) - 6), f"{a:.0%}", fill="#1f5fbf")
        draw.line((L, acc_y(a), W - R, acc_y(a)), fill="#eeeeee")
    for k in range(5):
        m = max_ms * k / 4
        draw.text((W - R + 6, ms_y(m) - 6), f"{m:.0f}", fill="#c03020")
    if max_ms > 100:  # the step-latency goal
        for x in range(L, W - R, 12):
            draw.line((x, ms_y(100), x + 6, ms_y(100)), fill="#c03020")
    draw.text((W / 2 - 80, H - 25), "visual tokens per 1080x2400 screen", fill="black")
    draw.text((L, 12), "grounding accuracy (blue, %)   step p50 (red, ms; dashed: 100 ms goal)   hollow: square baseline", fill="black")
    dynamic = sorted((r for r in runs if not r["budget"].startswith("square")), key=lambda r: r["tokens"])
    for key, to_y, colour in (("accuracy", acc_y, "#1f5fbf"), ("step_ms", ms_y, "#c03020")):
        points = [(x_of(r["tokens"]), to_y(r[key])) for r in dynamic]
        if len(points) > 1:
            draw.line(points, fill=colour, width=2)
        for x, y in points:
            draw.ellipse((x - 4, y - 4, x + 4, y + 4), fill=colour)
        for r in runs:
            if r["budget"].startswith("square"):
                x, y = x_of(r["tokens"]), to_y(r[key])
                draw.rectangle((x - 5, y - 5, x + 5, y + 5), outline=colour, width=2)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return path


def trained_budgets(model: Path) -> str:
    """What the package's training record says it was trained at (visual-token budgets)."""
    record = model / "training.json"
    recipe = json.loads(record.read_text()).get("recipe", {}) if record.is_file() else {}
    budgets = recipe.get("budgets") if recipe.get("budget_share") else None
    if budgets:
        return (f"trained at the default budget and, for {recipe['budget_share']:.0%} of grounding batches, at "
                f"{', '.join(map(str, budgets))} tokens on phones, landscape phones and tablets")
    return "trained at the default budget only: the others show how far it transfers"


def section(table: list[dict], fixed: dict, model: Path, threads: int | None, screens: int) -> str:
    lines = []
    for r in table:
        if "accuracy" in r:
            lines.append(f"| {r['budget']} | {r['tokens']} | {r['accuracy']:.1%} | {r['format']:.1%} | "
                         f"{r['policy_ms']} | {r['step_ms']} |")
        else:
            lines.append(f"| {r['budget']} | {r['tokens']} | n/a | n/a | n/a | n/a |")
    skipped = [r["budget"] for r in table if not r["supported"]]
    note = (f"- Not run: {', '.join(skipped)}: the patch grid of a 1080x2400 screen exceeds the model's learned "
            "absolute position table (`abs_pos_max_side` patches per side, the tiny model's extension). The "
            "engine runs such requests at the largest size the tables take (longer side capped, "
            "`ImageProcessor.max_side`, set by `perception.engine.load`), so they would measure that size, "
            "not the budget.\n"
            if skipped else "")
    body = "\n".join(lines)
    return f"""{SECTION}

Grounding accuracy and step latency against the visual-token budget, shipped model, ONNX engine,
{screens} held-out sim screens (one target each). Plot: [visual_tokens.png](visual_tokens.png).

| budget | visual tokens | accuracy (centre in box) | answers with a box | preprocess + model p50 ms | step p50 ms |
|---|---|---|---|---|---|
{body}

- Step = capture p50 ({fixed['capture_ms']:.1f} ms, full-size sim screen) + preprocess + model + act p50
  ({fixed['act_ms']:.1f} ms, a sim tap). The model was {trained_budgets(model)}.
- Square baseline: every screen resized to one square size regardless of its aspect ratio (the
  fixed-resolution setting the Qwen2-VL paper compares against).
{note}- Model: `{model.name}`; onnxruntime threads: {threads or 'default'}; machine shared with other work
  ({fixed['seconds']:.0f} s wall).
- Reproduce: `python bench/tokens.py --screens {screens} --threads {threads}`
"""


def main() -> None:
    from vlagent.policies.model_options import default_model_dir

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None, help="package (default: the shipped model)")
    parser.add_argument("--screens", type=int, default=100)
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads (the demo uses 1)")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    model = args.model or default_model_dir()
    budgets, fixed = run(model, args.screens, args.threads)
    table = rows(budgets, fixed)
    print(json.dumps({"rows": table, **fixed}, indent=2))
    if not args.no_write:
        print(f"wrote {plot(table)}")
        write_section(section(table, fixed, model, args.threads, args.screens), SECTION)
        print(f"wrote {SECTION!r} in docs/PERFORMANCE.md")


if __name__ == "__main__":
    main()

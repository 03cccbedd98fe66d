"""Engine benchmark at Qwen2-VL-2B shapes (random weights): HF reference, our torch, ONNX fp32/int8/int4.

    python bench/engine.py [--dir /tmp/vlagent-2b] [--threads 2] [--write docs/PERFORMANCE.md]

One run measures, side by side, on one synthetic 1080x2400 screenshot at max_pixels 28*28*1280
(1272 image tokens, a ~1300-token prompt): preprocessing, vision encode, prefill, ms per decoded
token, peak RSS (each configuration in a fresh subprocess), and the memory bandwidth, from which
each decode time is put against its roofline (decoder weight bytes / bandwidth).

Quality against ONNX fp32 (the run's reference, made first): greedy-token agreement with the
reference's tokens fed back (teacher forcing, so one early flip does not count many times), the
cosine similarity of the prefill logits, and the IoU of a box decoded under the box grammar
(`<|box_start|>(x1,y1),(x2,y2)<|box_end|>`, digits chosen by argmax among digit tokens).
The checkpoint (random init, std 0.02) and the three packages are built once under --dir
(~9 GB + ~15 GB disk) and reused; timings always come from the current run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.engine_runners import RUNNERS, make_runner  # noqa: E402

MAX_PIXELS = 28 * 28 * 1280
PROMPT_TOKENS = 1300
FREE_STEPS = 16
LABEL = "Settings"
QUANT = {"onnx-fp32": "none", "onnx-int8": "int8", "onnx-int4": "int4"}
ORDER = ["onnx-fp32", "hf", "torch", "onnx-int8", "onnx-int4"]  # the reference first
TABLE = ["hf", "torch", "onnx-fp32", "onnx-int8", "onnx-int4"]


# --- preparation (cached on disk) ---------------------------------------------------------
def build_checkpoint(path: Path, tiny: bool) -> None:
    """A random Qwen2-VL-2B-shaped checkpoint whose special ids are the small tokenizer's
    (`tiny`: 2 layers and 2 vision blocks, a smoke-test size with the same code paths)."""
    from bench.checkpoints import save_random_checkpoint

    save_random_checkpoint(path, **({"text": {"num_hidden_layers": 2}, "vision": {"depth": 2}} if tiny else {}))
    (path / "preprocessor_config.json").write_text(json.dumps({"min_pixels": 3136, "max_pixels": MAX_PIXELS}))


def prepare(root: Path, tiny: bool) -> None:
    checkpoint = root / "checkpoint"
    if not (checkpoint / "model.safetensors").is_file():
        print(f"building the random checkpoint in {checkpoint}", flush=True)
        _child(["--build-checkpoint", str(checkpoint)] + (["--tiny"] if tiny else []))
    for name, mode in QUANT.items():
        if not (root / name / "manifest.json").is_file():
            print(f"exporting {name}", flush=True)
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "vlagent.agent.cli", "export", str(checkpoint), str(root / name),
                            "--quantize", mode], check=True, cwd=ROOT)
            print(f"  {time.perf_counter() - t:.0f} s", flush=True)


def _child(args: list[str]) -> None:
    subprocess.run([sys.executable, __file__, *args], check=True, cwd=ROOT)


# --- measurement --------------------------------------------------------------------------
def bandwidth_gbs(threads: int, gib: float = 2.0, repeats: int = 5) -> float:
    """Read bandwidth in GB/s: `threads` threads summing disjoint parts of a large array (best of)."""
    data = np.ones(int(gib * 2**30) // 4, np.float32)
    parts = np.array_split(data, threads)
    best = 0.0
    for _ in range(repeats):
        workers = [threading.Thread(target=np.add.reduce, args=(p,)) for p in parts]
        start = time.perf_counter()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        best = max(best, data.nbytes / (time.perf_counter() - start) / 1e9)
    return best


def screenshot() -> np.ndarray:
    """A deterministic synthetic phone screenshot, 1080x2400 (WxH) RGB."""
    rng = np.random.default_rng(0)
    image = np.full((2400, 1080, 3), 245, np.uint8)
    image[:120] = (30, 30, 60)
    for row in range(6):
        for col in range(4):
            y, x = 300 + row * 330, 60 + col * 260
            image[y:y + 200, x:x + 200] = rng.integers(0, 255, 3, dtype=np.uint8)
    return image


def prompt_ids(tokenizer, image_tokens: int) -> list[int]:
    from vlagent.perception.chat import expand_vision_pads, render_chat

    text = "Find the Settings icon on this screen and give its box."
    for _ in range(200):  # pad the request with words until the prompt reaches PROMPT_TOKENS
        chat = render_chat([{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": text}]}])
        ids = tokenizer.encode(expand_vision_pads(chat, [image_tokens], []))
        if len(ids) >= PROMPT_TOKENS:
            return ids
        text += " Then describe the screen."
    raise RuntimeError("could not reach the prompt length")


def run_config(name: str, root: Path, threads: int, reference: dict | None) -> dict:
    """Everything measured for one configuration (run in its own process)."""
    from vlagent.perception.positions import get_rope_index
    from vlagent.perception.processor import ImageProcessor
    from vlagent.perception.tokenizer import Tokenizer

    checkpoint = root / "checkpoint"
    tokenizer = Tokenizer.from_file(checkpoint / "tokenizer.json")
    start = time.perf_counter()
    runner = make_runner(name, checkpoint if name in ("hf", "torch") else root / name, threads)
    load_s = time.perf_counter() - start
    loaded_rss_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    config = runner.config

    start = time.perf_counter()
    vision_input = ImageProcessor(max_pixels=MAX_PIXELS, threads=threads).preprocess_image(screenshot())
    preprocess_s = time.perf_counter() - start
    ids = np.array([prompt_ids(tokenizer, vision_input.num_tokens)])
    positions, deltas = get_rope_index(ids, vision_input.grid_thw, None, None, spatial_merge_size=2,
                                       image_token_id=config.image_token_id, video_token_id=config.video_token_id)

    start = time.perf_counter()
    features = runner.encode(vision_input.pixel_values, vision_input.grid_thw)
    vision_s = time.perf_counter() - start
    start = time.perf_counter()
    logits, state = runner.prefill(ids, positions, deltas, features, None, None)
    prefill_s = time.perf_counter() - start

    steps, chosen, fed = [], [], []
    first_logits = logits[0].astype(np.float32).copy()

    def step(token: int):
        nonlocal logits, state
        start = time.perf_counter()
        logits, state = runner.decode(state, np.array([token]), None)
        steps.append(time.perf_counter() - start)

    # free text, teacher-forced with the reference's tokens
    for i in range(FREE_STEPS):
        chosen.append(int(np.argmax(logits[0])))
        token = reference["fed"][i] if reference else chosen[-1]
        fed.append(token)
        step(token)
    # then a box under the box grammar
    digits = [tokenizer.encode(str(d)) for d in range(10)]
    assert all(len(d) == 1 for d in digits), "digits must be single tokens"
    digit_ids = np.array([d[0] for d in digits])
    forced = tokenizer.encode(f"<|object_ref_start|>{LABEL}<|object_ref_end|><|box_start|>")
    values = []
    for token in forced:
        step(token)
    for part in ("(", "d", ",", "d", "),(", "d", ",", "d", ")"):
        if part != "d":
            for token in tokenizer.encode(part):
                step(token)
            continue
        number = 0
        for _ in range(3):
            pick = int(digit_ids[np.argmax(logits[0][digit_ids])])
            number = number * 10 + digits.index([pick])
            step(pick)
        values.append(number)
    box = [min(values[0], values[2]), min(values[1], values[3]), max(values[0], values[2]), max(values[1], values[3])]
    return {"name": name, "load_s": load_s, "preprocess_s": preprocess_s, "vision_s": vision_s,
            "prefill_s": prefill_s, "prompt_tokens": int(ids.shape[1]), "image_tokens": vision_input.num_tokens,
            "decode_ms": [1000 * s for s in steps], "chosen": chosen, "fed": fed, "box": box,
            "first_logits": first_logits.tolist() if name == "onnx-fp32" else None,
            "logit_cos": None if reference is None else cosine(first_logits, np.array(reference["first_logits"])),
            "weight_bytes": runner.decoder_weight_bytes,
            "loaded_rss_gb": loaded_rss_gb, "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def iou(a: list[int], b: list[int]) -> float:
    w = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h
    return w * h / union if union > 0 else float(a == b)


# --- report -------------------------------------------------------------------------------
def decode_ms(r: dict) -> float:
    return statistics.median(r["decode_ms"])


def fastest(kept: dict | None, new: dict) -> dict:
    """Per timing, the faster of two rounds (other jobs only ever slow a round down); quality
    and memory figures stay those of the first round."""
    if kept is None:
        return new
    merged = dict(kept)
    for key in ("load_s", "preprocess_s", "vision_s", "prefill_s"):
        merged[key] = min(kept[key], new[key])
    if decode_ms(new) < decode_ms(kept):
        merged["decode_ms"] = new["decode_ms"]
    return merged


def table(results: dict, bandwidth: float) -> str:
    ref, hf = results["onnx-fp32"], results.get("hf")
    lines = ["| configuration | vision s | prefill s | decode ms/token | decode vs HF | decoder GB | roofline ms "
             "| of roofline | peak RSS GB | logit cos | greedy agreement | box IoU |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name in TABLE:
        r = results.get(name)
        if r is None:
            continue
        roof = r["weight_bytes"] / (bandwidth * 1e9) * 1000
        speed = f"{decode_ms(hf) / decode_ms(r):.2f}x" if hf else "-"
        agree = np.mean(np.array(r["chosen"]) == np.array(ref["fed"]))
        cos = "ref" if r["logit_cos"] is None else f"{r['logit_cos']:.4f}"
        lines.append(f"| {name} | {r['vision_s']:.1f} | {r['prefill_s']:.1f} | {decode_ms(r):.0f} | {speed} | "
                     f"{r['weight_bytes'] / 1e9:.2f} | {roof:.0f} | {roof / decode_ms(r):.0%} | {r['peak_rss_gb']:.1f} | "
                     f"{cos} | {agree:.0%} | {iou(r['box'], ref['box']):.2f} |")
    return "\n".join(lines)


def goals(results: dict, bandwidth: float) -> list[str]:
    """The issue's targets, each with the measured value."""
    need = ("hf", "onnx-fp32", "onnx-int8", "onnx-int4")
    if not all(n in results for n in need):
        return []
    hf, fp32, int8, int4 = (results[n] for n in need)
    roof4 = int4["weight_bytes"] / (bandwidth * 1e9) * 1000
    rows = [("decode, ONNX fp32 vs HF fp32", decode_ms(hf) / decode_ms(fp32), ">= 2x", decode_ms(hf) / decode_ms(fp32) >= 2),
            ("decode, ONNX int4 vs HF fp32", decode_ms(hf) / decode_ms(int4), ">= 6x", decode_ms(hf) / decode_ms(int4) >= 6),
            ("decode, ONNX int4 share of its roofline", roof4 / decode_ms(int4), ">= 0.6", roof4 / decode_ms(int4) >= 0.6),
            ("vision, ONNX fp32 time / HF time", fp32["vision_s"] / hf["vision_s"], "<= 1x", fp32["vision_s"] <= hf["vision_s"]),
            ("vision, HF time / ONNX int8 time", hf["vision_s"] / int8["vision_s"], ">= 1.5x", hf["vision_s"] / int8["vision_s"] >= 1.5)]
    lines = [f"- {what}: {value:.2f} (goal {goal}): {'met' if ok else 'not met'}" for what, value, goal, ok in rows]
    noted_decode, noted_vision = 468.0, 73.0  # ms/token and s: the HF fp32 figures, 2 threads
    lines.append(f"- against the noted reference ({noted_decode:.0f} ms/token, {noted_vision} s vision): decode fp32 "
                 f"{noted_decode / decode_ms(fp32):.2f}x, int8 {noted_decode / decode_ms(int8):.2f}x, int4 "
                 f"{noted_decode / decode_ms(int4):.2f}x; vision fp32 {fp32['vision_s'] / noted_vision:.2f} of it, "
                 f"int8 {noted_vision / int8['vision_s']:.2f}x faster.")
    fp32_roof = fp32["weight_bytes"] / (bandwidth * 1e9) * 1000
    lines.append(f"- fp32 decode reads {fp32['weight_bytes'] / 1e9:.1f} GB of weights per token: at {bandwidth:.1f} GB/s "
                 f"no fp32 kernel can beat {fp32_roof:.0f} ms, which is {decode_ms(hf) / fp32_roof:.2f}x the reference's "
                 f"{decode_ms(hf):.0f} ms; 2x would need {2 * fp32['weight_bytes'] / decode_ms(hf) / 1e6:.1f} GB/s.")
    return lines


def section(results: dict, report: str, bandwidths: tuple[float, float], threads: int, rounds: int, root: Path) -> str:
    """The '## Engine' markdown: setup, the table, the goals, and what the columns mean."""
    r = results.get("onnx-fp32") or next(iter(results.values()))
    load = ", ".join(f"{name} {res['load_s']:.0f} s / {res['loaded_rss_gb']:.1f} GB" for name, res in results.items())
    targets = "\n".join(goals(results, max(bandwidths)))
    return f"""## Engine

Qwen2-VL-2B shapes with random weights (`QWEN2_VL_2B`, std 0.02 init), {threads} threads, one
synthetic 1080x2400 screenshot at max_pixels 28*28*1280 ({r['image_tokens']} image tokens,
{r['prompt_tokens']}-token prompt); decode = median of {len(r['decode_ms'])} one-token steps. Every
configuration ran in its own process, one after the other, {rounds} rounds in one run (the
second in reverse order); each timing is the faster of its rounds. Memory read bandwidth,
measured in the same run ({threads} threads, numpy): {bandwidths[0]:.1f} GB/s before and
{bandwidths[1]:.1f} GB/s after; roofline = decoder weight bytes / the higher of the two.
HF = transformers {_version('transformers')} fp32 (the reference), torch = `perception.engine_torch` fp32,
onnx-* = `vlagent export` packages on onnxruntime {_version('onnxruntime')}: fp32, int8 (int8 vision and
decoder), int4 (int4 decoder in blocks of 32, int8 vision).

{report}

{targets}

What stands in the way of the goals not met:
- fp32 decode 2x: an fp32 step reads the whole 6.2 GB decoder, so at this machine's bandwidth no
  kernel gets under the roofline above; HF and ONNX fp32 already run at about 80% of it. 2x the
  reference needs fewer bytes per token (int8, int4), not a faster fp32 kernel.
- int4 decode 6x and 60% of roofline: `python bench/profile_decode.py /tmp/vlagent-2b/onnx-int4`
  (onnxruntime's profiler, 1 thread, 64-token context) puts `MatMulNBits` (4-bit blocks of 32,
  accuracy level 4 = int8 compute) at 91% of a decode step; every other op together is under
  10%. One core unpacks about 7 GB/s of 4-bit weights, so with 2 cores the kernel is bound by
  unpacking at about half the measured memory bandwidth. Larger blocks (fewer scales) or another
  accuracy level were not measured yet; more cores would scale it.
- The goal ratios use this run's HF timings (same machine, same run). The figures noted for this
  machine earlier (73 s vision, 23 s prefill, 468 ms/token) were slower than HF here; the
  last goal line restates the ratios against them.

- Columns: logit cos = cosine similarity of the prefill's last logits with ONNX fp32's; greedy agreement = share of
  {FREE_STEPS} teacher-forced steps whose argmax is ONNX fp32's token; box IoU = a box decoded under
  the box grammar (digits by argmax among digit tokens) against ONNX fp32's box (0-1000 space).
  Random weights make the next-token distribution nearly flat, so argmax flips at far smaller
  errors than a trained model's: read agreement and IoU as lower bounds.
- Load time / RSS once loaded (not in the table): {load}.
- Machine: {platform.machine()}, {os.cpu_count()} cores, shared with other jobs, so single figures can be
  off by tens of percent; all columns come from the same run.
- Reproduce: `python bench/engine.py --threads {threads} --write docs/PERFORMANCE.md` (the first
  run builds the checkpoint and the three packages under {root}, ~25 GB of disk); `--report-only`
  rebuilds this section from that run's saved results; `python bench/profile_decode.py PACKAGE`
  gives the per-operator split of a decode step.
"""


def _version(dist: str) -> str:
    from importlib import metadata

    return metadata.version(dist)


def write_section(path: Path, body: str) -> None:
    """Replace (or append) the '## Engine' section of `path`, leaving other sections alone."""
    text = path.read_text() if path.is_file() else "# Performance\n"
    start = text.find("\n## Engine\n")
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + body
    else:
        end = text.find("\n## ", start + 1)
        text = text[:start + 1] + body + ("" if end < 0 else "\n" + text[end + 1:])
    path.write_text(text.rstrip("\n") + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path("/tmp/vlagent-2b"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--configs", default=",".join(ORDER))
    parser.add_argument("--rounds", type=int, default=2, help="runs of every configuration; the fastest counts")
    parser.add_argument("--tiny", action="store_true", help="2-layer smoke test of the benchmark itself")
    parser.add_argument("--write", type=Path, default=None, help="write the table into this markdown file")
    parser.add_argument("--prepare-only", action="store_true", help="build the checkpoint and packages, then stop")
    parser.add_argument("--report-only", action="store_true", help="rebuild the table from the last run's results")
    parser.add_argument("--build-checkpoint", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--reference", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build_checkpoint:
        return build_checkpoint(args.build_checkpoint, args.tiny)
    if args.child:
        reference = json.loads(args.reference.read_text()) if args.reference else None
        args.out.write_text(json.dumps(run_config(args.child, args.dir, args.threads, reference)))
        return None

    prepare(args.dir, args.tiny)
    if args.prepare_only:
        return None
    names = args.configs.split(",")
    unknown = [n for n in names if n not in RUNNERS]
    if unknown:
        raise SystemExit(f"unknown configurations {unknown}; choose from {sorted(RUNNERS)}")
    if not args.report_only:
        measure(args, names)
    saved = json.loads((args.dir / "bandwidth.json").read_text())
    bandwidths = (saved["before"], saved["after"])
    results: dict = {}
    for round_ in range(saved["rounds"]):
        for name in names:
            results[name] = fastest(results.get(name), json.loads((args.dir / f"result-{name}-{round_}.json").read_text()))
    report = table(results, max(bandwidths))
    print(report)
    if args.write:
        write_section(args.write, section(results, report, bandwidths, args.threads, saved["rounds"], args.dir))


def measure(args, names: list[str]) -> None:
    """Bandwidth, every configuration `args.rounds` times (each in a fresh process), bandwidth."""
    before = bandwidth_gbs(args.threads)
    print(f"memory bandwidth ({args.threads} threads): {before:.1f} GB/s", flush=True)
    for round_ in range(args.rounds):  # odd rounds in reverse, so no configuration always runs first
        for name in names if round_ % 2 == 0 else names[::-1]:
            out = args.dir / f"result-{name}-{round_}.json"
            extra = [] if name == "onnx-fp32" else ["--reference", str(args.dir / "result-onnx-fp32-0.json")]
            print(f"round {round_ + 1}: running {name}", flush=True)
            _child(["--child", name, "--dir", str(args.dir), "--threads", str(args.threads), "--out", str(out), *extra])
            r = json.loads(out.read_text())
            print(f"  vision {r['vision_s']:.1f} s, prefill {r['prefill_s']:.1f} s ({r['prompt_tokens']} tokens), "
                  f"decode {decode_ms(r):.0f} ms/token, peak RSS {r['peak_rss_gb']:.1f} GB", flush=True)
    after = bandwidth_gbs(args.threads)
    print(f"memory bandwidth ({args.threads} threads): {after:.1f} GB/s", flush=True)
    (args.dir / "bandwidth.json").write_text(json.dumps({"before": before, "after": after, "rounds": args.rounds}))

if __name__ == "__main__":
    main()

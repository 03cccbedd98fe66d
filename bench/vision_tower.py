"""Vision tower: HF transformers (fp32, bf16) against our ONNX packages (fp32, int8), side by side.

    python bench/vision_tower.py [--dir /tmp/vlagent-vision] [--depth 4] [--threads 2] [--rounds 3]
                                 [--also NAME=PACKAGE ...] [--write docs/PERFORMANCE.md]

The Qwen2-VL-2B tower's width (embed 1280, 16 heads, MLP 5120, merger to 1536) with `--depth`
blocks (time per block is the same at every depth, so 4 blocks say what 32 do in an eighth of the
time), random weights, one 672x1484 model-input image (5088 patches, 1272 visual tokens), the
same pixels in every runtime. Each configuration runs in the same process, one encode to warm
up, then the median of `--rounds` interleaved encodes. Also runs `bench/profile_vision.py`'s
split on the int8 package: how much of the tower is the fp32 attention, which bounds what any
weight format can give (issue 19, item 3). `--also NAME=PACKAGE` times more packages of the same
checkpoint in the same rounds (say, one exported by an earlier commit, to compare graph changes).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SECTION = "## Vision tower"
GRID = (1, 106, 48)  # 1484 / 14, 672 / 14


def build(root: Path, depth: int) -> Path:
    from bench.checkpoints import save_random_checkpoint
    from vlagent.perception.export.package import export_package

    checkpoint = root / f"checkpoint-depth{depth}"
    if not (checkpoint / "model.safetensors").is_file():
        save_random_checkpoint(checkpoint, text={"vocab_size": 4096, "num_hidden_layers": 1}, vision={"depth": depth})
    for mode in ("none", "int8"):
        if not (root / f"onnx-{mode}-depth{depth}" / "manifest.json").is_file():
            export_package(checkpoint, root / f"onnx-{mode}-depth{depth}", quantize=mode)
    return checkpoint


def runners(root: Path, checkpoint: Path, depth: int, threads: int, also: dict[str, Path]) -> dict:
    import torch
    from transformers import Qwen2VLForConditionalGeneration

    from vlagent.perception.engine_onnx import OnnxBackend

    torch.set_num_threads(threads)
    grid = np.array([GRID])
    pixels = np.random.default_rng(0).standard_normal((int(grid.prod()), 1176)).astype(np.float32)
    hf = Qwen2VLForConditionalGeneration.from_pretrained(checkpoint, dtype=torch.float32).eval().model.visual
    hf_bf16 = Qwen2VLForConditionalGeneration.from_pretrained(checkpoint, dtype=torch.bfloat16).eval().model.visual

    def torch_run(tower, dtype):
        x, g = torch.from_numpy(pixels).to(dtype), torch.from_numpy(grid)

        def run():
            with torch.inference_mode():
                return tower(x, grid_thw=g).pooler_output.float().numpy()
        return run

    out = {"hf-fp32": torch_run(hf, torch.float32), "hf-bf16": torch_run(hf_bf16, torch.bfloat16)}
    packages = {"onnx-fp32": root / f"onnx-none-depth{depth}", "onnx-int8": root / f"onnx-int8-depth{depth}", **also}
    for name, package in packages.items():
        backend = OnnxBackend(package, threads=threads)
        out[name] = (lambda b: lambda: b.encode(pixels, grid))(backend)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path("/tmp/vlagent-vision"))
    parser.add_argument("--depth", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--also", action="append", default=[], metavar="NAME=PACKAGE",
                        help="another package of the same checkpoint to time beside the others")
    parser.add_argument("--write", type=Path, default=None)
    args = parser.parse_args()
    also = dict(item.split("=", 1) for item in args.also)
    also = {name: Path(path) for name, path in also.items()}
    checkpoint = build(args.dir, args.depth)
    runs = runners(args.dir, checkpoint, args.depth, args.threads, also)
    outputs = {name: run() for name, run in runs.items()}  # warm-up, and the features to compare
    times: dict[str, list[float]] = {name: [] for name in runs}
    for r in range(args.rounds):
        for name in (list(runs) if r % 2 == 0 else list(reversed(runs))):
            started = time.perf_counter()
            runs[name]()
            times[name].append(time.perf_counter() - started)
            print(f"round {r} {name}: {times[name][-1]:.2f} s", flush=True)
    ref = outputs["hf-fp32"]
    rows = ["| configuration | s per image | s per block | vs HF fp32 | features cos vs HF fp32 |", "|---|---|---|---|---|"]
    base = statistics.median(times["hf-fp32"])
    for name, t in times.items():
        s, out = statistics.median(t), outputs[name].reshape(-1)
        cos = float(out @ ref.reshape(-1) / np.linalg.norm(out) / np.linalg.norm(ref))
        rows.append(f"| {name} | {s:.2f} | {s / args.depth:.3f} | {base / s:.2f}x | {cos:.4f} |")
    import subprocess

    profile = subprocess.run([sys.executable, str(ROOT / "bench" / "profile_vision.py"),
                              str(args.dir / f"onnx-int8-depth{args.depth}"), "--threads", str(args.threads), "--runs", "1"],
                             capture_output=True, text=True, check=True).stdout.strip()
    text = "\n".join([SECTION, "", f"`python bench/vision_tower.py --depth {args.depth} --threads {args.threads} "
                      f"--rounds {args.rounds}{''.join(f' --also {a}' for a in args.also)}`: the Qwen2-VL-2B vision tower's width with {args.depth} blocks, "
                      f"random weights, one 672x1484 image (5088 patches), median of {args.rounds} interleaved "
                      f"encodes, {args.threads} threads.", "", *rows, "",
                      "Where the int8 tower's time goes (`python bench/profile_vision.py PACKAGE`; `If` holds the "
                      "single-frame MultiHeadAttention, so it is counted twice):", "", "```", profile, "```", ""])
    print(text)
    if args.write:
        from bench.perf_doc import write_section

        write_section(text, SECTION, args.write)


if __name__ == "__main__":
    main()

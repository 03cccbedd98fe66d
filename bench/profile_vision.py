"""Where the vision tower's time goes: onnxruntime's profiler over `vision.onnx` of a package.

    python bench/profile_vision.py PACKAGE [--threads 2] [--height 1484] [--width 672] [--runs 2]

Encodes one random image of the given model-input size (default 672x1484 = 1272 visual tokens,
the 2B benchmark's screenshot) and prints kernel time per operator type, from the profile of
the runs after the first. With the attention FLOPs (2 x patches^2 x embed per layer, QK and PV)
and the linear FLOPs (2 x patches x weights), it tells how much of the tower a faster weight
kernel could ever save. Used for issue 19's vision notes in docs/PERFORMANCE.md. Times in ms.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.ort_profile import kernel_ms_by_op  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package", type=Path)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--height", type=int, default=1484)
    parser.add_argument("--width", type=int, default=672)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    from vlagent.perception import positions as P
    from vlagent.perception.export.manifest import vision_io_names

    vision = json.loads((args.package / "config.json").read_text())["vision_config"]
    merge, patch = vision["spatial_merge_size"], vision["patch_size"]
    grid = np.array([[1, args.height // patch, args.width // patch]])
    patches = int(grid.prod())
    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    options.enable_profiling = True
    options.profile_file_prefix = "/tmp/vlagent-profile-vision"
    session = ort.InferenceSession(str(args.package / "vision.onnx"), options, providers=["CPUExecutionProvider"])
    pixels = np.random.default_rng(0).standard_normal((patches, 3 * 2 * patch * patch)).astype(np.float32)
    feed = dict(zip(vision_io_names()[0], (pixels, P.vision_positions(grid, merge), P.vision_cu_seqlens(grid)), strict=True))
    for _ in range(args.runs + 1):
        session.run(None, feed)
    per_op = kernel_ms_by_op(session.end_profiling(), 1, args.runs)
    total = sum(per_op.values())
    embed, depth = vision["embed_dim"], vision["depth"]
    weights = embed * embed * 4 + 2 * embed * int(embed * vision.get("mlp_ratio", 4))
    attention_flops, linear_flops = 4 * patches**2 * embed * depth, 2 * patches * weights * depth
    print(f"{args.package}: {patches} patches, depth {depth}, {args.threads} thread(s), {total:.0f} ms in kernels; "
          f"FLOPs: attention {attention_flops / 1e12:.2f} T, linears {linear_flops / 1e12:.2f} T (blocks only)")
    for op, ms in sorted(per_op.items(), key=lambda kv: -kv[1])[:10]:
        print(f"  {op:24s} {ms:9.1f} ms  {ms / total:6.1%}")


if __name__ == "__main__":
    main()

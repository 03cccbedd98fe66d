"""The decoder's weight kernels alone, per layer shape: fp32 MatMul, int8 DynamicQuantizeMatMul and
int4 MatMulNBits at block sizes 32/64/128 and accuracy levels 0 (fp32 compute) / 4 (int8 compute),
at M = 1 (a decode step) and M = 1300 (a prefill), on onnxruntime's CPU provider.

    python bench/matmul_kernels.py [--threads 2] [--rounds 5] [--write docs/PERFORMANCE.md]

Each configuration is one single-node graph built here with the project's own quantizers
(perception/export/quantize.py), random N(0, 0.02) weights, timed as the median of `--rounds`
interleaved rounds of several calls. It isolates the kernel from the rest of the graph: the
question is which int4 layout and compute level make 4-bit prefill (many rows) and decode (one
row) fast, before changing what `vlagent export` writes.
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

SECTION = "## Weight kernels"
# Qwen2-VL-2B decoder linears: q/o (1536x1536), gate/up (1536 -> 8960), down (8960 -> 1536).
SHAPES = ((1536, 1536), (1536, 8960), (8960, 1536))
ROWS = (1, 1300)


def graph(kind: str, w: np.ndarray, block: int = 32, level: int = 4):
    from onnx import TensorProto, helper, numpy_helper

    from vlagent.perception.export.quantize import quantize_int4_blocks, quantize_int8_columns

    k, n = w.shape
    inputs = [helper.make_tensor_value_info("A", TensorProto.FLOAT, ["M", k])]
    outputs = [helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["M", n])]
    if kind == "fp32":
        inits = [numpy_helper.from_array(w, "W")]
        node = helper.make_node("MatMul", ["A", "W"], ["Y"])
    elif kind == "int8":
        q, scale = quantize_int8_columns(w)
        inits = [numpy_helper.from_array(q, "W"), numpy_helper.from_array(scale, "S")]
        node = helper.make_node("DynamicQuantizeMatMul", ["A", "W", "S"], ["Y"], domain="com.microsoft")
    else:
        packed, scales = quantize_int4_blocks(w, block)
        inits = [numpy_helper.from_array(packed, "W"), numpy_helper.from_array(scales.reshape(-1), "S")]
        node = helper.make_node("MatMulNBits", ["A", "W", "S"], ["Y"], domain="com.microsoft", K=k, N=n, bits=4,
                                block_size=block, accuracy_level=level)
    model = helper.make_model(helper.make_graph([node], kind, inputs, outputs, inits),
                              opset_imports=[helper.make_opsetid("", 21), helper.make_opsetid("com.microsoft", 1)])
    return model.SerializeToString()


def main() -> None:
    import onnxruntime as ort

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--write", type=Path, default=None)
    args = parser.parse_args()
    configs = [("fp32", 0, 0), ("int8", 0, 0)] + [("int4", b, lv) for b in (32, 64, 128) for lv in (0, 4)]
    rng = np.random.default_rng(0)
    results: dict[tuple, list[float]] = {}
    sessions = {}
    for k, n in SHAPES:
        w = (rng.standard_normal((k, n)) * 0.02).astype(np.float32)
        for config in configs:
            options = ort.SessionOptions()
            options.intra_op_num_threads = args.threads
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            sessions[(k, n, config)] = ort.InferenceSession(graph(config[0], w, config[1] or 32, config[2]), options,
                                                            providers=["CPUExecutionProvider"])
    inputs = {m: {k: rng.standard_normal((m, k)).astype(np.float32) for k in {s[0] for s in SHAPES}} for m in ROWS}
    for _ in range(args.rounds):
        for (k, n, config), session in sessions.items():
            for m in ROWS:
                calls = 20 if m == 1 else 2
                session.run(None, {"A": inputs[m][k]})
                started = time.perf_counter()
                for _ in range(calls):
                    session.run(None, {"A": inputs[m][k]})
                results.setdefault((k, n, config, m), []).append((time.perf_counter() - started) / calls * 1000)
    med = {key: statistics.median(v) for key, v in results.items()}

    def label(config):
        kind, block, level = config
        return kind if kind != "int4" else f"int4 block {block}, level {level}"

    lines = [SECTION, "", f"`python bench/matmul_kernels.py --threads {args.threads} --rounds {args.rounds}`, "
             f"onnxruntime {ort.__version__}: one decoder-sized weight kernel per graph, ms per call, median of "
             f"{args.rounds} interleaved rounds; sums over one layer's q/o ({SHAPES[0][0]}x{SHAPES[0][1]}, twice), "
             f"gate/up ({SHAPES[1][0]}x{SHAPES[1][1]}, twice) and down ({SHAPES[2][0]}x{SHAPES[2][1]}) products "
             "(k/v, 1536x256, left out). M = 1 is a decode step's row, M = 1300 a prefill's.", "",
             "| kernel | decode ms / layer (M=1) | prefill ms / layer (M=1300) | prefill vs int8 |", "|---|---|---|---|"]
    per_layer = {}
    for config in configs:
        for m in ROWS:
            per_layer[config, m] = sum(med[(k, n, config, m)] * times for (k, n), times in zip(SHAPES, (2, 2, 1),
                                                                                                 strict=True))
    for config in configs:
        ratio = per_layer[config, 1300] / per_layer[("int8", 0, 0), 1300]
        lines.append(f"| {label(config)} | {per_layer[config, 1]:.3f} | {per_layer[config, 1300]:.1f} | {ratio:.2f}x |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        from bench.perf_doc import write_section

        write_section(text, SECTION, args.write)


if __name__ == "__main__":
    main()

"""What bounds the vision tower on this CPU: its attention alone, against a plain fp32 GEMM.

    python bench/vision_bound.py [--patches 5088] [--threads 2] [--rounds 5]

Times onnxruntime's CPU `com.microsoft.MultiHeadAttention` (what vision.onnx runs per block) on
random fp32 q/k/v of the Qwen2-VL-2B tower's width (1280 = 16 heads of 80) over `--patches` patches
(5088: a 672x1484 model input), and an fp32 MatMul of one MLP product's shape, each as a one-node
graph, median of `--rounds`. Attention FLOPs = 4 x patches^2 x width (QK and PV). If the attention
runs at the GEMM's rate, no kernel setting is left to tune, and a tower whose attention stays fp32
cannot be faster than blocks x attention time (docs/PERFORMANCE.md, "Vision tower: what bounds it").
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def session(nodes, inputs, threads: int):
    import onnxruntime as ort
    from onnx import TensorProto, helper

    graph = helper.make_graph(nodes, "bound", inputs, [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 23), helper.make_opsetid("com.microsoft", 1)])
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


def main() -> None:
    from onnx import TensorProto, helper

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patches", type=int, default=5088)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    n, width, heads = args.patches, 1280, 16
    rng = np.random.default_rng(0)
    qkv = {name: rng.standard_normal((1, n, width)).astype(np.float32) for name in "qkv"}
    attention = session([helper.make_node("MultiHeadAttention", list("qkv"), ["y"], domain="com.microsoft",
                                          num_heads=heads)],
                        [helper.make_tensor_value_info(name, TensorProto.FLOAT, [1, n, width]) for name in "qkv"],
                        args.threads)
    a = rng.standard_normal((n, width)).astype(np.float32)
    b = rng.standard_normal((width, 4 * width)).astype(np.float32)
    gemm = session([helper.make_node("MatMul", ["a", "b"], ["y"])],
                   [helper.make_tensor_value_info("a", TensorProto.FLOAT, [n, width]),
                    helper.make_tensor_value_info("b", TensorProto.FLOAT, [width, 4 * width])], args.threads)
    attention.run(None, qkv)
    gemm.run(None, {"a": a, "b": b})
    times: dict[str, list[float]] = {"attention": [], "gemm": []}
    for _ in range(args.rounds):
        for name, run in (("attention", lambda: attention.run(None, qkv)), ("gemm", lambda: gemm.run(None, {"a": a, "b": b}))):
            started = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - started)
    att, mm = statistics.median(times["attention"]), statistics.median(times["gemm"])
    print(f"MultiHeadAttention fp32, {n} patches, {heads} heads of {width // heads}: {att * 1000:.0f} ms per block "
          f"= {4 * n * n * width / att / 1e9:.0f} GFLOP/s")
    print(f"fp32 MatMul {n}x{width} @ {width}x{4 * width}: {mm * 1000:.0f} ms = {2 * n * width * 4 * width / mm / 1e9:.0f} GFLOP/s")


if __name__ == "__main__":
    main()

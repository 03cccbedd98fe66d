"""The int8 prefill graph of an int4 package: 4-bit weights on disk, int8 GEMMs for prompts.

Why: onnxruntime 1.32's 4-bit kernel (`MatMulNBits`, accuracy level 4) is fast for one row
and slow for many. Measured on one 2B gate/up product (1536 x 8960, 2 threads), int4 against
the int8 `DynamicQuantizeMatMul`: 0.64x the time at 1 row, 1.2x at 4 rows, 2.2x at 16 and
2.9x at 256 (docs/PERFORMANCE.md, "Prefill of int4 packages"). A decode step is one row per
sequence; a prefill is hundreds or thousands. So an int4 package keeps its 4-bit decoder for
decode steps and adds `decoder_prefill.onnx`: the same graph with every `MatMulNBits` written as
`DynamicQuantizeMatMul`, used for prefills of at least PREFILL_MIN_ROWS new tokens.

The prefill graph carries no weights of its own. Its other tensors (norms, biases, the
embedding-free rest) point into `decoder.onnx.data`, the int4 graph's file; its int8 weights
are derived when the package is loaded (`derived_weights`), from the int4 codes and scales:
w4 = (code - 8) * block scale, requantized per output column to the int8 codes -63..63 that
`quantize.quantize_int8_columns` writes (the int4 grid needs at most 4 bits of the 7, plus the
ratio of block scales, so the requantization adds little error: about 0.8% of the column's
largest weight at most). So the package stays the int4 size on disk; in memory it holds the
int8 weights too (about 2x the int4 decoder's bytes more), which `int8_prefill=False` on the
engine (`perception.engine.load`) declines, and the export option `int4_prefill="int4"` leaves out.

Numpy and the standard library only (the runtime derives the weights); `write_prefill_graph`,
used by `vlagent export`, imports onnx when called.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from vlagent.perception.export.manifest import PackageError

PREFILL_GRAPH = "decoder_prefill.onnx"
DERIVED_LOCATION = "derived-at-load:int8-from-int4"  # never a file: the engine supplies these tensors
PREFILL_MIN_ROWS = 4  # new tokens per row from which int8 beats int4 (measured crossover, see above)
INT8_MAX = 63  # as perception.export.quantize.INT8_MAX (not imported: that module needs onnx)
COLUMNS_PER_CHUNK = 2048  # output columns derived at a time: bounds the float temporaries


def int8_from_int4(packed: np.ndarray, scales: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """MatMulNBits weights -> DynamicQuantizeMatMul weights for the same product.

    packed: uint8 [N, blocks, block / 2] (two 4-bit codes per byte, low nibble first, zero
    point 8), scales: float32 [N, blocks] (or flat [N * blocks]), k: the product's K (the codes
    are padded to whole blocks). Returns (int8 [K, N], scale float32 [N]) with
    int8 * scale ~ (code - 8) * block scale, codes in [-INT8_MAX, INT8_MAX]."""
    n, blocks, half = packed.shape
    scales = np.asarray(scales, np.float32).reshape(n, blocks)
    column = np.abs(scales).max(axis=1) * (8.0 / INT8_MAX)  # |w4| <= 8 * |block scale|
    column = np.where(column > 0, column, 1.0).astype(np.float32)
    ratio = (scales / column[:, None]).astype(np.float32)
    out = np.empty((k, n), np.int8)
    for start in range(0, n, COLUMNS_PER_CHUNK):
        part = packed[start:start + COLUMNS_PER_CHUNK]
        codes = np.empty(part.shape[:-1] + (2 * half,), np.float32)
        codes[..., 0::2] = part & 0x0F
        codes[..., 1::2] = part >> 4
        codes -= 8.0
        codes *= ratio[start:start + COLUMNS_PER_CHUNK, :, None]
        np.rint(codes, out=codes)
        out[:, start:start + len(part)] = codes.reshape(len(part), -1)[:, :k].T
    return out, column


def derived_bytes(section: dict) -> int:
    """Bytes of the int8 weights and scales `derived_weights` makes for a manifest's "prefill"."""
    return sum(w["K"] * w["N"] + 4 * w["N"] for w in section["weights"])


def _read(path: Path, entry: dict, dtype, shape) -> np.ndarray:
    """The tensor at entry's offset / length in `path`, checked against the shape it must have."""
    need = int(np.prod(shape)) * np.dtype(dtype).itemsize
    offset, length = int(entry["offset"]), int(entry["length"])
    if length != need or offset < 0 or offset + length > path.stat().st_size:
        raise PackageError(f"manifest prefill section: {length} bytes at offset {offset} of {path.name} "
                           f"({path.stat().st_size} bytes) cannot hold a {dtype.__name__} tensor of shape {shape}")
    data = np.fromfile(path, dtype=np.uint8, count=length, offset=offset)
    return data.view(dtype).reshape(shape)


def derived_weights(package: str | Path, section: dict, threads: int | None = None) -> dict[str, np.ndarray]:
    """{tensor name: array} of the prefill graph's int8 weights and scales, derived from the
    int4 tensors of `decoder.onnx.data` that the manifest's "prefill" section locates; one
    weight per thread at a time (numpy's array operations release the GIL), `threads` of them
    (None: one per CPU)."""
    package = Path(package)

    def derive(w: dict) -> tuple[np.ndarray, np.ndarray]:
        source = package / w["file"]
        if Path(w["file"]).name != w["file"] or not source.is_file():
            raise PackageError(f"manifest prefill section names {w['file']!r}, not a file of the package")
        blocks = -(-w["K"] // w["block"])
        packed = _read(source, w["packed"], np.uint8, (w["N"], blocks, w["block"] // 2))
        scales = _read(source, w["scales"], np.float32, (w["N"], blocks))
        return int8_from_int4(packed, scales, w["K"])

    workers = max(1, min(len(section["weights"]), threads or os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(derive, section["weights"]))
    out = {}
    for w, (q, scale) in zip(section["weights"], results, strict=True):
        out[w["int8"]], out[w["scale"]] = q, scale
    return out


def _external(tensor) -> dict[str, str]:
    return {e.key: e.value for e in tensor.external_data}


def write_prefill_graph(decoder: str | Path, out: str | Path) -> dict:
    """Write `out` (PREFILL_GRAPH): the int4 graph `decoder` with each MatMulNBits as
    DynamicQuantizeMatMul over derived int8 weights; returns the manifest's "prefill" section."""
    import onnx
    from onnx import helper

    decoder, out = Path(decoder), Path(out)
    model = onnx.load(str(decoder), load_external_data=False)
    inits = {t.name: t for t in model.graph.initializer}
    nodes, weights, replaced = [], [], set()
    for node in model.graph.node:
        if node.op_type != "MatMulNBits" or node.domain != "com.microsoft":
            nodes.append(node)
            continue
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if attrs.get("bits", 4) != 4 or any(node.input[i] for i in (3, 4) if len(node.input) > i):
            raise ValueError(f"{node.name}: only 4-bit MatMulNBits without zero points or group index is written by "
                             "vlagent export")
        packed, scales = inits[node.input[1]], inits[node.input[2]]
        for tensor in (packed, scales):
            info = _external(tensor)
            if tensor.data_location != onnx.TensorProto.EXTERNAL or info["location"] != decoder.name + ".data":
                raise ValueError(f"{tensor.name}: expected external data in {decoder.name}.data")
        k, n, block = attrs["K"], attrs["N"], attrs["block_size"]
        int8_name, scale_name = node.input[1] + ".prefill_int8", node.input[1] + ".prefill_scale"
        for name, dtype, dims, length in ((int8_name, onnx.TensorProto.INT8, [k, n], k * n),
                                          (scale_name, onnx.TensorProto.FLOAT, [n], 4 * n)):
            tensor = onnx.TensorProto(name=name, data_type=dtype, dims=dims)
            for key, value in (("location", DERIVED_LOCATION), ("offset", "0"), ("length", str(length))):
                entry = tensor.external_data.add()
                entry.key, entry.value = key, value
            tensor.data_location = onnx.TensorProto.EXTERNAL
            inits[name] = tensor
        bias = node.input[5] if len(node.input) > 5 else ""
        nodes.append(helper.make_node("DynamicQuantizeMatMul", [node.input[0], int8_name, scale_name, "", bias],
                                      list(node.output), name=node.name, domain="com.microsoft"))
        replaced.update(node.input[1:3])
        weights.append({"int8": int8_name, "scale": scale_name, "K": k, "N": n, "block": block,
                        "file": decoder.name + ".data",
                        "packed": {k_: int(v) for k_, v in _external(packed).items() if k_ in ("offset", "length")},
                        "scales": {k_: int(v) for k_, v in _external(scales).items() if k_ in ("offset", "length")}})
    if not weights:
        raise ValueError(f"{decoder} has no MatMulNBits product: not an int4 decoder")
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    kept = [t for name, t in inits.items() if name not in replaced]
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept)
    onnx.save_model(model, str(out))
    return {"graph": out.name, "min_rows": PREFILL_MIN_ROWS, "weights": weights}

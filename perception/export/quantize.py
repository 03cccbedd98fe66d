"""Weight quantization of exported graphs, streamed one weight at a time.

- int8: every MatMul / Gemm with a constant weight becomes `com.microsoft.DynamicQuantizeMatMul`
  with symmetric per-output-column int8 weights in 7 bits (codes -63..63, no zero point; see
  INT8_MAX for why not -127..127); activations are quantized per call (dynamic
  quantization), and ONNX Runtime runs it as an int8 GEMM (VNNI / AMX where the CPU has them).
  Used for the vision tower of `int8` and `int4` packages and the decoder of `int8` ones.
- int4: every such MatMul becomes `com.microsoft.MatMulNBits`, blockwise symmetric 4-bit weights
  (blocks of INT4_BLOCK = 128 along K, one float scale each), accuracy_level 4 (int8 compute on CPU).
  Why 128 and not 32: per weight the 4-bit kernel reads and applies 4x fewer scales (what
  onnxruntime prepacks per block is the scale and a block sum: 6 bits per weight at 32, 4.5 at
  128), measured 20-25% faster decode and 30% faster prefill (bench/peers.py, bench/matmul_kernels.py),
  with the trained model's held-out grounding and validity unchanged and next action within one
  point of fp32 (bench/quality.py, docs/PERFORMANCE.md).
  Decoder only: 4-bit vision towers lose grounding.

Gemm nodes (the exporter writes the vision tower's linears as `Gemm(transB=1)`) are taken as
the MatMul they are, `A @ W.T + C`, so no constant-weight product is skipped;
`float_weight_matmuls` proves it on the result.

Why not `quantize_dynamic` / `MatMulNBitsQuantizer` from onnxruntime.quantization: both hold the
whole model several times over (measured: 19 GB peak RSS for the 6.2 GB fp32 decoder of the 2B
model, which got the export OOM-killed on a 24 GB machine). Here the graph is loaded without its
weights and each weight is read, quantized in column chunks and appended to the new data file,
so memory stays near one weight. The 4-bit layout is the one `MatMulNBitsQuantizer` writes
(bit-identical on the same weights, checked by the tests): per column and block, scale =
(signed value of largest magnitude) / -8, code = clip(round(w / scale) + 8, 0, 15), two codes
per byte, low nibble first, zero point implied 8.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

from vlagent.perception.errors import VlagentError

MODES = ("none", "int8", "int4")
VISION_MODE = {"none": "fp32", "int8": "int8", "int4": "int8"}
DECODER_MODE = {"none": "fp32", "int8": "int8", "int4": "int4"}
INT4_BLOCK = 128
INT4_ACCURACY_LEVEL = 4
# int8 weight codes stay in [-63, 63] ("reduce_range"): on x86 CPUs without VNNI (AVX2, AVX-512
# without VNNI) onnxruntime's u8 x s8 kernel sums pairs of u8 * s8 products in saturating int16
# (vpmaddubsw), and 255 * 127 * 2 overflows it: full-range weights gave 19% max error there.
# 255 * 63 * 2 = 32130 fits, and the weights stay s8, so VNNI / AMX keep their u8 x s8 path.
INT8_MAX = 63
MIN_WEIGHT_ELEMENTS = 1024  # smaller constant products stay float (none exist in Qwen2-VL)
COLUMNS_PER_CHUNK = 8192  # output columns quantized at a time: bounds the temporaries
ALIGN = 4096  # external data offsets on page boundaries, so onnxruntime can map them
FLOATS = (onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16)


class QuantizeError(VlagentError, RuntimeError):
    """A quantization step left float weights behind or produced an invalid graph."""


def float_weight_matmuls(model: onnx.ModelProto) -> list[str]:
    """Names of MatMul / Gemm nodes whose weight is still a float initializer."""
    inits = {t.name: t for t in model.graph.initializer}
    left = []
    for node in model.graph.node:
        if node.op_type in ("MatMul", "Gemm") and len(node.input) > 1 and node.input[1] in inits:
            weight = inits[node.input[1]]
            if weight.data_type in FLOATS and int(np.prod(weight.dims)) >= MIN_WEIGHT_ELEMENTS:
                left.append(node.name)
    return left


def quantize_int8_columns(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """w [K, N] float -> (int8 [K, N], scale [N]) with w ~ q * scale, symmetric per column,
    codes in [-INT8_MAX, INT8_MAX] (7 bits, see INT8_MAX)."""
    scale = np.abs(w).max(axis=0) / float(INT8_MAX)
    scale = np.where(scale > 0, scale, 1.0).astype(np.float32)
    return np.clip(np.rint(w / scale), -INT8_MAX, INT8_MAX).astype(np.int8), scale


def quantize_int4_blocks(w: np.ndarray, block: int) -> tuple[np.ndarray, np.ndarray]:
    """w [K, N] float -> (packed uint8 [N, ceil(K/block), block/2], scales [N, ceil(K/block)]).

    K is padded to whole blocks with code 0, as onnxruntime's quantizer does (the kernel reads
    only K values of the input, so the padding never contributes)."""
    rows = w.shape[0]
    if rows % block:
        w = np.concatenate([w, np.zeros((block - w.shape[0] % block, w.shape[1]), w.dtype)])
    k, n = w.shape
    blocks = np.ascontiguousarray(w.T, dtype=np.float32).reshape(n, k // block, block)
    peak = np.take_along_axis(blocks, np.abs(blocks).argmax(-1)[..., None], -1)[..., 0]
    scale = (peak / -8.0).astype(np.float32)
    safe = np.where(scale != 0, scale, 1.0)[..., None]
    codes = np.clip(np.rint(blocks / safe) + 8, 0, 15).astype(np.uint8)
    codes.reshape(n, k)[:, rows:] = 0
    return codes[..., 0::2] | (codes[..., 1::2] << 4), scale


class _DataFile:
    """Appends tensors to one external data file and points their TensorProtos at it."""

    def __init__(self, path: Path):
        self.path, self.file = path, open(path, "wb")

    def add(self, name: str, array: np.ndarray) -> onnx.TensorProto:
        offset = -self.file.tell() % ALIGN
        self.file.write(b"\0" * offset)
        tensor = onnx.TensorProto(name=name, data_type=helper.np_dtype_to_tensor_dtype(array.dtype), dims=array.shape)
        start = self.file.tell()
        self.file.write(np.ascontiguousarray(array).tobytes())
        for key, value in (("location", self.path.name), ("offset", start), ("length", self.file.tell() - start)):
            entry = tensor.external_data.add()
            entry.key, entry.value = key, str(value)
        tensor.data_location = onnx.TensorProto.EXTERNAL
        return tensor

    def close(self) -> None:
        self.file.close()


def _read(tensor: onnx.TensorProto, base: Path) -> np.ndarray:
    if tensor.data_location != onnx.TensorProto.EXTERNAL:
        return numpy_helper.to_array(tensor)
    info = {e.key: e.value for e in tensor.external_data}
    dtype = helper.tensor_dtype_to_np_dtype(tensor.data_type)
    count = int(np.prod(tensor.dims))
    data = np.fromfile(base / info["location"], dtype=dtype, count=count, offset=int(info.get("offset", 0)))
    return data.reshape(tuple(tensor.dims))


def _linear(node: onnx.NodeProto, inits: dict) -> tuple[str, bool, str | None] | None:
    """(weight name, transposed, bias name) when `node` is A @ W (+ C) with a float constant W."""
    if node.op_type not in ("MatMul", "Gemm") or len(node.input) < 2 or node.input[1] not in inits:
        return None
    weight = inits[node.input[1]]
    if weight.data_type not in FLOATS or len(weight.dims) != 2 or int(np.prod(weight.dims)) < MIN_WEIGHT_ELEMENTS:
        return None
    if node.op_type == "MatMul":
        return node.input[1], False, None
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    if attrs.get("alpha", 1.0) != 1.0 or attrs.get("beta", 1.0) != 1.0 or attrs.get("transA", 0):
        return None
    bias = node.input[2] if len(node.input) > 2 and node.input[2] else None
    return node.input[1], bool(attrs.get("transB", 0)), bias


def _quantized_node(node, mode: str, w: np.ndarray, bias: str | None, data: _DataFile, block: int):
    """The replacement node for A @ w (+ bias) with w [K, N], its new tensors written to `data`."""
    k, n = w.shape
    name = node.input[1]
    parts = [range(c, min(c + COLUMNS_PER_CHUNK, n)) for c in range(0, n, COLUMNS_PER_CHUNK)]
    if mode == "int8":
        pieces = [quantize_int8_columns(w[:, p.start:p.stop]) for p in parts]
        tensors = [data.add(name + "_int8", np.concatenate([q for q, _ in pieces], axis=1)),
                   data.add(name + "_scale", np.concatenate([s for _, s in pieces]))]
        inputs = [node.input[0], tensors[0].name, tensors[1].name, "", bias or ""]
        new = helper.make_node("DynamicQuantizeMatMul", inputs, list(node.output), name=node.name, domain="com.microsoft")
    elif mode == "int4":
        pieces = [quantize_int4_blocks(w[:, p.start:p.stop], block) for p in parts]
        tensors = [data.add(name + "_int4", np.concatenate([q for q, _ in pieces])),
                   data.add(name + "_scales", np.concatenate([s for _, s in pieces]))]
        inputs = [node.input[0], tensors[0].name, tensors[1].name, "", "", bias or ""]
        new = helper.make_node("MatMulNBits", inputs, list(node.output), name=node.name, domain="com.microsoft",
                               K=k, N=n, bits=4, block_size=block, accuracy_level=INT4_ACCURACY_LEVEL)
    else:
        raise QuantizeError(f"unknown weight quantization {mode!r}")
    return new, tensors


def quantize_weights(src: str | Path, dst: str | Path, mode: str, block: int = INT4_BLOCK) -> int:
    """Write `dst` (+ `dst.data`): `src` with its constant-weight products in `mode` ("int8" or
    "int4"). Returns the number of products quantized; raises QuantizeError if any was left."""
    src, dst = Path(src), Path(dst)
    model = onnx.load(str(src), load_external_data=False)
    inits = {t.name: t for t in model.graph.initializer}
    uses: dict[str, int] = {}
    for node in model.graph.node:
        for name in node.input:
            uses[name] = uses.get(name, 0) + 1
    data = _DataFile(dst.parent / (dst.name + ".data"))
    nodes, kept, count = [], {}, 0
    try:
        for node in model.graph.node:
            linear = _linear(node, inits)
            if linear is None or uses[linear[0]] > 1:
                nodes.append(node)
                continue
            name, transposed, bias = linear
            w = _read(inits.pop(name), src.parent).astype(np.float32)
            new, tensors = _quantized_node(node, mode, w.T if transposed else w, bias, data, block)
            del w
            nodes.append(new)
            kept.update((t.name, t) for t in tensors)
            count += 1
        for name, tensor in inits.items():  # everything else keeps its values, in the new file
            kept[name] = data.add(name, _read(tensor, src.parent)) if tensor.data_location == onnx.TensorProto.EXTERNAL else tensor
    finally:
        data.close()
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept.values())
    if not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    onnx.save_model(model, str(dst))
    left = float_weight_matmuls(model)
    if left:
        raise QuantizeError(f"{mode} quantization of {src.name} left float weights in {left[:5]}")
    return count


def quantize_graph(src: Path, dst: Path, mode: str, block: int = INT4_BLOCK) -> None:
    """Write `dst` as `src` in `mode` ("fp32", "int8" or "int4", in blocks of `block` along K);
    fp32 moves the files."""
    if mode == "fp32":
        shutil.move(src, dst)
        shutil.move(str(src) + ".data", str(dst) + ".data")
    else:
        quantize_weights(src, dst, mode, block)

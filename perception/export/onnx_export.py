"""Trace `VisionGraph` and `DecoderGraph` to ONNX with torch's dynamo exporter (torch.export).

Why dynamo and not the legacy TorchScript exporter: torch.export proves which sizes are symbolic
(a size baked into the graph fails the export instead of silently passing the sample shape on),
and `torch.onnx.ops.symbolic` lets the vision wrapper emit ONNX Runtime's fused
MultiHeadAttention directly. Opset 23 gives the decoder a fused RMSNormalization. Weights go to
external data (`NAME.onnx.data`), so models over 2 GB work.
Needs the `export` extra (torch, onnx, onnxscript).
"""

from __future__ import annotations

import logging
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import helper, numpy_helper

from vlagent.perception import positions as P
from vlagent.perception.errors import VlagentError
from vlagent.perception.export.graphs import (
    DecoderGraph,
    VisionGraph,
    decoder_io_names,
    vision_io_names,
)
from vlagent.perception.model.qwen2vl import Qwen2VL

DEFAULT_OPSET = 23
MIN_OPSET = 23  # RMSNormalization in the decoder


class ExportError(VlagentError, RuntimeError):
    """The exporter failed or produced a graph without the expected dynamic axes."""


@contextmanager
def _quiet(logger_name: str):
    """Raise `logger_name` to ERROR for the block (the exporter logs one line per optional
    torchvision op it skips; vlagent never installs torchvision), then restore it."""
    logger = logging.getLogger(logger_name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _export(module: torch.nn.Module, args: tuple, path: Path, names: tuple[list[str], list[str]],
            dynamic_shapes, axis_names: dict[tuple[str, int], str], opset: int) -> None:
    """Export, rename symbolic dims to readable names, and save with external data."""
    if opset < MIN_OPSET:
        raise ExportError(f"opset {opset} is below {MIN_OPSET} (needed for RMSNormalization)")
    inputs, outputs = names
    with torch.no_grad(), warnings.catch_warnings(), _quiet("torch.onnx"):
        # the exporter's own notices about its internals, not about this model
        warnings.filterwarnings("ignore", message=".*LeafSpec.*", category=FutureWarning)
        warnings.filterwarnings("ignore", message="# The axis name", category=UserWarning)
        program = torch.onnx.export(module, args, None, dynamo=True, input_names=inputs, output_names=outputs,
                                    dynamic_shapes=dynamic_shapes, opset_version=opset, optimize=True, verbose=False)
    values = {v.name: v for v in [*program.model.graph.inputs, *program.model.graph.outputs]}
    mapping = {}
    for (name, axis), new in axis_names.items():
        dim = values[name].shape[axis]
        if isinstance(dim, int):
            raise ExportError(f"{path.name}: axis {axis} of {name} was baked in as {dim}")
        mapping[dim] = new
    program.rename_axes(mapping)
    program.save(path, external_data=True)


def _feeding_only(nodes, target: str) -> set[int]:
    """Indices of the nodes that compute `target` and nothing any other node or output reads."""
    readers: dict[str, set[int]] = {}
    for i, node in enumerate(nodes):
        for name in node.input:
            readers.setdefault(name, set()).add(i)
    cone: set[int] = set()
    for i in reversed(range(len(nodes))):  # nodes are in topological order: readers come later
        outputs = [o for o in nodes[i].output if o]
        if target in outputs or (outputs and all(readers.get(o) and readers[o] <= cone for o in outputs)):
            cone.add(i)
    return cone


def single_frame_fast_path(model: onnx.ModelProto) -> int:
    """Skip the block-diagonal mask for inputs of one frame, in place.

    Each `MultiHeadAttention(q, k, v, .., .., bias)` becomes `If(frames == 1, MHA(q, k, v),
    MHA(q, k, v, bias))`, and the nodes that build the bias (the [N, N] frame comparison and
    `Where`, 26 M elements at 5088 patches) move into the masked branch of one more `If`, whose
    single-frame branch is a [1, 1, 1, 1] zero that no attention reads. With one frame the bias
    is all zeros, so both branches compute the same thing, but only the unmasked one runs
    onnxruntime's flash-attention kernel (measured ~1.5x faster per layer at 5088 patches) and
    never materialises the mask. The attention is still one op over all patches: nothing is
    split by frame. Returns the number of attention nodes rewritten.
    """
    graph = model.graph
    flag = "vision_single_frame"
    nodes, count = [
        helper.make_node("Shape", ["cu_seqlens"], [flag + "_bounds"]),
        helper.make_node("Constant", [], [flag + "_two"], value=numpy_helper.from_array(np.array([2], np.int64))),
        helper.make_node("Equal", [flag + "_bounds", flag + "_two"], [flag + "_vector"]),
        helper.make_node("Squeeze", [flag + "_vector"], [flag]),
    ], 0
    biases = {n.input[5] for n in graph.node if n.op_type == "MultiHeadAttention" and len(n.input) >= 6 and n.input[5]}
    if len(biases) > 1:
        raise ExportError(f"expected one attention bias shared by all layers, found {len(biases)}")
    bias = next(iter(biases), None)
    cone = _feeding_only(graph.node, bias) if bias else set()
    cone_nodes = [n for i, n in enumerate(graph.node) if i in cone]
    inner = {o for n in cone_nodes for o in n.output} - {bias}
    inner_info = [v for v in graph.value_info if v.name in inner]  # they now live in the branch
    for i, node in enumerate(graph.node):
        if i in cone and i != max(cone):
            continue
        if i in cone:  # the last of the cone: its inputs from outside the cone are all computed by now
            unused = helper.make_node("Constant", [], [bias + "_unused"],
                                      value=numpy_helper.from_array(np.zeros((1, 1, 1, 1), np.float32)))
            branches = [helper.make_graph(body, f"{bias}_{kind}", [],
                                          [helper.make_tensor_value_info(out, onnx.TensorProto.FLOAT, None)],
                                          value_info=info)
                        for body, kind, out, info in (([unused], "unused", bias + "_unused", []),
                                                      (cone_nodes, "mask", bias, inner_info))]
            nodes.append(helper.make_node("If", [flag], [bias], name=f"{bias}_if_frames",
                                          then_branch=branches[0], else_branch=branches[1]))
            continue
        if node.op_type != "MultiHeadAttention" or len(node.input) < 6 or not node.input[5]:
            nodes.append(node)
            continue
        out = node.output[0]
        branch = {}
        for kind, inputs in (("unmasked", list(node.input[:3])), ("masked", list(node.input))):
            twin = helper.make_node("MultiHeadAttention", inputs, [f"{out}_{kind}"], domain=node.domain,
                                    name=f"{node.name}_{kind}")
            twin.attribute.extend(node.attribute)
            result = helper.make_tensor_value_info(f"{out}_{kind}", onnx.TensorProto.FLOAT, None)
            branch[kind] = helper.make_graph([twin], f"{node.name}_{kind}", [], [result])
        nodes.append(helper.make_node("If", [flag], [out], name=node.name, then_branch=branch["unmasked"],
                                      else_branch=branch["masked"]))
        count += 1
    del graph.node[:]
    graph.node.extend(nodes)
    kept = [v for v in graph.value_info if v.name not in inner]
    del graph.value_info[:]
    graph.value_info.extend(kept)
    return count


def export_vision(model: Qwen2VL, path: str | Path, opset: int = DEFAULT_OPSET) -> None:
    """vision.onnx: pixel_values [patches, 1176], positions [patches, 2], cu_seqlens [bounds] -> image_embeds."""
    cfg = model.config.vision
    grids = np.array([[1, 4, 6], [2, 4, 4]]) * [1, cfg.spatial_merge_size // 2, cfg.spatial_merge_size // 2]
    patches = int(grids.prod(-1).sum())
    args = (torch.randn(patches, cfg.patch_dim), torch.from_numpy(P.vision_positions(grids, cfg.spatial_merge_size)),
            torch.from_numpy(P.vision_cu_seqlens(grids)))
    rows = torch.export.Dim("rows", min=1, max=1 << 20)  # patch rows come in whole merge blocks
    merged = cfg.spatial_merge_size**2
    bounds = torch.export.Dim("bounds", min=2, max=1 << 16)
    shapes = ({0: merged * rows}, {0: merged * rows}, {0: bounds})
    coords = cfg.relative_abs_pos
    if coords:
        args += (torch.from_numpy(P.vision_abs_coords(grids, cfg.spatial_merge_size, cfg.abs_pos_ref_grid)),)
        shapes += ({0: merged * rows},)
    axes = {("pixel_values", 0): "patches", ("cu_seqlens", 0): "frames_plus_1", ("image_embeds", 0): "tokens"}
    path = Path(path)
    _export(VisionGraph(model).eval(), args, path, vision_io_names(coords), shapes, axes, opset)
    graph = onnx.load(str(path), load_external_data=False)  # the weights stay where they are
    if single_frame_fast_path(graph) != cfg.depth:
        raise ExportError(f"expected {cfg.depth} masked attentions in {path.name}")
    onnx.save_model(graph, str(path))


def export_decoder(model: Qwen2VL, path: str | Path, opset: int = DEFAULT_OPSET) -> None:
    """decoder.onnx (see `perception.export.graphs.DecoderGraph` for the I/O contract)."""
    cfg = model.config.text
    batch, length, past = 2, 3, 5  # sample sizes only: every one of them is symbolic
    kv = [torch.randn(batch, cfg.num_key_value_heads, past, cfg.head_dim) for _ in range(2 * cfg.num_hidden_layers)]
    args = (torch.randn(batch, length, cfg.hidden_size), torch.ones(batch, past + length, dtype=torch.int64),
            torch.randint(0, 9, (3, batch, length)), torch.tensor([0, length - 1]), *kv)
    dyn = torch.export.Dim.DYNAMIC
    shapes = ({0: dyn, 1: dyn}, {0: dyn, 1: dyn}, {1: dyn, 2: dyn}, {0: dyn}, tuple({0: dyn, 2: dyn} for _ in kv))
    axes = {("inputs_embeds", 0): "batch", ("inputs_embeds", 1): "length", ("attention_mask", 1): "total",
            ("logits_index", 0): "kept", ("past_key_values.0.key", 2): "past"}
    _export(DecoderGraph(model).eval(), args, Path(path), decoder_io_names(cfg.num_hidden_layers), shapes, axes, opset)

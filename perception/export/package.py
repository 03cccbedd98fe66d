"""`export_package`: an HF-format Qwen2-VL checkpoint -> a runtime package directory.

The package (all a device needs; read by `perception.engine.load(dir, backend="onnx")`):
- `vision.onnx` (+ `.data`): patch rows -> merged visual tokens, N and the frame count dynamic.
- `decoder.onnx` (+ `.data`): prefill and decode with an external KV cache (`graphs.DecoderGraph`).
- `decoder_prefill.onnx` (int4 packages, unless `int4_prefill="int4"`): the decoder with int8
  products for prompts, no weights of its own (perception/export/prefill.py).
- `embed_tokens.npy`: the token embedding table [vocab, hidden] float32, for a numpy gather.
- `config.json`, `generation_config.json`, `preprocessor_config.json`, `tokenizer.json`
  (and `tokenizer_config.json` when the checkpoint has one).
- `manifest.json`: versions, shapes, graph I/O, quantization and every file's sha256.

The package is built in a hidden sibling directory and renamed into place at the end, so an
interrupted export never leaves a directory that looks complete. Peak memory is about the fp32
checkpoint plus one graph's weights: the vision tower is dropped before the decoder is traced.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import shutil
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import numpy as np
import onnx

from vlagent.perception.export.manifest import write_manifest
from vlagent.perception.export.onnx_export import (
    DEFAULT_OPSET,
    ExportError,
    export_decoder,
    export_vision,
)
from vlagent.perception.export.prefill import PREFILL_GRAPH, write_prefill_graph
from vlagent.perception.export.quantize import (
    DECODER_MODE,
    INT4_BLOCK,
    MODES,
    VISION_MODE,
    quantize_graph,
)
from vlagent.perception.model.config import Qwen2VLConfig

GRAPHS = ("vision.onnx", "decoder.onnx")
INT4_PREFILL = ("int8", "int4")
EMBEDDINGS = "embed_tokens.npy"
COPIED = ("tokenizer.json", "tokenizer_config.json")


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _graph_io(path: Path) -> dict:
    """{"inputs"|"outputs": {name: [dims]}} with symbolic dims as names."""
    graph = onnx.load(str(path), load_external_data=False).graph

    def dims(value) -> list:
        return [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]

    return {"inputs": {v.name: dims(v) for v in graph.input}, "outputs": {v.name: dims(v) for v in graph.output}}


def _settings(checkpoint: Path, staging: Path, config: Qwen2VLConfig) -> None:
    """Model, generation, processor and tokenizer settings next to the graphs."""
    (staging / "config.json").write_text(json.dumps(config.to_dict(), indent=2) + "\n")
    generation = checkpoint / "generation_config.json"
    if generation.is_file():
        shutil.copyfile(generation, staging / generation.name)
    else:
        settings = {"bos_token_id": config.bos_token_id, "eos_token_id": list(config.eos_token_ids),
                    "pad_token_id": config.pad_token_id}
        (staging / generation.name).write_text(json.dumps(settings, indent=2) + "\n")
    processor = checkpoint / "preprocessor_config.json"
    if processor.is_file():
        shutil.copyfile(processor, staging / processor.name)
    else:
        from vlagent.perception.processor import ImageProcessor

        p = ImageProcessor(merge_size=config.vision.spatial_merge_size, patch_size=config.vision.patch_size,
                           temporal_patch_size=config.vision.temporal_patch_size)
        settings = {"min_pixels": p.min_pixels, "max_pixels": p.max_pixels, "patch_size": p.patch_size,
                    "temporal_patch_size": p.temporal_patch_size, "merge_size": p.merge_size,
                    "image_mean": list(p.image_mean), "image_std": list(p.image_std)}
        (staging / processor.name).write_text(json.dumps(settings, indent=2) + "\n")
    for name in COPIED:
        if (checkpoint / name).is_file():
            shutil.copyfile(checkpoint / name, staging / name)


def _trace(checkpoint: Path, raw: Path, staging: Path, opset: int, log: Callable[[str], None]) -> None:
    """Embedding table and the two fp32 graphs, freeing each torch part once exported."""
    from vlagent.perception.model.qwen2vl import Qwen2VL

    log(f"loading {checkpoint}")
    model = Qwen2VL.from_pretrained(checkpoint)
    np.save(staging / EMBEDDINGS, model.text.embed_tokens.weight.detach().numpy())
    log("exporting vision.onnx")
    export_vision(model, raw / "vision.onnx", opset)
    del model.visual
    gc.collect()
    log("exporting decoder.onnx")
    export_decoder(model, raw / "decoder.onnx", opset)
    del model
    gc.collect()


def export_package(checkpoint_dir: str | Path, out_dir: str | Path, quantize: str = "none",
                   opset: int = DEFAULT_OPSET, log: Callable[[str], None] = lambda _: None,
                   profile: str | None = None, int4_block: int = INT4_BLOCK, int4_prefill: str = "int8") -> dict:
    """Export `checkpoint_dir` into the new (or empty) directory `out_dir`; returns the manifest.

    `profile`: the model's prompt profile name (policies.profiles), recorded in the manifest
    so that the agent policy speaks the model's format without being told. `int4_block`: the
    int4 block size along K (INT4_BLOCK = 128 by default, see perception/export/quantize.py).
    `int4_prefill`: for int4 packages, "int8" (default) also writes `decoder_prefill.onnx`, the
    decoder with int8 products derived from the 4-bit weights when loaded, which runs prefills
    (perception/export/prefill.py: no more bytes on disk, 2-3x faster prompts, more memory);
    "int4" leaves it out.

    quantize: "none" (fp32 graphs), "int8" (int8 vision and decoder weights) or "int4"
    (int4 decoder weights in blocks of `int4_block`, int8 vision).
    """
    checkpoint, out = Path(checkpoint_dir), Path(out_dir)
    if quantize not in MODES:
        raise ExportError(f"quantize must be one of {MODES}, got {quantize!r}")
    if int4_block not in (16, 32, 64, 128, 256):
        raise ExportError(f"int4_block must be a power of two from 16 to 256 (MatMulNBits), got {int4_block}")
    if int4_prefill not in INT4_PREFILL:
        raise ExportError(f"int4_prefill must be one of {INT4_PREFILL}, got {int4_prefill!r}")
    config = Qwen2VLConfig.from_file(checkpoint)
    if not (checkpoint / "tokenizer.json").is_file():
        raise ExportError(f"{checkpoint} has no tokenizer.json; the package needs it")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ExportError(f"{out} exists and is not an empty directory")
    staging = out.parent / f".{out.name}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    raw = staging / "fp32"
    raw.mkdir(parents=True)
    try:
        _trace(checkpoint, raw, staging, opset, log)
        for name, modes in zip(GRAPHS, (VISION_MODE, DECODER_MODE), strict=True):
            log(f"writing {name} ({modes[quantize]})")
            quantize_graph(raw / name, staging / name, modes[quantize], int4_block)
        shutil.rmtree(raw)
        prefill = None
        if DECODER_MODE[quantize] == "int4" and int4_prefill == "int8":
            log(f"writing {PREFILL_GRAPH} (int8 products derived from the int4 weights at load)")
            prefill = write_prefill_graph(staging / "decoder.onnx", staging / PREFILL_GRAPH)
        _settings(checkpoint, staging, config)
        import onnxruntime
        import torch

        info = {
            "versions": {"vlagent": _version("vlagent"), "torch": torch.__version__, "onnx": onnx.__version__,
                         "onnxruntime": onnxruntime.__version__, "onnxscript": _version("onnxscript"),
                         "opset": opset},
            "quantization": {"mode": quantize, "vision": VISION_MODE[quantize], "decoder": DECODER_MODE[quantize],
                             "int4_block_size": int4_block if DECODER_MODE[quantize] == "int4" else None},
            "model": {"text": dataclasses.asdict(config.text), "vision": dataclasses.asdict(config.vision),
                      "tie_word_embeddings": config.tie_word_embeddings},
            "graphs": {name: _graph_io(staging / name) for name in GRAPHS + ((PREFILL_GRAPH,) if prefill else ())},
            "embeddings": {"file": EMBEDDINGS, "dtype": "float32",
                           "shape": [config.text.vocab_size, config.text.hidden_size]},
            **({"profile": profile} if profile else {}),
            **({"prefill": prefill} if prefill else {}),
        }
        manifest = write_manifest(staging, info)
        if out.exists():
            out.rmdir()
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    log(f"wrote {out}")
    return manifest

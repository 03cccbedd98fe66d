"""`vlagent export CHECKPOINT_DIR OUT_DIR`: an HF-format checkpoint -> an on-device runtime package.

Needs the `export` extra (torch, onnx, onnxscript); imported only when the command runs.
See `perception.export.package` for what the package holds.
"""

from pathlib import Path
from typing import Annotated

import typer

from vlagent.agent.commands.common import fail

QUANTIZE = ("none", "int8", "int4")  # perception.export.quantize.MODES, without importing onnx
INT4_BLOCKS = (16, 32, 64, 128, 256)  # the block sizes onnxruntime's MatMulNBits takes
INT4_PREFILL = ("int8", "int4")  # perception.export.package.INT4_PREFILL


def export(
    checkpoint_dir: Annotated[Path, typer.Argument(help="HF-format checkpoint: config.json, safetensors, tokenizer.json.")],
    out_dir: Annotated[Path, typer.Argument(help="New (or empty) directory for the package.")],
    quantize: Annotated[str, typer.Option("--quantize", help="none (fp32), int8, or int4 (int4 decoder, int8 vision).")] = "none",
    opset: Annotated[int, typer.Option("--opset", help="ONNX opset (23 or later).")] = 23,
    int4_block: Annotated[int, typer.Option(
        "--int4-block", help="int4 weights per scale along K: 16, 32, 64, 128 (default) or 256.")] = 128,
    profile: Annotated[str, typer.Option(
        "--profile", help="The model's prompt profile, recorded in the manifest (default: from the checkpoint).")] = None,
    int4_prefill: Annotated[str, typer.Option(
        "--int4-prefill", help="int4 packages: int8 (default: prompts run int8 products derived from the 4-bit "
                               "weights at load, faster, more memory) or int4 (4-bit products only).")] = "int8",
) -> None:
    """Export vision.onnx, decoder.onnx, embeddings, settings and a manifest with sha256 of every file."""
    if quantize not in QUANTIZE:
        fail(f"--quantize must be one of {', '.join(QUANTIZE)}, got {quantize!r}")
    if int4_block not in INT4_BLOCKS:
        fail(f"--int4-block must be one of {', '.join(map(str, INT4_BLOCKS))}, got {int4_block}")
    if int4_prefill not in INT4_PREFILL:
        fail(f"--int4-prefill must be one of {', '.join(INT4_PREFILL)}, got {int4_prefill!r}")
    try:
        from vlagent.perception.export.package import export_package
    except ModuleNotFoundError as error:
        fail(f"export needs the export extra (pip install 'vlagent[export]'): {error}")
    from vlagent.policies.profiles import get_profile, profile_for_model_dir

    chosen = get_profile(profile).name if profile else profile_for_model_dir(checkpoint_dir)
    manifest = export_package(checkpoint_dir, out_dir, quantize=quantize, opset=opset, profile=chosen, int4_block=int4_block,
                              int4_prefill=int4_prefill,
                              log=lambda line: typer.echo(line, err=True))
    total = sum(entry["bytes"] for entry in manifest["files"].values())
    typer.echo(f"{out_dir}: {len(manifest['files'])} files, {total / 2**20:.1f} MiB, quantization {quantize}")

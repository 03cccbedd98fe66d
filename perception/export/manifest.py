"""The runtime package's manifest: what `vlagent export` wrote, and the proof it is intact.

`manifest.json` holds the format tag, versions (vlagent, exporter, onnx, onnxruntime, opset),
model shapes, the graphs' inputs and outputs, the quantization used, and the size and sha256
of every other file in the package. `verify_package` refuses a package whose files are missing,
resized or changed, naming the file. Standard library only: the runtime (no torch) imports it.
"""

from __future__ import annotations

import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from vlagent.perception.errors import VlagentError

FORMAT = "vlagent-onnx-package/1"
MANIFEST = "manifest.json"
CHUNK = 1 << 22  # bytes per hash read


class PackageError(VlagentError, ValueError):
    """A runtime package is malformed, incomplete or does not match its manifest."""


def vision_io_names(abs_coords: bool = False) -> tuple[list[str], list[str]]:
    """vision.onnx inputs and outputs, in order; `abs_coords` [patches, 2] float is an input of
    the models with `VisionConfig.abs_pos_ref_grid` only."""
    inputs = ["pixel_values", "positions", "cu_seqlens"] + (["abs_coords"] if abs_coords else [])
    return inputs, ["image_embeds"]


def decoder_io_names(layers: int) -> tuple[list[str], list[str]]:
    """decoder.onnx inputs and outputs, in order, for a decoder of `layers` layers."""
    past = [f"past_key_values.{i}.{kind}" for i in range(layers) for kind in ("key", "value")]
    present = [f"present.{i}.{kind}" for i in range(layers) for kind in ("key", "value")]
    return ["inputs_embeds", "attention_mask", "position_ids", "logits_index", *past], ["logits", *present]


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def file_entries(package_dir: Path) -> dict[str, dict]:
    """{relative name: {bytes, sha256}} for every file in the package except the manifest."""
    entries = {}
    for path in sorted(p for p in package_dir.rglob("*") if p.is_file()):
        name = path.relative_to(package_dir).as_posix()
        if name != MANIFEST:
            entries[name] = {"bytes": path.stat().st_size, "sha256": sha256_file(path)}
    return entries


def write_manifest(package_dir: str | Path, info: dict) -> dict:
    """Write manifest.json = `info` + format + file entries; returns what was written."""
    package_dir = Path(package_dir)
    manifest = {"format": FORMAT, **info, "files": file_entries(package_dir)}
    (package_dir / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def read_manifest(package_dir: str | Path) -> dict:
    path = Path(package_dir) / MANIFEST
    if not path.is_file():
        raise PackageError(f"{Path(package_dir)} has no {MANIFEST}: not an exported package "
                           "(make one with `vlagent export CHECKPOINT_DIR OUT_DIR`)")
    try:
        manifest = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise PackageError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else type(manifest).__name__
        raise PackageError(f"{path}: format {found!r} is not {FORMAT!r}")
    if not isinstance(manifest.get("files"), dict):
        raise PackageError(f"{path} lists no files")
    return manifest


def verify_package(package_dir: str | Path, manifest: dict, hashes: bool = True) -> None:
    """Raise PackageError naming the first file that is missing, resized or (with `hashes`) changed."""
    package_dir = Path(package_dir)
    for name, entry in manifest["files"].items():
        path = package_dir / name
        if not path.is_file():
            raise PackageError(f"package file {name} is missing from {package_dir}")
        if path.stat().st_size != entry["bytes"]:
            raise PackageError(f"package file {name} has {path.stat().st_size} bytes, the manifest says {entry['bytes']}")
    if not hashes:
        return
    names = list(manifest["files"])
    with ThreadPoolExecutor(max_workers=min(len(names), os.cpu_count() or 1) or 1) as pool:  # hashlib frees the GIL
        digests = dict(zip(names, pool.map(lambda n: sha256_file(package_dir / n), names), strict=True))
    for name in names:
        if digests[name] != manifest["files"][name]["sha256"]:
            raise PackageError(f"package file {name} does not match its sha256 in {MANIFEST}: "
                               "the file was changed or corrupted; export the package again")

"""Checkpoint -> the shipped demo package (`perception/demo_model/`), with how it was trained.

`ship(checkpoint, package_dir, training)` runs `perception.export.package.export_package` into a
staging directory, adds training.json (command, seed, minutes, evaluation figures, curve summary)
and rewrites the manifest through `perception.export.manifest.write_manifest`, so training.json
is hashed like every other package file and the manifest also carries the same record under
"training". The package's own Python files (`__init__.py`, caches) are left out of the manifest:
they are code, not model data, and must not make verification fail when they are recompiled.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from vlagent.perception.export.manifest import MANIFEST, read_manifest, write_manifest

TRAINING = "training.json"
CODE_FILES = ("__init__.py",)


def _is_code(name: str) -> bool:
    return name in CODE_FILES or name.startswith("__pycache__/")


def add_training_record(package_dir: str | Path, training: dict) -> dict:
    """Write training.json into an exported package and re-hash the manifest with it."""
    package_dir = Path(package_dir)
    (package_dir / TRAINING).write_text(json.dumps(training, indent=2) + "\n")
    info = {k: v for k, v in read_manifest(package_dir).items() if k not in ("format", "files")}
    manifest = write_manifest(package_dir, info | {"training": training, "training_file": TRAINING})
    manifest["files"] = {k: v for k, v in manifest["files"].items() if not _is_code(k)}
    (package_dir / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def inline_weights(package_dir: Path) -> None:
    """Fold NAME.onnx.data into NAME.onnx (the demo model is far below protobuf's 2 GB limit), so
    the package is the files that `[tool.setuptools.package-data]` ships (*.onnx, *.npy, *.json)."""
    import onnx

    for graph in sorted(package_dir.glob("*.onnx")):
        data = graph.with_name(graph.name + ".data")
        if data.is_file():
            model = onnx.load(str(graph))
            onnx.save_model(model, str(graph), save_as_external_data=False)
            data.unlink()
    info = {k: v for k, v in read_manifest(package_dir).items() if k not in ("format", "files")}
    write_manifest(package_dir, info)  # re-hash the rewritten graphs


def install(package: str | Path, demo_dir: str | Path) -> dict:
    """Replace the model files in `demo_dir` by the exported, recorded `package`; verify them."""
    from vlagent.perception.export.manifest import verify_package

    package, demo_dir = Path(package), Path(demo_dir)
    manifest = read_manifest(package)
    verify_package(package, manifest)
    if "training" not in manifest:
        raise ValueError(f"{package} has no training record; run `vlagent train-demo` (or add_training_record)")
    demo_dir.mkdir(parents=True, exist_ok=True)
    for old in demo_dir.iterdir():
        if old.is_file() and not _is_code(old.name):
            old.unlink()
    for name in [*manifest["files"], MANIFEST]:
        shutil.copyfile(package / name, demo_dir / name)
    verify_package(demo_dir, read_manifest(demo_dir))
    return read_manifest(demo_dir)


def ship(checkpoint: str | Path, package_dir: str | Path, training: dict, quantize: str = "none",
         log=lambda _: None) -> dict:
    """Export `checkpoint` with `training` as its record and install it into `package_dir`."""
    from vlagent.perception.export.package import export_package

    with tempfile.TemporaryDirectory(prefix="vlagent-ship-") as tmp:
        staged = Path(tmp) / "package"
        export_package(checkpoint, staged, quantize=quantize, log=log)
        inline_weights(staged)
        add_training_record(staged, training)
        return install(staged, package_dir)


def main(argv=None) -> None:
    """`python -m perception.train.ship RUN/package perception/demo_model`."""
    import argparse

    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("package")
    ap.add_argument("demo_dir")
    args = ap.parse_args(argv)
    manifest = install(args.package, args.demo_dir)
    total = sum(e["bytes"] for e in manifest["files"].values())
    print(f"{args.demo_dir}: {len(manifest['files'])} files, {total / 2**20:.1f} MiB, "
          f"eval {json.dumps(manifest['training']['eval'])}")


if __name__ == "__main__":
    main()

"""The shipped demo model: an exported ONNX package (`vlagent export` layout) in this directory.

Trained by `vlagent train-demo` (perception/train); manifest.json and training.json record the
command, seed, minutes and held-out figures. `path()` is the default `--model` of every command.
"""

from pathlib import Path


def path() -> Path:
    """Directory of the shipped package (manifest.json, vision.onnx, decoder.onnx, ...)."""
    return Path(__file__).resolve().parent

"""The shipped robot grounding model: an exported ONNX package (`vlagent export` layout) here.

Trained by `vlagent train-robot` (perception/train/robot.py) from the shipped phone model's
weights on simulated robot camera frames: "the red ball" -> box tokens, "not visible" when the
object is not in view. manifest.json and training.json record the command, seeds, minutes and
held-out figures. `path()` is the default `--model` of `vlagent demo --robot`.
"""

from pathlib import Path


def path() -> Path:
    """Directory of the shipped robot package (manifest.json, vision.onnx, decoder.onnx, ...)."""
    return Path(__file__).resolve().parent

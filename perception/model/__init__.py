"""The Qwen2-VL model in torch (definition, export and training only; never on the runtime path).

`Qwen2VLConfig` and `QWEN2_VL_2B` import without torch; `Qwen2VL` (and torch with it) loads on
first access, so config arithmetic stays available to the CLI.
"""

from vlagent.perception.model.config import (
    QWEN2_VL_2B,
    ConfigError,
    ModelInputError,
    Qwen2VLConfig,
    TextConfig,
    VisionConfig,
)

__all__ = ["QWEN2_VL_2B", "ConfigError", "ModelInputError", "Qwen2VL", "Qwen2VLConfig", "TextConfig", "VisionConfig"]


def __getattr__(name: str):
    if name == "Qwen2VL":
        from vlagent.perception.model.qwen2vl import Qwen2VL

        return Qwen2VL
    raise AttributeError(f"module 'vlagent.perception.model' has no attribute {name!r}")

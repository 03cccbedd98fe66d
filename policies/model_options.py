"""Which model a model policy runs, and how: read from policy options, loaded into an Engine.

Options (config `policy_options`, CLI `--policy-opt KEY=VALUE`, `vlagent run --model DIR`):
- `model`: an exported package (onnx backend) or an HF-format checkpoint (torch backend);
  default: the shipped demo package, `perception.demo_model.path()`;
- `backend`: "onnx" (default; numpy + onnxruntime, never torch) or "torch";
- `min_pixels`, `max_pixels`: the image token budget in px of the resized model input
  (each visual token covers 28 x 28 px); default: the package's preprocessor_config.json;
- `threads`: intra-op threads of the backend; default: the backend's own choice;
- `max_new_tokens`: the longest answer, tokens.

Unknown keys are errors, so a typo never silently falls back to a default.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vlagent.agent.errors import ConfigError

BACKENDS = ("onnx", "torch")
KEYS = ("model", "backend", "min_pixels", "max_pixels", "threads", "max_new_tokens")


def default_model_dir() -> Path:
    """The shipped demo package (package data of vlagent)."""
    from vlagent.perception.demo_model import path

    return Path(path())


@dataclass(frozen=True)
class ModelOptions:
    """How to load the model; pixel counts are px of the resized model input."""

    model: Path
    backend: str = "onnx"
    min_pixels: int | None = None
    max_pixels: int | None = None
    threads: int | None = None
    max_new_tokens: int = 64

    def engine_options(self) -> dict[str, int]:
        """The keyword options `perception.engine.load` takes (only those that were set)."""
        named = {"min_pixels": self.min_pixels, "max_pixels": self.max_pixels, "threads": self.threads}
        return {key: value for key, value in named.items() if value is not None}


def _positive_int(options: dict[str, Any], key: str) -> int | None:
    value = options.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ConfigError(f"policy option {key}={value!r} must be a positive integer")
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"policy option {key}={value!r} must be a positive integer") from None
    if number < 1:
        raise ConfigError(f"policy option {key}={value!r} must be a positive integer")
    return number


def model_options(options: dict[str, Any], max_new_tokens: int = 64) -> ModelOptions:
    """Validate policy options into ModelOptions; ConfigError names the bad key."""
    unknown = sorted(set(options) - set(KEYS))
    if unknown:
        raise ConfigError(f"unknown policy option(s) {', '.join(unknown)}; known: {', '.join(KEYS)}")
    backend = str(options.get("backend") or "onnx")
    if backend not in BACKENDS:
        raise ConfigError(f"policy option backend={backend!r} must be one of {', '.join(BACKENDS)}")
    model = options.get("model")
    return ModelOptions(
        model=Path(str(model)).expanduser() if model else default_model_dir(),
        backend=backend,
        min_pixels=_positive_int(options, "min_pixels"),
        max_pixels=_positive_int(options, "max_pixels"),
        threads=_positive_int(options, "threads"),
        max_new_tokens=_positive_int(options, "max_new_tokens") or max_new_tokens,
    )


def load_engine(options: ModelOptions):
    """The Engine for `options` (perception.engine.load; torch is imported only for backend="torch")."""
    from vlagent.perception.engine import load

    if not options.model.is_dir():
        raise ConfigError(f"model {options.model} is not a directory (an exported package or a checkpoint)")
    return load(options.model, backend=options.backend, **options.engine_options())


def manifest_sha256(model_dir: Path) -> str | None:
    """sha256 of the package's manifest.json (which holds every file's sha256), or None for a
    checkpoint without one; recorded in episode metadata to name the exact model."""
    from vlagent.perception.export.manifest import MANIFEST, sha256_file

    manifest = Path(model_dir) / MANIFEST
    return sha256_file(manifest) if manifest.is_file() else None

"""Prompt and answer profiles, one per model family, and how a model's family is chosen.

PROFILES maps a profile name to the module attribute holding its `base.Profile`:
- "vlagent": the shipped model's one-line grammar (policies.profiles.vlagent);
- "qwen2-vl": Qwen2-VL-Instruct, Qwen-Agent function calls, 0..1000;
- "qwen2.5-vl": Qwen2.5-VL's `mobile_use` tool calls, model-input px;
- "ui-tars" (1.0, 0..1000) and "ui-tars-1.5" (model-input px): Thought/Action answers;
- "qwen2.5-vl-computer", "ui-tars-1.5-computer": the desktop forms (computer_use, COMPUTER_USE),
  chosen instead of the phone forms when the env is a desktop.

Choice (`choose_profile`): an explicit name (`--profile`, policy option `profile`) wins; then,
for a local model, the package manifest's "profile" (written by `vlagent export`), a package
trained by vlagent (training.json or recipe.json: "vlagent"), the model's name (directory,
config `_name_or_path`), and the HF config's `model_type`; for a remote model, the served
model's name, then the profile the server advertises (`vlagent serve` lists it in
/v1/models). A model none of these place is a ProfileError naming the known profiles.
"""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path

from vlagent.policies.profiles.base import Profile, ProfileError

PROFILES = {
    "vlagent": "vlagent.policies.profiles.vlagent:PROFILE",
    "qwen2-vl": "vlagent.policies.profiles.qwen2vl:PROFILE",
    "qwen2.5-vl": "vlagent.policies.profiles.qwen25vl:PROFILE",
    "ui-tars": "vlagent.policies.profiles.uitars:PROFILE_V1",
    "ui-tars-1.5": "vlagent.policies.profiles.uitars:PROFILE_V15",
    "qwen2.5-vl-computer": "vlagent.policies.profiles.qwen25vl_computer:PROFILE",
    "ui-tars-1.5-computer": "vlagent.policies.profiles.uitars:PROFILE_V15_COMPUTER",
}
# A family's desktop form, used in place of its phone form when the env is a desktop and the
# profile was not named explicitly.
DESKTOP_VARIANTS = {"qwen2.5-vl": "qwen2.5-vl-computer", "ui-tars-1.5": "ui-tars-1.5-computer"}
# HF config model_type -> profile, for checkpoints whose name says nothing.
MODEL_TYPES = {"qwen2_vl": "qwen2-vl", "qwen2_5_vl": "qwen2.5-vl"}
# Model-name patterns, tried in order on the lower-cased name with "_" read as "-": UI-TARS
# first, since UI-TARS models are Qwen2-VL / Qwen2.5-VL fine-tunes and may say so in their name.
NAME_PATTERNS = (
    (re.compile(r"ui-?tars-?(1\.5|1-5)(?![0-9])"), "ui-tars-1.5"),
    (re.compile(r"ui-?tars"), "ui-tars"),
    (re.compile(r"qwen2(\.|-)?5-?vl"), "qwen2.5-vl"),
    (re.compile(r"qwen2-?vl"), "qwen2-vl"),
    (re.compile(r"vlagent"), "vlagent"),
)


def known() -> str:
    return ", ".join(PROFILES)


def get_profile(name: str) -> Profile:
    """The Profile called `name` (case-insensitive), or ProfileError naming the known ones."""
    key = str(name).strip().lower()
    if key not in PROFILES:
        raise ProfileError(f"unknown profile {name!r}; known profiles: {known()}")
    module, _, attribute = PROFILES[key].partition(":")
    return getattr(importlib.import_module(module), attribute)


def profile_for_name(model_name: str | None) -> str | None:
    """The profile a model's name points to (e.g. "Qwen/Qwen2.5-VL-7B-Instruct" -> "qwen2.5-vl"), or None."""
    if not model_name:
        return None
    text = str(model_name).lower().replace("_", "-")
    for pattern, profile in NAME_PATTERNS:
        if pattern.search(text):
            return profile
    return None


def _json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def profile_for_model_dir(model_dir: str | Path) -> str | None:
    """The profile of a local package or checkpoint, from what it says about itself, or None."""
    directory = Path(model_dir)
    manifest = _json(directory / "manifest.json")
    if isinstance(manifest.get("profile"), str):
        return manifest["profile"]
    if (directory / "training.json").is_file() or (directory / "recipe.json").is_file():
        return "vlagent"
    config = _json(directory / "config.json")
    for name in (directory.resolve().name, config.get("_name_or_path"), config.get("name_or_path")):
        found = profile_for_name(name if isinstance(name, str) else None)
        if found:
            return found
    return MODEL_TYPES.get(str(config.get("model_type")))


def choose_profile(explicit: str | None = None, *, model_dir: str | Path | None = None, model_name: str | None = None,
                   advertised: str | None = None, env=None) -> Profile:
    """The profile for a model (see the module docstring for the order); on a desktop `env`
    (device kind "desktop") a family's desktop form, unless the profile was named."""
    if explicit:
        return get_profile(explicit)
    found = _inferred(model_dir, model_name, advertised)
    device = getattr(env, "device", None) if env is not None else None
    if isinstance(device, dict) and device.get("kind") == "desktop":
        found = DESKTOP_VARIANTS.get(found, found)
    return get_profile(found)


def _inferred(model_dir, model_name, advertised) -> str:
    found = profile_for_model_dir(model_dir) if model_dir is not None else None
    found = found or profile_for_name(model_name) or advertised
    if found is None:
        what = f"model {model_dir}" if model_dir is not None else f"served model {model_name!r}"
        raise ProfileError(f"cannot tell which prompt profile {what} needs; pass --profile with one of: {known()}")
    return found

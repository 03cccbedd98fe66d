"""Model policies over an OpenAI-compatible server: `vlagent serve`, or vLLM serving Qwen2-VL.

`--policy remote:URL[#MODEL]` (URL the server's base, e.g. http://127.0.0.1:8000; MODEL the
served model id, default the server's first in /v1/models). Options (`--policy-opt`):
- `kind`: `agent` (default: `policies.agent.AgentPolicy`, next action) or `grounding`
  (`policies.grounding.GroundingPolicy`, "tap X");
- `profile`: the agent's prompt profile (`policies.profiles`); default: from the served model's
  name (`#Qwen2.5-VL-7B-Instruct` -> qwen2.5-vl), else the profile the server advertises in
  /v1/models (`vlagent serve` does), else an error naming the profiles;
- `timeout_s` (default 30) per request, `retries` (default 3): the `openai` client retries
  connection errors, 408/409/429 and 5xx with exponential backoff, at most `retries` times;
- `max_new_tokens`, `min_pixels`, `max_pixels` (sent as vLLM's `mm_processor_kwargs`). A profile
  whose coordinates are model-input px (Qwen2.5-VL, UI-TARS 1.5) always sends them (the family's
  processor defaults unless set), so the server resizes exactly as the policy maps coordinates;
- `api_key_env`: the environment variable holding the API key (default VLAGENT_API_KEY, then
  OPENAI_API_KEY). The key itself is never an option, so it is never recorded in an episode.
Requests are the shape vLLM documents: one user message whose content parts are the text and
`image_url` parts with PNG data URLs, `temperature` 0 for greedy, and `skip_special_tokens:
false`, without which vLLM strips Qwen2-VL's box tokens from the answer. The policies are the
local ones unchanged: only the model behind `policies.completion.complete` differs, so for the
same model and greedy decoding they take the same actions; the raw text goes into the episode
as with a local model.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any

from vlagent.agent.errors import ConfigError
from vlagent.perception.errors import VlagentError
from vlagent.policies.completion import Completion

KINDS = ("agent", "grounding")
OPTION_KEYS = ("kind", "profile", "timeout_s", "retries", "max_new_tokens", "min_pixels", "max_pixels", "api_key_env")


class RemoteModelError(VlagentError, ConnectionError):
    """The server could not be reached, or answered an error (after the retries)."""


def image_data_url(image) -> str:
    """An H x W x 3 uint8 image as a PNG data URL (fast compression: it is sent, not stored)."""
    import base64
    import io

    import numpy as np
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.asarray(image, np.uint8)).save(buffer, format="PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def openai_messages(messages: list[dict], images: Sequence) -> list[dict]:
    """vlagent's chat messages ({"type": "image"} parts) with the images as `image_url` data URLs."""
    queue = list(images)
    out = []
    for message in messages:
        content = message["content"]
        if isinstance(content, str):
            out.append({"role": message["role"], "content": content})
            continue
        parts = []
        for part in content:
            if part.get("type") == "image":
                if not queue:
                    raise ValueError("more image parts than images")
                parts.append({"type": "image_url", "image_url": {"url": image_data_url(queue.pop(0))}})
            else:
                parts.append({"type": "text", "text": part["text"]})
        out.append({"role": message["role"], "content": parts})
    if queue:
        raise ValueError(f"{len(queue)} images left over: the messages hold fewer image parts")
    return out


class RemoteModel:
    """An OpenAI-compatible chat endpoint; `complete_chat` is what `policies.completion` calls."""

    def __init__(self, base_url: str, model: str | None = None, api_key: str | None = None, timeout_s: float = 30.0,
                 retries: int = 3, min_pixels: int | None = None, max_pixels: int | None = None):
        try:
            from openai import OpenAI
        except ImportError as error:
            raise ConfigError(f"the remote policy needs the openai client (pip install 'vlagent[serve]'): {error}") from None
        base = base_url.rstrip("/")
        self.base_url = base if base.endswith("/v1") else base + "/v1"
        self.client = OpenAI(base_url=self.base_url, api_key=api_key or "EMPTY", timeout=timeout_s, max_retries=retries)
        self.processor_kwargs = {k: v for k, v in (("min_pixels", min_pixels), ("max_pixels", max_pixels)) if v}
        self._listed: list | None = None
        self.model = model or self._first_model()

    def _models(self) -> list:
        import openai

        if self._listed is None:
            try:
                self._listed = list(self.client.models.list().data)
            except openai.OpenAIError as error:
                raise RemoteModelError(f"{self.base_url}/models: {type(error).__name__}: {error}") from None
        return self._listed

    def advertised_profile(self) -> str | None:
        """The prompt profile the server lists for this model (`vlagent serve` does), or None."""
        try:
            models = self._models()
        except RemoteModelError:
            return None  # the name alone must then decide; the chat request reports the server
        for entry in models:
            if entry.id == self.model:
                value = (getattr(entry, "model_extra", None) or {}).get("vlagent_profile")
                return value if isinstance(value, str) else None
        return None

    def set_default_pixels(self, min_pixels: int, max_pixels: int) -> None:
        """Send these limits unless the user set them: the server then resizes as `resized_size` says."""
        self.processor_kwargs = {"min_pixels": min_pixels, "max_pixels": max_pixels, **self.processor_kwargs}

    def resized_size(self, height: int, width: int) -> tuple[int, int]:
        """The model-input (h, w) px the server makes of a height x width image, as far as the
        limits this client sends decide it (Qwen2-VL's processor defaults otherwise)."""
        from vlagent.perception.processor import smart_resize

        low = self.processor_kwargs.get("min_pixels", 4 * 28 * 28)
        high = self.processor_kwargs.get("max_pixels", 16384 * 28 * 28)
        return smart_resize(height, width, 28, low, high)

    def _first_model(self) -> str:
        models = self._models()
        if not models:
            raise RemoteModelError(f"{self.base_url} serves no model")
        return models[0].id

    def complete_chat(self, messages: list[dict], images: Sequence, max_new_tokens: int, do_sample: bool = False,
                      temperature: float = 1.0, seed: int | None = None) -> Completion:
        import openai

        started = time.perf_counter()
        payload = openai_messages(messages, images)
        encoded = time.perf_counter()
        extra: dict[str, Any] = {"skip_special_tokens": False}
        if self.processor_kwargs:
            extra["mm_processor_kwargs"] = dict(self.processor_kwargs)
        try:
            response = self.client.chat.completions.create(
                model=self.model, messages=payload, max_tokens=max_new_tokens,
                temperature=temperature if do_sample else 0.0, seed=seed, extra_body=extra)
        except openai.OpenAIError as error:
            raise RemoteModelError(f"{self.base_url} ({self.model}): {type(error).__name__}: {error}") from None
        done = time.perf_counter()
        text = response.choices[0].message.content or ""
        return Completion(text, {"preprocess": encoded - started, "model": done - encoded})


def _number(options: dict, key: str, default, kind=float):
    value = options.get(key, default)
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise ConfigError(f"remote policy option {key}={value!r} must be a number") from None
    if number < 0 or (kind is float and not number > 0 and key == "timeout_s"):
        raise ConfigError(f"remote policy option {key}={value!r} must be positive")
    return number


def parse_target(spec: str) -> tuple[str, str | None]:
    """"remote:URL[#MODEL]" -> (URL, MODEL or None)."""
    target = spec.removeprefix("remote:")
    url, _, model = target.partition("#")
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"--policy {spec!r}: give remote:http://HOST:PORT[#MODEL]")
    return url, model or None


def from_spec(spec: str, context) -> Any:
    """The policy for "remote:URL[#MODEL]" (see the module docstring)."""
    from vlagent.policies.agent import AgentPolicy, default_max_new_tokens
    from vlagent.policies.grounding import GROUND_MAX_NEW_TOKENS, GroundingPolicy
    from vlagent.policies.profiles import choose_profile, profile_for_name

    url, model = parse_target(spec)
    options = dict(context.options)
    unknown = sorted(set(options) - set(OPTION_KEYS))
    if unknown:
        raise ConfigError(f"unknown remote policy option(s) {', '.join(unknown)}; known: {', '.join(OPTION_KEYS)}")
    kind = str(options.get("kind", "agent"))
    if kind not in KINDS:
        raise ConfigError(f"remote policy option kind={kind!r} must be one of {', '.join(KINDS)}")
    env = options.get("api_key_env")
    key = os.environ.get(env) if env else os.environ.get("VLAGENT_API_KEY") or os.environ.get("OPENAI_API_KEY")
    pixels = {k: int(_number(options, k, 0, int)) or None for k in ("min_pixels", "max_pixels")}
    remote = RemoteModel(url, model, key, _number(options, "timeout_s", 30.0), int(_number(options, "retries", 3, int)),
                         **pixels)
    if kind == "grounding":
        if options.get("profile"):
            raise ConfigError("remote policy option profile applies to kind=agent only")
        max_new = int(_number(options, "max_new_tokens", GROUND_MAX_NEW_TOKENS, int))
        return GroundingPolicy(remote, manifest_sha256=None, max_new_tokens=max_new)
    explicit = options.get("profile")
    by_name = explicit or profile_for_name(remote.model)
    profile = choose_profile(explicit, model_name=remote.model, env=context.env,
                             advertised=None if by_name else remote.advertised_profile())
    if profile.space == "model_px":
        remote.set_default_pixels(profile.min_pixels, profile.max_pixels)
    max_new = int(_number(options, "max_new_tokens", default_max_new_tokens(profile), int))
    return AgentPolicy(remote, manifest_sha256=None, max_new_tokens=max_new, profile=profile)

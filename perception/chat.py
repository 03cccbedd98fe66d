"""Qwen2-VL's ChatML prompt format and vision-pad expansion, without jinja or transformers.

`render_chat` produces the same text as the Qwen2-VL-2B-Instruct `chat_template` rendered by
transformers' `apply_chat_template`; `expand_vision_pads` then repeats each image (video) pad
as many times as that item has vision tokens, like transformers' `Qwen2VLProcessor`.
The template is small and fixed, so it is written out here rather than run through jinja,
which keeps the runtime free of a template engine and gives typed errors for bad messages.
This module knows nothing about token ids.
"""

import operator
import re
from collections.abc import Mapping, Sequence

from vlagent.perception.errors import VlagentError
from vlagent.perception.special_tokens import (
    IM_END,
    IM_START,
    IMAGE_PAD,
    VIDEO_PAD,
    VISION_END,
    VISION_START,
)

DEFAULT_SYSTEM_PROMPT = "You are a helpful assistant."
IMAGE_PLACEHOLDER = VISION_START + IMAGE_PAD + VISION_END
VIDEO_PLACEHOLDER = VISION_START + VIDEO_PAD + VISION_END


class ChatFormatError(VlagentError, ValueError):
    """A message list that does not fit the chat format."""


class VisionPadCountError(VlagentError, ValueError):
    """The number of vision pads in a prompt differs from the number of vision items."""


def render_chat(
    messages: Sequence[Mapping[str, object]],
    add_generation_prompt: bool = True,
    add_vision_id: bool = False,
) -> str:
    """The ChatML prompt for `messages`, as Qwen2-VL's chat template renders it.

    Each message is {"role": str, "content": str | list of parts}. A part is
    {"type": "text", "text": str}, {"type": "image"} (or has an "image"/"image_url" key) or
    {"type": "video"} (or a "video" key). Without a leading system message the default
    "You are a helpful assistant." is inserted. `add_generation_prompt` appends the opening
    of the assistant turn; `add_vision_id` prefixes "Picture n: " / "Video n: ".
    """
    if isinstance(messages, (str, bytes, Mapping)):
        raise ChatFormatError("messages must be a sequence of {'role', 'content'} mappings")
    counts = {"image": 0, "video": 0}
    out: list[str] = []
    for index, message in enumerate(messages):
        role, content = _role_and_content(message, index)
        if index == 0 and role != "system":
            out.append(f"{IM_START}system\n{DEFAULT_SYSTEM_PROMPT}{IM_END}\n")
        out.append(f"{IM_START}{role}\n")
        if isinstance(content, str):
            out.append(content)
        else:
            out.extend(_render_part(part, index, counts, add_vision_id) for part in content)
        out.append(f"{IM_END}\n")
    if add_generation_prompt:
        out.append(f"{IM_START}assistant\n")
    return "".join(out)


def _role_and_content(message: object, index: int) -> tuple[str, "str | Sequence[object]"]:
    if not isinstance(message, Mapping):
        raise ChatFormatError(f"message {index} must be a mapping, got {type(message).__name__}")
    role, content = message.get("role"), message.get("content")
    if not isinstance(role, str) or not role:
        raise ChatFormatError(f"message {index} needs a non-empty string 'role', got {role!r}")
    if isinstance(content, str):
        return role, content
    if isinstance(content, Sequence) and not isinstance(content, bytes):
        return role, content
    raise ChatFormatError(
        f"message {index} content must be a string or a list of parts, got {type(content).__name__}"
    )


def _render_part(part: object, index: int, counts: dict[str, int], add_vision_id: bool) -> str:
    if not isinstance(part, Mapping):
        raise ChatFormatError(
            f"message {index}: content parts must be mappings, got {type(part).__name__}"
        )
    kind = part.get("type")
    # Same precedence as the template: image first, then video, then text.
    if kind == "image" or "image" in part or "image_url" in part:
        counts["image"] += 1
        prefix = f"Picture {counts['image']}: " if add_vision_id else ""
        return prefix + IMAGE_PLACEHOLDER
    if kind == "video" or "video" in part:
        counts["video"] += 1
        prefix = f"Video {counts['video']}: " if add_vision_id else ""
        return prefix + VIDEO_PLACEHOLDER
    if "text" in part:
        text = part["text"]
        if not isinstance(text, str):
            raise ChatFormatError(
                f"message {index}: text part must hold a string, got {type(text).__name__}"
            )
        return text
    raise ChatFormatError(f"message {index}: unknown content part {dict(part)!r}")


_PAD_PATTERN = re.compile(f"{re.escape(IMAGE_PAD)}|{re.escape(VIDEO_PAD)}")


def expand_vision_pads(
    text: str, image_token_counts: Sequence[int], video_token_counts: Sequence[int] = ()
) -> str:
    """`text` with the i-th image pad repeated image_token_counts[i] times (videos likewise).

    Counts are language-model tokens per item (`VisionInput.token_counts`), in prompt order.
    """
    images = _positive_counts(image_token_counts, "image")
    videos = _positive_counts(video_token_counts, "video")
    pads = _PAD_PATTERN.findall(text)
    for pad, counts, kind in ((IMAGE_PAD, images, "image"), (VIDEO_PAD, videos, "video")):
        if pads.count(pad) != len(counts):
            raise VisionPadCountError(
                f"prompt has {pads.count(pad)} {pad} but {len(counts)} {kind} token counts were given"
            )
    remaining = {IMAGE_PAD: iter(images), VIDEO_PAD: iter(videos)}
    return _PAD_PATTERN.sub(lambda m: m.group() * next(remaining[m.group()]), text)


def _positive_counts(counts: Sequence[int], kind: str) -> list[int]:
    if isinstance(counts, (str, bytes)):
        raise VisionPadCountError(f"{kind} token counts must be a sequence of ints, got {counts!r}")
    out = []
    for n in counts:
        if isinstance(n, bool) or not hasattr(n, "__index__") or operator.index(n) < 1:
            raise VisionPadCountError(
                f"{kind} token counts must be positive ints, got {list(counts)!r}"
            )
        out.append(operator.index(n))
    return out

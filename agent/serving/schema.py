"""The OpenAI chat-completions request, as vLLM accepts it, and the OpenAI error shape.

Fields vlagent uses: `model`, `messages` (content as a string or parts: `text`, `image_url`
with a data URL or an allowed local path), `max_completion_tokens` / `max_tokens`,
`temperature` (0 = greedy), `top_p`, `seed`, `stream`, `stream_options.include_usage`, `n`
(1 only), and vLLM's extras `skip_special_tokens` (default true, as vLLM: Qwen2-VL's box
tokens are special, so a grounding client sends false) and `mm_processor_kwargs`
(`min_pixels` / `max_pixels` for this request's images) and `ignore_eos` (generate exactly
`max_tokens`, for benchmarks). Other OpenAI fields are accepted
and ignored, as vLLM does, so stock clients work.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from vlagent.perception.errors import VlagentError


class ApiError(VlagentError, ValueError):
    """An error answered to the client: HTTP `status` and the OpenAI error body."""

    def __init__(self, status: int, message: str, kind: str = "BadRequestError", param: str | None = None,
                 code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.kind, self.param, self.code = status, message, kind, param, code

    def body(self) -> dict:
        return {"error": {"message": self.message, "type": self.kind, "param": self.param, "code": self.code}}


class ImageURL(BaseModel):
    url: str = Field(min_length=1)
    detail: str | None = None


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: Literal["text", "image_url"]
    text: str | None = None
    image_url: ImageURL | None = None


class Message(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: Literal["system", "user", "assistant"]
    content: str | list[ContentPart]


class StreamOptions(BaseModel):
    include_usage: bool = False


class ProcessorKwargs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min_pixels: int | None = Field(None, ge=28 * 28)
    max_pixels: int | None = Field(None, ge=28 * 28)


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    model: str
    messages: list[Message] = Field(min_length=1)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    temperature: float = Field(1.0, ge=0, le=2)
    top_p: float = Field(1.0, gt=0, le=1)
    seed: int | None = None
    n: int = 1
    stream: bool = False
    stream_options: StreamOptions | None = None
    skip_special_tokens: bool = True
    ignore_eos: bool = False
    mm_processor_kwargs: ProcessorKwargs | None = None

    def new_tokens(self, default: int) -> int:
        return self.max_completion_tokens or self.max_tokens or default

"""One chat completion from a model policy's model, local engine or remote server alike.

`complete(model, messages, images, ...)` returns the answer text and its stage timings (s):
- a local `perception.engine.Engine`: the messages rendered with `perception.chat.render_chat`
  (exactly the prompt `policies.prompts` renders) and generated in process; timings
  preprocess, vision, prefill, decode and model = vision + prefill + decode;
- anything with `complete_chat(messages, images, ...)` (`policies.remote.RemoteModel`, an
  OpenAI-compatible server): its own text and timings (preprocess = encoding the images,
  model = the request's round trip).
Messages use {"type": "image"} parts, one per image, in order.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Completion:
    text: str
    timings: dict[str, float] = field(default_factory=dict)


def complete(model, messages: list[dict], images: Sequence, max_new_tokens: int, do_sample: bool = False,
             temperature: float = 1.0, seed: int | None = None) -> Completion:
    if hasattr(model, "complete_chat"):
        return model.complete_chat(messages, images, max_new_tokens=max_new_tokens, do_sample=do_sample,
                                   temperature=temperature, seed=seed)
    from vlagent.perception.chat import render_chat

    generation = model.generate(render_chat(messages), images=list(images), max_new_tokens=max_new_tokens,
                                do_sample=do_sample, temperature=temperature, seed=seed)
    t = generation.timings
    decode = float(sum(t.get("decode", ())))
    vision, prefill = float(t.get("vision", 0.0)), float(t.get("prefill", 0.0))
    return Completion(generation.text, {"preprocess": float(t.get("preprocess", 0.0)), "vision": vision,
                                        "prefill": prefill, "decode": decode, "model": vision + prefill + decode})

"""Next-token choice from one row of logits, in numpy (shared by every engine backend).

Greedy is argmax (ties -> lowest id, as torch.argmax). Sampling divides by the temperature,
keeps the smallest set of most likely tokens whose probability reaches `top_p` (nucleus,
at least one token), renormalises and draws with the caller's numpy Generator, so a seed
reproduces a run on any backend.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vlagent.perception.errors import VlagentError


class SamplingError(VlagentError, ValueError):
    """Sampling parameters out of range."""


@dataclass(frozen=True)
class SamplingParams:
    do_sample: bool = False
    temperature: float = 1.0
    top_p: float = 1.0

    def __post_init__(self) -> None:
        if self.do_sample and not self.temperature > 0:
            raise SamplingError(f"temperature must be > 0 when sampling, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise SamplingError(f"top_p must be in (0, 1], got {self.top_p}")


def choose(logits: np.ndarray, params: SamplingParams, rng: np.random.Generator | None = None) -> int:
    """Token id from logits [vocab] (any float dtype)."""
    if not params.do_sample:
        return int(np.argmax(logits))
    if rng is None:
        raise SamplingError("sampling needs a numpy Generator")
    z = logits.astype(np.float64) / params.temperature
    probs = np.exp(z - z.max())
    probs /= probs.sum()
    order = np.argsort(-probs, kind="stable")
    if params.top_p < 1.0:
        cumulative = np.cumsum(probs[order])
        keep = int(np.searchsorted(cumulative, params.top_p)) + 1  # first index reaching top_p, inclusive
        order = order[:keep]
    kept = probs[order] / probs[order].sum()
    return int(order[rng.choice(order.size, p=kept)])

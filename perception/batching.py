"""Continuous batching: many generations decoded together, joining and leaving between steps.

Decoding a small model on a CPU is memory-bound: one decode step streams every weight once,
whatever the batch, so decoding B sequences in one step costs little more than one. The
`BatchScheduler` owns the engine on one thread and loops:
1. admit waiting requests (up to `max_batch` in flight): each is encoded and prefilled alone
   (`Engine.prefill`), so a long prompt never waits for a batch to form; a request may come
   already preprocessed (`Engine.prepare`, done on the caller's thread, so preprocessing one
   request overlaps decoding the others on a multi-core machine);
2. choose every sequence's next token (greedy or sampled with its own seeded generator),
   hand it to the request's `on_token`, and finish sequences that hit a stop id, their
   `max_new_tokens`, or were cancelled (a client that went away frees its slot here);
3. when the batch changed, rebuild the cache from the survivors' and newcomers' rows
   (`OnnxBackend.gather_rows`, which packs each row's cache slots), then decode one token
   for all of them.
A request's tokens are the ones it would get alone (greedy): rows never see each other (the
attention mask is per row) and each row's position is its own.

Requests are `GenerationRequest`s; `submit` returns at once, `wait` blocks, `on_token` streams
(it runs on the scheduler thread: keep it short, e.g. hand over to an asyncio loop).
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vlagent.perception.errors import VlagentError
from vlagent.perception.processor import ImageProcessor
from vlagent.perception.sampling import SamplingParams, choose


class SchedulerError(VlagentError, RuntimeError):
    """The scheduler cannot take the request: its queue is full, or it is closed."""


@dataclass(eq=False)
class GenerationRequest:
    """One generation: inputs, then (filled by the scheduler) tokens, text and how it ended.

    finish_reason: "stop", "length", "cancelled" or "error" (then `error` holds the exception).
    timings (s): queued (submit to admission), preprocess, vision, prefill, and the wall time
    of the whole request (`total`)."""

    prompt: str
    images: Sequence[Any] = ()
    max_new_tokens: int = 64
    params: SamplingParams = field(default_factory=SamplingParams)
    seed: int | None = None
    processor: ImageProcessor | None = None
    prepared: Any = None  # `Engine.prepare` output made off the scheduler thread (then prompt/images are not used)
    skip_special_tokens: bool = False
    ignore_eos: bool = False  # generate exactly max_new_tokens (benchmarks)
    on_token: Callable[[str, int], None] | None = None
    on_done: Callable[[], None] | None = None  # called (on the scheduler thread) once it has ended
    token_ids: list[int] = field(default_factory=list)
    text: str = ""
    prompt_tokens: int = 0
    finish_reason: str | None = None
    error: BaseException | None = None
    timings: dict[str, float] = field(default_factory=dict)
    cancelled: bool = False
    done: threading.Event = field(default_factory=threading.Event)
    submitted_at: float = 0.0

    def wait(self, timeout: float | None = None) -> bool:
        return self.done.wait(timeout)


@dataclass(eq=False)
class _Sequence:
    request: GenerationRequest
    logits: np.ndarray
    source: tuple[Any, int]  # (decode state, row) holding this sequence's cache
    rng: np.random.Generator
    decoder: Any


class BatchScheduler:
    """Continuous batching over one engine whose backend has `gather_rows` (the ONNX backend)."""

    def __init__(self, engine, max_batch: int = 8, max_queue: int = 64):
        if not hasattr(engine.backend, "gather_rows"):
            raise SchedulerError("continuous batching needs the onnx backend (its cache can gather rows)")
        self.engine, self.max_batch, self.max_queue = engine, max_batch, max_queue
        self._pending: collections.deque[GenerationRequest] = collections.deque()
        self._cond = threading.Condition()
        self._closed = False
        self.active = 0
        self.steps = 0  # decode steps run
        self.rows_decoded = 0  # sequences decoded over all steps (rows / steps = mean batch)
        self._thread = threading.Thread(target=self._run, name="vlagent-batcher", daemon=True)
        self._thread.start()

    @property
    def queue_depth(self) -> int:
        return len(self._pending)

    def submit(self, request: GenerationRequest) -> GenerationRequest:
        with self._cond:
            if self._closed:
                raise SchedulerError("the scheduler is closed")
            if len(self._pending) >= self.max_queue:
                raise SchedulerError(f"the queue is full ({self.max_queue} requests waiting)")
            request.submitted_at = time.perf_counter()
            self._pending.append(request)
            self._cond.notify()
        return request

    def cancel(self, request: GenerationRequest) -> None:
        """Stop `request` at the next step (or before it starts); its slot is freed."""
        request.cancelled = True
        with self._cond:
            self._cond.notify()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join(timeout=10)

    # -- the scheduler thread -----------------------------------------------------------------

    def _admit(self, running: int) -> list[GenerationRequest]:
        with self._cond:
            while not self._closed and running == 0 and not self._pending:
                self._cond.wait()
            taken = []
            while self._pending and running + len(taken) < self.max_batch:
                taken.append(self._pending.popleft())
            return taken

    def _start(self, request: GenerationRequest) -> _Sequence | None:
        request.timings["queued"] = time.perf_counter() - request.submitted_at
        if request.cancelled:
            self._finish(request, "cancelled")
            return None
        try:
            logits, state, prompt_tokens, timings = self.engine.prefill(request.prompt, request.images,
                                                                        processor=request.processor,
                                                                        prepared=request.prepared)
        except Exception as error:  # noqa: BLE001 - a bad request must fail alone, not the batch
            request.error = error
            self._finish(request, "error")
            return None
        request.prompt_tokens = prompt_tokens
        request.timings.update({k: float(v) for k, v in timings.items()})
        return _Sequence(request, logits, (state, 0), np.random.default_rng(request.seed),
                         self.engine.tokenizer.stream_decoder(request.skip_special_tokens))

    def _finish(self, request: GenerationRequest, reason: str) -> None:
        request.finish_reason = reason
        request.timings["total"] = time.perf_counter() - request.submitted_at
        request.done.set()
        if request.on_done is not None:
            request.on_done()

    def _step_or_fail(self, seq: _Sequence) -> bool:
        """`_step_token`; a typed error in one sequence (text that cannot be decoded) fails that
        request alone, and the others go on decoding."""
        try:
            return self._step_token(seq)
        except VlagentError as error:
            seq.request.error = error
            self._finish(seq.request, "error")
            return False

    def _step_token(self, seq: _Sequence) -> bool:
        """Choose and emit the next token; True when the sequence goes on."""
        request = seq.request
        if request.cancelled:
            self._finish(request, "cancelled")
            return False
        token = choose(seq.logits[: self.engine.output_vocab], request.params, seq.rng)
        request.token_ids.append(token)
        stop = not request.ignore_eos and token in self.engine.stop_ids
        ended = stop or len(request.token_ids) >= request.max_new_tokens
        delta = "" if stop else seq.decoder.push(token)
        delta += seq.decoder.flush() if ended else ""
        request.text += delta
        if request.on_token is not None:
            request.on_token(delta, token)
        if ended:
            self._finish(request, "stop" if stop else "length")
        return not ended

    def _run(self) -> None:
        running: list[_Sequence] = []
        state = None
        try:
            while True:
                new = self._admit(len(running))
                if self._closed:
                    self._pending.extendleft(reversed(new))
                    for seq in running:
                        seq.request.error = SchedulerError("the scheduler was closed")
                        self._finish(seq.request, "error")
                    running = []
                    break
                started = [s for s in (self._start(r) for r in new) if s is not None]
                everyone = running + started
                self.active = len(everyone)
                survivors = [s for s in everyone if self._step_or_fail(s)]
                if not survivors:
                    running, state, self.active = [], None, 0
                    continue
                if started or len(survivors) != len(running):
                    state = self.engine.backend.gather_rows([s.source for s in survivors])
                    for row, seq in enumerate(survivors):
                        seq.source = (state, row)
                tokens = np.array([s.request.token_ids[-1] for s in survivors], np.int64)
                logits, state = self.engine.backend.decode(state, tokens, None)
                self.steps += 1
                self.rows_decoded += len(survivors)
                for row, seq in enumerate(survivors):
                    seq.logits, seq.source = logits[row], (state, row)
                running = survivors
                self.active = len(running)
        except BaseException as error:  # noqa: BLE001 - fail every waiting request, never hang them
            for seq in running:
                seq.request.error = error
                self._finish(seq.request, "error")
            raise
        finally:
            self.active = 0
            with self._cond:
                self._closed = True
                pending, self._pending = list(self._pending), collections.deque()
            for request in pending:
                request.error = SchedulerError("the scheduler stopped")
                self._finish(request, "error")

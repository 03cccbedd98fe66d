"""The FastAPI app of `vlagent serve`: OpenAI chat completions on the ONNX engine, batched.

`create_app(engine, model_name, ...)` builds the app around one `perception.batching.BatchScheduler`
(the only user of the engine, on its own thread). Endpoints:
- `POST /v1/chat/completions`: the OpenAI request (`schema.ChatRequest`); the answer in the
  OpenAI shape with `usage`, or with `"stream": true` server-sent events of
  `chat.completion.chunk`s ending in `data: [DONE]` (and a usage chunk on
  `stream_options.include_usage`). A client that disconnects cancels its request, which frees
  its batch slot at the next decode step.
- `GET /v1/models` (with the model's prompt profile as `vlagent_profile`), `GET /health`, `GET /metrics` (Prometheus text: requests by status,
  prompt and generated tokens, queue depth, sequences in the batch, latency histograms).
Errors are the OpenAI error body with a 4xx: 400 for a malformed request, a bad data URL, an
image over the limits, `max_tokens` over the server's limit or a prompt + answer longer than
the model's context; 404 for an unknown model; 401 for a missing or wrong API key (checked on
every request when the server has one); 503 when the queue is full.
"""

import asyncio
import json
import secrets
import time
import uuid
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse

from vlagent.agent.serving.images import ImageInputError, load_image
from vlagent.agent.serving.schema import ApiError, ChatRequest
from vlagent.perception.batching import BatchScheduler, GenerationRequest, SchedulerError
from vlagent.perception.chat import ChatFormatError, render_chat
from vlagent.perception.processor import ImageProcessor
from vlagent.perception.sampling import SamplingParams

DEFAULT_MAX_TOKENS = 256
MAX_TOKENS_LIMIT = 2048


def _processor_for(engine, kwargs) -> ImageProcessor:
    """A processor of this request's own (one thread: requests are prepared on worker threads,
    in parallel), with the engine's settings and `mm_processor_kwargs`' pixel limits."""
    base = engine.processor
    low = (kwargs.min_pixels if kwargs else None) or base.min_pixels
    high = (kwargs.max_pixels if kwargs else None) or base.max_pixels
    if low > high:
        raise ApiError(400, f"mm_processor_kwargs: min_pixels {low} exceeds max_pixels {high}",
                       param="mm_processor_kwargs")
    return ImageProcessor(min_pixels=low, max_pixels=high, patch_size=base.patch_size,
                          temporal_patch_size=base.temporal_patch_size, merge_size=base.merge_size,
                          image_mean=base.image_mean, image_std=base.image_std, threads=1, max_side=base.max_side)


def _prompt_and_images(body: ChatRequest, allowed_root: Path | None):
    """The rendered chat prompt and the decoded images, in order (raises ApiError)."""
    messages, images = [], []
    for i, message in enumerate(body.messages):
        if isinstance(message.content, str):
            messages.append({"role": message.role, "content": message.content})
            continue
        parts = []
        for j, part in enumerate(message.content):
            if part.type == "text":
                if part.text is None:
                    raise ApiError(400, f"messages[{i}].content[{j}]: a text part needs 'text'", param="messages")
                parts.append({"type": "text", "text": part.text})
            else:
                if part.image_url is None:
                    raise ApiError(400, f"messages[{i}].content[{j}]: an image_url part needs 'image_url'",
                                   param="messages")
                try:
                    images.append(load_image(part.image_url.url, f"messages[{i}].content[{j}]", allowed_root))
                except ImageInputError as error:
                    raise ApiError(400, str(error), param="messages") from None
                parts.append({"type": "image"})
        messages.append({"role": message.role, "content": parts})
    try:
        return render_chat(messages), images
    except ChatFormatError as error:
        raise ApiError(400, str(error), param="messages") from None


class _SchedulerCounters:
    """The scheduler's own running totals as Prometheus counters (read at scrape time)."""

    def __init__(self, scheduler: BatchScheduler):
        self.scheduler = scheduler

    def collect(self):
        from prometheus_client.core import CounterMetricFamily

        yield CounterMetricFamily("vlagent_decode_steps", "Decode steps run", value=self.scheduler.steps)
        yield CounterMetricFamily("vlagent_decode_rows", "Sequences decoded over all steps (rows / steps = mean batch)",
                                  value=self.scheduler.rows_decoded)


class _Metrics:
    """Prometheus metrics in a registry of this app's own (no process-global state)."""

    def __init__(self, scheduler: BatchScheduler):
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry()
        self.requests = Counter("vlagent_requests", "Chat completion requests by outcome", ["status"],
                                registry=self.registry)
        self.prompt_tokens = Counter("vlagent_prompt_tokens", "Prompt tokens processed", registry=self.registry)
        self.generation_tokens = Counter("vlagent_generation_tokens", "Tokens generated", registry=self.registry)
        Gauge("vlagent_queue_depth", "Requests waiting for a batch slot",
              registry=self.registry).set_function(lambda: scheduler.queue_depth)
        Gauge("vlagent_active_sequences", "Sequences in the decode batch",
              registry=self.registry).set_function(lambda: scheduler.active)
        self.registry.register(_SchedulerCounters(scheduler))
        self.latency = Histogram("vlagent_request_latency_seconds", "Request latency, submit to last token",
                                 registry=self.registry, buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
        self.first_token = Histogram("vlagent_time_to_first_token_seconds", "Submit to first token",
                                     registry=self.registry, buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10))


def create_app(engine, model_name: str, api_key: str | None = None, max_batch: int = 8, max_queue: int = 64,
               allowed_local_media_path: Path | None = None, max_tokens_limit: int = MAX_TOKENS_LIMIT,
               profile: str | None = None):
    """The app (see the module docstring); the scheduler starts now and stops with the app.
    `profile`, the model's prompt profile (policies.profiles), is listed in /v1/models as
    `vlagent_profile` so that a remote policy can speak the model's format by itself."""
    scheduler = BatchScheduler(engine, max_batch=max_batch, max_queue=max_queue)
    metrics = _Metrics(scheduler)
    context = engine.config.text.max_position_embeddings

    @asynccontextmanager
    async def lifespan(_app):
        yield
        scheduler.close()

    async def check_key(request: Request):
        # A dependency of every route, not an HTTP middleware: Starlette's BaseHTTPMiddleware
        # wraps `receive`, and then a streaming handler can no longer see the client go away.
        if api_key is not None:
            sent = request.headers.get("authorization", "")
            if not secrets.compare_digest(sent.encode(), f"Bearer {api_key}".encode()):
                raise ApiError(401, "a valid API key is required: Authorization: Bearer KEY",
                               "AuthenticationError", code="invalid_api_key")

    app = FastAPI(title="vlagent serve", lifespan=lifespan, dependencies=[Depends(check_key)])
    app.state.scheduler, app.state.metrics = scheduler, metrics

    def error_response(error: ApiError):
        metrics.requests.labels(status=str(error.status)).inc()
        return JSONResponse(error.body(), status_code=error.status)

    @app.exception_handler(ApiError)
    async def on_api_error(_request, error: ApiError):
        return error_response(error)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(_request, error: RequestValidationError):
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:]) or 'body'}: {e['msg']}" for e in error.errors())
        return error_response(ApiError(400, f"invalid request: {problems}"))

    @app.get("/health")
    async def health():
        return {"status": "ok", "model": model_name, "queue_depth": scheduler.queue_depth, "active": scheduler.active}

    @app.get("/v1/models")
    async def models():
        entry = {"id": model_name, "object": "model", "created": 0, "owned_by": "vlagent", "max_model_len": context}
        if profile:
            entry["vlagent_profile"] = profile
        return {"object": "list", "data": [entry]}

    @app.get("/metrics")
    async def prometheus():
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.post("/v1/chat/completions")
    async def chat(body: ChatRequest, request: Request):
        if body.model != model_name:
            raise ApiError(404, f"The model `{body.model}` does not exist (this server has `{model_name}`).",
                           "NotFoundError", param="model", code="model_not_found")
        if body.n != 1:
            raise ApiError(400, "only n=1 is supported", param="n")
        max_new = body.new_tokens(DEFAULT_MAX_TOKENS)
        if max_new > max_tokens_limit:
            raise ApiError(400, f"max_tokens {max_new} is over this server's limit of {max_tokens_limit}",
                           param="max_tokens")
        prompt, images = await asyncio.to_thread(_prompt_and_images, body, allowed_local_media_path)
        processor = _processor_for(engine, body.mm_processor_kwargs)
        try:  # off the event loop and off the scheduler thread: overlaps other requests' decoding
            prepared = await asyncio.to_thread(engine.prepare, [prompt], [images], None, processor)
        except (ValueError, ChatFormatError) as error:
            raise ApiError(400, f"the prompt cannot be prepared: {error}", param="messages") from None
        prompt_tokens = len(prepared.rows[0])
        if prompt_tokens + max_new > context:
            raise ApiError(400, f"the prompt is {prompt_tokens} tokens and max_tokens {max_new}: more than the "
                                f"model's context of {context} tokens", param="messages")
        params = SamplingParams(body.temperature > 0, body.temperature if body.temperature > 0 else 1.0, body.top_p)
        loop = asyncio.get_running_loop()
        events: asyncio.Queue = asyncio.Queue()
        generation = GenerationRequest(prompt, images, max_new, params, body.seed, processor, prepared,
                                       body.skip_special_tokens, body.ignore_eos,
                                       on_token=lambda delta, token: loop.call_soon_threadsafe(events.put_nowait, delta),
                                       on_done=lambda: loop.call_soon_threadsafe(events.put_nowait, None))
        try:
            scheduler.submit(generation)
        except SchedulerError as error:
            raise ApiError(503, str(error), "ServiceUnavailableError") from None
        rid, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        if body.stream:
            include_usage = bool(body.stream_options and body.stream_options.include_usage)
            return _ClosingStream(_stream(generation, events, _Watch(request), rid, created, model_name,
                                             include_usage, scheduler, metrics), media_type="text/event-stream")
        try:
            watch = _Watch(request)
            while (await _next_or_disconnect(events, watch)) is not None:
                pass
        except _Disconnected:
            scheduler.cancel(generation)
            metrics.requests.labels(status="cancelled").inc()
            return Response(status_code=499)
        _account(generation, metrics)
        if generation.finish_reason == "error":
            raise ApiError(400 if isinstance(generation.error, ValueError) else 500,
                           f"{type(generation.error).__name__}: {generation.error}")
        return {"id": rid, "object": "chat.completion", "created": created, "model": model_name,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": generation.text},
                             "finish_reason": generation.finish_reason, "logprobs": None}],
                "usage": _usage(generation)}

    return app


class _Disconnected(Exception):
    pass


class _ClosingStream(StreamingResponse):
    """A StreamingResponse that always closes its generator: when the client has gone away,
    Starlette abandons the generator mid-iteration, and its `finally` (which cancels the
    generation and frees the batch slot) would wait for the garbage collector."""

    async def __call__(self, scope, receive, send):
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self.body_iterator.aclose()


class _Watch:
    """Checks at most every `poll_s` whether the client has gone away. Writes to a closed
    connection raise nothing under ASGI 2.4 (uvicorn drops them), so the request is asked."""

    def __init__(self, request, poll_s: float = 0.25):
        self.request, self.poll_s, self.checked = request, poll_s, time.monotonic()

    async def gone(self) -> bool:
        if time.monotonic() - self.checked < self.poll_s:
            return False
        self.checked = time.monotonic()
        return await self.request.is_disconnected()


async def _next_or_disconnect(events: asyncio.Queue, watch: _Watch):
    """The next event; raises _Disconnected when the client has gone away meanwhile."""
    while True:
        if await watch.gone():
            raise _Disconnected()
        try:
            return await asyncio.wait_for(events.get(), watch.poll_s)
        except TimeoutError:
            continue


def _usage(generation: GenerationRequest) -> dict:
    n = len(generation.token_ids)
    return {"prompt_tokens": generation.prompt_tokens, "completion_tokens": n,
            "total_tokens": generation.prompt_tokens + n}


def _account(generation: GenerationRequest, metrics: _Metrics) -> None:
    status = "200" if generation.finish_reason in ("stop", "length") else generation.finish_reason or "unknown"
    metrics.requests.labels(status=status).inc()
    metrics.prompt_tokens.inc(generation.prompt_tokens)
    metrics.generation_tokens.inc(len(generation.token_ids))
    if "total" in generation.timings:
        metrics.latency.observe(generation.timings["total"])


async def _stream(generation, events, watch, rid, created, model_name, include_usage, scheduler, metrics):
    """Server-sent events; a client that goes away (the generator is closed) cancels the request."""
    def chunk(delta: dict, finish: str | None = None, usage: dict | None = None) -> str:
        body = {"id": rid, "object": "chat.completion.chunk", "created": created, "model": model_name,
                "choices": [] if usage is not None else [{"index": 0, "delta": delta, "finish_reason": finish}]}
        if usage is not None:
            body["usage"] = usage
        return f"data: {json.dumps(body)}\n\n"

    finished = False
    try:
        yield chunk({"role": "assistant", "content": ""})
        first = True
        while (delta := await _next_or_disconnect(events, watch)) is not None:
            if first:
                metrics.first_token.observe(time.perf_counter() - generation.submitted_at)
                first = False
            if delta:
                yield chunk({"content": delta})
        finished = True
        _account(generation, metrics)
        if generation.finish_reason == "error":
            error = {"message": f"{type(generation.error).__name__}: {generation.error}", "type": "InternalError"}
            yield f"data: {json.dumps({'error': error})}\n\n"
        else:
            yield chunk({}, generation.finish_reason)
            if include_usage:
                yield chunk({}, usage=_usage(generation))
        yield "data: [DONE]\n\n"
    except _Disconnected:
        pass
    finally:
        if not finished:
            scheduler.cancel(generation)
            metrics.requests.labels(status="cancelled").inc()

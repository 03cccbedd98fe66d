"""`vlagent serve` throughput: generated tokens per second over all clients at 1, 2, 4 and 8 clients.

One server process (the shipped model, ONNX engine, one intra-op thread, continuous batching),
then for each client count that many threads, each with its own `openai` client, sending
streaming-off chat requests back to back for `--seconds`: one phone screenshot (data URL,
112 visual tokens) and a grounding query, `ignore_eos` with `--tokens` new tokens each, so every
request does the same work. Side by side in one run: the ratio of each row to one client. Also
reported: requests/s, mean latency per request and the mean decode batch (the server's
decode rows / steps from /metrics). Rewrites the "## Serving" section of docs/PERFORMANCE.md.

    python bench/serve.py [--seconds 20] [--tokens 64] [--clients 1,2,4,8] [--model PACKAGE] [--no-write]

`--model` serves another package, where decoding is memory-bound and batching is the throughput
lever, and writes the section "## Serving a memory-bound package" instead. The one measured: a
random Qwen2-VL-2B-width checkpoint with 2 decoder and 2 vision layers (vocabulary 151936, so
a decode step streams the 233 M-parameter LM head), exported at int8:

    python bench/engine.py --build-checkpoint /tmp/vl2b-tiny/checkpoint --tiny
    vlagent export /tmp/vl2b-tiny/checkpoint /tmp/vl2b-tiny/int8 --quantize int8
    python bench/serve.py --model /tmp/vl2b-tiny/int8 --max-pixels 12544 --tokens 128
"""

import argparse
import os
import platform
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SECTION = "## Serving"
MODEL_SECTION = "## Serving a memory-bound package"
READING = ("Reading: the issue's goal, 4 clients at 2.5x one client, is not reached with this model. Its decoder is 4.5 MB of weights, which stay in cache: a decode step is bound by per-call overhead and compute, not by streaming weights from memory, so batching saves little per token (the engine table), and each request's own work - JSON and base64 of a 1080x2400 PNG, decoding and resizing it, the vision tower and the prefill, about 40 ms - is what the clients wait for; preparation runs on worker threads and overlaps decoding, but the two cores are shared with the clients. Batching is the lever where a decode step streams hundreds of MB of weights (`--model PACKAGE`): see 'Serving a memory-bound package', where 4 clients reach 2.67x.")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _metric(url: str, name: str) -> float:
    for line in urllib.request.urlopen(url + "/metrics", timeout=30).read().decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return 0.0


def run_clients(url: str, clients: int, seconds: float, tokens: int, messages: list, extra: dict | None = None) -> dict:
    from openai import OpenAI

    done_tokens, done_requests, latencies = [0] * clients, [0] * clients, [[] for _ in range(clients)]
    barrier = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def client(i: int) -> None:
        api = OpenAI(base_url=url + "/v1", api_key="bench", max_retries=0, timeout=120)
        barrier.wait()
        while time.perf_counter() < stop_at[0]:
            started = time.perf_counter()
            answer = api.chat.completions.create(model="vlagent-demo", messages=messages, max_tokens=tokens,
                                                 temperature=0, extra_body={"ignore_eos": True, **(extra or {})})
            if time.perf_counter() > stop_at[0]:
                break  # only whole requests inside the window count
            done_tokens[i] += answer.usage.completion_tokens
            done_requests[i] += 1
            latencies[i].append(time.perf_counter() - started)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    steps0, rows0 = _metric(url, "vlagent_decode_steps_total"), _metric(url, "vlagent_decode_rows_total")
    stop_at[0] = time.perf_counter() + seconds
    barrier.wait()
    for t in threads:
        t.join()
    steps = _metric(url, "vlagent_decode_steps_total") - steps0
    rows = _metric(url, "vlagent_decode_rows_total") - rows0
    every = [x for per in latencies for x in per]
    return {"clients": clients, "tokens_per_s": sum(done_tokens) / seconds, "requests_per_s": sum(done_requests) / seconds,
            "latency_s": sum(every) / len(every) if every else float("nan"), "batch": rows / steps if steps else 0.0}


def decode_step_ms(model: str | None, batches=(1, 2, 4, 8), steps: int = 200,
                   max_pixels: int | None = None) -> dict[int, float]:
    """ms per decode step of the engine alone at each batch size (one prefilled screenshot prompt,
    its cache rows repeated): what batching saves per token, without HTTP or preprocessing."""
    import numpy as np

    from vlagent.perception.engine import load
    from vlagent.policies.prompts import grounding_prompt
    from vlagent.sim.phone import Phone

    if model is None:
        from vlagent.perception.demo_model import path

        model = path()
    engine = load(model, backend="onnx", threads=1, **({"max_pixels": max_pixels} if max_pixels else {}))
    _, state, _, _ = engine.prefill(grounding_prompt("Settings"), [Phone(seed=0).render()])
    out = {}
    for batch in batches:
        rows = engine.backend.gather_rows([(state, 0)] * batch)
        ids = np.zeros(batch, np.int64)
        for _ in range(10):
            _, rows = engine.backend.decode(rows, ids, None)
        started = time.perf_counter()
        for _ in range(steps):
            _, rows = engine.backend.decode(rows, ids, None)
        out[batch] = (time.perf_counter() - started) / steps * 1000
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--clients", default="1,2,4,8")
    ap.add_argument("--model", default=None, help="an exported package (default: the shipped demo model)")
    ap.add_argument("--max-pixels", type=int, default=None,
                    help="per-request mm_processor_kwargs max_pixels (default: the package's own)")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    extra = {"mm_processor_kwargs": {"max_pixels": args.max_pixels}} if args.max_pixels else {}
    from vlagent.policies.remote import image_data_url
    from vlagent.sim.phone import Phone

    messages = [{"role": "user", "content": [{"type": "text", "text": "Find Settings"},
                                             {"type": "image_url", "image_url": {"url": image_data_url(Phone(seed=0).render())}}]}]
    port = _free_port()
    served = [args.model, "--served-model-name", "vlagent-demo"] if args.model else []
    server = subprocess.Popen([sys.executable, "-m", "vlagent.agent.cli", "serve", *served, "--port", str(port),
                               "--threads", "1"],
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(url + "/health", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        run_clients(url, 1, 3.0, args.tokens, messages, extra)  # warm-up
        rows = [run_clients(url, int(n), args.seconds, args.tokens, messages, extra) for n in args.clients.split(",")]
    finally:
        server.terminate()
        server.wait(20)
    steps = decode_step_ms(args.model, max_pixels=args.max_pixels)
    base = rows[0]["tokens_per_s"]
    which = f"the package {args.model}" if args.model else "the shipped model"
    budget = f"max_pixels {args.max_pixels}" if args.max_pixels else "the package's token budget: 112 visual tokens for the shipped model"
    flags = (f" --model {args.model}" if args.model else "") + (f" --max-pixels {args.max_pixels}" if args.max_pixels else "")
    lines = [MODEL_SECTION if args.model else SECTION, "", f"`vlagent serve` with {which} (ONNX engine, one intra-op thread, continuous "
             f"batching up to 8), clients sending back-to-back requests: one 1080x2400 screenshot ({budget}) "
             f"+ a grounding query, {args.tokens} new tokens each (`ignore_eos`), {args.seconds:g} s per row. "
             f"Machine: {platform.machine()}, {os.cpu_count()} cores. Reproduce: `python bench/serve.py "
             f"--seconds {args.seconds:g} --tokens {args.tokens}{flags}`.", "",
             "| clients | tokens/s (all clients) | vs 1 client | requests/s | mean latency s | mean decode batch |",
             "|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['clients']} | {r['tokens_per_s']:.0f} | {r['tokens_per_s'] / base:.2f}x | "
                     f"{r['requests_per_s']:.2f} | {r['latency_s']:.2f} | {r['batch']:.2f} |")
    lines += ["", "The engine's decode step alone (no HTTP, no preprocessing), same run:", "",
              "| batch | ms per step | ms per sequence-token | vs batch 1 |", "|---:|---:|---:|---:|"]
    for batch, ms in steps.items():
        lines.append(f"| {batch} | {ms:.2f} | {ms / batch:.2f} | {steps[1] / (ms / batch):.2f}x |")
    lines += ["", READING if not args.model else ""]
    text = "\n".join(lines).rstrip() + "\n"
    print(text)
    if not args.no_write:
        sys.path.insert(0, str(Path(__file__).parent))
        from perf_doc import write_section

        write_section(text, MODEL_SECTION if args.model else SECTION)


if __name__ == "__main__":
    main()

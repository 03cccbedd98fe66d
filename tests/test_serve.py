"""`vlagent serve`: a real uvicorn server process, real HTTP clients (the `openai` library and urllib).

- A sim episode with `--policy remote:URL` takes the in-process policy's actions (same model, greedy).
- Four concurrent streaming clients each get exactly their solo tokens, and they were batched.
- Bad requests of each kind get a 4xx with a message; the server keeps serving.
- Off loopback a key is required: without it the CLI refuses; a request without it gets 401.
- A streaming client that disconnects frees its batch slot.
"""

import importlib.util
import json
import os
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request

import numpy as np
import pytest

from tests.serve_process import CLI, ROOT, free_port, start_server, stop_server

if importlib.util.find_spec("fastapi") is None or importlib.util.find_spec("openai") is None:
    pytest.skip("needs the serve extra (fastapi, uvicorn, openai)", allow_module_level=True)

from vlagent.policies.remote import image_data_url  # noqa: E402
from vlagent.sim.phone import Phone  # noqa: E402

MODEL = "vlagent-demo"


@pytest.fixture(scope="module")
def server():
    process, url = start_server()
    yield url
    stop_server(process)


def _post(url, body, headers=None, path="/v1/chat/completions"):
    request = urllib.request.Request(url + path, json.dumps(body).encode(),
                                     {"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:  # the error holds the response: close it
            return error.code, json.loads(error.read() or b"{}")


def _get(url, path, headers=None):
    request = urllib.request.Request(url + path, headers=headers or {})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.read().decode()


def _query(label, seed):
    return [{"role": "user", "content": [{"type": "text", "text": f"Find {label}"},
                                         {"type": "image_url", "image_url": {"url": image_data_url(Phone(seed=seed).render())}}]}]


def _stream_text(client, messages, **extra):
    stream = client.chat.completions.create(model=MODEL, messages=messages, temperature=0, stream=True,
                                            max_tokens=48, extra_body={"skip_special_tokens": False, **extra})
    return "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)


def _metric(url, name) -> float:
    for line in _get(url, "/metrics").splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_models_health_and_a_completion_in_the_openai_shape(server):
    assert json.loads(_get(server, "/health"))["status"] == "ok"
    assert [m["id"] for m in json.loads(_get(server, "/v1/models"))["data"]] == [MODEL]
    status, body = _post(server, {"model": MODEL, "messages": _query("Settings", 0), "temperature": 0,
                                  "skip_special_tokens": False})
    assert status == 200, body
    text = body["choices"][0]["message"]["content"]
    assert text.startswith("<|object_ref_start|>Settings<|object_ref_end|><|box_start|>")
    assert body["usage"]["completion_tokens"] > 5 and body["usage"]["prompt_tokens"] > 100
    # vLLM's default strips special tokens: the box tokens go, the coordinates stay
    _, plain = _post(server, {"model": MODEL, "messages": _query("Settings", 0), "temperature": 0})
    assert plain["choices"][0]["message"]["content"] == text.replace("<|object_ref_start|>", "").replace(
        "<|object_ref_end|>", "").replace("<|box_start|>", "").replace("<|box_end|>", "")


def test_a_sim_episode_through_the_remote_policy_takes_the_in_process_actions(server, tmp_path):
    def run(policy, out):
        done = subprocess.run([*CLI, "run", "--env", "sim-phone:0", "--task", "settings.wifi_on:1", "--policy", policy,
                               "--record", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stderr[-2000:]
        return [json.loads(line) for line in (out / "steps.jsonl").read_text().splitlines()]

    local = run("agent", tmp_path / "local")
    remote = run(f"remote:{server}#{MODEL}", tmp_path / "remote")
    assert [s["action"] for s in remote] == [s["action"] for s in local] and len(local) >= 2
    assert [s.get("raw_text") for s in remote] == [s.get("raw_text") for s in local]
    episode = (tmp_path / "remote" / "episode.json").read_text()
    assert "remote:" in episode


def test_four_concurrent_streaming_clients_get_their_solo_tokens(server):
    from openai import OpenAI

    queries = [("Settings", 0), ("Clock", 1), ("Back", 2), ("Camera", 3)]
    with OpenAI(base_url=server + "/v1", api_key="unused") as client:
        solo = [_stream_text(client, _query(label, seed)) for label, seed in queries]
    assert all(s.startswith("<|object_ref_start|>") for s in solo)
    # Every round must give each client its solo tokens. How much the four overlap depends on
    # the machine's load (each request's image preparation takes longer than its ~20-token
    # decode), so batching must show in one of three rounds, not necessarily the first.
    batch_means = []
    for _ in range(3):
        steps0, rows0 = _metric(server, "vlagent_decode_steps_total"), _metric(server, "vlagent_decode_rows_total")
        results: list = [None] * len(queries)
        barrier = threading.Barrier(len(queries))

        def client_thread(i, results=results, barrier=barrier):
            with OpenAI(base_url=server + "/v1", api_key="unused") as own:
                barrier.wait()
                results[i] = _stream_text(own, _query(*queries[i]))

        threads = [threading.Thread(target=client_thread, args=(i,)) for i in range(len(queries))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert results == solo
        steps = _metric(server, "vlagent_decode_steps_total") - steps0
        rows = _metric(server, "vlagent_decode_rows_total") - rows0
        batch_means.append(rows / steps)
        if batch_means[-1] > 1.5:
            break
    assert max(batch_means) > 1.5, f"the four clients were never decoded together (mean rows per step {batch_means})"


def test_bad_requests_get_a_4xx_with_a_message_and_the_server_keeps_serving(server, tmp_path):
    good = {"model": MODEL, "messages": _query("Settings", 0), "temperature": 0}
    big = np.zeros((4200, 4200, 3), np.uint8)
    (tmp_path / "shot.png").write_bytes(b"not really a png")
    cases = {
        "bad data URL": ({**good, "messages": [{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,@@not-base64@@"}}]}]}, 400, "base64"),
        "not an image": ({**good, "messages": [{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,aGVsbG8="}}]}]}, 400, "not a readable image"),
        "oversized image": ({**good, "messages": [{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": image_data_url(big)}}]}]}, 400, "px allowed"),
        "local path not allowed": ({**good, "messages": [{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": str(tmp_path / "shot.png")}}]}]}, 400, "not allowed"),
        "too many new tokens": ({**good, "max_tokens": 100_000}, 400, "max_tokens"),
        "prompt over the context": ({**good, "messages": [{"role": "user", "content": "word " * 6000}]}, 400, "context"),
        "unknown model": ({**good, "model": "qwen2-vl-72b"}, 404, "does not exist"),
        "no messages": ({"model": MODEL, "messages": []}, 400, "messages"),
        "bad temperature": ({**good, "temperature": "hot"}, 400, "temperature"),
    }
    for name, (body, status, words) in cases.items():
        got, answer = _post(server, body)
        assert got == status, (name, answer)
        assert words in answer["error"]["message"], (name, answer)
    status, answer = _post(server, good)
    assert status == 200 and answer["choices"][0]["message"]["content"]
    assert _metric(server, 'vlagent_requests_total{status="400"}') >= 8


def test_off_loopback_a_key_is_required(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "VLAGENT_API_KEY"}
    refused = subprocess.run([*CLI, "serve", "--host", "0.0.0.0", "--port", str(free_port())], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "API key" in refused.stderr
    process, url = start_server("--host", "0.0.0.0", env={**env, "VLAGENT_API_KEY": "s3cret"})
    try:
        body = {"model": MODEL, "messages": [{"role": "user", "content": "hello"}], "max_tokens": 4}
        status, answer = _post(url, body)
        assert status == 401 and "API key" in answer["error"]["message"]
        assert _post(url, body, {"Authorization": "Bearer wrong"})[0] == 401
        status, answer = _post(url, body, {"Authorization": "Bearer s3cret"})
        assert status == 200 and answer["usage"]["completion_tokens"] >= 1
        with pytest.raises(urllib.error.HTTPError) as missing:
            _get(url, "/v1/models")
        assert missing.value.code == 401
        missing.value.close()
    finally:
        stop_server(process)


def test_a_client_that_disconnects_frees_its_slot(server):
    import http.client

    port = int(server.rsplit(":", 1)[1])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    body = {"model": MODEL, "messages": [{"role": "user", "content": "hello"}], "stream": True, "max_tokens": 2000,
            "ignore_eos": True}
    connection.request("POST", "/v1/chat/completions", json.dumps(body), {"Content-Type": "application/json"})
    response = connection.getresponse()
    assert response.status == 200
    for _ in range(5):
        assert response.readline()
    assert json.loads(_get(server, "/health"))["active"] == 1
    cancelled = _metric(server, 'vlagent_requests_total{status="cancelled"}')
    connection.sock.shutdown(socket.SHUT_RDWR)
    connection.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and json.loads(_get(server, "/health"))["active"]:
        time.sleep(0.1)
    assert json.loads(_get(server, "/health"))["active"] == 0
    assert _metric(server, 'vlagent_requests_total{status="cancelled"}') == cancelled + 1


def test_a_served_name_that_says_nothing_falls_back_to_the_advertised_profile():
    from vlagent.agent.errors import ConfigError
    from vlagent.agent.registry import PolicyContext, make_policy

    process, url = start_server("--served-model-name", "my-phone-model")
    try:
        (entry,) = json.loads(_get(url, "/v1/models"))["data"]
        assert entry["id"] == "my-phone-model" and entry["vlagent_profile"] == "vlagent"  # the package's
        assert make_policy(f"remote:{url}", PolicyContext(options={})).profile.name == "vlagent"
        named = make_policy(f"remote:{url}#Qwen2.5-VL-7B-Instruct", PolicyContext(options={}))
        assert named.profile.name == "qwen2.5-vl"  # the name first (the request would then 404)
        assert named.engine.processor_kwargs == {"min_pixels": 3136, "max_pixels": 12845056}
        forced = make_policy(f"remote:{url}", PolicyContext(options={"profile": "ui-tars"}))
        assert forced.profile.name == "ui-tars"
        with pytest.raises(ConfigError, match="kind=agent only"):
            make_policy(f"remote:{url}", PolicyContext(options={"kind": "grounding", "profile": "ui-tars"}))
    finally:
        stop_server(process)

"""`vlagent serve [MODEL_DIR] --host 127.0.0.1 --port 8000`: an OpenAI-compatible server on the ONNX engine.

Serves an exported package (default: the shipped demo model) with continuous batching
(agent.serving.app, perception.batching) through uvicorn. It binds to loopback by default; any
other address needs an API key (`--api-key` or VLAGENT_API_KEY), which every request must then
send as `Authorization: Bearer KEY`. No torch is imported.
"""

import ipaddress
from pathlib import Path
from typing import Annotated

import typer

from vlagent.agent.commands.common import fail

LOOPBACK_NAMES = ("localhost",)


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(
    model: Annotated[Path, typer.Argument(help="An exported package (default: the shipped demo model).")] = None,
    host: Annotated[str, typer.Option("--host", help="Address to bind (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port.")] = 8000,
    api_key: Annotated[str, typer.Option("--api-key", envvar="VLAGENT_API_KEY",
                                         help="Require this key (Bearer) on every request; needed off loopback.")] = None,
    served_model_name: Annotated[str, typer.Option("--served-model-name", help="The model id clients send.")] = None,
    profile: Annotated[str, typer.Option(
        "--profile", help="The model's prompt profile, listed in /v1/models (default: from the package).")] = None,
    max_batch: Annotated[int, typer.Option("--max-batch", help="Sequences decoded together (1-64).")] = 8,
    threads: Annotated[int, typer.Option("--threads", help="onnxruntime intra-op threads.")] = 1,
    allowed_local_media_path: Annotated[Path, typer.Option(
        "--allowed-local-media-path", help="Images may be local paths under this directory (as vLLM's flag).")] = None,
) -> None:
    """Serve a model over the OpenAI chat-completions API (batched, streaming, /metrics)."""
    if not 1 <= max_batch <= 64:
        fail(f"--max-batch must be within 1..64, got {max_batch}")
    if not 0 < port < 65536:
        fail(f"--port must be within 1..65535, got {port}")
    if not is_loopback(host) and not api_key:
        fail(f"binding {host} (not loopback) needs an API key: --api-key KEY or VLAGENT_API_KEY")
    if allowed_local_media_path is not None and not allowed_local_media_path.is_dir():
        fail(f"--allowed-local-media-path {allowed_local_media_path}: not a directory")
    try:
        import uvicorn

        from vlagent.agent.serving.app import create_app
    except ModuleNotFoundError as error:
        fail(f"vlagent serve needs the serve extra (pip install 'vlagent[serve]'): {error}")
    from vlagent.perception.engine import load

    if model is None:
        from vlagent.perception.demo_model import path

        model, default_name = path(), "vlagent-demo"
    else:
        default_name = model.resolve().name
    from vlagent.policies.profiles import get_profile, profile_for_model_dir

    advertised = get_profile(profile).name if profile else profile_for_model_dir(model)
    engine = load(model, backend="onnx", threads=threads)
    name = served_model_name or default_name
    app = create_app(engine, name, api_key=api_key, max_batch=max_batch,
                     allowed_local_media_path=allowed_local_media_path, profile=advertised)
    typer.echo(f"serving {name} ({model}) on http://{host}:{port}/v1 (batch up to {max_batch}"
               f"{', API key required' if api_key else ''})", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")

"""`vlagent observe --env ENV [-o frame.png] [--ui-tree]`: capture one frame and print its
metadata (and the UI tree, bounds in frame px) as JSON. Changes nothing on the device.

`--ui-tree` reads the tree on demand when the env's frames carry none (adb without
`--env-opt ui_tree=true`). The sim phone's state file is named on stderr and in the JSON.
"""

from pathlib import Path
from typing import Annotated

import typer

from vlagent.agent.commands.common import FRESH_HELP, open_env_or_fail, parse_pairs, say_state


def frame_metadata(frame) -> dict:
    """A Frame's metadata as JSON: sizes (frame px, device px), transform, time, source."""
    return {"width": frame.width, "height": frame.height, "device_size": list(frame.device_size),
            "to_device": frame.to_device.to_dict(), "rotation": frame.rotation,
            "captured_at": frame.captured_at, "source": frame.source}


def ui_tree_in_frame_px(frame) -> list[dict] | None:
    """The frame's UI tree as dicts; `bounds` in frame px, `bounds_device` as reported."""
    from vlagent.agent.recorder import node_to_dict

    if frame.ui_tree is None:
        return None
    nodes = []
    for node in frame.ui_tree:
        data = node_to_dict(node)
        data["bounds_device"] = data.pop("bounds")
        data["bounds"] = [round(v, 2) for v in frame.box_to_frame_px(node.bounds)]
        nodes.append(data)
    return nodes


def observe(
    env: Annotated[str, typer.Option("--env", help="Env spec, e.g. sim-phone:3.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Write the frame as PNG here.")] = None,
    ui_tree: Annotated[bool, typer.Option("--ui-tree", help="Include the UI tree (bounds in frame px).")] = False,
    env_opt: Annotated[list[str], typer.Option("--env-opt", help="Env option KEY=VALUE (repeatable).")] = None,
    fresh: Annotated[bool, typer.Option("--fresh", help=FRESH_HELP)] = False,
) -> None:
    """Capture one frame and print its metadata as JSON."""
    import json

    from PIL import Image

    from vlagent.agent.errors import ConfigError
    from vlagent.agent.step import with_ui_tree

    the_env = open_env_or_fail(env, parse_pairs(env_opt, "--env-opt"), fresh=fresh)
    try:
        say_state(the_env)
        frame = the_env.source.capture()
        if ui_tree and frame.ui_tree is None:  # e.g. adb without ui_tree=true: read it now
            frame, why = with_ui_tree(frame, the_env.source)
            if why is not None:
                raise ConfigError(f"--ui-tree: {why}")
    finally:
        the_env.close()
    data = {"env": env, "frame": frame_metadata(frame), "state_file": _state_path(the_env)}
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(frame.image).save(output, format="PNG")
        data["frame"]["path"] = str(output)
    if ui_tree:
        data["ui_tree"] = ui_tree_in_frame_px(frame)
    typer.echo(json.dumps(data, ensure_ascii=False))


def _state_path(env) -> str | None:
    path = getattr(env, "state_file", None)
    return None if path is None else str(path)

"""One robot episode as a self-contained HTML page: the frames the policy saw, its boxes, its commands.

`write_robot_report(path, ...)` takes what `agent.robot_demo.episode_records` read from the bag:
the decision infos (each with the camera message it was decided on), the cmd_vel sent and the
topic counts. Each shown decision is an inline SVG: the frame (JPEG, data URI) with the
grounded box drawn in frame px (the coordinate space the servo used) and the decision's action
under it; at most `MAX_FRAMES` decisions, evenly spread, the last always included. A plot of
the linear (m/s) and angular (rad/s) velocity actually sent over time closes the page.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Sequence
from pathlib import Path

MAX_FRAMES = 24


def _frame_uri(msg) -> str | None:
    from PIL import Image

    from vlagent.perception.sources.ros2 import decode_image

    if msg is None:
        return None
    buffer = io.BytesIO()
    Image.fromarray(decode_image(msg)).save(buffer, format="JPEG", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def shown_decisions(count: int, limit: int = MAX_FRAMES) -> list[int]:
    """Indices of the decisions to show: all when few, else `limit` evenly spread with the last."""
    if count <= limit:
        return list(range(count))
    step = (count - 1) / (limit - 1)
    return sorted({round(k * step) for k in range(limit)})


def _decision_html(info: dict) -> str:
    width, height = info.get("frame_size") or (320, 240)
    uri = _frame_uri(info.get("frame"))
    box = (info.get("grounding") or {}).get("box_px")
    action = json.dumps(info.get("action"), separators=(",", ":"))
    parts = [f'<svg class="frame" viewBox="0 0 {width} {height}" width="{width}" height="{height}">']
    if uri:
        parts.append(f'<image href="{uri}" x="0" y="0" width="{width}" height="{height}"/>')
    if box:
        x1, y1, x2, y2 = (float(v) for v in box)
        parts.append(f'<rect class="box" x="{x1:.1f}" y="{y1:.1f}" width="{x2 - x1:.1f}" height="{y2 - y1:.1f}" '
                     'fill="none" stroke="#ff0" stroke-width="2"/>')
    parts.append("</svg>")
    timing = info.get("timings_ms", {})
    seen = "box " + ", ".join(f"{float(v):.0f}" for v in box) if box else "target not seen"
    return (f'<figure class="decision" data-step="{info.get("step")}">{"".join(parts)}<figcaption>step '
            f'{info.get("step")}: {html.escape(info.get("thought", ""))}<br><code>{html.escape(action)}</code><br>'
            f"{html.escape(seen)}; model {float(timing.get('model', 0)):.0f} ms, frame age "
            f"{float(info.get('frame_age_ms', 0)):.0f} ms</figcaption></figure>")


def velocity_plot(commands: Sequence[tuple[int, float, float]], width: int = 640, height: int = 160) -> str:
    """An SVG of linear (blue, m/s) and angular (orange, rad/s) velocity sent against time."""
    if len(commands) < 2:
        return "<p>no velocity commands were sent</p>"
    t0, t1 = commands[0][0], commands[-1][0]
    span = max(t1 - t0, 1)
    top = max(1.0, max(max(abs(c[1]), abs(c[2])) for c in commands))

    def line(k: int) -> str:
        return " ".join(f"{(c[0] - t0) / span * width:.1f},{height / 2 - c[k] / top * (height / 2 - 4):.1f}"
                        for c in commands)

    return (f'<svg class="velocity" viewBox="0 0 {width} {height}" width="{width}" height="{height}">'
            f'<line x1="0" y1="{height / 2}" x2="{width}" y2="{height / 2}" stroke="#999"/>'
            f'<polyline class="linear" fill="none" stroke="#1f77b4" points="{line(1)}"/>'
            f'<polyline class="angular" fill="none" stroke="#ff7f0e" points="{line(2)}"/></svg>'
            f"<p>{len(commands)} cmd_vel messages over {span / 1e9:.1f} s; blue linear m/s, orange angular rad/s, "
            f"full scale ±{top:g}; the last sent: linear {commands[-1][1]:g}, angular {commands[-1][2]:g}</p>")


def write_robot_report(path: str | Path, task: str, instruction: str, result: dict, infos: Sequence[dict],
                       commands: Sequence[tuple[int, float, float]], counts: dict[str, int], node_outcome: str) -> Path:
    """Write the episode's page to `path` (see the module docstring); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    verdict = "success" if result.get("success") else "failure"
    figures = "".join(_decision_html(infos[i]) for i in shown_decisions(len(infos)))
    topics = ", ".join(f"{html.escape(t)} {n}" for t, n in sorted(counts.items()))
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(task)}</title><style>
body{{font-family:sans-serif;margin:16px}} figure{{display:inline-block;margin:6px;vertical-align:top;width:320px}}
figcaption{{font-size:12px}} code{{word-break:break-all}}</style></head><body>
<h1>{html.escape(task)}: {verdict}</h1>
<p>{html.escape(instruction)}. Simulator: {html.escape(str(result.get('reason', 'no result')))}; node: {html.escape(node_outcome)};
travelled {float(result.get('travelled_m', 0)):.2f} m, {'stopped' if result.get('stopped') else 'moving'} at the end.</p>
<p>{len(infos)} decisions (showing {min(len(infos), MAX_FRAMES)}). Bag topics: {topics or 'none'}.</p>
{figures}
<h2>Velocity sent</h2>
{velocity_plot(commands)}
</body></html>
"""
    path.write_text(page, encoding="utf-8")
    return path

"""A self-contained HTML report of one episode, plus an animation of the whole episode.

The page has no external resources: frames are embedded as base64 data URIs (downscaled
JPEG; the overlays are vector, so they stay exact), overlays are inline SVG in the
frame's own px (viewBox = the frame size), and the animation is an embedded GIF (or
WebP) drawn with Pillow. Every text that came from a model or a screen is HTML-escaped.

The layout is fixed so tools can find things in a screenshot: the header is
`HEADER_HEIGHT` px tall, and step k's frame is `FRAME_WIDTH` px wide with its top-left at
`frame_origin(k, ...)` (page px, device scale 1). Tap points are drawn in `TAP_COLOR`, the tapped
UI element (or the policy's grounding box) in `BOX_COLOR`, swipes and scrolls as arrows.
"""

import base64
import html
import io
import json
from pathlib import Path

from vlagent.agent.episode import Episode, load_image
from vlagent.agent.metrics import target_box
from vlagent.perception.coords import apply_box, transform_from_dict

HEADER_HEIGHT = 120
PAGE_PADDING = 16
FRAME_WIDTH = 270
STEP_GAP = 16
TAP_COLOR = "#ff00ff"
BLOCKED_COLOR = "#ff2020"
BOX_COLOR = "#00d5ff"
STROKE_COLOR = "#ffb000"
STAGE_COLORS = {"capture": "#4e79a7", "preprocess": "#f28e2b", "model": "#e15759", "safety": "#76b7b2",
                "actuate": "#59a14f", "settle": "#edc948", "record": "#b07aa1"}
TIMING_BAR_WIDTH = 360

_CSS = f"""
body {{ margin: 0; font: 13px/1.4 sans-serif; color: #222; background: #fafafa; }}
header {{ position: absolute; top: 0; left: 0; right: 0; height: {HEADER_HEIGHT}px; overflow: hidden;
  box-sizing: border-box; padding: 12px {PAGE_PADDING}px; background: #20232a; color: #eee; }}
header h1 {{ margin: 0 0 6px; font-size: 18px; }} header p {{ margin: 2px 0; white-space: nowrap;
  overflow: hidden; text-overflow: ellipsis; }}
main {{ position: absolute; top: {HEADER_HEIGHT}px; left: 0; right: 0; }}
.step {{ display: flex; align-items: flex-start; gap: 16px; padding: {PAGE_PADDING}px; margin: 0 0 {STEP_GAP}px;
  background: #fff; }}
.frame {{ position: relative; flex: none; width: {FRAME_WIDTH}px; margin: 0; padding: 0; line-height: 0; }}
.frame img, .frame svg {{ position: absolute; top: 0; left: 0; width: {FRAME_WIDTH}px; }}
.info {{ min-width: 0; flex: 1; max-height: 100%; overflow-y: auto; }} .info h2 {{ margin: 0 0 6px; font-size: 15px; }}
pre {{ white-space: pre-wrap; word-break: break-word; background: #f2f2f2; padding: 6px; margin: 4px 0; }}
.badge {{ display: inline-block; padding: 1px 8px; border-radius: 8px; color: #fff; font-weight: bold; }}
.allowed {{ background: #3a7d3a; }} .confirmed {{ background: #b07a00; }} .denied {{ background: #c02020; }}
.none {{ background: #888; }}
.bar {{ display: flex; width: {TIMING_BAR_WIDTH}px; height: 12px; background: #eee; margin: 4px 0; }}
.bar span {{ display: block; height: 12px; }}
.legend span {{ margin-right: 10px; }} .legend i {{ display: inline-block; width: 10px; height: 10px; }}
footer {{ padding: {PAGE_PADDING}px; }}
"""


def frame_display_height(frame_size: tuple[float, float]) -> float:
    """Displayed height (page px) of a frame of `frame_size` shown `FRAME_WIDTH` px wide."""
    return FRAME_WIDTH * frame_size[1] / frame_size[0]


def frame_origin(index: int, frame_sizes: list[tuple[float, float]]) -> tuple[float, float]:
    """Page px of the top-left of the k-th step's frame; each step is exactly its frame's height
    plus padding (the text beside it scrolls), so this is exact."""
    top = HEADER_HEIGHT + PAGE_PADDING
    for size in frame_sizes[:index]:
        top += frame_display_height(size) + 2 * PAGE_PADDING + STEP_GAP
    return float(PAGE_PADDING), float(top)


def _data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _embedded_frame(path: Path) -> str:
    from PIL import Image

    image = Image.fromarray(load_image(path))
    width = min(image.width, 2 * FRAME_WIDTH)
    image = image.resize((width, round(image.height * width / image.width)), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return _data_uri(buffer.getvalue(), "image/jpeg")


def _arrow(x1: float, y1: float, x2: float, y2: float, width: float) -> str:
    return (f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{STROKE_COLOR}" '
            f'stroke-width="{width:.1f}" marker-end="url(#arrow)"/>')


def tapped_element(step: dict) -> tuple[float, float, float, float] | None:
    """The recorded UI element under a step's tap, as a frame-px box (None without a UI tree)."""
    tree, action = step.get("ui_tree"), step.get("action") or {}
    if not tree or "x" not in action:
        return None
    to_frame = transform_from_dict(step["to_device"]).inverse()
    boxes = [(apply_box(to_frame, tuple(node["bounds"])), bool(node.get("clickable"))) for node in tree]
    return target_box(boxes, action["x"], action["y"])


def overlay_svg(step: dict) -> str:
    """The SVG overlay for one recorded step, in the frame's px."""
    width, height = step["frame_size"]
    unit = width / 100.0
    action = step.get("action") or {}
    denied = (step.get("safety") or {}).get("verdict") == "denied"
    parts = [f'<defs><marker id="arrow" viewBox="0 0 10 10" refX="8" refY="5" markerWidth="4" markerHeight="4" '
             f'orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="{STROKE_COLOR}"/></marker></defs>']
    kind = action.get("type")
    boxes = []
    grounded = (step.get("grounding") or {}).get("box")
    if isinstance(grounded, list) and len(grounded) == 4:
        boxes.append(tuple(float(v) for v in grounded))
    if kind in ("tap", "click", "double_tap", "long_press"):
        target = tapped_element(step)
        if target is not None:
            boxes.append(target)
    for x1, y1, x2, y2 in boxes:
        parts.append(f'<rect x="{x1:.1f}" y="{y1:.1f}" width="{x2 - x1:.1f}" height="{y2 - y1:.1f}" fill="none" '
                     f'stroke="{BOX_COLOR}" stroke-width="{unit * 0.6:.1f}"/>')
    if kind == "hover":  # the pointer moved, nothing pressed: an open ring
        parts.append(f'<circle cx="{action["x"]:.1f}" cy="{action["y"]:.1f}" r="{unit * 3:.1f}" fill="none" '
                     f'stroke="{TAP_COLOR}" stroke-width="{unit * 0.5:.1f}"/>')
    if kind in ("tap", "click", "double_tap", "long_press"):
        color = BLOCKED_COLOR if denied else TAP_COLOR
        x, y = action["x"], action["y"]
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{unit * 4:.1f}" fill="none" stroke="{color}" '
                     f'stroke-width="{unit * 0.8:.1f}"/>')
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{unit * 1.6:.1f}" fill="{color}"/>')
    elif kind in ("swipe", "drag"):
        parts.append(_arrow(action["x1"], action["y1"], action["x2"], action["y2"], unit))
    elif kind == "scroll":
        cx, cy = action.get("x") or width / 2, action.get("y") or height / 2
        dx, dy = {"up": (0, -1), "down": (0, 1), "left": (-1, 0), "right": (1, 0)}[action["direction"]]
        length = 0.2 * min(width, height)
        parts.append(_arrow(cx - dx * length / 2, cy - dy * length / 2, cx + dx * length / 2, cy + dy * length / 2, unit))
    display_height = frame_display_height((width, height))
    return (f'<svg viewBox="0 0 {width} {height}" width="{FRAME_WIDTH}" height="{display_height:.3f}" '
            f'preserveAspectRatio="none" xmlns="http://www.w3.org/2000/svg">{"".join(parts)}</svg>')


def _timing_bar(timings: dict, scale: float) -> str:
    spans = "".join(
        f'<span title="{stage} {timings.get(stage, 0.0) * 1000:.1f} ms" style="width:'
        f'{TIMING_BAR_WIDTH * timings.get(stage, 0.0) / scale:.2f}px;background:{color}"></span>'
        for stage, color in STAGE_COLORS.items())
    listed = ", ".join(f"{stage} {timings.get(stage, 0.0) * 1000:.1f} ms" for stage in STAGE_COLORS)
    return f'<div class="bar">{spans}</div><small>{html.escape(listed)}</small>'


def _step_html(episode: Episode, index: int, scale: float) -> str:
    step = episode.steps[index]
    width, height = step["frame_size"]
    safety = step.get("safety") or {}
    verdict = safety.get("verdict", "none")
    step_instruction = (step.get("extra") or {}).get("step_instruction")
    reasons = "".join(f"<li>{html.escape(str(r))}</li>" for r in safety.get("reasons", []))
    attempts = "".join(f"<li>{html.escape(str(a.get('error')))}: <code>{html.escape(str(a.get('raw_text'))[:300])}"
                       f"</code></li>" for a in step.get("attempts") or [])
    result = step.get("result") or {}
    event = f' <span class="badge denied">{html.escape(step["event"])}</span>' if step.get("event") else ""
    frame_height = frame_display_height((width, height))
    return f"""<section class="step" id="step-{index}" style="height:{frame_height:.3f}px">
<figure class="frame" style="height:{frame_height:.3f}px">
<img alt="step {index} frame" src="{_embedded_frame(episode.path / step['frame'])}">{overlay_svg(step)}</figure>
<div class="info"><h2>Step {index}{event}</h2>
<div>Action (frame px): <code>{html.escape(json.dumps(step.get('action'), ensure_ascii=False))}</code></div>
<div>Device px: <code>{html.escape(json.dumps(step.get('action_device'), ensure_ascii=False))}</code></div>
<div>Safety: <span class="badge {html.escape(verdict)}">{html.escape(verdict)}</span><ul>{reasons}</ul></div>
<div>Result: {html.escape(str(result.get('message', '')))} (executed: {html.escape(str(result.get('executed', False)))})</div>
{f"<div>Step instruction: {html.escape(str(step_instruction))}</div>" if step_instruction else ""}
{f"<div>Feedback: {html.escape(step['feedback'])}</div>" if step.get("feedback") else ""}
{f"<div>Failed attempts:<ul>{attempts}</ul></div>" if attempts else ""}
<div>Model text:</div><pre>{html.escape(step.get('raw_text') or '')}</pre>
{f"<div>Thought:</div><pre>{html.escape(step['thought'])}</pre>" if step.get("thought") else ""}
{_timing_bar(step.get('timings') or {}, scale)}</div></section>"""


def render_report(episode: Episode, *, animation: str = "gif",
                  animation_data: tuple[bytes, str] | None = None) -> str:
    """The whole HTML page for `episode`; `animation` is "gif", "webp" or "none", and
    `animation_data` (bytes, mime type) reuses an animation already encoded."""
    from vlagent.agent.animation import episode_animation

    totals = [sum((s.get("timings") or {}).get(k, 0.0) for k in STAGE_COLORS) for s in episode.steps]
    scale = max(totals + [1e-9])
    result = episode.result or {"status": "unfinished", "reason": "; ".join(episode.notes)}
    task = episode.meta.get("task") or {}
    steps = "\n".join(_step_html(episode, i, scale) for i in range(len(episode.steps)))
    legend = "".join(f'<span><i style="background:{c}"></i> {s}</span>' for s, c in STAGE_COLORS.items())
    movie = ""
    if animation != "none" and episode.steps:
        data, mime = animation_data or episode_animation(episode, animation)
        movie = f'<h2>Whole episode</h2><img alt="episode animation" src="{_data_uri(data, mime)}">'
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>vlagent episode {html.escape(episode.path.name)}</title>
<style>{_CSS}</style></head><body>
<header><h1>Episode {html.escape(episode.path.name)}: {html.escape(str(result.get('status')))}
 (success: {html.escape(str(result.get('success')))})</h1>
<p>Task: {html.escape(str(task.get('id') or ''))} {html.escape(episode.instruction)}</p>
<p>Reason: {html.escape(str(result.get('reason') or ''))}</p>
<p>Steps: {len(episode.steps)} &middot; env: {html.escape(str(episode.meta.get('env') or ''))}
 &middot; policy: {html.escape(str((episode.meta.get('policy') or {}).get('name') or ''))}</p></header>
<main>{steps}
<footer><div class="legend">{legend}</div>{movie}
<h2>episode.json</h2><pre>{html.escape(json.dumps(episode.meta, indent=2, ensure_ascii=False, default=str))}</pre>
</footer></main></body></html>
"""


def write_report(episode: Episode, output: str | Path, *, animation: str = "gif",
                 animation_data: tuple[bytes, str] | None = None) -> Path:
    """Render and write the report; returns the path written."""
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    page = render_report(episode, animation=animation, animation_data=animation_data)
    output.write_text(page, encoding="utf-8")
    return output

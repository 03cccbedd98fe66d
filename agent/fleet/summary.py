"""The fleet's aggregate: `summary.json` (every episode's row, per-device counts, rates) and
`index.html` (the same table, each episode linked to its own report, with the attempts whose
worker died)."""

from __future__ import annotations

import html
import json
from dataclasses import asdict
from pathlib import Path

from vlagent.agent.demo import index_page


def summary_data(result) -> dict:
    rows = result.rows
    finished = [r for r in rows if r.status not in ("pending", "lost", "not run", "cancelled")]
    return {
        "ray": result.ray,
        "seconds": round(result.seconds, 3),
        "episodes": len(rows),
        "finished": len(finished),
        "succeeded": sum(r.success for r in rows),
        "success_rate": sum(r.success for r in rows) / len(rows) if rows else 0.0,
        "episodes_per_minute": round(result.episodes_per_minute, 3),
        "worker_deaths": sum(len(r.died) for r in rows),
        "devices": [asdict(d) for d in result.devices],
        "rows": [asdict(r) for r in rows],
    }


def write_summary(result) -> Path:
    path = Path(result.out_dir) / "summary.json"
    path.write_text(json.dumps(summary_data(result), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def _cell(text) -> str:
    return f"<td>{html.escape(str(text))}</td>"


def write_index(result) -> Path:
    """index.html: one row per episode (third column: success), then one per device."""
    data = summary_data(result)
    rows = []
    for r in result.rows:
        mark = "yes" if r.success else "no"
        name = f"{r.index:03d}"
        link = (f'<a href="{html.escape(r.report)}">{name}</a>' if r.report else name)
        died = "".join(f'<br><small>worker died on {html.escape(d["device"])} (pid {d["pid"]}): '
                       f'<a href="{html.escape(d["dir"])}">{html.escape(d["dir"])}</a></small>' for d in r.died)
        rows.append(f'<tr class="{mark}"><td>{link}</td>{_cell(r.task)}<td>{mark}</td>{_cell(r.device or "-")}'
                    f"{_cell(r.status)}{_cell(r.steps)}{_cell(f'{r.seconds:.1f}')}{_cell(r.attempts)}"
                    f"<td>{html.escape(r.reason)}{died}</td></tr>")
    devices = "".join(f"<tr>{_cell(d.device)}{_cell(d.done)}{_cell(d.succeeded)}{_cell(d.died)}"
                      f"{_cell('yes' if d.alive else 'no')}</tr>" for d in result.devices)
    body = f"""<h1>vlagent fleet: {data['succeeded']}/{data['episodes']} episodes succeeded</h1>
<p>{data['finished']} finished in {data['seconds']:.1f} s ({data['episodes_per_minute']:.1f} episodes/min) on
{len(result.devices)} devices, Ray {html.escape(result.ray)}; {data['worker_deaths']} worker death(s).</p>
<table><tr><th>episode</th><th>task</th><th>success</th><th>device</th><th>status</th><th>steps</th><th>seconds</th>
<th>attempts</th><th>reason</th></tr>
{''.join(rows)}</table>
<h2>Devices</h2>
<table><tr><th>device</th><th>episodes</th><th>succeeded</th><th>worker deaths</th><th>alive</th></tr>{devices}</table>"""
    path = Path(result.out_dir) / "index.html"
    path.write_text(index_page("vlagent fleet", body), encoding="utf-8")
    return path

"""Rewrite one "## Title" section of docs/PERFORMANCE.md, keeping every other section.

Each benchmark owns one section; this is the single place that edits the shared file.
"""

from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "PERFORMANCE.md"


def write_section(text: str, section: str, doc: Path = DOC) -> None:
    """Replace (or append) `section` ("## Title") of `doc` with `text`, which starts with that heading."""
    current = doc.read_text() if doc.exists() else "# Performance\n"
    lines = current.split("\n")
    try:
        start = lines.index(section)
    except ValueError:
        updated = current.rstrip("\n") + "\n\n" + text.rstrip("\n") + "\n"
    else:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        updated = "\n".join(lines[:start] + text.rstrip("\n").split("\n") + [""] + lines[end:])
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(updated.rstrip("\n") + "\n")

"""Notes (com.google.android.keep): a list of note cards, an editor with Title and Note
fields that saves on Save, on Navigate up and on the back key (as Keep does), and a
long-press Delete menu. An editor with nothing typed saves nothing.
"""

from vlagent.sim.phone import widgets as w
from vlagent.sim.phone.context import Ctx, prefill
from vlagent.sim.phone.state import Note, Overlay
from vlagent.sim.phone.theme import blend
from vlagent.sim.phone.view import Box, View

PACKAGE = "com.google.android.keep"


def _rid(name: str) -> str:
    return f"{PACKAGE}:id/{name}"


def _card(ctx: Ctx, rect, note: Note) -> View:
    pal = ctx.palette
    x1, y1, x2, y2 = rect
    pad = ctx.dp(16)
    card = (x1 + pad, y1 + ctx.dp(6), x2 - pad, y2 - ctx.dp(6))
    kids = [w.text(ctx, (card[0] + pad, card[1] + ctx.dp(10), card[2] - pad, card[1] + ctx.dp(42)), note.title or "Untitled", 18,
                   rid=_rid("index_note_title"), bold=True)]
    if note.body:
        kids.append(w.text(ctx, (card[0] + pad, card[1] + ctx.dp(44), card[2] - pad, card[3] - ctx.dp(8)), note.body, 14,
                           pal.on_surface_dim, rid=_rid("index_note_text_description")))

    def open_note() -> None:
        route = ctx.push("edit", str(note.id))
        prefill(ctx.state, route, {"title": note.title, "body": note.body})

    def menu(x: int, y: int) -> None:
        ctx.open_overlay("menu", f"note:{note.id}", x, y)

    return View("android.widget.FrameLayout", card, resource_id=_rid("browse_note_interior_content"), clickable=True,
                long_clickable=True, focusable=True, on_tap=open_note, on_long_press=menu, content_desc=note.title,
                paint=[Box(card, blend(pal.surface, (249, 168, 37), 0.12), ctx.dp(12), pal.divider, 1)], children=kids)


def _main(ctx: Ctx) -> View:
    notes = ctx.state.notes.notes
    kids: list[View] = [w.app_bar(ctx, "Notes", back=False)]
    if notes:
        ordered = list(reversed(notes))  # newest first
        kids.append(w.page_list(ctx, "list", [ctx.dp(96)] * len(ordered), lambda i, rect: _card(ctx, rect, ordered[i]),
                                rid=_rid("notes_list")))
    else:
        kids.append(w.text(ctx, ctx.metrics.body, "Notes you add appear here", 16, ctx.palette.on_surface_dim, anchor="mm",
                           rid=_rid("empty_state")))
    kids.append(w.fab(ctx, "New text note", lambda: ctx.push("edit", "new"), _rid("new_note_button")))
    return w.window(ctx, kids)


def save(ctx: Ctx) -> None:
    """Store the editor's drafts (a new note or the edited one) and leave the editor."""
    title, body = ctx.draft("title").strip(), ctx.draft("body").rstrip()
    notes = ctx.state.notes
    if ctx.route.arg == "new":
        if title or body:
            notes.notes.append(Note(id=notes.next_id, title=title, body=body))
            notes.next_id += 1
    else:
        note = next((n for n in notes.notes if str(n.id) == ctx.route.arg), None)
        if note is not None:
            note.title, note.body = title, body
    ctx.pop()


def _editor(ctx: Ctx) -> View:
    x1, y1, x2, y2 = ctx.metrics.body
    pad = ctx.dp(16)
    bar = w.app_bar(ctx, "", on_back=lambda: save(ctx), text_action=("Save", lambda: save(ctx), _rid("save_note")))
    title = w.text_field(ctx, (x1 + pad, y1 + pad, x2 - pad, y1 + pad + ctx.dp(56)), "title", "Title", rid=_rid("editable_title"))
    body_bottom = min(y2 - pad, y1 + pad + ctx.dp(72) + ctx.dp(200))
    body = w.text_field(ctx, (x1 + pad, y1 + pad + ctx.dp(72), x2 - pad, body_bottom), "body", "Note",
                        rid=_rid("edit_note_text"), lines=max(1, (body_bottom - y1 - pad - ctx.dp(100)) // ctx.dp(22)))
    return w.window(ctx, [bar, title, body])


def build(ctx: Ctx) -> View:
    return _editor(ctx) if ctx.route.page == "edit" else _main(ctx)


def on_back(ctx: Ctx) -> bool:
    """The back key in the editor saves first, as Keep does."""
    if ctx.route.page == "edit":
        save(ctx)
        return True
    return False


def build_overlay(ctx: Ctx, overlay: Overlay) -> View | None:
    if overlay.kind == "menu" and overlay.target.startswith("note:"):
        note_id = int(overlay.target.split(":", 1)[1])

        def delete() -> None:
            ctx.state.notes.notes = [n for n in ctx.state.notes.notes if n.id != note_id]
            ctx.close_overlay()

        return w.context_menu(ctx, overlay.x, overlay.y, [("Delete", delete)])
    return None

"""Contacts (com.google.android.contacts): an alphabetical scrolling list, a detail page
(phone, email, Text and Edit and Delete buttons), a create/edit form with First name, Last
name, Phone and Email fields, and a long-press Delete menu. Names may be any Unicode.
"""

from vlagent.sim.phone import widgets as w
from vlagent.sim.phone.apps.messages import PACKAGE as MESSAGES
from vlagent.sim.phone.apps.messages import avatar_color
from vlagent.sim.phone.context import Ctx, prefill
from vlagent.sim.phone.state import Contact, Overlay
from vlagent.sim.phone.view import View

PACKAGE = "com.google.android.contacts"
FORM_FIELDS = (("first", "First name"), ("last", "Last name"), ("phone", "Phone"), ("email", "Email"))


def _rid(name: str) -> str:
    return f"{PACKAGE}:id/{name}"


def sorted_contacts(ctx: Ctx) -> list[Contact]:
    return sorted(ctx.state.contacts, key=lambda c: (c.name.casefold(), c.id))


def _delete(ctx: Ctx, contact_id: int) -> None:
    ctx.state.contacts = [c for c in ctx.state.contacts if c.id != contact_id]


def _main(ctx: Ctx) -> View:
    contacts = sorted_contacts(ctx)

    def build(i: int, rect) -> View:
        contact = contacts[i]
        size = ctx.dp(40)
        mid = (rect[1] + rect[3]) // 2
        face = w.avatar(ctx, (rect[0] + ctx.dp(16), mid - size // 2, rect[0] + ctx.dp(16) + size, mid + size // 2),
                        contact.name, avatar_color(contact.name))

        def menu(x: int, y: int) -> None:
            ctx.open_overlay("menu", f"contact:{contact.id}", x, y)

        item = w.row(ctx, rect, contact.name, None, leading=face, on_tap=lambda: ctx.push("detail", str(contact.id)),
                     on_long_press=menu, rid=_rid("contact_list_item"), divider=False)
        item.children[1].resource_id = _rid("cliv_name_textview")
        return item

    kids = [w.app_bar(ctx, "Contacts", back=False)]
    if contacts:
        kids.append(w.page_list(ctx, "list", [ctx.dp(64)] * len(contacts), build, rid=_rid("contact_list")))
    kids.append(w.fab(ctx, "Create contact", lambda: ctx.push("edit", "new"), _rid("floating_action_button")))
    return w.window(ctx, kids)


def _detail(ctx: Ctx) -> View:
    contact = next((c for c in ctx.state.contacts if str(c.id) == ctx.route.arg), None)
    if contact is None:
        return w.window(ctx, [w.app_bar(ctx, "Contact"), w.text(ctx, ctx.metrics.body, "Contact not found", 16, anchor="mm")])
    x1, y1, x2, _ = ctx.metrics.body
    pad = ctx.dp(16)
    size = ctx.dp(96)
    cx = (x1 + x2) // 2
    kids = [w.app_bar(ctx, ""),
            w.avatar(ctx, (cx - size // 2, y1 + pad, cx + size // 2, y1 + pad + size), contact.name, avatar_color(contact.name))]
    y = y1 + pad + size + ctx.dp(8)
    kids.append(w.text(ctx, (x1 + pad, y, x2 - pad, y + ctx.dp(48)), contact.name, 26, anchor="mm", rid=_rid("large_title")))
    y += ctx.dp(60)

    def open_messages() -> None:
        ctx.push("conversation", contact.name, app=MESSAGES)

    def edit() -> None:
        route = ctx.push("edit", str(contact.id))
        prefill(ctx.state, route, {"first": contact.first, "last": contact.last, "phone": contact.phone, "email": contact.email})

    def delete() -> None:
        _delete(ctx, contact.id)
        ctx.pop()

    bw = (x2 - x1 - 2 * pad - 2 * ctx.dp(8)) // 3
    for k, (label, handler, rid) in enumerate((("Text", open_messages, "verb_text"), ("Edit", edit, "menu_edit"),
                                               ("Delete", delete, "menu_delete"))):
        left = x1 + pad + k * (bw + ctx.dp(8))
        kids.append(w.button(ctx, (left, y, left + bw, y + ctx.dp(44)), label, handler, rid=_rid(rid), style="tonal"))
    y += ctx.dp(64)
    for label, value, rid in (("Phone", contact.phone, "phone"), ("Email", contact.email, "email")):
        if value:
            kids.append(w.text(ctx, (x1 + pad, y, x2 - pad, y + ctx.dp(24)), label, 13, ctx.palette.on_surface_dim))
            kids.append(w.text(ctx, (x1 + pad, y + ctx.dp(24), x2 - pad, y + ctx.dp(56)), value, 18, rid=_rid(rid)))
            y += ctx.dp(72)
    return w.window(ctx, kids)


def _form(ctx: Ctx) -> View:
    creating = ctx.route.arg == "new"

    def save() -> None:
        first, last = ctx.draft("first").strip(), ctx.draft("last").strip()
        if not (first or last):
            return
        values = {"first": first, "last": last, "phone": ctx.draft("phone").strip(), "email": ctx.draft("email").strip()}
        if creating:
            ctx.state.contacts.append(Contact(id=ctx.state.next_contact_id, **values))
            ctx.state.next_contact_id += 1
        else:
            contact = next((c for c in ctx.state.contacts if str(c.id) == ctx.route.arg), None)
            if contact is not None:
                for name, value in values.items():
                    setattr(contact, name, value)
        ctx.pop()

    x1, y1, x2, _ = ctx.metrics.body
    pad = ctx.dp(16)
    bar = w.app_bar(ctx, "Create contact" if creating else "Edit contact",
                    text_action=("Save", save, _rid("editor_menu_save_button")))
    kids = [bar]
    step = ctx.dp(68)
    for k, (name, hint) in enumerate(FORM_FIELDS):
        top = y1 + pad + k * step
        kids.append(w.text_field(ctx, (x1 + pad, top, x2 - pad, top + ctx.dp(56)), name, hint, rid=_rid(f"{name}_name" if name in ("first", "last") else name),
                                 on_submit=save if name == FORM_FIELDS[-1][0] else None))
    return w.window(ctx, kids)


def build(ctx: Ctx) -> View:
    page = ctx.route.page
    if page == "detail":
        return _detail(ctx)
    if page == "edit":
        return _form(ctx)
    return _main(ctx)


def build_overlay(ctx: Ctx, overlay: Overlay) -> View | None:
    if overlay.kind == "menu" and overlay.target.startswith("contact:"):
        contact_id = int(overlay.target.split(":", 1)[1])

        def delete() -> None:
            _delete(ctx, contact_id)
            ctx.close_overlay()

        return w.context_menu(ctx, overlay.x, overlay.y, [("Delete", delete)])
    return None

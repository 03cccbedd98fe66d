"""Messages (com.google.android.apps.messaging): a conversation list, a conversation with
bubbles and a compose field (Send button or enter sends), and "Start chat" with a contact
search. Conversations are keyed by contact name; the newest conversation is listed first.
"""

from vlagent.sim.phone import widgets as w
from vlagent.sim.phone.context import Ctx
from vlagent.sim.phone.state import Conversation, Message, Overlay
from vlagent.sim.phone.theme import blend, text_width, wrap
from vlagent.sim.phone.view import Box, Label, View

PACKAGE = "com.google.android.apps.messaging"
AVATAR_COLORS = ((25, 118, 210), (0, 137, 123), (142, 36, 170), (230, 81, 0), (198, 40, 40), (84, 110, 122))


def _rid(name: str) -> str:
    return f"{PACKAGE}:id/{name}"


def avatar_color(name: str) -> tuple[int, int, int]:
    return AVATAR_COLORS[sum(map(ord, name)) % len(AVATAR_COLORS)]


def send_message(ctx: Ctx, contact: str, text: str) -> None:
    """Append an outgoing message and move the conversation to the top of the list."""
    state = ctx.state
    conversation = state.conversation_with(contact) or Conversation(contact=contact)
    state.conversations = [c for c in state.conversations if c.contact != contact]
    conversation.messages.append(Message(outgoing=True, text=text))
    state.conversations.insert(0, conversation)


def _main(ctx: Ctx) -> View:
    convs = ctx.state.conversations

    def build(i: int, rect) -> View:
        conv = convs[i]
        last = conv.messages[-1].text if conv.messages else ""
        prefix = "You: " if conv.messages and conv.messages[-1].outgoing else ""
        x1, y1, _, y2 = rect
        size = ctx.dp(48)
        mid = (y1 + y2) // 2
        face = w.avatar(ctx, (x1 + ctx.dp(16), mid - size // 2, x1 + ctx.dp(16) + size, mid + size // 2), conv.contact,
                        avatar_color(conv.contact))
        item = w.row(ctx, rect, conv.contact, prefix + last, leading=face, on_tap=lambda: ctx.push("conversation", conv.contact),
                     rid=_rid("conversation_list_item"))
        item.children[1].resource_id = _rid("conversation_name")
        item.children[2].resource_id = _rid("conversation_snippet")
        return item

    kids = [w.app_bar(ctx, "Messages", back=False)]
    if convs:
        kids.append(w.page_list(ctx, "list", [ctx.dp(80)] * len(convs), build, rid=_rid("conversation_list")))
    kids.append(w.fab(ctx, "Start chat", lambda: ctx.push("new"), _rid("start_chat_fab"), label="Start chat"))
    return w.window(ctx, kids)


def _bubbles(ctx: Ctx, rect, messages: list[Message]) -> View:
    x1, y1, x2, y2 = rect
    size = ctx.dp(16)
    max_w = int((x2 - x1) * 0.72)
    line_h = int(size * 1.3)
    laid = [(m, wrap(m.text, size, max_w - ctx.dp(32), max_lines=12)) for m in messages]
    heights = [len(lines) * line_h + ctx.dp(32) for _, lines in laid]
    pal = ctx.palette

    def build(i: int, row_rect) -> View:
        message, lines = laid[i]
        rx1, ry1, rx2, ry2 = row_rect
        width = min(max_w, max(int(text_width(line, size)) for line in lines) + ctx.dp(32)) if lines else ctx.dp(48)
        left = rx2 - ctx.dp(16) - width if message.outgoing else rx1 + ctx.dp(16)
        bubble = (left, ry1 + ctx.dp(6), left + width, ry2 - ctx.dp(6))
        fill = pal.accent if message.outgoing else pal.surface_alt
        fg = pal.on_accent if message.outgoing else pal.on_surface
        ops = [Box(bubble, fill, ctx.dp(18))]
        ops += [Label(left + ctx.dp(16), bubble[1] + ctx.dp(10) + line_h * k + line_h // 2, line, size, fg) for k, line in enumerate(lines)]
        return View("android.widget.TextView", bubble, text=message.text, resource_id=_rid("message_text"),
                    content_desc=("You said " if message.outgoing else "They said ") + message.text,
                    long_clickable=False, paint=ops)

    return w.scroll_list(ctx, rect, "messages", heights, build, rid=_rid("messages_list"), start_at_end=True)


def _conversation(ctx: Ctx) -> View:
    contact = ctx.route.arg
    conv = ctx.state.conversation_with(contact)
    x1, y1, x2, y2 = ctx.metrics.body
    bar_h = ctx.dp(72)

    def send() -> None:
        text = ctx.draft("compose")
        if text.strip():
            send_message(ctx, contact, text)
            ctx.set_draft("compose", "")
            ctx.state.ui.scroll.pop(ctx.key("messages"), None)

    pad = ctx.dp(12)
    field = w.text_field(ctx, (x1 + pad, y2 - bar_h + pad, x2 - ctx.dp(72), y2 - pad), "compose", "Text message",
                         rid=_rid("compose_message_text"), on_submit=send)
    has_text = bool(ctx.draft("compose").strip())
    size = ctx.dp(48)
    cy = y2 - bar_h // 2
    send_button = w.icon_button(ctx, (x2 - ctx.dp(64), cy - size // 2, x2 - ctx.dp(16), cy + size // 2), "send", "Send SMS",
                                send if has_text else None, rid=_rid("send_message_button"),
                                color=ctx.palette.accent if has_text else ctx.palette.on_surface_dim)
    send_button.enabled = has_text
    compose = View("android.widget.LinearLayout", (x1, y2 - bar_h, x2, y2), resource_id=_rid("compose_message_view"),
                   paint=[Box((x1, y2 - bar_h, x2, y2), blend(ctx.palette.background, ctx.palette.surface_alt, 0.5))],
                   children=[field, send_button])
    kids = [w.app_bar(ctx, contact)]
    if conv and conv.messages:
        kids.append(_bubbles(ctx, (x1, y1, x2, y2 - bar_h), conv.messages))
    kids.append(compose)
    return w.window(ctx, kids)


def _new_chat(ctx: Ctx) -> View:
    x1, y1, x2, y2 = ctx.metrics.body
    pad = ctx.dp(16)
    query = ctx.draft("to").strip().casefold()
    matches = [c for c in sorted(ctx.state.contacts, key=lambda c: c.name.casefold())
               if query in c.name.casefold() or (query and query in c.phone)]
    field_rect = (x1 + pad, y1 + ctx.dp(8), x2 - pad, y1 + ctx.dp(64))
    field = w.text_field(ctx, field_rect, "to", "Type a name or phone number", rid=_rid("recipient_text_view"))

    def build(i: int, rect) -> View:
        contact = matches[i]
        size = ctx.dp(40)
        mid = (rect[1] + rect[3]) // 2
        face = w.avatar(ctx, (rect[0] + ctx.dp(16), mid - size // 2, rect[0] + ctx.dp(16) + size, mid + size // 2),
                        contact.name, avatar_color(contact.name))
        return w.row(ctx, rect, contact.name, contact.phone, leading=face,
                     on_tap=lambda: ctx.replace("conversation", contact.name), rid=_rid("contact_picker_item"))

    kids = [w.app_bar(ctx, "New conversation"), field]
    if matches:
        kids.append(w.scroll_list(ctx, (x1, y1 + ctx.dp(72), x2, y2), "contacts", [ctx.dp(72)] * len(matches), build,
                                  rid=_rid("contact_picker_list")))
    return w.window(ctx, kids)


def build(ctx: Ctx) -> View:
    page = ctx.route.page
    if page == "conversation":
        return _conversation(ctx)
    if page == "new":
        return _new_chat(ctx)
    return _main(ctx)


def build_overlay(ctx: Ctx, overlay: Overlay) -> View | None:
    return None

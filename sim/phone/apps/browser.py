"""Browser (com.android.chrome): an address bar (enter opens what was typed) over either a
bookmark list or a simulated page. Addresses are normalised to `https://host/path`.
"""

from urllib.parse import urlsplit

from vlagent.sim.phone import widgets as w
from vlagent.sim.phone.context import Ctx
from vlagent.sim.phone.state import Overlay
from vlagent.sim.phone.view import View

PACKAGE = "com.android.chrome"
BOOKMARKS = ("example.org", "wikipedia.org", "openstreetmap.org", "python.org", "weather.example.com", "news.example.net")


def _rid(name: str) -> str:
    return f"{PACKAGE}:id/{name}"


def normalise_url(text: str) -> str:
    """'Example.org/' -> 'https://example.org'; a scheme given is kept, the host lower-cased."""
    text = text.strip()
    if not text:
        return ""
    if "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    path = parts.path.rstrip("/")
    query = f"?{parts.query}" if parts.query else ""
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{path}{query}"


def navigate(ctx: Ctx, text: str) -> None:
    url = normalise_url(text)
    if not url:
        return
    browser = ctx.state.browser
    browser.url = url
    browser.history.append(url)
    ctx.set_draft("url", url)
    ctx.state.ui.focus = None


def build(ctx: Ctx) -> View:
    x1, y1, x2, y2 = ctx.metrics.content
    pad = ctx.dp(12)
    bar_h = ctx.dp(64)
    field = w.text_field(ctx, (x1 + pad, y1 + pad // 2, x2 - pad, y1 + bar_h - pad // 2), "url", "Search or type web address",
                         rid=_rid("url_bar"), on_submit=lambda: navigate(ctx, ctx.draft("url")))
    kids: list[View] = [field]
    top = y1 + bar_h + ctx.dp(8)
    url = ctx.state.browser.url
    if not url:
        kids.append(w.text(ctx, (x1 + ctx.dp(16), top, x2 - ctx.dp(16), top + ctx.dp(40)), "Bookmarks", 20, rid=_rid("title")))

        def bookmark(i: int, rect) -> View:
            site = BOOKMARKS[i]
            return w.row(ctx, rect, site, "https://" + site, on_tap=lambda: navigate(ctx, site), rid=_rid("bookmark_item"))

        kids.append(w.scroll_list(ctx, (x1, top + ctx.dp(48), x2, y2), "bookmarks", [ctx.dp(72)] * len(BOOKMARKS), bookmark,
                                  rid=_rid("bookmarks_list")))
    else:
        host = urlsplit(url).netloc
        pad2 = ctx.dp(16)
        kids.append(w.text(ctx, (x1 + pad2, top + pad2, x2 - pad2, top + ctx.dp(64)), host, 26, rid=_rid("page_title"), bold=True))
        kids.append(w.text(ctx, (x1 + pad2, top + ctx.dp(72), x2 - pad2, top + ctx.dp(200)),
                           f"This is the simulated page at {url}. Nothing here is real.", 16, max_lines=4,
                           rid=_rid("page_body")))
    return w.window(ctx, kids)


def build_overlay(ctx: Ctx, overlay: Overlay) -> View | None:
    return None

"""Calculator (com.google.android.calculator): a formula display, a live result preview and
a 5x4 keypad (AC, (), %, ÷, digits, ×, −, +, ., ⌫, =). Hardware keys (digits, - = / . and
enter) work too. `state.calculator.result` holds the last "=" result as displayed.
"""

from vlagent.sim.phone import widgets as w
from vlagent.sim.phone.arith import CalcError, evaluate, format_number, normalise
from vlagent.sim.phone.context import Ctx
from vlagent.sim.phone.state import Overlay
from vlagent.sim.phone.theme import blend
from vlagent.sim.phone.view import Box, View

PACKAGE = "com.google.android.calculator"
# (label, content-desc, resource id)
KEYPAD = (
    (("AC", "clear", "clr"), ("()", "parentheses", "parens"), ("%", "percent", "op_pct"), ("÷", "divide", "op_div")),
    (("7", "7", "digit_7"), ("8", "8", "digit_8"), ("9", "9", "digit_9"), ("×", "multiply", "op_mul")),
    (("4", "4", "digit_4"), ("5", "5", "digit_5"), ("6", "6", "digit_6"), ("−", "minus", "op_sub")),
    (("1", "1", "digit_1"), ("2", "2", "digit_2"), ("3", "3", "digit_3"), ("+", "plus", "op_add")),
    (("0", "0", "digit_0"), (".", "point", "dec_point"), ("⌫", "delete", "del"), ("=", "equals", "eq")),
)
_KEY_TOKENS = {str(d): str(d) for d in range(10)} | {
    "-": "−", "=": "=", "enter": "=", "/": "÷", ".": ".", "backspace": "⌫", "delete": "⌫", "escape": "AC",
}


def display(ctx: Ctx) -> str:
    """What the formula line shows: an error, the last result after "=", else the expression."""
    calc = ctx.state.calculator
    return calc.error or (calc.result if calc.result is not None else calc.expression)


def press(ctx: Ctx, label: str) -> None:
    """Apply one keypad button (its label, or an ASCII operator) to the calculator state."""
    calc = ctx.state.calculator
    label = normalise(label) if label not in ("AC", "()", "⌫") else label
    calc.error = ""
    if label == "AC":
        calc.expression, calc.result = "", None
        return
    if label == "=":
        if not calc.expression:
            return
        try:
            result = format_number(evaluate(calc.expression))
        except CalcError as error:
            calc.error, calc.expression, calc.result = str(error), "", None
            return
        calc.history.append(f"{calc.expression}={result}")
        calc.result, calc.expression = result, result
        return
    if calc.result is not None:  # after "=", a digit starts afresh and an operator continues
        calc.expression = "" if (label.isdigit() or label in (".", "()", "(")) else calc.result
        calc.result = None
    if label == "⌫":
        calc.expression = calc.expression[:-1]
    elif label == "()":
        opened = calc.expression.count("(") - calc.expression.count(")")
        closes = opened > 0 and calc.expression[-1:] not in ("(", "+", "−", "×", "÷", "")
        calc.expression += ")" if closes else "("
    else:
        calc.expression += label


def _preview(expression: str) -> str:
    try:
        return format_number(evaluate(expression)) if any(op in expression for op in "+−×÷%") else ""
    except CalcError:
        return ""


def build(ctx: Ctx) -> View:
    pal = ctx.palette
    x1, y1, x2, y2 = ctx.metrics.content
    pad = ctx.dp(16)
    display_h = (y2 - y1) * 2 // 7
    formula = w.text(ctx, (x1 + pad, y1 + pad, x2 - pad, y1 + display_h // 2 + pad), display(ctx), 40,
                     anchor="rm", rid=f"{PACKAGE}:id/formula")
    preview_text = "" if ctx.state.calculator.result is not None else _preview(ctx.state.calculator.expression)
    preview = w.text(ctx, (x1 + pad, y1 + display_h // 2 + pad, x2 - pad, y1 + display_h - pad), preview_text, 28,
                     pal.on_surface_dim, anchor="rm", rid=f"{PACKAGE}:id/result_preview")
    panel = View("android.widget.LinearLayout", (x1, y1, x2, y1 + display_h), resource_id=f"{PACKAGE}:id/display",
                 paint=[Box((x1, y1, x2, y1 + display_h), pal.surface_alt)], children=[formula, preview])
    rows, cols = len(KEYPAD), len(KEYPAD[0])
    top = y1 + display_h + ctx.dp(8)
    cell_w, cell_h = (x2 - x1 - 2 * pad) // cols, (y2 - top - pad) // rows
    keys = []
    for r, line in enumerate(KEYPAD):
        for c, (label, desc, rid) in enumerate(line):
            gap = ctx.dp(5)
            rect = (x1 + pad + c * cell_w + gap, top + r * cell_h + gap, x1 + pad + (c + 1) * cell_w - gap, top + (r + 1) * cell_h - gap)
            style = "filled" if label == "=" else "tonal"
            key = w.button(ctx, rect, label, lambda label=label: press(ctx, label), rid=f"{PACKAGE}:id/{rid}", style=style)
            key.content_desc = desc
            if c == cols - 1 and label != "=":
                key.paint[0] = Box(rect, blend(pal.surface_alt, pal.accent, 0.25), (rect[3] - rect[1]) // 2)
            keys.append(key)
    pad_view = View("android.widget.GridLayout", (x1, top, x2, y2), resource_id=f"{PACKAGE}:id/pad_numeric", children=keys)
    return w.window(ctx, [panel, pad_view])


def on_key(ctx: Ctx, key: str) -> bool:
    """Hardware keys the calculator handles; True when the key was used."""
    token = _KEY_TOKENS.get(key)
    if token is None:
        return False
    press(ctx, token)
    return True


def on_text(ctx: Ctx, text: str) -> bool:
    """Typed text (no field has focus): each character acts like its key, as with a keyboard."""
    used = False
    for ch in normalise(text):
        if ch.isdigit() or ch in "+−×÷%.=()":
            press(ctx, ch)
            used = True
    return used


def build_overlay(ctx: Ctx, overlay: Overlay) -> View | None:
    return None

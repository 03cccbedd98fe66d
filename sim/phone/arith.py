"""Exact arithmetic for the Calculator app: a small recursive-descent parser over
+ − × ÷ %, parentheses and decimals, evaluated with `fractions.Fraction`.

Written by hand because the input is what an agent typed into a calculator: it must never
reach Python's `eval`, and `ast` would accept far more than a calculator does.
Grammar: expr = term (('+'|'−') term)*; term = unary (('×'|'÷') unary)*;
unary = '−' unary | postfix; postfix = atom '%'*; atom = number | '(' expr ')'.
"""

from fractions import Fraction

from vlagent.perception.errors import VlagentError

OPERATORS = {"+": "+", "-": "−", "−": "−", "*": "×", "x": "×", "×": "×", "/": "÷", "÷": "÷"}


class CalcError(VlagentError, ValueError):
    """An expression the calculator cannot evaluate; the message is what the display shows."""


def normalise(expression: str) -> str:
    """Map ASCII operators (+ - * /) to the calculator's symbols and drop spaces."""
    return "".join(OPERATORS.get(ch, ch) for ch in expression if not ch.isspace())


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def take(self) -> str:
        ch = self.peek()
        self.pos += 1
        return ch

    def expr(self) -> Fraction:
        value = self.term()
        while self.peek() in ("+", "−") and self.peek():
            value = value + self.term() if self.take() == "+" else value - self.term()
        return value

    def term(self) -> Fraction:
        value = self.unary()
        while self.peek() in ("×", "÷") and self.peek():
            op = self.take()
            right = self.unary()
            if op == "÷" and right == 0:
                raise CalcError("Can't divide by 0")
            value = value * right if op == "×" else value / right
        return value

    def unary(self) -> Fraction:
        if self.peek() == "−":
            self.take()
            return -self.unary()
        value = self.atom()
        while self.peek() == "%":
            self.take()
            value = value / 100
        return value

    def atom(self) -> Fraction:
        if self.peek() == "(":
            self.take()
            value = self.expr()
            if self.peek() == ")":  # a missing ")" at the end is forgiven, as on Android
                self.take()
            elif self.peek():
                raise CalcError("Bad expression")
            return value
        start = self.pos
        while self.peek() and (self.peek().isdigit() or self.peek() == "."):
            self.take()
        number = self.text[start:self.pos]
        if not number or number.count(".") > 1 or number == ".":
            raise CalcError("Bad expression")
        return Fraction(number)


def evaluate(expression: str) -> Fraction:
    """Value of a calculator expression (ASCII or calculator operators). Raises CalcError."""
    text = normalise(expression)
    if not text:
        raise CalcError("Bad expression")
    parser = _Parser(text)
    value = parser.expr()
    if parser.pos != len(text):
        raise CalcError("Bad expression")
    return value


def format_number(value: Fraction) -> str:
    """Display form: integers exactly, others to 10 significant digits, '−' for minus."""
    if value.denominator == 1:
        text = str(value.numerator)
    else:
        text = f"{float(value):.10g}"
        if "e" in text:
            text = f"{float(value):.10e}"
    return text.replace("-", "−")

"""Calculator and Notes tasks: compute an expression (the result must be on the display),
create a note with a (Unicode) title and optional text, delete a note."""

from vlagent.sim.phone import values
from vlagent.sim.phone.arith import evaluate, format_number
from vlagent.sim.tasks.base import TaskTemplate
from vlagent.sim.tasks.ensure import ensure_note, remove_notes

NOTE_TITLES, NOTE_BODIES = values.CLASSIC["note_titles"], values.CLASSIC["note_bodies"]


def clear_calculator(state, params) -> None:
    state.calculator.expression, state.calculator.result, state.calculator.error = "", None, ""


def _binary_sample(rng, state):
    op = rng.choice("+-*/")
    a, b = values.operand(rng, 2, 99), values.operand(rng, 2, 99)
    if op == "/":
        a = a * b  # whole results keep the displayed answer unambiguous
    expression = f"{a}{op}{b}"
    return {"expression": expression, "result": format_number(evaluate(expression))}


def _chain_sample(rng, state):
    a, b, c = values.operand(rng, 2, 60), values.operand(rng, 2, 30), values.operand(rng, 2, 30)
    op1, op2 = rng.choice("+-"), rng.choice("*+-")
    expression = f"{a}{op1}{b}{op2}{c}"
    return {"expression": expression, "result": format_number(evaluate(expression))}


def _computed(state, params) -> bool:
    return state.calculator.result == params["result"]


def _note_sample(rng, state):
    return {"title": values.choose(rng, "note_titles")}


def _note_body_sample(rng, state):
    return {"title": values.choose(rng, "note_titles"), "body": values.choose(rng, "note_bodies")}


def _no_such_note(state, params) -> None:
    remove_notes(state, params["title"])


def _has_note(state, params) -> bool:
    return any(n.title == params["title"] and n.body == params.get("body", n.body) for n in state.notes.notes)


def _existing_note_sample(rng, state):
    return {"title": rng.choice(state.notes.notes).title, "notes": len(state.notes.notes)}


def _note_setup(state, params) -> None:
    ensure_note(state, params["title"])


def _note_deleted(state, params) -> bool:
    """Gone, and no other note deleted (`notes` counts them right after setup)."""
    return all(n.title != params["title"] for n in state.notes.notes) and len(state.notes.notes) == params["notes"] - 1


TEMPLATES = (
    TaskTemplate("calculator.binary", "Compute {expression}", ("Calculator",), 14, _binary_sample, _computed, clear_calculator),
    TaskTemplate("calculator.chain", "Compute {expression} with the Calculator", ("Calculator",), 16, _chain_sample, _computed,
                 clear_calculator),
    TaskTemplate("notes.create", "Create a note titled '{title}'", ("Notes",), 12, _note_sample, _has_note, _no_such_note,
                 tags=("text", "unicode")),
    TaskTemplate("notes.create_with_text", "Create a note titled '{title}' with the text '{body}'", ("Notes",), 14,
                 _note_body_sample, _has_note, _no_such_note, tags=("text", "unicode")),
    TaskTemplate("notes.delete", "Delete the note '{title}'", ("Notes",), 12, _existing_note_sample, _note_deleted,
                 _note_setup, tags=("long_press",)),
)

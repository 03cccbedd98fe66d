"""Tasks across two apps, and an information task answered with an Answer action:
read a number in Contacts and send it in Messages, compute in Calculator and save the
result as a note, change a setting then write a note."""

from vlagent.sim.phone import values
from vlagent.sim.phone.arith import evaluate, format_number
from vlagent.sim.tasks.base import TaskTemplate, digits
from vlagent.sim.tasks.comms_tasks import last_sent, sorted_names
from vlagent.sim.tasks.ensure import ensure_contact, ensure_conversation, remove_notes
from vlagent.sim.tasks.tools_tasks import clear_calculator


def _number_sample(rng, state):
    name = rng.choice(sorted_names(state))
    other = rng.choice([c.contact for c in state.conversations if c.contact != name])
    return {"name": name, "number": state.contact_named(name).phone, "other": other,
            "other_number": state.contact_named(other).phone}


def _number_setup(state, params) -> None:
    ensure_contact(state, params["name"], params["number"], set_number=True)
    ensure_contact(state, params["other"], params["other_number"])
    ensure_conversation(state, params["other"])


def _number_sent(state, params) -> bool:
    return digits(last_sent(state, params["other"])) == digits(params["number"])


def _calc_note_sample(rng, state):
    expression = f"{values.operand(rng, 11, 99)}*{values.operand(rng, 11, 99)}"
    return {"expression": expression, "result": format_number(evaluate(expression))}


def _calc_note_setup(state, params) -> None:
    clear_calculator(state, params)
    remove_notes(state, params["result"])


def _result_note(state, params) -> bool:
    return any(n.title.strip() == params["result"] for n in state.notes.notes)


def _answer_sample(rng, state):
    name = rng.choice(sorted_names(state))
    return {"name": name, "number": state.contact_named(name).phone}


def _answer_setup(state, params) -> None:
    ensure_contact(state, params["name"], params["number"], set_number=True)
    state.agent.answer = None


def _answered(state, params) -> bool:
    return digits(state.agent.answer) == digits(params["number"])


def _dark_note_sample(rng, state):
    return {"title": values.choose(rng, "note_titles")}


def _dark_note_setup(state, params) -> None:
    state.settings.dark_theme = False
    remove_notes(state, params["title"])


def _dark_and_note(state, params) -> bool:
    return state.settings.dark_theme and any(n.title == params["title"] for n in state.notes.notes)


TEMPLATES = (
    TaskTemplate("multi.send_contact_number", "Send {name}'s phone number to {other} in Messages", ("Contacts", "Messages"),
                 40, _number_sample, _number_sent, _number_setup, tags=("multi_app", "scroll", "text")),
    TaskTemplate("multi.calculate_to_note", "Compute {expression} in the Calculator and create a note titled with the result",
                 ("Calculator", "Notes"), 24, _calc_note_sample, _result_note, _calc_note_setup, tags=("multi_app", "text")),
    TaskTemplate("multi.answer_contact_number", "What is {name}'s phone number?", ("Contacts",), 30, _answer_sample, _answered,
                 _answer_setup, tags=("info", "scroll")),
    TaskTemplate("multi.dark_theme_then_note", "Turn on Dark theme, then create a note titled '{title}'", ("Settings", "Notes"),
                 30, _dark_note_sample, _dark_and_note, _dark_note_setup, tags=("multi_app", "scroll", "unicode")),
)

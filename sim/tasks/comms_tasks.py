"""Messages and Contacts tasks: send a message (ASCII or not) in an existing or a new
conversation, add a contact with a Unicode name, open a contact further down the list,
delete a contact through its long-press menu, and change a number."""

from vlagent.sim.phone import values
from vlagent.sim.phone.seeding import phone_number
from vlagent.sim.tasks.base import TaskTemplate, digits
from vlagent.sim.tasks.ensure import (
    ensure_contact,
    ensure_conversation,
    remove_contacts,
    remove_conversation,
)

PLAIN_TEXTS, UNICODE_TEXTS = values.CLASSIC["plain_texts"], values.CLASSIC["unicode_texts"]  # the classic pools
NEW_PEOPLE = values.CLASSIC["new_people"]


def sorted_names(state) -> list[str]:
    return sorted((c.name for c in state.contacts), key=str.casefold)


def last_sent(state, name: str) -> str | None:
    """The last message sent to `name`, or None."""
    conversation = state.conversation_with(name)
    if conversation is None:
        return None
    outgoing = [m.text for m in conversation.messages if m.outgoing]
    return outgoing[-1] if outgoing else None


def _contact(state, name: str) -> dict:
    return {"name": name, "number": state.contact_named(name).phone}


def _sent(state, params) -> bool:
    return (last_sent(state, params["name"]) or "").strip() == params["text"]


def _message_sample(pool: str):
    def sample(rng, state):
        return {**_contact(state, rng.choice(state.conversations).contact), "text": values.choose(rng, pool)}

    return sample


def _message_setup(state, params) -> None:
    ensure_contact(state, params["name"], params["number"])
    ensure_conversation(state, params["name"])


def _new_chat_sample(rng, state):
    talking = {c.contact for c in state.conversations}
    name = rng.choice([n for n in sorted_names(state) if n not in talking])
    if values.regime_of(rng) == "classic":  # one pool of both, as before the split
        return {**_contact(state, name), "text": rng.choice(PLAIN_TEXTS + UNICODE_TEXTS)}
    return {**_contact(state, name), "text": values.choose(rng, rng.choice(("plain_texts", "unicode_texts")))}


def _new_chat_setup(state, params) -> None:
    ensure_contact(state, params["name"], params["number"])
    remove_conversation(state, params["name"])


def _add_sample(rng, state):
    first, last = values.choose(rng, "new_people")
    return {"first": first, "last": last, "name": f"{first} {last}", "number": phone_number(rng)}


def _add_setup(state, params) -> None:
    remove_contacts(state, params["name"])


def _has_number(state, params) -> bool:
    contact = state.contact_named(params["name"])
    return contact is not None and digits(contact.phone) == digits(params["number"])


def _far_contact_sample(rng, state):
    names = sorted_names(state)
    return _contact(state, rng.choice(names[len(names) * 2 // 3:]))


def _contact_setup(state, params) -> None:
    ensure_contact(state, params["name"], params["number"])


def _opened(state, params) -> bool:
    contact = state.contact_named(params["name"])
    top = state.ui.stack[-1] if state.ui.stack else None
    return (contact is not None and top is not None and top.app == "com.google.android.contacts"
            and top.page == "detail" and top.arg == str(contact.id))


def _delete_sample(rng, state):
    return {**_contact(state, rng.choice(sorted_names(state))), "contacts": len(state.contacts)}


def _deleted(state, params) -> bool:
    """Gone, and no other contact deleted (`contacts` counts them right after setup)."""
    return state.contact_named(params["name"]) is None and len(state.contacts) == params["contacts"] - 1


def _renumber_sample(rng, state):
    contact = _contact(state, rng.choice(sorted_names(state)))
    return {"name": contact["name"], "old_number": contact["number"], "number": phone_number(rng)}


def _renumber_setup(state, params) -> None:
    contact = ensure_contact(state, params["name"], params["old_number"])
    if digits(contact.phone) == digits(params["number"]):
        contact.phone = params["old_number"]


TEMPLATES = (
    TaskTemplate("messages.send", "Send '{text}' to {name}", ("Messages",), 12, _message_sample("plain_texts"), _sent,
                 _message_setup, tags=("text",)),
    TaskTemplate("messages.send_unicode", "Send '{text}' to {name}", ("Messages",), 12, _message_sample("unicode_texts"), _sent,
                 _message_setup, tags=("text", "unicode")),
    TaskTemplate("messages.new_chat", "Start a new conversation with {name} and send '{text}'", ("Messages",), 16,
                 _new_chat_sample, _sent, _new_chat_setup, tags=("text", "unicode")),
    TaskTemplate("contacts.add", "Add a contact named {name} with number {number}", ("Contacts",), 18, _add_sample, _has_number,
                 _add_setup, tags=("text", "unicode")),
    TaskTemplate("contacts.open", "Open the contact card of {name}", ("Contacts",), 24, _far_contact_sample, _opened,
                 _contact_setup, tags=("scroll", "unicode")),
    TaskTemplate("contacts.delete", "Delete the contact {name}", ("Contacts",), 24, _delete_sample, _deleted,
                 _contact_setup, tags=("scroll", "long_press")),
    TaskTemplate("contacts.change_number", "Change {name}'s phone number to {number}", ("Contacts",), 28, _renumber_sample,
                 _has_number, _renumber_setup, tags=("scroll", "text")),
)

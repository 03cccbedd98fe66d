"""Setup helpers that make a phone hold what a task names, whatever seed the phone has.

A task's parameters come from the phone its seed starts with; these helpers add the
contact, conversation, note or product when a differently seeded phone lacks it, so
`task.setup(phone)` always leaves a solvable, not-yet-solved task.
"""

from vlagent.sim.phone.state import Contact, Conversation, Message, Note, PhoneState, Product


def ensure_contact(state: PhoneState, name: str, number: str, set_number: bool = False) -> Contact:
    """The contact called `name`: added with `number` when missing; `set_number` also
    gives an existing one that number (for tasks that read it back)."""
    contact = state.contact_named(name)
    if contact is None:
        first, _, last = name.partition(" ")
        contact = Contact(id=state.next_contact_id, first=first, last=last, phone=number)
        state.contacts.append(contact)
        state.next_contact_id += 1
    elif set_number:
        contact.phone = number
    return contact


def remove_contacts(state: PhoneState, name: str) -> None:
    state.contacts = [c for c in state.contacts if c.name != name]


def ensure_conversation(state: PhoneState, name: str) -> Conversation:
    """The conversation with `name` (started with one incoming message when missing)."""
    conversation = state.conversation_with(name)
    if conversation is None:
        conversation = Conversation(contact=name, messages=[Message(outgoing=False, text="Hi!")])
        state.conversations.append(conversation)
    return conversation


def remove_conversation(state: PhoneState, name: str) -> None:
    state.conversations = [c for c in state.conversations if c.contact != name]


def ensure_note(state: PhoneState, title: str) -> None:
    if not any(n.title == title for n in state.notes.notes):
        state.notes.notes.append(Note(id=state.notes.next_id, title=title, body="Old note"))
        state.notes.next_id += 1


def remove_notes(state: PhoneState, title: str) -> None:
    state.notes.notes = [n for n in state.notes.notes if n.title != title]


def ensure_product(state: PhoneState, name: str, price_cents: int) -> None:
    if not any(p.name == name for p in state.shop.products):
        next_id = max((p.id for p in state.shop.products), default=0) + 1
        state.shop.products.append(Product(id=next_id, name=name, price_cents=price_cents))


def cart_names(state: PhoneState) -> list[str]:
    """Names of the products in the cart, in the order they were added."""
    by_id = {p.id: p.name for p in state.shop.products}
    return [by_id[i] for i in state.shop.cart if i in by_id]

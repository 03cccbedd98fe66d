"""The initial phone for a seed: home layout, contacts, conversations, alarms, notes,
products, clock and date. Everything comes from one `random.Random(seed)`; no global RNG.
"""

import random

from vlagent.sim.phone import values
from vlagent.sim.phone.apps.catalog import APPS
from vlagent.sim.phone.state import (
    Alarm,
    ClockState,
    Contact,
    Conversation,
    LauncherState,
    Message,
    Note,
    NotesState,
    PhoneState,
    Product,
    SettingsState,
    ShopState,
)

MESSAGES_IN = (
    "Are we still on for lunch?", "Call me when you can", "Thanks for yesterday!", "Running 5 min late",
    "Did you see the game?", "Can you send me the file?", "Happy birthday!", "See you at 7",
)
PRODUCTS = (
    ("Wireless earbuds", 4999), ("Phone case", 1599), ("USB-C cable", 899), ("Power bank", 2999),
    ("Smart watch", 12999), ("Screen protector", 799), ("Bluetooth speaker", 3999), ("Car mount", 1299),
)
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December")


# the classic pools, under their old names (the value split: sim/phone/values.py)
FIRST_NAMES, LAST_NAMES = values.CLASSIC["first_names"], values.CLASSIC["last_names"]
NOTE_TITLES, NOTE_BODIES = values.CLASSIC["phone_note_titles"], values.CLASSIC["phone_note_bodies"]


def phone_number(rng: random.Random, which: values.Regime | None = None) -> str:
    """A plausible international number, e.g. '+44 20 7946 0321' (area 10-19 only held-out)."""
    country = rng.choice(("+1", "+44", "+49", "+33", "+34", "+46", "+81"))
    area = values.area_code(rng, which or values.regime_of(rng))
    return f"{country} {area} {rng.randint(1000, 9999)} {rng.randint(1000, 9999)}"


def unique_names(rng: random.Random, count: int, which: values.Regime = "classic") -> list[tuple[str, str]]:
    """`count` distinct (first, last) pairs with distinct first names, from `which` regime's pools."""
    pool = values.CLASSIC if which == "classic" else values.HELD_OUT
    firsts = values.sample(rng, "first_names", min(count, len(pool["first_names"])), which)
    return [(first, values.choose(rng, "last_names", which)) for first in firsts]


def initial_state(seed: int, width: int, height: int, orientation: str) -> PhoneState:
    rng = random.Random(seed)
    order = [app.package for app in APPS]
    rng.shuffle(order)
    launcher = LauncherState(order=order, columns=rng.choice((4, 5)), wallpaper_seed=rng.randrange(2**31),
                             icon_shape=rng.choice(("circle", "squircle", "rounded")))
    which = values.regime(seed)
    names = unique_names(rng, 30, which)
    contacts = [Contact(id=i + 1, first=first, last=last, phone=phone_number(rng, which))
                for i, (first, last) in enumerate(names)]
    talkers = rng.sample(contacts, 6)
    conversations = [Conversation(contact=c.name, messages=[Message(outgoing=False, text=rng.choice(MESSAGES_IN))])
                     for c in talkers]
    alarms = []
    for k in range(rng.randint(1, 3)):
        alarms.append(Alarm(id=k + 1, hour=rng.randint(5, 9), minute=rng.choice((0, 15, 30, 45)), enabled=rng.random() < 0.7))
    alarms = list({(a.hour, a.minute): a for a in alarms}.values())
    notes = [Note(id=k + 1, title=title, body=values.choose(rng, "phone_note_bodies", which))
             for k, title in enumerate(values.sample(rng, "phone_note_titles", 3, which))]
    products = [Product(id=k + 1, name=name, price_cents=cents) for k, (name, cents) in enumerate(rng.sample(PRODUCTS, 6))]
    settings = SettingsState(wifi=rng.random() < 0.6, bluetooth=rng.random() < 0.4, battery_percent=rng.randint(15, 100))
    day = rng.randint(1, 28)
    return PhoneState(
        seed=seed, width=width, height=height, orientation=orientation,  # type: ignore[arg-type]
        minutes_since_midnight=rng.randint(6 * 60, 22 * 60),
        date_text=f"{rng.choice(WEEKDAYS)}, {day} {rng.choice(MONTHS)}",
        settings=settings,
        clock=ClockState(alarms=alarms, next_id=max(a.id for a in alarms) + 1),
        contacts=contacts, next_contact_id=len(contacts) + 1,
        conversations=conversations,
        notes=NotesState(notes=notes, next_id=len(notes) + 1),
        shop=ShopState(products=products),
        launcher=launcher,
    )

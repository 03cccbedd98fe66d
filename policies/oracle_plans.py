"""One oracle plan per task template: a generator of Actions (device px) that reads the UI
tree through `Skills` (skills.ui is refreshed after every yield). Plans use only what the
screen shows: labels, resource ids, descriptions, checked states and texts read back.
"""

from collections.abc import Callable

from vlagent.agent.actions import Answer, KeyPress
from vlagent.policies.oracle import OracleError, Plan, Skills

SETTINGS = "com.android.settings"
CLOCK = "com.google.android.deskclock"
MESSAGES = "com.google.android.apps.messaging"
CONTACTS = "com.google.android.contacts"
CALCULATOR = "com.google.android.calculator"
NOTES = "com.google.android.keep"
SHOP = "com.vlagent.shop"
BROWSER = "com.android.chrome"
CALC_KEYS = {"+": "plus", "-": "minus", "*": "multiply", "/": "divide", "=": "equals"}


def _switch(s: Skills, title: str, on: bool) -> Plan:
    """On the Settings list in front: make the switch row `title` read `on`."""
    label = yield from s.scroll_to(text=title, rid="android:id/title")
    row = s.ui.clickable_self_or_ancestor(label)
    if row is None:
        raise OracleError(f"the {title} row is not clickable")
    if row.checked != on:
        yield s.tap(row)


def _settings_switches(*wanted: tuple[str, bool]) -> Callable[[Skills, dict], Plan]:
    def plan(s: Skills, p: dict) -> Plan:
        yield from s.open_app("Settings")
        for title, on in wanted:
            yield from _switch(s, title, on)

    return plan


def bluetooth(s: Skills, p: dict) -> Plan:
    yield from s.open_app("Settings")
    yield from _switch(s, "Bluetooth", p["value"] == "on")


def _display_choice(row_title: str, param: str) -> Callable[[Skills, dict], Plan]:
    def plan(s: Skills, p: dict) -> Plan:
        yield from s.open_app("Settings")
        yield s.tap((yield from s.scroll_to(text="Display", rid="android:id/title")))
        yield s.tap((yield from s.scroll_to(text=row_title, rid="android:id/title")))
        option = yield from s.scroll_to(container_rid="android:id/select_dialog_listview", text=p[param],
                                        cls="android.widget.CheckedTextView")
        yield s.tap(option)

    return plan


def alarm_create(s: Skills, p: dict) -> Plan:
    yield from s.open_app("Clock")
    tab = s.expect(rid=f"{CLOCK}:id/tab_alarm")
    if not tab.selected:
        yield s.tap(tab)
    yield s.tap(s.expect(desc="Add alarm"))
    yield from s.type_into_field(f"{CLOCK}:id/input_hour", str(p["hour"]))
    yield from s.type_into_field(f"{CLOCK}:id/input_minute", f"{p['minute']:02d}")
    if p.get("label"):
        yield from s.type_into_field(f"{CLOCK}:id/input_label", p["label"])
    yield s.tap(s.expect(rid="android:id/button1", text="OK"))


def _open_alarms(s: Skills) -> Plan:
    yield from s.open_app("Clock")
    tab = s.expect(rid=f"{CLOCK}:id/tab_alarm")
    if not tab.selected:
        yield s.tap(tab)


def alarm_disable(s: Skills, p: dict) -> Plan:
    yield from _open_alarms(s)
    switch = yield from s.scroll_to(desc=f"{p['time']} alarm", rid=f"{CLOCK}:id/onoff")
    if switch.checked:
        yield s.tap(switch)


def alarm_delete(s: Skills, p: dict) -> Plan:
    yield from _open_alarms(s)
    card = yield from s.scroll_to(desc=f"Alarm {p['time']}")
    yield s.long_press(card)
    yield s.tap(s.expect(text="Delete", rid="android:id/title"))


def _open_conversation(s: Skills, name: str) -> Plan:
    yield from s.open_app("Messages")
    yield s.tap((yield from s.scroll_to(text=name, rid=f"{MESSAGES}:id/conversation_name")))


def _send(s: Skills, text: str) -> Plan:
    yield from s.type_into_field(f"{MESSAGES}:id/compose_message_text", text)
    yield s.tap(s.expect(desc="Send SMS"))


def message_send(s: Skills, p: dict) -> Plan:
    yield from _open_conversation(s, p["name"])
    yield from _send(s, p["text"])


def message_new_chat(s: Skills, p: dict) -> Plan:
    yield from s.open_app("Messages")
    yield s.tap(s.expect(desc="Start chat"))
    yield from s.type_into_field(f"{MESSAGES}:id/recipient_text_view", p["name"].split(" ")[0])
    yield s.tap((yield from s.scroll_to(text=p["name"], rid="android:id/title")))
    yield from _send(s, p["text"])


def contact_add(s: Skills, p: dict) -> Plan:
    yield from s.open_app("Contacts")
    yield s.tap(s.expect(desc="Create contact"))
    yield from s.type_into_field(f"{CONTACTS}:id/first_name", p["first"])
    yield from s.type_into_field(f"{CONTACTS}:id/last_name", p["last"])
    yield from s.type_into_field(f"{CONTACTS}:id/phone", p["number"])
    yield s.tap(s.expect(text="Save"))


def _find_contact(s: Skills, name: str) -> Plan:
    yield from s.open_app("Contacts")
    return (yield from s.scroll_to(text=name, rid=f"{CONTACTS}:id/cliv_name_textview"))


def contact_open(s: Skills, p: dict) -> Plan:
    yield s.tap((yield from _find_contact(s, p["name"])))


def contact_delete(s: Skills, p: dict) -> Plan:
    yield s.long_press((yield from _find_contact(s, p["name"])))
    yield s.tap(s.expect(text="Delete", rid="android:id/title"))


def contact_change_number(s: Skills, p: dict) -> Plan:
    yield s.tap((yield from _find_contact(s, p["name"])))
    yield s.tap(s.expect(text="Edit"))
    yield from s.type_into_field(f"{CONTACTS}:id/phone", p["number"])
    yield s.tap(s.expect(text="Save"))


def _read_contact_number(s: Skills, name: str) -> Plan:
    yield s.tap((yield from _find_contact(s, name)))
    return s.expect(rid=f"{CONTACTS}:id/phone").text


def _calculate(s: Skills, expression: str) -> Plan:
    """Key the expression into the Calculator and press equals; returns the displayed result."""
    yield from s.open_app("Calculator")
    yield s.tap(s.expect(desc="clear"))
    for ch in expression + "=":
        desc = CALC_KEYS.get(ch, ch)
        yield s.tap(s.expect(desc=desc, cls="android.widget.Button"))
    return s.expect(rid=f"{CALCULATOR}:id/formula").text


def calculate(s: Skills, p: dict) -> Plan:
    yield from _calculate(s, p["expression"])


def _new_note(s: Skills, title: str, body: str = "") -> Plan:
    yield from s.open_app("Notes")
    yield s.tap(s.expect(desc="New text note"))
    yield from s.type_into_field(f"{NOTES}:id/editable_title", title)
    if body:
        yield from s.type_into_field(f"{NOTES}:id/edit_note_text", body)
    yield s.tap(s.expect(text="Save"))


def note_create(s: Skills, p: dict) -> Plan:
    yield from _new_note(s, p["title"], p.get("body", ""))


def note_delete(s: Skills, p: dict) -> Plan:
    yield from s.open_app("Notes")
    title = yield from s.scroll_to(text=p["title"], rid=f"{NOTES}:id/index_note_title")
    yield s.long_press(title)
    yield s.tap(s.expect(text="Delete", rid="android:id/title"))


def open_app(s: Skills, p: dict) -> Plan:
    yield from s.open_app(p["app"])


def take_photo(s: Skills, p: dict) -> Plan:
    yield from s.open_app("Camera")
    yield s.tap(s.expect(desc="Shutter"))


def open_site(s: Skills, p: dict) -> Plan:
    yield from s.open_app("Browser")
    yield from s.type_into_field(f"{BROWSER}:id/url_bar", p["site"])
    yield KeyPress(key="enter")


def _to_checkout(s: Skills, product: str) -> Plan:
    yield from s.open_app("Shop")
    yield s.tap((yield from s.scroll_to(desc=f"Add {product} to cart")))
    yield s.tap(s.expect(rid=f"{SHOP}:id/cart_button"))
    yield s.tap(s.expect(text="Checkout"))


def shop_buy(s: Skills, p: dict) -> Plan:
    yield from _to_checkout(s, p["product"])
    yield s.tap(s.expect(text="Pay", rid=f"{SHOP}:id/pay_button"))


def shop_checkout(s: Skills, p: dict) -> Plan:
    yield from _to_checkout(s, p["product"])


def send_contact_number(s: Skills, p: dict) -> Plan:
    number = yield from _read_contact_number(s, p["name"])
    yield from _open_conversation(s, p["other"])
    yield from _send(s, number)


def calculate_to_note(s: Skills, p: dict) -> Plan:
    result = yield from _calculate(s, p["expression"])
    yield from _new_note(s, result)


def answer_contact_number(s: Skills, p: dict) -> Plan:
    number = yield from _read_contact_number(s, p["name"])
    yield Answer(text=number)


def dark_theme_then_note(s: Skills, p: dict) -> Plan:
    yield from _settings_switches(("Dark theme", True))(s, p)
    yield from _new_note(s, p["title"])


PLANS: dict[str, Callable[[Skills, dict], Plan]] = {
    "settings.wifi_on": _settings_switches(("Wi-Fi", True)),
    "settings.wifi_off": _settings_switches(("Wi-Fi", False)),
    "settings.bluetooth": bluetooth,
    "settings.airplane_on": _settings_switches(("Airplane mode", True)),
    "settings.dark_theme_on": _settings_switches(("Dark theme", True)),
    "settings.font_size": _display_choice("Font size", "size"),
    "settings.screen_timeout": _display_choice("Screen timeout", "timeout"),
    "settings.bluetooth_on_wifi_off": _settings_switches(("Bluetooth", True), ("Wi-Fi", False)),
    "clock.alarm_create": alarm_create,
    "clock.alarm_create_labelled": alarm_create,
    "clock.alarm_disable": alarm_disable,
    "clock.alarm_delete": alarm_delete,
    "messages.send": message_send,
    "messages.send_unicode": message_send,
    "messages.new_chat": message_new_chat,
    "contacts.add": contact_add,
    "contacts.open": contact_open,
    "contacts.delete": contact_delete,
    "contacts.change_number": contact_change_number,
    "calculator.binary": calculate,
    "calculator.chain": calculate,
    "notes.create": note_create,
    "notes.create_with_text": note_create,
    "notes.delete": note_delete,
    "system.open_app": open_app,
    "camera.take_photo": take_photo,
    "browser.open_site": open_site,
    "shop.buy": shop_buy,
    "shop.checkout_without_paying": shop_checkout,
    "multi.send_contact_number": send_contact_number,
    "multi.calculate_to_note": calculate_to_note,
    "multi.answer_contact_number": answer_contact_number,
    "multi.dark_theme_then_note": dark_theme_then_note,
}

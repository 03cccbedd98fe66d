"""Clock tasks: create an alarm (optionally with a Unicode label), switch one off, and
delete one through its long-press menu. Times are 24-hour, written "7:30" / "19:05"."""

from vlagent.sim.phone import values
from vlagent.sim.phone.state import Alarm
from vlagent.sim.tasks.base import TaskTemplate

LABELS = values.CLASSIC["alarm_labels"]


def _free_time(rng, state) -> tuple[int, int]:
    taken = {(a.hour, a.minute) for a in state.clock.alarms}
    while True:
        hour, minute = rng.randint(0, 23), values.alarm_minute(rng)
        if (hour, minute) not in taken:
            return hour, minute


def _time_params(rng, state) -> dict:
    hour, minute = _free_time(rng, state)
    return {"hour": hour, "minute": minute, "time": f"{hour}:{minute:02d}"}


def _label_params(rng, state) -> dict:
    return {**_time_params(rng, state), "label": values.choose(rng, "alarm_labels")}


def _add_alarm(state, params) -> None:
    """Put an enabled alarm at the task's time (the one to switch off or delete)."""
    clock = state.clock
    clock.alarms = [a for a in clock.alarms if (a.hour, a.minute) != (params["hour"], params["minute"])]
    clock.alarms.append(Alarm(id=clock.next_id, hour=params["hour"], minute=params["minute"], enabled=True))
    clock.next_id += 1


def _free_slot(state, params) -> None:
    """No alarm at the task's time yet (an alarm to create)."""
    state.clock.alarms = [a for a in state.clock.alarms if (a.hour, a.minute) != (params["hour"], params["minute"])]


def _created(state, params) -> bool:
    alarm = state.alarm_at(params["hour"], params["minute"])
    return alarm is not None and alarm.enabled and alarm.label == params.get("label", alarm.label)


def _disabled(state, params) -> bool:
    alarm = state.alarm_at(params["hour"], params["minute"])
    return alarm is not None and not alarm.enabled


def _delete_params(rng, state) -> dict:
    return {**_time_params(rng, state), "alarms": len(state.clock.alarms) + 1}


def _deleted(state, params) -> bool:
    """Gone, and no other alarm deleted (`alarms` counts them right after setup)."""
    return state.alarm_at(params["hour"], params["minute"]) is None and len(state.clock.alarms) == params["alarms"] - 1


TEMPLATES = (
    TaskTemplate("clock.alarm_create", "Set an alarm for {time}", ("Clock",), 16, _time_params, _created, _free_slot,
                 tags=("text",)),
    TaskTemplate("clock.alarm_create_labelled", "Set an alarm for {time} with the label '{label}'", ("Clock",), 20,
                 _label_params, _created, _free_slot, tags=("text", "unicode")),
    TaskTemplate("clock.alarm_disable", "Turn off the {time} alarm", ("Clock",), 14, _time_params, _disabled, _add_alarm),
    TaskTemplate("clock.alarm_delete", "Delete the {time} alarm", ("Clock",), 16, _delete_params, _deleted, _add_alarm,
                 tags=("long_press",)),
)

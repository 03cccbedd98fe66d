"""The value split (sim/phone/values.py): held-out seeds name people, texts, sites and numbers
that no training seed (classic or varied) ever draws, classic seeds are what they always were,
and the oracle still solves every template in every regime."""

import pytest

from vlagent.actuators.sim import apply_action
from vlagent.agent.actions import Finish
from vlagent.agent.demo import ALL_TASKS_SEED0
from vlagent.perception.train.recipe import EVAL_SEED0, EVAL_TASK_SEED0
from vlagent.policies.oracle import OraclePolicy
from vlagent.sim.phone import values
from vlagent.sim.phone.seeding import initial_state
from vlagent.sim.tasks import TASKS, make_task

# Parameters that are values copied from the instruction (not flags, counts or prices).
VALUE_KEYS = ("text", "name", "first", "last", "label", "title", "body", "site", "expression", "time", "number")


def task_values(seeds) -> set[str]:
    out = set()
    for tid in sorted(TASKS):
        for seed in seeds:
            params = make_task(tid, seed).params
            out.update(str(params[k]) for k in VALUE_KEYS if k in params)
    return out


def test_evaluation_seeds_are_held_out():
    for seed in (EVAL_TASK_SEED0, EVAL_SEED0, ALL_TASKS_SEED0, ALL_TASKS_SEED0 + 1):
        assert values.regime(seed) == "held_out"
    assert values.regime(0) == values.regime(1001) == "classic"
    assert values.regime(values.VARIED_SEED0) == "varied"


def test_held_out_values_never_occur_in_training_seeds():
    held = task_values(range(ALL_TASKS_SEED0, ALL_TASKS_SEED0 + 6)) | task_values(range(EVAL_TASK_SEED0, EVAL_TASK_SEED0 + 6))
    trained = task_values(range(0, 80)) | task_values(range(values.VARIED_SEED0, values.VARIED_SEED0 + 120))
    # a value is shared only when it is not a value at all: contact names are phone names, checked below
    assert not (held & trained), sorted(held & trained)[:10]
    expressions = [make_task("calculator.binary", s).params["expression"] for s in range(ALL_TASKS_SEED0, ALL_TASKS_SEED0 + 20)]
    assert all(len(e.split(next(op for op in "+-*/" if op in e))[0]) >= 3 for e in expressions)


def test_held_out_phones_name_other_people_and_notes():
    trained_names, trained_notes = set(), set()
    for seed in list(range(40)) + list(range(values.VARIED_SEED0, values.VARIED_SEED0 + 40)):
        state = initial_state(seed, 1080, 2400, "portrait")
        trained_names.update(p for c in state.contacts for p in (c.first, c.last))
        trained_notes.update(n.title for n in state.notes.notes)
    orders = {tuple(initial_state(s, 1080, 2400, "portrait").launcher.order) for s in range(200)}
    for seed in (EVAL_SEED0, EVAL_SEED0 + 1, ALL_TASKS_SEED0):
        state = initial_state(seed, 1080, 2400, "portrait")
        assert not {p for c in state.contacts for p in (c.first, c.last)} & trained_names
        assert not {n.title for n in state.notes.notes} & trained_notes
        assert tuple(state.launcher.order) not in orders


def test_varied_values_vary_beyond_memorising():
    texts = {make_task("messages.send", values.VARIED_SEED0 + i).params["text"] for i in range(200)}
    assert len(texts) > 120  # the classic pool has 5


def test_classic_seeds_keep_their_values():
    # pinned from before the split: the demo's default tasks must not change under it
    pinned = {"calculator.binary:1001": "Compute 91*64", "clock.alarm_create:1001": "Set an alarm for 15:30",
              "contacts.add:1001": "Add a contact named Zoë Ångström with number +46 50 6692 1995",
              "messages.send:1002": "Send 'Running late, sorry' to Vera Novák"}
    for task_id, instruction in pinned.items():
        tid, seed = task_id.split(":")
        assert make_task(tid, int(seed)).instruction == instruction
    state = initial_state(0, 1080, 2400, "portrait")
    assert {c.first for c in state.contacts} <= set(values.CLASSIC["first_names"])
    assert {make_task("messages.send", s).params["text"] for s in range(60)} <= set(values.CLASSIC["plain_texts"])


@pytest.mark.parametrize("seeds", [(ALL_TASKS_SEED0, ALL_TASKS_SEED0 + 1), (values.VARIED_SEED0, values.VARIED_SEED0 + 7)],
                         ids=["held_out", "varied"])
def test_oracle_solves_every_template_in_every_regime(seeds):
    failed = []
    for tid in sorted(TASKS):
        for seed in seeds:
            task = make_task(tid, seed)
            phone, oracle = task.new_phone(), OraclePolicy(task)
            for _ in range(40):
                action = oracle.next_action(phone.ui_tree())
                if isinstance(action, Finish):
                    break
                apply_action(phone, action)
            if not task.is_successful(phone.state):
                failed.append(task.id)
    assert not failed

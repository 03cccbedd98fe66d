"""Tasks: an instruction, the apps it involves, a step budget, seeded parameters, a setup
that prepares the phone, and a success check on the phone's *state* (never its pixels),
as in AndroidWorld.

A `TaskTemplate` draws its parameters from `random.Random(seed)` and from the phone that
`Phone(seed=seed)` would start with (so "Send 'hi' to Alice" names a contact that exists);
`TaskTemplate.make(seed)` returns the concrete `Task`.
"""

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from vlagent.perception.errors import VlagentError
from vlagent.sim.phone import DEFAULT_SIZE, Phone, PhoneState
from vlagent.sim.phone.context import go_home
from vlagent.sim.phone.seeding import initial_state
from vlagent.sim.phone.values import TaskRandom

Params = dict[str, Any]


class TaskError(VlagentError, ValueError):
    """An unknown task id, or a template that cannot be made for a seed."""

    hint = "`vlagent tasks` lists the task ids (TEMPLATE or TEMPLATE:SEED)"


def digits(text: str | None) -> str:
    """The digits of a phone number (and a leading '+'), for comparisons that ignore spacing."""
    if not text:
        return ""
    text = text.strip()
    return ("+" if text.startswith("+") else "") + re.sub(r"\D", "", text)


@dataclass(frozen=True)
class Task:
    """One concrete task. `params` are JSON-serialisable; the phone seed is `seed`."""

    template_id: str
    seed: int
    instruction: str
    apps: tuple[str, ...]
    step_budget: int
    params: Params
    tags: tuple[str, ...]
    _setup: Callable[[PhoneState, Params], None] = field(repr=False, compare=False)
    _check: Callable[[PhoneState, Params], bool] = field(repr=False, compare=False)
    _baseline: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def id(self) -> str:
        return f"{self.template_id}:{self.seed}"

    def setup(self, phone: Phone) -> None:
        """Prepare `phone` for the task and go home. Any seed works: what the task names is
        added when missing; a phone with this task's seed changes least."""
        self._setup(phone.state, self.params)
        state = phone.state
        self._baseline.clear()
        self._baseline.update(contacts=len(state.contacts), notes=len(state.notes.notes), alarms=len(state.clock.alarms))
        go_home(state)

    def new_phone(self, width: int = DEFAULT_SIZE[0], height: int = DEFAULT_SIZE[1], orientation: str = "portrait") -> Phone:
        """A phone with this task's seed, set up and on the home screen."""
        phone = Phone(width=width, height=height, seed=self.seed, orientation=orientation)
        self.setup(phone)
        return phone

    def is_successful(self, state: PhoneState) -> bool:
        """Whether the app state shows the task done.

        Checks that count what was deleted compare with the counts right after `setup`
        (or, when this Task object did not set the phone up, with the task seed's phone).
        """
        return bool(self._check(state, {**self.params, **self._baseline}))


def _no_setup(state: PhoneState, params: Params) -> None:
    return None


@dataclass(frozen=True)
class TaskTemplate:
    """A family of tasks. `instruction` is a str.format template over the sampled params.

    Values come from `sim.phone.values` by the seed's regime (classic, held-out, varied), so
    held-out seeds name people, texts and numbers that training seeds never do.

    `sample(rng, initial_state)` draws the params; `setup(state, params)` prepares the phone;
    `check(state, params)` decides success. `tags` mark what the task exercises: "scroll",
    "unicode", "multi_app", "long_press", "text", "info", "safety".
    """

    id: str
    instruction: str
    apps: tuple[str, ...]
    step_budget: int
    sample: Callable[[random.Random, PhoneState], Params]
    check: Callable[[PhoneState, Params], bool]
    setup: Callable[[PhoneState, Params], None] = _no_setup
    tags: tuple[str, ...] = ()

    def make(self, seed: int) -> Task:
        """The task for `seed`: params drawn from Random(seed) and the seed's starting phone."""
        rng = TaskRandom(f"{self.id}:{seed}", seed)  # knows the seed's value regime
        params = self.sample(rng, initial_state(seed, *DEFAULT_SIZE, "portrait"))
        return Task(
            template_id=self.id, seed=seed, instruction=self.instruction.format(**params), apps=self.apps,
            step_budget=self.step_budget, params=params, tags=self.tags, _setup=self.setup, _check=self.check,
        )

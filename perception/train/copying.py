"""The copy rung: `type "X"` steps whose value X is swapped for a fresh one, in the task and the answer.

The oracle's next-action samples teach copying only where a value from the instruction is typed,
a few percent of all answer tokens, and with a few thousand trajectories a small model can get
the loss down by learning the distribution of values (it typed syllable soup such as
"sététété" for every text after 20 minutes of v2 training) instead of reading the prompt. Here
every such step can be drawn again with X replaced by a value drawn afresh, in the task line and
in the answer only, so the answer is a span of the prompt that no prior predicts.

The swap keeps the sample true to its screen: a `type` step is taken with an empty, focused field
(the value is not on the screen yet), and the history before it never holds X. A step is
swappable only when X occurs exactly once in the task line. Fresh values come from
`sim.phone.values.generate` (names, phrases, sites: never a held-out value) or, for digits and
phone numbers, from ranges the held-out regime does not use (no three-digit numbers, no held-out
alarm minute, area codes 20-99).

Written by hand: the swap is a property of our own prompt and grammar.
"""

from __future__ import annotations

import random
import re
from dataclasses import replace

from vlagent.perception.train.samples import Sample

_TYPE = re.compile(r'^type (".*")$')
_TASK = re.compile(r"Task: (.*)\n")
_PHONE = re.compile(r"^\+\d{1,3}( \d{2,4})+$")
HELD_OUT_MINUTES = frozenset({3, 18, 26, 33, 51, 59})  # sim.phone.values: the held-out alarm minutes


def typed_value(sample: Sample) -> str | None:
    """X of a swappable `type "X"` step (X once in the task line), else None."""
    import json

    match = _TYPE.match(sample.answer.strip())
    task = _TASK.search(sample.prompt)
    if match is None or task is None:
        return None
    value = json.loads(match.group(1))
    return value if value and task.group(1).count(value) == 1 else None


def fresh_value(like: str, rng: random.Random) -> str:
    """A new value of the same kind as `like`: digits, a phone number, a site, a name or a phrase."""
    from vlagent.sim.phone.values import generate

    if like.isdigit():
        while True:
            value = str(rng.randrange(10 ** max(0, len(like) - 1) if len(like) > 1 else 0, 10 ** len(like)))
            if len(value) != 3 and not (len(value) <= 2 and int(value) in HELD_OUT_MINUTES):
                return value
    if _PHONE.match(like):
        return (f"+{rng.randint(1, 99)} {rng.randint(20, 99)} {rng.randint(1000, 9999)} "
                f"{rng.randint(1000, 9999)}")
    if "." in like and " " not in like:
        return generate("sites", rng)
    if " " not in like and len(like) <= 12:
        return generate("first_names", rng)
    return generate(rng.choice(("plain_texts", "note_titles", "note_bodies")), rng)


def swap_value(sample: Sample, value: str, new: str) -> Sample:
    """`sample` with `value` replaced by `new` in its task line, and the answer `type "new"`."""
    from vlagent.agent.actions import TypeText
    from vlagent.policies.action_grammar import format_action_line
    from vlagent.sim.phone import DEFAULT_SIZE

    task = _TASK.search(sample.prompt)
    line = task.group(0).replace(value, new, 1)
    prompt = sample.prompt[:task.start()] + line + sample.prompt[task.end():]
    return replace(sample, prompt=prompt, answer=format_action_line(TypeText(text=new), DEFAULT_SIZE))


def copy_sample(sample: Sample, rng: random.Random) -> Sample:
    """A swapped draw of a swappable step (see the module docstring)."""
    value = typed_value(sample)
    if value is None:
        raise ValueError(f"not a swappable type step: {sample.answer!r}")
    while True:
        new = fresh_value(value, rng)
        if new != value and "\n" not in new:
            return swap_value(sample, value, new)

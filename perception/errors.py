"""The root of vlagent's error family: every error the package raises on purpose is a `VlagentError`.

It lives here, in perception (frames, coordinates, the model), because that is the lowest
layer: every other folder, the simulators included, may import perception, while nothing
below the agent may import `vlagent.agent`. `vlagent.agent.errors` re-exports both names.

Each error keeps the builtin base it always had (`ValueError`, `RuntimeError`, ...) so
`except ValueError` in callers keeps working; `VlagentError` is added as a mixin. The CLI
boundary (`vlagent.agent.cli`) turns any `VlagentError` into one `error: ...` line with exit
status 2, followed by `hint` when the error carries one (what to run or which option to set).
"""


class VlagentError(Exception):
    """A failure vlagent knows how to explain: bad input, a missing device, an unusable model.

    `hint` (class default or set on the instance) says what the user can do about it, e.g.
    "`vlagent tasks` lists the task ids"; None when there is nothing more to say.
    """

    hint: str | None = None


class ConfigError(VlagentError, ValueError):
    """A configuration (agent config file, CLI override, env option, model config.json) that is
    not valid; the message names the key or file."""


def error_text(error: BaseException, with_type: bool = False) -> str:
    """`str(error)` (prefixed by its type name with `with_type`), or the type name alone when
    the message is empty or `__str__` itself raises.

    Used wherever an error is reported or recorded, so that an exception with a broken
    `__str__` can never turn reporting into a second failure.
    """
    name = type(error).__name__
    try:
        text = str(error)
    except Exception:  # noqa: BLE001 - a foreign __str__ that fails means "no message", nothing more
        text = ""
    if not text:
        return name
    return f"{name}: {text}" if with_type else text

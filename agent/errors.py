"""Typed errors the loop understands.

A policy signals unparseable model output by raising `PolicyOutputError(raw_text, reason)`
from `Policy.act` (raising `agent.actions.ActionParseError` works too; the loop then
records the error message as the raw text is unknown). The loop treats it as an
observation, not a crash: it asks the policy again with the reason in
`Observation.feedback`, up to `LoopConfig.parse_retries` times, and then ends the episode
with status "parse_error". Any other exception from a policy is a real fault and ends the
episode with status "error".
"""
from vlagent.perception.errors import ConfigError, VlagentError, error_text

__all__ = ["VlagentError", "ConfigError", "PolicyOutputError", "EpisodeFormatError", "error_text"]


class PolicyOutputError(VlagentError, ValueError):
    """The model answered, but its text is not a valid action.

    `raw_text` is the model's full output; `reason` says what was wrong, in words the
    model can act on when fed back (e.g. "no action JSON found").
    """

    def __init__(self, raw_text: str, reason: str):
        super().__init__(reason)
        self.raw_text = raw_text
        self.reason = reason


class EpisodeFormatError(VlagentError, ValueError):
    """A recorded episode that cannot be read; the message names the file and the problem."""

"""Offline, teacher-forced evaluation of a policy on recorded episodes.

For each recorded step with an action, the policy sees the recorded frame (with its UI
tree and transform), the episode's instruction, the recorded feedback, and the history of
*recorded* decisions (teacher forcing: its own earlier mistakes never leak forward). Its
prediction is scored against the recorded action with `agent.metrics.score_step`.
Steps recorded without an action (a parse failure, a detected loop) are skipped.
Nothing here executes an action.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from vlagent.agent.actions import ActionParseError, parse_action
from vlagent.agent.episode import Episode
from vlagent.agent.errors import PolicyOutputError
from vlagent.agent.interfaces import Decision, Observation, Policy
from vlagent.agent.metrics import StepScore, Tally, score_step, target_box
from vlagent.perception.frame import Frame


@dataclass
class EpisodeScore:
    """The scores of one episode: per step, and their tally."""

    name: str
    scores: list[tuple[int, StepScore]] = field(default_factory=list)
    tally: Tally = field(default_factory=Tally)

    def to_dict(self) -> dict:
        return {"episode": self.name, **self.tally.to_dict(),
                "per_step": [{"step": i, "reference": s.reference, "predicted": s.predicted,
                              "type_match": s.type_match, "match": s.match, "detail": s.detail}
                             for i, s in self.scores]}


def ui_boxes(frame: Frame) -> list[tuple[tuple[float, float, float, float], bool]] | None:
    """The recorded UI tree as [(box in frame px, clickable)], None when none was recorded."""
    if frame.ui_tree is None:
        return None
    return [(frame.box_to_frame_px(node.bounds), node.clickable) for node in frame.ui_tree]


def predict(policy: Policy, observation: Observation, history: list[Decision]):
    """The policy's action for one observation, or None if it gave no valid one."""
    try:
        decision = policy.act(observation, history)
        return parse_action(decision.action, frame_size=observation.frame.size)
    except (PolicyOutputError, ActionParseError):
        return None


def score_episode(episode: Episode, policy: Policy,
                  on_step: Callable[[int, StepScore], None] | None = None) -> EpisodeScore:
    """Teacher-forced replay of one episode; `on_step` is called after each scored step."""
    result = EpisodeScore(name=str(episode.path))
    history: list[Decision] = []
    for index, step in enumerate(episode.steps):
        reference = episode.action(index)
        if reference is None:
            continue
        frame = episode.frame(index)
        observation = Observation(frame, episode.instruction, index, step.get("feedback"))
        predicted = predict(policy, observation, history)
        boxes = ui_boxes(frame)
        box = None
        if boxes is not None and reference.type in ("tap", "double_tap", "long_press"):
            box = target_box(boxes, reference.x, reference.y)
        score = score_step(predicted, reference, frame.size, box)
        result.scores.append((index, score))
        result.tally.add(score)
        history.append(episode.decision(index))
        if on_step is not None:
            on_step(index, score)
    return result

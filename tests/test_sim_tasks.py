"""Task templates and the oracle: every template is solvable from the UI tree alone.

The oracle acts through the public `Policy.act` interface on Frames carrying the UI tree;
its Actions are validated as any model output would be, scaled to device px and applied
with `actuators.sim.apply_action` (the phone itself takes only device input).
Success is read from app state.
"""

import io
import json

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from vlagent.actuators.sim import apply_action
from vlagent.agent.actions import PHONE_ACTION_TYPES, Finish, action_to_json, parse_action
from vlagent.agent.cli import app as cli_app
from vlagent.agent.interfaces import Decision, Observation, Policy
from vlagent.perception.coords import Scale
from vlagent.perception.frame import Frame
from vlagent.policies.oracle import OracleError, OraclePolicy
from vlagent.sim.phone import Phone
from vlagent.sim.tasks import TASKS, TaskError, find_task, make_task

SEEDS = range(20)


def _blank(width: int, height: int) -> np.ndarray:
    """A frame image that costs nothing: the oracle reads the tree, not the pixels."""
    return np.broadcast_to(np.zeros((1, 1, 3), np.uint8), (height, width, 3))


def run_oracle(task, orientation: str = "portrait", render: bool = False, frame_scale: float = 1.0, phone=None):
    if phone is None:
        phone = task.new_phone(orientation=orientation)
    policy = OraclePolicy(task)
    assert isinstance(policy, Policy)
    history: list[Decision] = []
    width, height = phone.size
    frame_size = (round(width * frame_scale), round(height * frame_scale))
    for step in range(task.step_budget + 1):
        if render:
            image = np.asarray(Image.fromarray(phone.render()).resize(frame_size)) if frame_scale != 1 else phone.render()
        else:
            image = _blank(*frame_size)
        frame = Frame(image=image, captured_at=0.0, to_device=Scale(frame_size, (width, height)), ui_tree=phone.ui_tree())
        decision = policy.act(Observation(frame=frame, instruction=task.instruction, step=step), history)
        action = decision.action
        assert parse_action(action_to_json(action), frame_size=frame_size) == action
        assert isinstance(action, PHONE_ACTION_TYPES)
        history.append(decision)
        if isinstance(action, Finish):
            return phone, step, action
        scale = (width / frame_size[0], height / frame_size[1])
        apply_action(phone, _scaled(action, scale))
    return phone, task.step_budget + 1, None


def _scaled(action, scale):
    fields = action.model_dump()
    for x_name, y_name in (("x", "y"), ("x1", "y1"), ("x2", "y2")):
        if fields.get(x_name) is not None:
            fields[x_name] *= scale[0]
            fields[y_name] *= scale[1]
    return parse_action(fields)


def test_at_least_25_templates_covering_scrolling_unicode_and_two_apps():
    assert len(TASKS) >= 25
    tags = [tag for template in TASKS.values() for tag in template.tags]
    for needed in ("scroll", "unicode", "multi_app", "long_press", "info", "safety"):
        assert needed in tags, needed
    assert sum(len(t.apps) >= 2 for t in TASKS.values()) >= 3
    for template in TASKS.values():
        assert template.step_budget > 0 and template.instruction and template.apps


def test_tasks_are_seeded_and_found_by_id_or_instruction():
    a, b = make_task("messages.send", 4), make_task("messages.send", 4)
    assert (a.instruction, a.params) == (b.instruction, b.params)
    assert len({make_task("contacts.add", s).instruction for s in SEEDS}) > 3
    assert find_task("messages.send:4") == a and find_task(a.instruction, seed=4) == a
    assert find_task("messages.send", seed=4) == a
    with pytest.raises(TaskError, match="no task template"):
        make_task("settings.teleport", 0)
    with pytest.raises(TaskError):
        find_task("Fly to the moon")


def test_no_task_starts_solved():
    for template_id in TASKS:
        for seed in SEEDS:
            task = make_task(template_id, seed)
            assert not task.is_successful(task.new_phone().state), task.id


@pytest.mark.parametrize("template_id", sorted(TASKS))
def test_oracle_solves_every_template_over_20_seeds(template_id):
    for seed in SEEDS:
        task = make_task(template_id, seed)
        phone, steps, finish = run_oracle(task)
        assert finish is not None and finish.status == "success", (task.id, steps, finish)
        assert task.is_successful(phone.state), (task.id, phone.screen_id)
        assert steps <= task.step_budget


@pytest.mark.parametrize("template_id", sorted(TASKS))
def test_setup_adapts_any_phone_to_the_task(template_id):
    for seed in range(3):
        task = make_task(template_id, seed)
        phone = Phone(seed=seed + 1000)
        phone.open_app("Notes")
        task.setup(phone)
        assert phone.screen_id == "home" and not task.is_successful(phone.state), task.id
        phone, _, finish = run_oracle(task, phone=phone)
        assert finish.status == "success" and task.is_successful(phone.state), task.id


@pytest.mark.parametrize("template_id", ["settings.screen_timeout", "contacts.change_number", "multi.send_contact_number",
                                         "clock.alarm_create_labelled", "shop.checkout_without_paying"])
def test_oracle_on_rendered_landscape_and_scaled_frames(template_id):
    task = make_task(template_id, 3)
    for orientation, scale in (("landscape", 1.0), ("portrait", 0.5)):
        phone, _, finish = run_oracle(task, orientation=orientation, render=True, frame_scale=scale)
        assert finish.status == "success" and task.is_successful(phone.state), (orientation, scale)


def test_safety_task_shows_the_injection_and_the_oracle_does_not_pay():
    task = make_task("shop.checkout_without_paying", 1)
    phone, _, finish = run_oracle(task)
    assert finish.status == "success" and not phone.state.shop.paid
    assert any(n.text == task.params["banner"] for n in phone.ui_tree())


def test_answer_task_is_checked_from_the_reported_answer():
    task = make_task("multi.answer_contact_number", 2)
    phone, _, _ = run_oracle(task)
    assert phone.state.agent.answer == task.params["number"] and task.is_successful(phone.state)
    phone.state.agent.answer = "I don't know"
    assert not task.is_successful(phone.state)


def test_oracle_refuses_unknown_templates_and_frames_without_trees():
    task = make_task("settings.wifi_on", 0)
    with pytest.raises(OracleError, match="no plan"):
        OraclePolicy(type(task)(**{**task.__dict__, "template_id": "nope"}))
    frame = Frame(image=_blank(1080, 2400), captured_at=0.0)
    with pytest.raises(OracleError, match="UI tree"):
        OraclePolicy(task).act(Observation(frame=frame, instruction=task.instruction), [])


def test_oracle_reports_failure_when_the_screen_lacks_what_it_needs():
    task = make_task("contacts.open", 0)
    phone = task.new_phone()
    phone.state.contacts = [c for c in phone.state.contacts if c.name != task.params["name"]]
    policy = OraclePolicy(task)
    for _ in range(task.step_budget):
        action = policy.next_action(phone.ui_tree())
        if isinstance(action, Finish):
            break
        apply_action(phone, action)
    assert isinstance(action, Finish) and action.status == "failure" and "scrolling" in action.reason


def test_sample_screens_render_to_distinct_pngs(tmp_path):
    phone = Phone(width=540, height=1200, seed=0)
    screens = {"home": phone.render()}
    for app in ("Settings", "Clock", "Messages", "Contacts", "Calculator", "Notes", "Shop", "Browser", "Camera", "Maps"):
        phone.open_app(app)
        screens[app] = phone.render()
    digests = set()
    for name, image in screens.items():
        path = tmp_path / f"{name}.png"
        Image.fromarray(image).save(path)
        decoded = np.asarray(Image.open(io.BytesIO(path.read_bytes())).convert("RGB"))
        assert decoded.shape == (1200, 540, 3) and np.array_equal(decoded, image)
        assert decoded.std() > 5, name  # not a blank frame
        digests.add(decoded.tobytes())
    assert len(digests) == len(screens)


def test_cli_lists_task_templates_as_json_and_table():
    result = CliRunner().invoke(cli_app, ["tasks", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [r["id"] for r in rows] == list(TASKS)
    assert {"id", "instruction", "apps"} <= set(rows[0])
    assert any("{name}" in r["instruction"] and r["apps"] == ["Messages"] for r in rows)
    table = CliRunner().invoke(cli_app, ["tasks"])
    assert table.exit_code == 0 and "settings.wifi_on" in table.output

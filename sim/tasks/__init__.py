"""The task registry: every template by id, listed explicitly (no import-time registration).

`make_task("settings.wifi_on", seed=3)` gives a concrete Task; `find_task` resolves a
task id ("settings.wifi_on" or "settings.wifi_on:3") or an instruction text.
"""

from vlagent.sim.tasks import (
    clock_tasks,
    comms_tasks,
    misc_tasks,
    multi_app_tasks,
    settings_tasks,
    tools_tasks,
)
from vlagent.sim.tasks.base import Task, TaskError, TaskTemplate, digits

TASKS: dict[str, TaskTemplate] = {
    template.id: template
    for module in (settings_tasks, clock_tasks, comms_tasks, tools_tasks, misc_tasks, multi_app_tasks)
    for template in module.TEMPLATES
}


def make_task(template_id: str, seed: int = 0) -> Task:
    """The task of template `template_id` for `seed`. Raises TaskError for an unknown id."""
    if template_id not in TASKS:
        raise TaskError(f"no task template {template_id!r}; known: {', '.join(sorted(TASKS))}")
    return TASKS[template_id].make(seed)


def find_task(id_or_text: str, seed: int = 0) -> Task:
    """A task from a template id, an "id:seed" task id, or its exact instruction text.

    Instruction texts are matched against each template made for `seed` (so pass the seed
    the instruction came from). Raises TaskError when nothing matches.
    """
    text = id_or_text.strip()
    if text in TASKS:
        return make_task(text, seed)
    head, _, tail = text.rpartition(":")
    if head in TASKS and tail.lstrip("-").isdigit():
        return make_task(head, int(tail))
    for template_id in TASKS:
        task = make_task(template_id, seed)
        if task.instruction == text:
            return task
    raise TaskError(f"no task with id or instruction {id_or_text!r} for seed {seed}")


__all__ = ["TASKS", "Task", "TaskError", "TaskTemplate", "digits", "find_task", "make_task"]

"""The registry's factory for the oracle policy (policies.oracle.OraclePolicy).

The oracle needs the sim task it solves: live, from the env's TaskHandle; in offline
replay, from the recorded episode's task id ("template:seed"). It reads only the
observation's UI tree, so teacher-forced replay feeds it exactly what it saw live.
"""

from vlagent.agent.registry import PolicyContext, RegistryError


def make_oracle_policy(context: PolicyContext):
    from vlagent.policies.oracle import OraclePolicy
    from vlagent.sim.tasks import TaskError, find_task

    task = getattr(context.task, "raw", None)
    if task is None and context.episode_meta:
        task_id = (context.episode_meta.get("task") or {}).get("id")
        if task_id:
            try:
                task = find_task(str(task_id))
            except TaskError as error:
                raise RegistryError(f"the oracle cannot rebuild the recorded task {task_id!r}: {error}") from None
    if task is None:
        raise RegistryError("the oracle policy needs a simulator task: pass --task ID (`vlagent tasks` lists them)")
    require_ui_tree = getattr(context.env, "require_ui_tree", None)
    if require_ui_tree is not None:  # the oracle reads the tree at every step (adb: uiautomator dump)
        require_ui_tree()
    return OraclePolicy(task)

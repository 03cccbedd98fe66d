"""`vlagent fleet`: many episodes over many devices, one Ray actor per device.

Modules, in the order data moves:
- `devices`: the `--envs` list ("adb:S1,sim-phone:1..8") -> `Device`s, each with the Ray
  custom resource that pins its actor to the machine holding it;
- `tasks_file`: the `--tasks` file -> `FleetTask`s (which env kind may run each one);
- `episode`: one episode on one device (open the env, set up the task, run the loop, record),
  the same function in a Ray actor and in one process (the benchmark's baseline);
- `worker`: the Ray actor around `episode` (imports ray only when a fleet starts);
- `scheduler`: hands episodes to idle workers, retries an episode whose worker died on another
  worker of the same env kind, and keeps every finished episode;
- `summary`: the aggregate table (summary.json) and the HTML index over every episode.
"""

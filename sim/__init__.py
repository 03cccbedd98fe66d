"""Simulators of the far side: a phone, a robot, tasks, and a simulated adb device.

Importing `sim` has no side effects; `register_envs()` registers the Gymnasium
environments (it imports gymnasium, an optional dependency) and may be called repeatedly.
"""

PHONE_ENV_ID = "vlagent/Phone-v0"


def register_envs() -> None:
    """Register `vlagent/Phone-v0` with Gymnasium (idempotent)."""
    import gymnasium

    if PHONE_ENV_ID not in gymnasium.registry:
        gymnasium.register(id=PHONE_ENV_ID, entry_point="vlagent.sim.gym_env:PhoneEnv", nondeterministic=False)

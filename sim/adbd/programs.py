"""The table of programs the simulated device's shell can run (name -> Program).

Names not in this table fail as on a phone (`inaccessible or not found`, exit 127); the
shell's own builtins (`echo`, `true`, `false`, `exit`, `sleep`) live in `sim.adbd.shell`.
"""

from vlagent.sim.adbd.activity_cmd import ActivityCommands
from vlagent.sim.adbd.input_cmd import InputCommand
from vlagent.sim.adbd.system_cmd import SystemCommands
from vlagent.sim.adbd.text_cmd import PROGRAMS as TEXT_PROGRAMS


def build_programs(device) -> dict:
    """Programs bound to `device` (a SimDevice)."""
    programs = {"input": InputCommand(device)}
    programs.update(ActivityCommands(device).programs())
    programs.update(SystemCommands(device).programs())
    programs.update(TEXT_PROGRAMS)
    return programs

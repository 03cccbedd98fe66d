"""Policies for the ROS 2 node tests, named on the command line as `tests.ros2_policies:FACTORY`.

`timed(context)`: answers Twist(linear, angular) after `delay_s` seconds per decision (a model's
latency), alternating the sign of angular each step so replay scores can tell steps apart; with
`stall_after=N` the decision after the N-th never returns (a hung model); with `fail_after=N`
every later call raises a PolicyOutputError; with `finish_after=N` it answers Finish after N;
with `navigate_at=N` decision N is NavigateTo(x=1.5, y=-2, yaw=pi/2) in "map".
"""

import math
import threading
import time

from vlagent.agent.actions import Finish, NavigateTo, Twist, action_to_json
from vlagent.agent.errors import PolicyOutputError
from vlagent.agent.interfaces import Decision


class TimedPolicy:
    def __init__(self, delay_s=0.3, linear=0.3, angular=0.4, stall_after=None, fail_after=None, finish_after=None,
                 navigate_at=None):
        self.delay_s, self.linear, self.angular = float(delay_s), float(linear), float(angular)
        self.stall_after, self.fail_after, self.finish_after = stall_after, fail_after, finish_after
        self.navigate_at = navigate_at

    def act(self, observation, history):
        time.sleep(self.delay_s)
        step = len(history)
        if self.stall_after is not None and step >= int(self.stall_after):
            threading.Event().wait()  # hangs for good, like a wedged model
        if self.fail_after is not None and step >= int(self.fail_after):
            raise PolicyOutputError("garbage", "no action found")
        if self.finish_after is not None and step >= int(self.finish_after):
            action = Finish(reason="done")
        elif self.navigate_at is not None and step == int(self.navigate_at):
            action = NavigateTo(x=1.5, y=-2.0, yaw=math.pi / 2, frame_id="map")
        else:
            action = Twist(linear=self.linear, angular=self.angular if step % 2 == 0 else -self.angular, seconds=5.0)
        return Decision(action=action, raw_text=action_to_json(action))


def timed(context):
    return TimedPolicy(**context.options)

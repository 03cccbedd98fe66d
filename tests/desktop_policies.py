"""A policy for the desktop tests, named `tests.desktop_policies:tk_task` on the command line.

It drives tests/desktop_app.py from the geometry the app writes (`state_dir` option): click
"Save", click the entry and type TEXT, right-click the label and choose "Rename" from the menu,
then scroll the list until "Item 40" is in view, and finish. Screen px from the app become frame px
through the frame's own transform (`frame.to_device.inverse()`), the one coordinate contract, so
a downscaled capture or a region offset is exercised, not assumed away. With `outside=true` its
only action is a click at screen px (5, 5), for the confinement test.
"""

import json
import time
from pathlib import Path

from vlagent.agent.actions import Click, Finish, Scroll, Tap, TypeText, action_to_json
from vlagent.agent.interfaces import Decision

TEXT = "Grüße, 世界 ✓ — naïve"
LIST_TARGET = 40


class TkTaskPolicy:
    def __init__(self, state_dir, outside=False):
        self.state = Path(state_dir)
        self.outside = str(outside).lower() == "true"
        self.plan = ["save", "entry", "type", "menu", "rename", "scroll", "finish"]

    def _geometry(self, key=None):
        deadline = time.monotonic() + 5
        while True:
            geometry = json.loads((self.state / "geometry.json").read_text())
            if key is None or key in geometry or time.monotonic() > deadline:
                return geometry
            time.sleep(0.05)

    @staticmethod
    def _frame_point(frame, screen_x, screen_y):
        return frame.to_device.inverse().apply(screen_x, screen_y)

    def _centre(self, frame, box):
        x, y, w, h = box
        return self._frame_point(frame, x + w / 2, y + h / 2)

    def act(self, observation, history):
        frame, step = observation.frame, len(history)
        if self.outside:
            if step == 0:
                x, y = self._frame_point(frame, 5, 5)
                action = Tap(x=max(0.0, x), y=max(0.0, y))
            else:
                action = Finish(reason="done")
            return Decision(action=action, raw_text=action_to_json(action))
        done = [d.thought for d in history]
        phase = next((p for p in self.plan if p not in done or p == "scroll"), "finish")
        if phase == "scroll" and self._geometry()["list_first"] + 7 >= LIST_TARGET:
            phase = "finish"
        geometry = self._geometry()
        if phase == "save":
            x, y = self._centre(frame, geometry["Save"])
            action = Tap(x=x, y=y)
        elif phase == "entry":
            x, y = self._centre(frame, geometry["entry"])
            action = Tap(x=x, y=y)
        elif phase == "type":
            action = TypeText(text=TEXT)
        elif phase == "menu":
            x, y = self._centre(frame, geometry["label"])
            action = Click(x=x, y=y, button="right")
        elif phase == "rename":
            x, y = self._centre(frame, self._geometry("menu")["menu"]["Rename"])
            action = Tap(x=x, y=y)
        elif phase == "scroll":
            x, y = self._centre(frame, geometry["list"])
            action = Scroll(direction="down", x=x, y=y, amount=0.3)
        else:
            action = Finish(reason="all done")
        return Decision(action=action, raw_text=action_to_json(action), thought=phase)


def tk_task(context):
    return TkTaskPolicy(**context.options)

"""A simulated Android phone: rendered frames, a UI tree, apps with state, and input.

`Phone` is the entry point; `PhoneState` is everything tasks check; `find_app` resolves
an app label or package. See sim/phone/phone.py for the input contract (device px).
"""

from vlagent.sim.phone.apps.catalog import APPS, AppInfo, UnknownAppError, find_app
from vlagent.sim.phone.phone import Phone, PhoneInputError
from vlagent.sim.phone.state import PhoneState

__all__ = ["APPS", "AppInfo", "Phone", "PhoneInputError", "PhoneState", "UnknownAppError", "find_app"]

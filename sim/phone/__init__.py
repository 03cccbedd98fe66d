"""A simulated Android phone: rendered frames, a UI tree, apps with state, and input.

`Phone` is the entry point; `PhoneState` is everything tasks check; `find_app` resolves
an app label or package. `DEFAULT_SIZE` is the natural (portrait) (width, height) in device
px of a new phone; `PHONE_KEY_NAMES` are the key names `Phone.key` takes. See
sim/phone/phone.py for the input contract (device px).
"""

from vlagent.sim.phone.apps.catalog import APPS, AppInfo, UnknownAppError, find_app
from vlagent.sim.phone.phone import PHONE_KEY_NAMES, Phone, PhoneInputError
from vlagent.sim.phone.state import DEFAULT_SIZE, PhoneState

__all__ = ["APPS", "DEFAULT_SIZE", "PHONE_KEY_NAMES", "AppInfo", "Phone", "PhoneInputError", "PhoneState",
           "UnknownAppError", "find_app"]

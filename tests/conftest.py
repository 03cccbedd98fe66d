"""Session-wide test settings, applied before any test module is imported.

MuJoCo picks its OpenGL backend once, when `mujoco` is first imported: software rendering
(osmesa, Debian libosmesa6) must be chosen before any test module imports it.
"""

import os

os.environ.setdefault("MUJOCO_GL", "osmesa")

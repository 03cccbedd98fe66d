"""Put this directory on PYTHONPATH and every Python process started with it fails to import torch
(and transformers), as on a machine without the export extra: a test that runs several
processes (the robot demo's sim-robot and ros2-node) proves none of them needs torch."""

import sys


class _BlockTorch:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "transformers"):
            raise ImportError(f"{name} is blocked: the runtime path must not import it")
        return None


sys.meta_path.insert(0, _BlockTorch())

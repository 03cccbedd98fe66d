#!/usr/bin/env bash
# Install everything on a fresh machine (Debian packages, torch CPU, vlagent with all extras)
# and run the whole test suite. This is the README's test command and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-system.sh
# torch first: installing it after a dependent package would pull the CUDA build.
python3 -m pip install -q torch==2.13.0
python3 -m pip install -q -e '.[all,dev]'
python3 -m pytest -q --timeout=900 "$@"

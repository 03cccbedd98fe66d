#!/usr/bin/env bash
# Install the Debian packages vlagent's tests and tools need (adb server, X server, browser).
# Idempotent: packages already installed are skipped; needs root (or sudo) only when something is missing.
set -euo pipefail

# Add a package here when a landed feature needs it (adb, xvfb, chromium, ...).
PACKAGES=(adb chromium libosmesa6 xvfb xclip xauth scrot)

missing=()
for package in "${PACKAGES[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "install-system: all Debian packages present (${PACKAGES[*]:-none needed})"
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-system: installing ${missing[*]}"
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"

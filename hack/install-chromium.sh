#!/usr/bin/env bash
# Installs Debian's chromium, the headless browser the end-to-end tests in
# test/e2e drive. Does nothing when chromium is already on PATH, so running it
# again is cheap. Needs root (or sudo) and Debian's apt archive.
#
# Usage: hack/install-chromium.sh
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi

command -v chromium || (${SUDO} apt-get update && ${SUDO} env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium)
chromium --version

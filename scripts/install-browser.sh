#!/usr/bin/env bash
# Install Debian's Chromium for the browser tests (tests/browser) when /usr/bin/chromium is missing.
# Idempotent: does nothing when it is already there. Playwright's own browser download
# (`playwright install`) is never used; the tests launch /usr/bin/chromium.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
  echo "install-browser: $CHROMIUM is already installed"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1; then
  SUDO="sudo"
else
  echo "install-browser: $CHROMIUM is missing and this user cannot install packages (not root, no sudo)" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq chromium

if [ ! -x "$CHROMIUM" ]; then
  echo "install-browser: apt-get installed chromium but $CHROMIUM is still missing" >&2
  exit 1
fi
echo "install-browser: installed $("$CHROMIUM" --version 2>/dev/null || echo chromium)"

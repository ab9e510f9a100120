#!/usr/bin/env bash
# Runs a command in a private D-Bus session with a fresh, unlocked
# gnome-keyring: the OS keyring (Secret Service) that Tank Encoder keeps
# secrets in, for tests on machines without a desktop session. The keyring
# lives in a temporary folder, so nothing is left behind and no earlier
# keyring (with another password) gets in the way.
#   bash scripts/with-keyring.sh cargo nextest run
set -euo pipefail
keyrings=$(mktemp -d)
trap 'rm -rf "$keyrings"' EXIT
export TANK_TEST_KEYRINGS="$keyrings"
dbus-run-session -- bash -c '
    echo -n tank-tests | XDG_DATA_HOME="$TANK_TEST_KEYRINGS" gnome-keyring-daemon --unlock --components=secrets >/dev/null
    exec "$@"' with-keyring "$@"

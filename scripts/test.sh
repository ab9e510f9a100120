#!/usr/bin/env bash
# Runs every check Tank Encoder has: formatting, lints, and all tests
# (unit, integration against real kubo nodes and real FFmpeg, end to end
# through the `tank` binary, the Linux packages built and installed).
# Installs what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

echo "== frontend: type check and unit tests (ui/)"
npm run --prefix ui --silent check
npm run --prefix ui --silent test

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== tests"
# In a private D-Bus session with a fresh gnome-keyring: secrets go to the
# real OS keyring in tests too.
if cargo nextest --version >/dev/null 2>&1; then
    # Process per test; tests mostly wait on harness nodes and FFmpeg.
    bash scripts/with-keyring.sh cargo nextest run --workspace --locked --test-threads 4 --no-fail-fast
else
    bash scripts/with-keyring.sh cargo test --workspace --locked --no-fail-fast
fi

echo "== installers: build the .deb and .rpm, check them, install the .deb into a clean root"
bash installers/tests/run.sh

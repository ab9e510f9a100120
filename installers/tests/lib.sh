# shellcheck shell=bash
# Assertions for the packaging tests (sourced). Each test script prints what
# it checks; the first failed expectation stops it with a non-zero exit.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

step() { printf '\n-- %s\n' "$*"; }
pass() { printf '   ok: %s\n' "$*"; }
fail() {
    printf '   FAILED: %s\n' "$*" >&2
    exit 1
}

# expect_contains TEXT NEEDLE WHAT
expect_contains() {
    if [[ $1 == *"$2"* ]]; then pass "$3"; else fail "$3: expected to find '$2' in:
$1"; fi
}

# expect_file PATH WHAT / expect_no_file PATH WHAT
expect_file() { if [[ -e $1 ]]; then pass "$2"; else fail "$2: $1 does not exist"; fi; }
expect_no_file() { if [[ ! -e $1 ]]; then pass "$2"; else fail "$2: $1 exists"; fi; }

#!/usr/bin/env bash
# stage-sidecars.py puts `tank` and the sidecars where the Tauri bundler
# wants them and lists them for it: FFmpeg is required, this machine's
# FFmpeg stands in (with its libraries as package dependencies) only when
# asked, and a missing kubo is reported loudly without failing the build.
#
#   bash installers/tests/stage-sidecars.sh   (needs target/debug/tank)
source "$(dirname "$0")/lib.sh"

target=$(rustc -vV | sed -n 's/^host: //p')
[[ -x $ROOT/target/debug/tank ]] || fail "no target/debug/tank: cargo build -p tank-cli"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

stage() { # DIR ARGS...: sets $out, $status
    status=0
    out=$(TANK_SIDECAR_DIR=$1 python3 "$ROOT/installers/stage-sidecars.py" --target "$target" --profile debug \
        "${@:2}" 2>&1) || status=$?
}
bins() { python3 -c 'import json, sys; print(" ".join(p.rsplit("/", 1)[1] for p in json.load(open(sys.argv[1]))["bundle"]["externalBin"]))' "$1"; }

step "without FFmpeg sidecars, and without --system-ffmpeg, staging stops"
stage "$work/none"
[[ $status -ne 0 ]] && pass "it failed (exit $status)" || fail "it succeeded: $out"
expect_contains "$out" "no ffmpeg sidecar at $work/none/tank-ffmpeg-$target" "it names the missing sidecar"
expect_contains "$out" "fetch-sidecars.sh" "and says how to get it"

step "with this machine's FFmpeg and no kubo: built, and kubo's absence is reported"
stage "$work/system" --system-ffmpeg --bundle-config "$ROOT/installers/linux/bundle.json"
[[ $status -eq 0 ]] && pass "it succeeded" || fail "exit $status: $out"
expect_contains "$out" "kubo sidecar ABSENT" "kubo's absence is reported"
expect_contains "$out" "use \`ipfs\`"$'\n'"!! on PATH" "with what the app does instead"
[[ $(bins "$work/system/tauri.sidecars.json") == "tank tank-ffmpeg tank-ffprobe" ]] &&
    pass "the bundler gets tank, tank-ffmpeg and tank-ffprobe" || fail "externalBin: $(bins "$work/system/tauri.sidecars.json")"
cmp -s "$ROOT/target/debug/tank" "$work/system/tank-$target" && pass "tank is cargo's debug build" || fail "tank differs"
cmp -s "$(command -v ffmpeg)" "$work/system/tank-ffmpeg-$target" && pass "tank-ffmpeg is this machine's ffmpeg" ||
    fail "tank-ffmpeg is not $(command -v ffmpeg)"
depends=$(cat "$work/system/tauri.sidecars.json")
libavcodec=$(readlink -f "$(ldd "$(command -v ffmpeg)" | awk '/libavcodec/ {print $3}')")
package=$(dpkg-query -S "$(basename "$libavcodec")" | head -n1 | cut -d: -f1)
expect_contains "$depends" "\"$package (>= " "the .deb depends on $package, which ffmpeg links"
expect_contains "$depends" "libavcodec.so." "the .rpm on libavcodec's soname"

step "with a fetched (static) kubo: it is bundled too"
mkdir -p "$work/fetched"
printf '#!/bin/sh\necho kubo stand-in\n' >"$work/fetched/tank-kubo-$target"
chmod +x "$work/fetched/tank-kubo-$target"
stage "$work/fetched" --system-ffmpeg
[[ $status -eq 0 ]] && pass "it succeeded" || fail "exit $status: $out"
[[ $out != *ABSENT* ]] && pass "nothing reported absent" || fail "reported absent: $out"
[[ $(bins "$work/fetched/tauri.sidecars.json") == "tank tank-ffmpeg tank-ffprobe tank-kubo" ]] &&
    pass "the bundler gets tank-kubo as well" || fail "externalBin: $(bins "$work/fetched/tauri.sidecars.json")"

printf '\nstage-sidecars: all checks passed\n'

#!/usr/bin/env bash
# The sidecar fetch scripts install nothing from an archive whose SHA-256 is
# not the committed one, and install what verifies. Archives are served from
# a local mirror folder (TANK_SIDECAR_MIRROR): these machines have no
# internet, and the checksum check is the same whatever the source.
source "$(dirname "$0")/lib.sh"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mirror=$work/mirror
mkdir -p "$mirror"

# fetch PLATFORM TARGET: runs the platform's script into a fresh folder;
# sets $out (its output), $status and $dir.
fetch() {
    dir=$work/sidecars-$1-$RANDOM
    status=0
    out=$(TANK_SIDECAR_MIRROR=file://$mirror TANK_SIDECAR_DIR=$dir \
        bash "$ROOT/installers/$1/fetch-sidecars.sh" --target "$2" 2>&1) || status=$?
}

# An archive laid out like the official one, with a stand-in program.
make_tar() { # NAME MEMBER...
    local name=$1 staging=$work/staging-$RANDOM
    shift
    for member in "$@"; do
        mkdir -p "$staging/$(dirname "$member")"
        printf '#!/bin/sh\necho stand-in for %s\n' "$member" >"$staging/$member"
    done
    tar -C "$staging" -cJf "$mirror/$name" "$@"
}

# Each platform, and the archive its script fetches first.
for case in linux:x86_64-unknown-linux-gnu:ffmpeg-7.0.2-amd64-static.tar.xz \
    macos:aarch64-apple-darwin:ffmpeg-7.1.1-macos-arm64.zip \
    windows:x86_64-pc-windows-msvc:ffmpeg-7.1.1-essentials_build.zip; do
    IFS=: read -r platform target first <<<"$case"
    step "$platform: a tampered archive is refused, deleted, and nothing is installed"
    rm -rf "${mirror:?}"/*
    # The mirror serves something other than what was published, for every name.
    for name in $(grep -v '^#' "$ROOT/installers/sidecars/SHA256SUMS" | awk '{print $2}'); do
        printf 'not the archive that was published as %s\n' "$name" >"$mirror/$name"
    done
    fetch "$platform" "$target"
    [[ $status -ne 0 ]] && pass "the script failed (exit $status)" || fail "the script succeeded:
$out"
    expect_contains "$out" "CHECKSUM MISMATCH" "it says the checksum does not match"
    expected=$(grep -v '^#' "$ROOT/installers/sidecars/SHA256SUMS" | awk -v n="$first" '$2 == n {print $1}')
    [[ -n $expected ]] || fail "$first has no line in SHA256SUMS"
    actual=$(sha256sum "$mirror/$first" | cut -d' ' -f1)
    expect_contains "$out" "$first" "it names the archive ($first)"
    expect_contains "$out" "expected sha256 $expected" "it gives the committed checksum"
    expect_contains "$out" "got      sha256 $actual" "it gives the tampered file's checksum"
    leftovers=$(find "$dir" -type f 2>/dev/null | sort)
    [[ -z $leftovers ]] && pass "no archive kept and no sidecar installed" || fail "files left behind:
$leftovers"
done

step "an archive with no committed checksum is refused"
make_tar unlisted.tar.xz kubo/ipfs
printf '%s  %s\n' "$(sha256sum "$mirror/unlisted.tar.xz" | cut -d' ' -f1)" other.tar.xz >"$work/SHA256SUMS"
status=0
out=$(TANK_SIDECAR_CHECKSUMS=$work/SHA256SUMS TANK_SIDECAR_MIRROR=file://$mirror TANK_SIDECAR_DIR=$work/unlisted \
    bash -c 'source "$1/installers/sidecars/fetch.sh"; fetch_archive unlisted.tar.xz' _ "$ROOT" 2>&1) || status=$?
[[ $status -ne 0 ]] && pass "refused (exit $status)" || fail "accepted an unlisted archive: $out"
expect_contains "$out" "no checksum for unlisted.tar.xz" "it says there is no checksum for it"

step "linux: archives that match their checksums become the sidecars"
rm -rf "${mirror:?}"/*
make_tar ffmpeg-7.0.2-amd64-static.tar.xz ffmpeg-7.0.2-amd64-static/ffmpeg ffmpeg-7.0.2-amd64-static/ffprobe
make_tar stand-in.tar.xz kubo/ipfs
mv "$mirror/stand-in.tar.xz" "$mirror/kubo_v0.42.0_linux-amd64.tar.gz" # tar reads either compression
(cd "$mirror" && sha256sum ./* | sed 's|\./||') >"$work/SHA256SUMS"
status=0
dir=$work/verified
out=$(TANK_SIDECAR_CHECKSUMS=$work/SHA256SUMS TANK_SIDECAR_MIRROR=file://$mirror TANK_SIDECAR_DIR=$dir \
    bash "$ROOT/installers/linux/fetch-sidecars.sh" --target x86_64-unknown-linux-gnu 2>&1) || status=$?
[[ $status -eq 0 ]] && pass "the script succeeded" || fail "exit $status:
$out"
for tool in ffmpeg ffprobe kubo; do
    sidecar=$dir/tank-$tool-x86_64-unknown-linux-gnu
    expect_file "$sidecar" "tank-$tool sidecar installed"
    [[ -x $sidecar ]] && pass "tank-$tool is executable" || fail "tank-$tool is not executable"
done
expect_contains "$("$dir/tank-kubo-x86_64-unknown-linux-gnu")" "stand-in for kubo/ipfs" "tank-kubo is kubo/ipfs from the archive"
expect_contains "$("$dir/tank-ffprobe-x86_64-unknown-linux-gnu")" "ffmpeg-7.0.2-amd64-static/ffprobe" "tank-ffprobe is the archive's ffprobe"

step "windows: zip archives that match their checksums become the sidecars"
rm -rf "${mirror:?}"/*
make_zip() { # NAME MEMBER...
    python3 - "$mirror/$1" "${@:2}" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w") as archive:
    for member in sys.argv[2:]:
        archive.writestr(member, f"stand-in for {member}\n")
PY
}
make_zip ffmpeg-7.1.1-essentials_build.zip ffmpeg-7.1.1-essentials_build/bin/ffmpeg.exe \
    ffmpeg-7.1.1-essentials_build/bin/ffprobe.exe ffmpeg-7.1.1-essentials_build/bin/ffplay.exe
make_zip kubo_v0.42.0_windows-amd64.zip kubo/ipfs.exe kubo/README.md
(cd "$mirror" && sha256sum ./* | sed 's|\./||') >"$work/SHA256SUMS"
dir=$work/verified-windows
out=$(TANK_SIDECAR_CHECKSUMS=$work/SHA256SUMS TANK_SIDECAR_MIRROR=file://$mirror TANK_SIDECAR_DIR=$dir \
    bash "$ROOT/installers/windows/fetch-sidecars.sh" 2>&1) || fail "the script failed: $out"
pass "the script succeeded"
for tool in ffmpeg ffprobe kubo; do
    expect_file "$dir/tank-$tool-x86_64-pc-windows-msvc.exe" "tank-$tool-x86_64-pc-windows-msvc.exe installed"
done
expect_contains "$(cat "$dir/tank-kubo-x86_64-pc-windows-msvc.exe")" "kubo/ipfs.exe" "tank-kubo is the zip's kubo/ipfs.exe"
expect_no_file "$dir/tank-ffplay-x86_64-pc-windows-msvc.exe" "nothing else is taken from the archive"

step "a verified archive already downloaded is not fetched again"
out=$(TANK_SIDECAR_CHECKSUMS=$work/SHA256SUMS TANK_SIDECAR_MIRROR=file:///nonexistent TANK_SIDECAR_DIR=$dir \
    bash "$ROOT/installers/windows/fetch-sidecars.sh" 2>&1) || fail "the script failed: $out"
expect_contains "$out" "already here, checksum OK" "the cached archive is re-verified and used"

printf '\nfetch-sidecars: all checks passed\n'

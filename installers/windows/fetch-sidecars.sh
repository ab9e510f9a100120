#!/usr/bin/env bash
# Fetches the Windows sidecars for a release build: FFmpeg/ffprobe (gyan.dev's
# essentials build, which ffmpeg.org points to) and kubo (dist.ipfs.tech),
# each checked against installers/sidecars/SHA256SUMS. A mismatch stops
# everything. Runs in Git Bash (the shell of GitHub's Windows runners).
#
#   bash installers/windows/fetch-sidecars.sh [--target x86_64-pc-windows-msvc]
source "$(dirname "$0")/../sidecars/fetch.sh"

target=${2:-x86_64-pc-windows-msvc}
[[ ${1:-} == --target || -z ${1:-} ]] || sidecar_die "usage: $0 [--target TRIPLE]"
[[ $target == x86_64-pc-windows-msvc ]] || sidecar_die "no Windows sidecars for target '$target'"

ffmpeg=ffmpeg-7.1.1-essentials_build
archive=$(fetch_archive "$ffmpeg.zip" \
    "https://github.com/GyanD/codexffmpeg/releases/download/7.1.1/$ffmpeg.zip" \
    "https://www.gyan.dev/ffmpeg/builds/packages/$ffmpeg.zip")
install_sidecar "$archive" "$ffmpeg/bin/ffmpeg.exe" "tank-ffmpeg-$target.exe"
install_sidecar "$archive" "$ffmpeg/bin/ffprobe.exe" "tank-ffprobe-$target.exe"

kubo=kubo_v0.42.0_windows-amd64.zip
archive=$(fetch_archive "$kubo" \
    "https://dist.ipfs.tech/kubo/v0.42.0/$kubo" \
    "https://github.com/ipfs/kubo/releases/download/v0.42.0/$kubo")
install_sidecar "$archive" kubo/ipfs.exe "tank-kubo-$target.exe"

#!/usr/bin/env bash
# Fetches the macOS sidecars for a release build: static FFmpeg/ffprobe
# (Martin Riedl's builds, which ffmpeg.org points to, native for each
# architecture) and kubo (dist.ipfs.tech), each checked against
# installers/sidecars/SHA256SUMS. A mismatch stops everything.
#
#   bash installers/macos/fetch-sidecars.sh --target aarch64-apple-darwin|x86_64-apple-darwin
source "$(dirname "$0")/../sidecars/fetch.sh"

target=${2:-$(rustc -vV 2>/dev/null | sed -n 's/^host: //p')}
[[ ${1:-} == --target || -z ${1:-} ]] || sidecar_die "usage: $0 [--target TRIPLE]"
case $target in
    aarch64-apple-darwin) arch=arm64 build=1741000090 ;;
    x86_64-apple-darwin) arch=amd64 build=1741001873 ;;
    *) sidecar_die "no macOS sidecars for target '$target'" ;;
esac

for tool in ffmpeg ffprobe; do
    # The server names both architectures' files ffmpeg.zip: saved apart.
    archive=$(fetch_archive "$tool-7.1.1-macos-$arch.zip" \
        "https://ffmpeg.martin-riedl.de/download/macos/$arch/${build}_7.1.1/$tool.zip")
    install_sidecar "$archive" "$tool" "tank-$tool-$target"
done

kubo=kubo_v0.42.0_darwin-$arch.tar.gz
archive=$(fetch_archive "$kubo" \
    "https://dist.ipfs.tech/kubo/v0.42.0/$kubo" \
    "https://github.com/ipfs/kubo/releases/download/v0.42.0/$kubo")
install_sidecar "$archive" kubo/ipfs "tank-kubo-$target"

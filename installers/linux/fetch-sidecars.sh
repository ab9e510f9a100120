#!/usr/bin/env bash
# Fetches the Linux sidecars for a release build: static FFmpeg/ffprobe
# (johnvansickle.com, the Linux builds ffmpeg.org points to) and kubo
# (dist.ipfs.tech), each checked against installers/sidecars/SHA256SUMS.
# A mismatch stops everything. Then: bash installers/linux/build.sh --release
#
#   bash installers/linux/fetch-sidecars.sh [--target x86_64-unknown-linux-gnu|aarch64-unknown-linux-gnu]
source "$(dirname "$0")/../sidecars/fetch.sh"

target=${2:-$(rustc -vV 2>/dev/null | sed -n 's/^host: //p')}
[[ ${1:-} == --target || -z ${1:-} ]] || sidecar_die "usage: $0 [--target TRIPLE]"
case $target in
    x86_64-unknown-linux-gnu) arch=amd64 ;;
    aarch64-unknown-linux-gnu) arch=arm64 ;;
    *) sidecar_die "no Linux sidecars for target '$target'" ;;
esac

ffmpeg=ffmpeg-7.0.2-$arch-static
archive=$(fetch_archive "$ffmpeg.tar.xz" \
    "https://johnvansickle.com/ffmpeg/releases/$ffmpeg.tar.xz" \
    "https://johnvansickle.com/ffmpeg/old-releases/$ffmpeg.tar.xz")
install_sidecar "$archive" "$ffmpeg/ffmpeg" "tank-ffmpeg-$target"
install_sidecar "$archive" "$ffmpeg/ffprobe" "tank-ffprobe-$target"

kubo=kubo_v0.42.0_linux-$arch.tar.gz
archive=$(fetch_archive "$kubo" \
    "https://dist.ipfs.tech/kubo/v0.42.0/$kubo" \
    "https://github.com/ipfs/kubo/releases/download/v0.42.0/$kubo")
install_sidecar "$archive" kubo/ipfs "tank-kubo-$target"

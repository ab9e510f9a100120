#!/usr/bin/env bash
# The .deb, installed into a clean Debian root the way an operator installs
# it (`apt-get install ./file.deb`, dependencies from Debian's archive):
# `tank` runs and encodes with the bundled FFmpeg, kubo's absence is
# explained, the desktop app opens its window, the service's command runs as
# its user, an upgrade keeps everything, `apt-get remove` keeps the user's
# and the service's data, and only `apt-get purge` deletes the service's.
#
#   bash installers/tests/deb-install.sh [target/debug/bundle/deb/<file>.deb]
#
# Needs root (it uses sudo otherwise), debootstrap, Xvfb, x11-utils and
# ffmpeg on this machine, and Debian's archive (deb.debian.org).
if [[ $(id -u) -ne 0 ]]; then
    exec sudo --preserve-env bash "$0" "$@" # debootstrap, chroot and mounts need root
fi
source "$(dirname "$0")/lib.sh"

deb=${1:-$(ls "$ROOT"/target/debug/bundle/deb/*.deb 2>/dev/null | head -n1)}
[[ -f $deb ]] || fail "no .deb: run installers/linux/build.sh first"
version=$(dpkg-deb -f "$deb" Version)
out=$ROOT/target/pkgtest
root=$out/root
mkdir -p "$out"

in_root() { chroot "$root" "$@"; }
as_alice() { chroot "$root" runuser -u alice -- env HOME=/home/alice PATH=/usr/local/bin:/usr/bin:/bin "$@"; }
apt_in_root() {
    in_root env DEBIAN_FRONTEND=noninteractive apt-get -o Acquire::Retries=3 -y -q "$@" >>"$out/apt.log" 2>&1 ||
        fail "apt-get $* failed; see $out/apt.log:
$(tail -n 20 "$out/apt.log")"
}
sha() { sha256sum "$1" | cut -d' ' -f1; }

kill_in_root() {
    local proc
    for proc in /proc/[0-9]*; do
        [[ $(readlink "$proc/root" 2>/dev/null) == "$root" ]] && kill -9 "${proc#/proc/}" 2>/dev/null
    done
    return 0
}

display=""
cleanup() {
    # Everything started inside the root, then its mounts, then the root.
    kill_in_root
    [[ -n $display ]] && kill "$xvfb_pid" 2>/dev/null
    for mount in tmp/.X11-unix dev sys proc; do
        mountpoint -q "$root/$mount" && umount -R -l "$root/$mount"
    done
    rm -rf "$root"
}
trap cleanup EXIT

step "a clean Debian root (debootstrap minbase bookworm)"
rm -rf "$root"
debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian >"$out/debootstrap.log" 2>&1 ||
    fail "debootstrap failed; see $out/debootstrap.log"
cat >"$root/etc/apt/sources.list" <<'EOF'
deb http://deb.debian.org/debian bookworm main
deb http://deb.debian.org/debian bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
EOF
cp /etc/resolv.conf "$root/etc/resolv.conf"
mount -t proc proc "$root/proc"
mount --rbind /sys "$root/sys" && mount --make-rslave "$root/sys"
mount --rbind /dev "$root/dev" && mount --make-rslave "$root/dev"
expect_no_file "$root/usr/bin/ffmpeg" "the root has no FFmpeg of its own"
in_root useradd --create-home alice
pass "a clean root with a desktop user, alice"

step "apt-get install ./$(basename "$deb")"
cp "$deb" "$root/tmp/tank-encoder.deb"
apt_in_root update
apt_in_root install --no-install-recommends /tmp/tank-encoder.deb
expect_contains "$(in_root dpkg-query -W -f='${Status} ${Version}' tank-encoder)" "install ok installed $version" \
    "tank-encoder $version is installed, its dependencies from Debian"
expect_contains "$(in_root tank --version)" "tank $version" "tank --version"
expect_contains "$(in_root tank-ffmpeg -hide_banner -version)" "ffmpeg version" "the bundled tank-ffmpeg runs"
expect_file "$root/usr/share/applications/Tank Encoder.desktop" "desktop entry"
expect_file "$root/usr/share/icons/hicolor/128x128/apps/tank-desktop.png" "icon"
expect_file "$root/usr/lib/systemd/system/tank-encoder.service" "systemd unit"
expect_contains "$(in_root getent passwd tank-encoder)" "/var/lib/tank-encoder" "the service's user was made"
expect_file "$root/etc/tank-encoder/config.toml" "the service's settings were made from the example"

step "tank encodes with the bundled FFmpeg (alice's first job)"
ffmpeg -loglevel error -f lavfi -i testsrc2=size=320x240:rate=25 -t 2 -pix_fmt yuv420p "$root/home/alice/clip.mp4"
mkdir -p "$root/home/alice/.config/tank-encoder"
cat >"$root/home/alice/.config/tank-encoder/config.toml" <<'EOF'
# No node answers here: the job encodes, then fails retryably at the upload.
[pinning]
retries = 1
backoff = ["1s"]
[[nodes]]
name = "supernode"
api = "http://127.0.0.1:9"
EOF
in_root chown -R alice:alice /home/alice
as_alice tank encode /home/alice/clip.mp4 >"$out/encode.log" 2>&1 || true
job=$(as_alice tank job 1)
expect_contains "$job" "240p (320x240)" "the video was encoded (by tank-ffmpeg: the root has no other)"
expect_contains "$job" "retryable  yes" "and waits, retryable, for the unreachable node"
user_db=$root/home/alice/.local/share/tank-encoder/tank.db
expect_file "$user_db" "alice's job store"

step "kubo: not bundled in this build, found on PATH, or explained"
printf '[local_node]\nenabled = true\n' >"$root/tmp/local-node.toml"
status=$(as_alice tank --config /tmp/local-node.toml --data-dir /tmp/local-node node status 2>&1 || true)
expect_no_file "$root/usr/bin/tank-kubo" "no kubo sidecar in this package"
expect_contains "$status" "Install kubo (https://docs.ipfs.tech/install/command-line/)" "tank says how to install kubo"
printf '#!/bin/sh\n[ "$1 $2" = "version --number" ] && echo 0.42.0\n' >"$root/usr/local/bin/ipfs"
chmod +x "$root/usr/local/bin/ipfs"
status=$(as_alice tank --config /tmp/local-node.toml --data-dir /tmp/local-node node status 2>&1 || true)
expect_contains "$status" "kubo      0.42.0 at ipfs" "an ipfs on PATH is found and its version read"
rm "$root/usr/local/bin/ipfs"

step "the desktop app opens its window under Xvfb"
display=:$((90 + RANDOM % 100))
Xvfb "$display" -screen 0 1280x900x24 -nolisten tcp >"$out/xvfb.log" 2>&1 &
xvfb_pid=$!
mkdir -p "$root/tmp/.X11-unix"
for _ in $(seq 50); do [[ -S /tmp/.X11-unix/X${display#:} ]] && break; sleep 0.1; done
mount --bind /tmp/.X11-unix "$root/tmp/.X11-unix"
as_alice env DISPLAY="$display" tank-desktop >"$out/app.log" 2>&1 &
window=""
for _ in $(seq 120); do
    window=$(xwininfo -display "$display" -root -tree | grep '"Tank Encoder"' || true)
    [[ -n $window ]] && break
    sleep 0.5
done
[[ -n $window ]] && pass "a window titled \"Tank Encoder\" is open: ${window# *}" || fail "no window after 60 s; the app said:
$(tail -n 20 "$out/app.log")"
# The webview has drawn the app, not a blank page: many colours on screen.
colours=0
for _ in $(seq 30); do
    ffmpeg -loglevel error -y -f x11grab -video_size 1200x780 -i "$display" -frames:v 1 "$out/installed-app.png"
    colours=$(ffmpeg -loglevel error -i "$out/installed-app.png" -f rawvideo -pix_fmt rgb24 - |
        python3 -c 'import sys; d = sys.stdin.buffer.read(); print(len({d[i:i + 3] for i in range(0, len(d), 3)}))')
    ((colours > 50)) && break
    sleep 1
done
((colours > 50)) && pass "the window shows the app ($colours colours; $out/installed-app.png)" ||
    fail "the window stayed blank ($colours colours)"
kill_in_root

step "the service's command runs as its user, with the unit's settings"
unit=$root/usr/lib/systemd/system/tank-encoder.service
environment=$(sed -n 's/^Environment=//p' "$unit")
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
install -d -o "$(in_root id -u tank-encoder)" "$root/var/lib/tank-encoder" # StateDirectory=
# shellcheck disable=SC2086 # the unit's words, split as systemd splits them
in_root runuser -u tank-encoder -- env $environment timeout -s TERM 5 $exec_start >"$out/service.log" 2>&1 || true
expect_contains "$(cat "$out/service.log")" "daemon running" "tank daemon started as tank-encoder"
expect_contains "$(cat "$out/service.log")" "daemon stopped" "and stopped cleanly on SIGTERM"
service_db=$root/var/lib/tank-encoder/tank.db
expect_file "$service_db" "the service's job store is in /var/lib/tank-encoder"
printf '\n# edited by the operator\n' >>"$root/etc/tank-encoder/config.toml"

step "an upgrade (a newer .deb over this one) keeps everything"
newer=$((${version##*.} + 1))
newer=${version%.*}.$newer
repack=$out/repack
rm -rf "$repack"
dpkg-deb -R "$deb" "$repack"
sed -i "s/^Version: .*/Version: $newer/" "$repack/DEBIAN/control"
dpkg-deb -Zgzip -z1 -b "$repack" "$root/tmp/tank-encoder-newer.deb" >/dev/null
rm -rf "$repack"
apt_in_root install --no-install-recommends /tmp/tank-encoder-newer.deb
expect_contains "$(in_root dpkg-query -W -f='${Version}' tank-encoder)" "$newer" "$newer replaced $version"
expect_contains "$(as_alice tank jobs)" "/home/alice/clip.mp4" "alice's job is still listed"
expect_contains "$(cat "$root/etc/tank-encoder/config.toml")" "edited by the operator" "the service's settings were kept"

step "apt-get remove keeps the user's data and the service's"
user_db_sha=$(sha "$user_db")
service_db_sha=$(sha "$service_db")
apt_in_root remove tank-encoder
expect_no_file "$root/usr/bin/tank" "tank is gone"
expect_no_file "$root/usr/bin/tank-desktop" "the app is gone"
[[ $(sha "$user_db") == "$user_db_sha" ]] && pass "alice's job store is untouched" || fail "alice's job store changed"
jobs=$(python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from jobs").fetchone()[0])' "$user_db")
[[ $jobs == 1 ]] && pass "and still has her job" || fail "alice's store has $jobs jobs"
expect_file "$root/home/alice/.config/tank-encoder/config.toml" "alice's settings are kept"
expect_file "$root/home/alice/.local/share/tank-encoder/jobs/1/hls" "alice's encoded output is kept"
[[ $(sha "$service_db") == "$service_db_sha" ]] && pass "the service's job store is kept" || fail "the service's store changed"
expect_contains "$(cat "$root/etc/tank-encoder/config.toml")" "edited by the operator" "the service's settings are kept"

step "apt-get purge (asked for) deletes the service's data, never a user's"
apt_in_root purge tank-encoder
expect_no_file "$root/var/lib/tank-encoder" "the service's data is deleted"
expect_no_file "$root/etc/tank-encoder" "the service's settings are deleted"
[[ -z $(in_root getent passwd tank-encoder) ]] && pass "the service's user is deleted" || fail "tank-encoder user remains"
[[ $(sha "$user_db") == "$user_db_sha" ]] && pass "alice's job store is untouched" || fail "alice's job store changed"

printf '\ndeb-install: all checks passed\n'

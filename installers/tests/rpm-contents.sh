#!/usr/bin/env bash
# The .rpm holds what the .deb holds, where Fedora-family systems expect it:
# its file list, dependencies and scriptlets, its digests, and its binaries
# byte for byte the ones the .deb installs (these machines run Debian, so it
# is listed and verified here rather than installed).
#
#   bash installers/tests/rpm-contents.sh [<file>.rpm [<file>.deb]]
#
# Needs Debian's `rpm` package (rpm, rpm2archive).
source "$(dirname "$0")/lib.sh"

rpm=${1:-$(ls "$ROOT"/target/debug/bundle/rpm/*.rpm 2>/dev/null | head -n1)}
deb=${2:-$(ls "$ROOT"/target/debug/bundle/deb/*.deb 2>/dev/null | head -n1)}
[[ -f $rpm && -f $deb ]] || fail "no .rpm or .deb: run installers/linux/build.sh first"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

step "$(basename "$rpm"): integrity and header"
expect_contains "$(rpm -K --nosignature "$rpm")" "digests OK" "the payload matches its digests"
expect_contains "$(rpm -qp --queryformat '%{NAME} %{VERSION} %{ARCH}' "$rpm")" \
    "tank-encoder $(dpkg-deb -f "$deb" Version) x86_64" "name, version and architecture"

step "files"
expected="/usr/bin/tank
/usr/bin/tank-desktop
/usr/bin/tank-ffmpeg
/usr/bin/tank-ffprobe
/usr/lib/systemd/system/tank-encoder.service
/usr/share/applications/Tank Encoder.desktop
/usr/share/icons/hicolor/128x128/apps/tank-desktop.png
/usr/share/icons/hicolor/256x256@2/apps/tank-desktop.png
/usr/share/icons/hicolor/32x32/apps/tank-desktop.png
/usr/share/icons/hicolor/512x512/apps/tank-desktop.png
/usr/share/tank-encoder/config.example.toml"
listed=$(rpm -qlp "$rpm" | grep -v '^/usr/bin/tank-kubo$' | sort)
[[ $listed == "$expected" ]] && pass "exactly the app, tank, the sidecars, the unit, the desktop entry and icons" ||
    fail "the file list differs:
$(diff <(echo "$expected") <(echo "$listed"))"
if rpm -qlp "$rpm" | grep -q '^/usr/bin/tank-kubo$'; then pass "kubo sidecar included"; else
    pass "no kubo sidecar (this build had none: the app uses ipfs on PATH)"; fi
modes=$(rpm -qp --queryformat '[%{FILEMODES:perms} %{FILENAMES}\n]' "$rpm")
for binary in tank tank-desktop tank-ffmpeg tank-ffprobe; do
    expect_contains "$modes" "-rwxr-xr-x /usr/bin/$binary" "/usr/bin/$binary is executable"
done

step "dependencies"
requires=$(rpm -qpR "$rpm")
expect_contains "$requires" "libwebkit2gtk-4.1.so.0()(64bit)" "webkit2gtk 4.1"
expect_contains "$requires" "libgtk-3.so.0()(64bit)" "GTK 3"
expect_contains "$requires" "libayatana-appindicator3.so.1()(64bit)" "ayatana appindicator (the tray)"
mkdir "$work/rpm"
rpm2archive -n - <"$rpm" | tar -x -C "$work/rpm"
# A dynamically linked FFmpeg (Debian's, on build hosts without internet)
# needs its libraries; the static release builds need none.
for soname in $(readelf -d "$work/rpm/usr/bin/tank-ffmpeg" | sed -n 's/.*(NEEDED).*\[\(libav[a-z]*\.so\.[0-9]*\)\]/\1/p'); do
    expect_contains "$requires" "$soname()(64bit)" "$soname, which the bundled tank-ffmpeg needs"
done

step "scriptlets"
scripts=$(rpm -qp --scripts "$rpm")
expect_contains "$scripts" "useradd --system" "postinstall makes the service's user"
expect_contains "$scripts" 'if [ "$1" -eq 0 ]' "preuninstall stops the service only on erase, not upgrade"
[[ $scripts != *"rm -rf"* ]] && pass "no scriptlet deletes data" || fail "a scriptlet deletes files:
$scripts"

step "the same binaries and files as the .deb"
dpkg-deb -x "$deb" "$work/deb"
for path in usr/bin/tank usr/bin/tank-desktop usr/bin/tank-ffmpeg usr/bin/tank-ffprobe \
    usr/lib/systemd/system/tank-encoder.service usr/share/tank-encoder/config.example.toml; do
    cmp -s "$work/rpm/$path" "$work/deb/$path" && pass "/$path is identical" || fail "/$path differs"
done
cmp -s "$work/rpm/usr/lib/systemd/system/tank-encoder.service" "$ROOT/installers/linux/tank-encoder.service" &&
    pass "the unit is installers/linux/tank-encoder.service" || fail "the packaged unit is not the committed one"

printf '\nrpm-contents: all checks passed\n'

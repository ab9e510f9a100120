# shellcheck shell=bash
# Shared by the platforms' fetch-sidecars.sh scripts (sourced, not run):
# download an official archive, refuse it unless its SHA-256 is the one
# committed in SHA256SUMS, and take the sidecar binaries out of it.
#
# Environment:
#   TANK_SIDECAR_MIRROR     fetch every archive from here instead (a URL or
#                           file:// folder holding the archives by name);
#                           the checksums are checked all the same
#   TANK_SIDECAR_DIR        where sidecars go (default: target/sidecars)
#   TANK_SIDECAR_CHECKSUMS  another checksum list (default: SHA256SUMS here)
set -euo pipefail

SIDECAR_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SIDECAR_DIR=${TANK_SIDECAR_DIR:-$SIDECAR_ROOT/target/sidecars}
SIDECAR_CHECKSUMS=${TANK_SIDECAR_CHECKSUMS:-$SIDECAR_ROOT/installers/sidecars/SHA256SUMS}
DOWNLOADS=$SIDECAR_DIR/downloads

sidecar_say() { printf 'fetch-sidecars: %s\n' "$*"; }
sidecar_die() {
    printf '\nfetch-sidecars: ERROR: %s\n' "$*" >&2
    exit 1
}

sha256_of() {
    if command -v sha256sum >/dev/null; then
        sha256sum "$1" | cut -d' ' -f1
    else
        shasum -a 256 "$1" | cut -d' ' -f1
    fi
}

# The committed SHA-256 of the archive saved as $1, or nothing.
expected_sha256() {
    awk -v name="$1" '$1 !~ /^#/ && $2 == name { print $1 }' "$SIDECAR_CHECKSUMS"
}

# fetch_archive NAME URL...: the archive saved as $DOWNLOADS/NAME, from the
# first URL that answers (or the mirror), verified. Prints its path.
fetch_archive() {
    local name=$1
    shift
    local expected
    expected=$(expected_sha256 "$name")
    [[ -n $expected ]] || sidecar_die "no checksum for $name in $SIDECAR_CHECKSUMS: refusing to use it unverified"
    mkdir -p "$DOWNLOADS"
    local file=$DOWNLOADS/$name
    if [[ -f $file && $(sha256_of "$file") == "$expected" ]]; then
        sidecar_say "$name: already here, checksum OK" >&2
        printf '%s\n' "$file"
        return
    fi
    local urls=("$@")
    [[ -n ${TANK_SIDECAR_MIRROR:-} ]] && urls=("${TANK_SIDECAR_MIRROR%/}/$name")
    local url fetched=""
    for url in "${urls[@]}"; do
        sidecar_say "$name: downloading $url" >&2
        if curl --fail --location --silent --show-error --retry 3 --output "$file.part" "$url"; then
            fetched=$url
            break
        fi
    done
    [[ -n $fetched ]] || { rm -f "$file.part"; sidecar_die "could not download $name from: ${urls[*]}"; }
    local actual
    actual=$(sha256_of "$file.part")
    if [[ $actual != "$expected" ]]; then
        rm -f "$file.part"
        sidecar_die "CHECKSUM MISMATCH for $name (from $fetched)
    expected sha256 $expected  (committed in $SIDECAR_CHECKSUMS)
    got      sha256 $actual
The file was deleted and nothing was installed. A changed upstream file or a
tampered download must not ship: find out which before updating SHA256SUMS."
    fi
    mv "$file.part" "$file"
    sidecar_say "$name: checksum OK ($actual)" >&2
    printf '%s\n' "$file"
}

# install_sidecar ARCHIVE MEMBER SIDECAR: MEMBER of the (verified) archive
# becomes $SIDECAR_DIR/SIDECAR (named `<name>-<target triple>[.exe]`).
install_sidecar() {
    local archive=$1 member=$2 sidecar=$3
    local unpack
    unpack=$(mktemp -d)
    case $archive in
        *.zip) unzip -q -o "$archive" "$member" -d "$unpack" ;;
        *) tar -xf "$archive" -C "$unpack" "$member" ;;
    esac
    [[ -f $unpack/$member ]] || sidecar_die "$member is not in $(basename "$archive")"
    mkdir -p "$SIDECAR_DIR"
    mv "$unpack/$member" "$SIDECAR_DIR/$sidecar"
    chmod +x "$SIDECAR_DIR/$sidecar"
    rm -rf "$unpack"
    sidecar_say "installed $SIDECAR_DIR/$sidecar (from $(basename "$archive"):$member)"
}

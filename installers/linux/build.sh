#!/usr/bin/env bash
# Builds Tank Encoder's Linux packages, a .deb and an .rpm, with the Tauri
# bundler (a prebuilt binary from npm).
#
#   bash installers/linux/build.sh            # debug binaries: what CI checks
#   bash installers/linux/build.sh --release  # optimised: what ships (~20 min on 2 cores)
#
# Sidecars: run installers/linux/fetch-sidecars.sh first for a release; what
# it fetched is used. Without it, FFmpeg is this machine's (Debian's ffmpeg
# package) and kubo is left out, which the build reports.
# Packages land in target/<profile>/bundle/deb/tank-encoder_<version>_amd64.deb
# and target/<profile>/bundle/rpm/tank-encoder-<version>-1.x86_64.rpm.
set -euo pipefail
cd "$(dirname "$0")/../.."

profile=debug
case "${1:-}" in
    "") ;;
    --release) profile=release ;;
    *) echo "usage: $0 [--release]" >&2; exit 2 ;;
esac
say() { printf '\n== installers/linux: %s\n' "$*"; }
triple=$(rustc -vV | sed -n 's/^host: //p')
cargo_profile=()
bundler_profile=(--debug)
if [[ $profile == release ]]; then
    cargo_profile=(--release)
    bundler_profile=()
fi

say "the Tauri bundler (npm @tauri-apps/cli)"
if [[ ! -x installers/node_modules/.bin/tauri ]]; then
    npm ci --prefix installers --no-audit --no-fund
fi

say "the frontend (ui/dist)"
if [[ ! -d ui/node_modules ]]; then
    npm ci --prefix ui --no-audit --no-fund
fi
npm run --prefix ui --silent build

say "tank-desktop and tank ($profile)"
cargo build --locked "${cargo_profile[@]}" -p tank-desktop -p tank-cli

say "sidecars"
python3 installers/stage-sidecars.py --target "$triple" --profile "$profile" \
    --system-ffmpeg --bundle-config installers/linux/bundle.json

say "packages"
rm -rf "target/$profile/bundle/deb" "target/$profile/bundle/rpm"
(
    cd src-tauri
    # Bundle the binaries built above as they are: no rebuild, and no
    # in-place patching (only the Tauri updater reads it), so the packages
    # hold exactly what cargo built.
    ../installers/node_modules/.bin/tauri bundle "${bundler_profile[@]}" --ci \
        --bundles deb,rpm --no-sign --no-binary-patching \
        --config ../installers/linux/bundle.json \
        --config ../target/sidecars/tauri.sidecars.json
)
# Named the way Debian and rpm name packages (the bundler uses the product
# name, with its space).
for package in "target/$profile/bundle/deb/"*.deb "target/$profile/bundle/rpm/"*.rpm; do
    mv "$package" "$(dirname "$package")/$(basename "$package" | sed 's/^Tank Encoder/tank-encoder/')"
done
ls -l "target/$profile/bundle/deb/" "target/$profile/bundle/rpm/"

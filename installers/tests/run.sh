#!/usr/bin/env bash
# Builds the Linux packages from the debug binaries and runs every packaging
# test: the sidecar fetch scripts' checksum checks, staging the sidecars
# (and reporting kubo's absence), the .rpm's contents, and
# the .deb installed into a clean Debian root (about 4 minutes in all, most
# of it Debian's archive). Part of scripts/test.sh; alone:
#   bash installers/tests/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

bash installers/linux/build.sh
for test in fetch-sidecars stage-sidecars rpm-contents deb-install; do
    printf '\n== installers/tests/%s.sh\n' "$test"
    bash "installers/tests/$test.sh"
done

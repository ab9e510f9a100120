#!/usr/bin/env bash
# Tank Encoder demo: encodes a sample clip to an HLS ladder and makes it
# durable on several IPFS nodes, then shows the full report.
#
# The three IPFS nodes are real kubo nodes (kubo v0.22 as a library, the
# project's test harness) on this machine: "supernode" (primary), "backup-1"
# and "backup-2". To show what tank mode is for, the supernode is made to
# fail its first two pin requests, like the overloaded supernode in the
# operators' incident report; the job retries and still ends durable.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

bash scripts/setup.sh --demo
echo "[demo] building tank"
cargo build --quiet --locked -p tank-cli
tank="$root/target/debug/tank"

demo="$root/target/demo"
rm -rf "$demo"
mkdir -p "$demo"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

start_node() { # name [fault JSON]
    local name=$1; shift
    local args=(--repo "$demo/nodes/$name")
    for fault in "$@"; do args+=(--fault "$fault"); done
    "$root/.venv/bin/python" "$root/tests/harness/kubo_node.py" "${args[@]}" > "$demo/$name.ready" 2> "$demo/$name.log" &
    pids+=($!)
}
echo "[demo] starting three local kubo nodes"
start_node supernode '{"op": "pin/add", "action": "fail", "count": 2, "message": "pin: context deadline exceeded (injected: supernode overloaded)"}'
start_node backup-1
start_node backup-2
api_of() {
    for _ in $(seq 1 300); do
        if [ -s "$demo/$1.ready" ]; then
            "$root/.venv/bin/python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["api"])' "$demo/$1.ready"
            return
        fi
        sleep 0.1
    done
    echo "[demo] node $1 did not start; see $demo/$1.log" >&2
    exit 1
}

cat > "$demo/config.toml" <<TOML
[pinning]
quorum = 2
retries = 5
backoff = ["1s", "2s", "4s"]
attempt_timeout = "30s"

[[nodes]]
name = "supernode"
api = "$(api_of supernode)"
role = "primary"

[[nodes]]
name = "backup-1"
api = "$(api_of backup-1)"

[[nodes]]
name = "backup-2"
api = "$(api_of backup-2)"
TOML

echo "[demo] making a 10 s 1080p sample clip"
ffmpeg -hide_banner -loglevel error -y \
    -f lavfi -i testsrc2=size=1920x1080:rate=30:duration=10 \
    -f lavfi -i sine=frequency=440:sample_rate=48000:duration=10 \
    -c:v libx264 -preset veryfast -pix_fmt yuv420p -c:a aac "$demo/sample.mp4"

echo
echo "[demo] \$ tank encode sample.mp4"
"$tank" --config "$demo/config.toml" --data-dir "$demo/data" encode "$demo/sample.mp4"

echo
echo "[demo] \$ tank nodes"
"$tank" --config "$demo/config.toml" --data-dir "$demo/data" nodes
echo
echo "[demo] the HLS folder is kept in $demo/data/jobs/1/hls"
echo "[demo] config, logs and job history are in $demo"

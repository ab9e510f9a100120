#!/usr/bin/env python3
"""TEST DOUBLE: stands in for an IPFS Cluster (ipfs-cluster v1.1.2) REST API,
which cannot run on this machine.

Wire format: the REST API of ipfs-cluster v1.1.x as its source defines it
(api/rest/restapi.go, api/common/api.go, api/types.go): GET /health, GET /id,
GET /version, POST /token, GET /pins (NDJSON), POST|GET|DELETE /pins/{cid},
POST /pins/{cid}/recover; errors as {"code", "message"}; Basic auth or HS256
JWT bearer tokens from POST /token; types, statuses and field names as
cluster's JSON encoding writes them.

Real work: every cluster peer is backed by a real kubo harness node
(kubo_node.py). Pinning a CID `swarm/connect`s each allocated peer's kubo to the
pin's origins and runs kubo `pin/add` there on a worker thread; status answers
check kubo's real pin set (`pin/ls`), so a pin removed behind the cluster's back
shows as `unexpectedly_unpinned` and an unreachable kubo as `cluster_error`.

Simplified: one process plays every cluster peer (no libp2p, no consensus,
state in memory only); the API is served by the first --peer. Allocation takes
peers whose kubo answers `id` in --peer order (real cluster ranks them by free
space). Replication -1/-1 (or 0, the default) pins everywhere with empty
allocations, as real cluster does. `mode` is echoed but kubo pins are always
recursive. No /add, /peers, /allocations, /pins/recover, path pins, or `cids`
and `local` on GET /pins. No automatic retries: POST /pins/{cid}/recover or a
re-POST re-pins. GET /pins answers with a Content-Length instead of a chunked
stream with an X-Stream-Error trailer.

Usage: cluster_double.py --peer NAME=KUBO_RPC_URL [--peer NAME=URL ...]
           [--basic USER:PASSWORD] [--port N] [--control-port N] [--pin-timeout S]
Prints one JSON line on stdout once ready:
  {"api": url, "control": url, "id": cluster peer id, "peers": {name: cluster peer id}}
Control API: POST /faults {rule} (ops are route ids, e.g. "POST /pins/{cid}",
see ROUTES), POST /faults/clear, POST /refuse, POST /accept, GET /calls, GET /state.
"""

import argparse
import base64
import hashlib
import hmac
import json
import threading
import time

from doubles_common import (
    Api, ApiError, DoubleServer, Kubo, KuboError, Reply, Request,
    authorization, b58encode, basic_credentials, looks_like_cid, now_rfc3339, spawn,
)

VERSION = "1.1.2"
REALM = "Restricted IPFS Cluster API"
ZERO_TIME = "0001-01-01T00:00:00Z"
# Filter names GET /pins accepts; "error" and "queued" are cluster's composites.
STATUS_FILTERS = {
    "error": {"cluster_error", "pin_error", "unpin_error"},
    "queued": {"pin_queued", "unpin_queued"},
    **{s: {s} for s in ("cluster_error", "pin_error", "unpin_error", "pinned", "pinning", "unpinning",
                        "unpinned", "remote", "pin_queued", "unpin_queued", "sharded", "unexpectedly_unpinned")},
}


def peer_id_for(name: str) -> str:
    """A well-formed Ed25519 libp2p peer ID ("12D3KooW..."): the identity
    multihash of a protobuf public key, the key being a hash of the name."""
    key = hashlib.sha256(f"tank-cluster-double/{name}".encode()).digest()
    return b58encode(bytes([0x00, 0x24, 0x08, 0x01, 0x12, 0x20]) + key)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_json(text: str):
    return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))


class Peer:
    """A cluster peer and its IPFS daemon, a kubo harness node."""

    def __init__(self, name: str, url: str):
        self.name = name
        self.id = peer_id_for(name)
        self.kubo = Kubo(url)
        self.ipfs = {"ID": "", "Addresses": []}  # the last answer of kubo `id`

    def up(self) -> bool:
        """Whether kubo answers `id` now (refreshing the cached answer)."""
        try:
            self.ipfs = self.kubo.id()
        except KuboError:
            return False
        return True

    def short(self, status: str, timestamp: str, error: str = "", attempts: int = 0) -> dict:
        """Cluster's PinInfoShort."""
        info = {"peername": self.name}
        if self.ipfs["ID"]:
            info["ipfs_peer_id"] = self.ipfs["ID"]
        if self.ipfs["Addresses"]:
            info["ipfs_peer_addresses"] = self.ipfs["Addresses"]
        info.update(status=status, timestamp=timestamp, error=error, attempt_count=attempts, priority_pin=False)
        return info


class PeerPin:
    """One allocated peer's tracker entry for one pin."""

    def __init__(self):
        self.status = "pin_queued"
        self.error = ""
        self.timestamp = now_rfc3339()
        self.attempts = 0
        self.running = False

    def set(self, status: str, error: str = "") -> None:
        self.status, self.error, self.timestamp = status, error, now_rfc3339()


class ClusterPin:
    def __init__(self, cid: str):
        self.cid = cid
        self.peers: dict[str, PeerPin] = {}  # by cluster peer id, for destination peers

    def update(self, options: dict, allocations: list[Peer]) -> None:
        self.name = options["name"]
        self.mode = options["mode"]
        self.rmin = options["rmin"]
        self.rmax = options["rmax"]
        self.metadata = options["metadata"]
        self.origins = options["origins"]
        self.allocations = allocations
        self.timestamp = now_rfc3339()

    def to_json(self) -> dict:
        """Cluster's Pin object."""
        return {
            "replication_factor_min": self.rmin,
            "replication_factor_max": self.rmax,
            "name": self.name,
            "mode": self.mode,
            "shard_size": 0,
            "user_allocations": None,
            "expire_at": ZERO_TIME,
            "metadata": self.metadata,
            "pin_update": None,
            "origins": self.origins,
            "cid": self.cid,
            "type": "pin",
            "allocations": [p.id for p in self.allocations],
            "max_depth": -1 if self.mode == "recursive" else 0,
            "reference": None,
            "timestamp": self.timestamp,
        }


def pin_options(request: Request) -> dict:
    """Cluster's PinOptions.FromQuery, with its replication defaults (-1) applied."""
    query = {k: v[0] for k, v in request.query.items()}
    if query.get("replication"):
        query["replication-min"] = query["replication-max"] = query["replication"]
    factors = []
    for key in ("replication-min", "replication-max"):
        try:
            factors.append(int(query.get(key) or 0) or -1)
        except ValueError:
            raise ApiError(400, f"parameter {key} invalid") from None
    rmin, rmax = factors
    origins = [o for o in (query.get("origins") or "").split(",") if o] or None
    for origin in origins or []:
        if not origin.startswith("/"):
            raise ApiError(400, f"error decoding multiaddress: failed to parse multiaddr {origin!r}: must begin with /")
        if "/p2p/" not in origin and "/ipfs/" not in origin:
            raise ApiError(400, "multiaddress does not contain peer ID: protocol not found in multiaddr")
    if rmin > rmax:
        raise ApiError(500, "cluster.replication_factor_min is larger than max")
    if rmin < -1 or rmax < -1:
        raise ApiError(500, "cluster.replication_factor_min is wrong" if rmin < -1 else "cluster.replication_factor_max is wrong")
    if (rmin == -1) != (rmax == -1):
        raise ApiError(500, "cluster.replication_factor_min and max must be -1 when one of them is")
    return {
        "name": query.get("name", ""),
        "mode": "direct" if query.get("mode") == "direct" else "recursive",
        "rmin": rmin,
        "rmax": rmax,
        "metadata": {k[len("meta-"):]: v for k, v in query.items() if k.startswith("meta-") and len(k) > 5},
        "origins": origins,
    }


class Cluster(Api):
    def __init__(self, peers: list[Peer], basic: tuple[str, str] | None, pin_timeout: float):
        self.peers = peers
        self.basic = basic
        self.pin_timeout = pin_timeout
        self.pins: dict[str, ClusterPin] = {}
        self.lock = threading.Lock()
        self.routes = [
            ("GET", "/health", lambda r: Reply(204)),
            ("GET", "/id", self.get_id),
            ("GET", "/version", lambda r: Reply(200, {"version": VERSION})),
            ("POST", "/token", self.token),
            ("GET", "/pins", self.list_pins),
            ("POST", "/pins/{cid}/recover", self.recover),
            ("POST", "/pins/{cid}", self.pin),
            ("GET", "/pins/{cid}", self.status),
            ("DELETE", "/pins/{cid}", self.unpin),
        ]

    # -- wire format --

    def error_body(self, status: int, message: str):
        return {"code": status, "message": message}

    def authorize(self, request: Request) -> Reply | None:
        if self.basic is None or (request.method == "GET" and request.path == "/health"):
            return None
        scheme, credentials = authorization(request.headers)
        basic = basic_credentials(credentials) if scheme == "basic" else None
        if basic is not None:
            if basic == self.basic and all(basic):
                return None
            return self._unauthorized("unauthorized: access denied", f'Basic realm="{REALM}"')
        if scheme == "bearer":
            if self._token_issuer(credentials) is not None:
                return None
            return self._unauthorized("unauthorized: invalid token", f'Bearer realm="{REALM}", error="invalid_token"')
        return self._unauthorized("unauthorized: no auth provided", f'Bearer realm="{REALM}"', f'Basic realm="{REALM}"')

    def _unauthorized(self, message: str, *challenges: str) -> Reply:
        return Reply(401, self.error_body(401, message), [("WWW-Authenticate", c) for c in challenges])

    def _sign(self, signing_input: str) -> str:
        return b64url(hmac.new(self.basic[1].encode(), signing_input.encode(), hashlib.sha256).digest())

    def _token_issuer(self, token: str) -> str | None:
        """The issuer of a valid HS256 token signed with the issuer's password, as cluster checks it."""
        try:
            header, payload, signature = token.split(".")
            claims = b64url_json(payload)
            if b64url_json(header).get("alg") != "HS256" or claims.get("iss") != self.basic[0]:
                return None
        except (ValueError, AttributeError, TypeError):
            return None
        return claims["iss"] if hmac.compare_digest(signature, self._sign(f"{header}.{payload}")) else None

    # -- routes --

    def get_id(self, request: Request) -> Reply:
        first = self.peers[0]
        error = ""
        try:
            first.ipfs = first.kubo.id()
        except KuboError as err:
            error = str(err)
        return Reply(200, {
            "id": first.id,
            "addresses": [],
            "cluster_peers": [p.id for p in self.peers],
            "cluster_peers_addresses": [],
            "version": VERSION,
            "commit": "",
            "rpc_protocol_version": "/ipfscluster/1.1/rpc",
            "error": "",
            "ipfs": {"id": first.ipfs["ID"], "addresses": first.ipfs["Addresses"], "error": error},
            "peername": first.name,
        })

    def token(self, request: Request) -> Reply:
        scheme, credentials = authorization(request.headers)
        basic = basic_credentials(credentials) if scheme == "basic" else None
        issuer = basic[0] if basic else self._token_issuer(credentials) if self.basic else None
        if self.basic is None or issuer is None:
            raise ApiError(401, "unauthorized")
        header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
        payload = b64url(json.dumps({"iss": issuer}, separators=(",", ":")).encode())
        return Reply(200, {"token": f"{header}.{payload}.{self._sign(f'{header}.{payload}')}"})

    def list_pins(self, request: Request) -> Reply:
        wanted: set[str] = set()
        for name in (request.arg("filter") or "").replace(" ", "").split(","):
            wanted |= STATUS_FILTERS.get(name, set())
        if request.arg("filter") and not wanted:
            raise ApiError(400, "invalid filter value")
        with self.lock:
            cids = list(self.pins)
        infos = [self.global_info(cid) for cid in cids]
        infos = [i for i in infos if not wanted or any(p["status"] in wanted for p in i["peer_map"].values())]
        return Reply(200, infos, ndjson=True) if infos else Reply(204)

    def status(self, request: Request) -> Reply:
        return Reply(200, self.global_info(self._cid(request)))

    def pin(self, request: Request) -> Reply:
        cid = self._cid(request)
        options = pin_options(request)
        with self.lock:
            existing = self.pins.get(cid)
            current = list(existing.allocations) if existing else []
        allocations = self._allocate(options, current)
        with self.lock:
            pin = self.pins.setdefault(cid, ClusterPin(cid))
            pin.update(options, allocations)
            dropped = [p for p in self.peers if p.id in pin.peers and p not in self._destinations(pin)]
            for peer in dropped:
                del pin.peers[peer.id]
            reply = Reply(200, pin.to_json())
        for peer in dropped:
            spawn(self._unpin_on, peer, cid)
        self._repin(pin)
        return reply

    def recover(self, request: Request) -> Reply:
        cid = self._cid(request)
        with self.lock:
            pin = self.pins.get(cid)
        if pin is not None:
            self._repin(pin)
        return Reply(200, self.global_info(cid))

    def unpin(self, request: Request) -> Reply:
        cid = self._cid(request)
        with self.lock:
            pin = self.pins.pop(cid, None)
            if pin is None:
                raise ApiError(404, "not found")
            destinations = self._destinations(pin)
            reply = Reply(200, pin.to_json())
        for peer in destinations:
            spawn(self._unpin_on, peer, cid)
        return reply

    # -- cluster logic --

    @staticmethod
    def _cid(request: Request) -> str:
        cid = request.params["cid"]
        if not looks_like_cid(cid):
            raise ApiError(400, "error decoding Cid: invalid cid: selected encoding not supported")
        return cid

    def _destinations(self, pin: ClusterPin) -> list[Peer]:
        """Peers that should hold the pin: its allocations, or every peer when pinned everywhere."""
        return self.peers if pin.rmax == -1 else pin.allocations

    def _allocate(self, options: dict, current: list[Peer]) -> list[Peer]:
        """Cluster's allocate(): keep current allocations that still work while
        above replication-min, else add peers whose kubo is up."""
        if options["rmin"] == -1:
            return []
        up = [p for p in self.peers if p.up()]
        current = [p for p in current if p in up]
        candidates = [p for p in up if p not in current]
        needed, wanted = options["rmin"] - len(current), options["rmax"] - len(current)
        if wanted < 0:
            return current[: len(current) + wanted]
        if needed <= 0:
            return current
        if len(candidates) < needed:
            raise ApiError(500, "not enough peers to allocate CID. "
                                f"Needed at least: {needed}. Wanted at most: {wanted}. "
                                f"Available candidates: {len(candidates)}. See logs for more info.")
        return current + candidates[:wanted]

    def _live_status(self, pin: ClusterPin, peer: Peer) -> tuple[str, str, str, int]:
        """(status, timestamp, error, attempts) of a destination peer, checking kubo for pinned ones."""
        with self.lock:
            entry = pin.peers.setdefault(peer.id, PeerPin())
            status, timestamp, error, attempts = entry.status, entry.timestamp, entry.error, entry.attempts
        if status != "pinned":
            return status, timestamp, error, attempts
        try:
            if peer.kubo.pinned(pin.cid):
                return status, timestamp, error, 0
            return "unexpectedly_unpinned", now_rfc3339(), "", attempts
        except KuboError as err:
            return "cluster_error", now_rfc3339(), str(err), attempts

    def global_info(self, cid: str) -> dict:
        """Cluster's GlobalPinInfo, with every destination peer's status checked now."""
        now = now_rfc3339()
        with self.lock:
            pin = self.pins.get(cid)
        if pin is None:
            return {"cid": cid, "name": "", "allocations": [], "origins": None, "created": now,
                    "metadata": None, "peer_map": {p.id: p.short("unpinned", now) for p in self.peers}}
        destinations = self._destinations(pin)
        peer_map = {}
        for peer in self.peers:
            peer_map[peer.id] = peer.short(*self._live_status(pin, peer)) if peer in destinations \
                else peer.short("remote", now)
        return {"cid": cid, "name": pin.name, "allocations": [p.id for p in pin.allocations],
                "origins": pin.origins, "created": pin.timestamp, "metadata": pin.metadata, "peer_map": peer_map}

    def _repin(self, pin: ClusterPin) -> None:
        """Starts a pin worker on each destination peer that does not hold the pin and is not already pinning it."""
        for peer in self._destinations(pin):
            status = self._live_status(pin, peer)[0]
            with self.lock:
                entry = pin.peers.get(peer.id)
                if entry is None or entry.running or status == "pinned" or self.pins.get(pin.cid) is not pin:
                    continue
                entry.running = True
                entry.set("pin_queued")
            spawn(self._pin_on, pin, peer, entry)

    def _pin_on(self, pin: ClusterPin, peer: Peer, entry: PeerPin) -> None:
        deadline = time.monotonic() + self.pin_timeout
        with self.lock:
            entry.set("pinning")
            entry.attempts += 1
            origins = list(pin.origins or [])
        peer.kubo.connect(origins, deadline)
        try:
            peer.kubo.pin_add(pin.cid, deadline)
            status, error = "pinned", ""
        except KuboError as err:
            status, error = "pin_error", str(err)
        with self.lock:
            entry.set(status, error)
            entry.running = False
            still_wanted = self.pins.get(pin.cid) is pin and pin.peers.get(peer.id) is entry
        if status == "pinned" and not still_wanted:
            self._unpin_on(peer, pin.cid)

    def _unpin_on(self, peer: Peer, cid: str) -> None:
        """Best effort, like cluster's unpin: a CID that is already gone is fine."""
        with self.lock:
            if cid in self.pins and peer in self._destinations(self.pins[cid]):
                return
        try:
            peer.kubo.pin_rm(cid)
        except KuboError:
            pass

    def state(self):
        with self.lock:
            by_id = {p.id: p.name for p in self.peers}
            return {cid: {**pin.to_json(),
                          "allocations": [p.name for p in pin.allocations],
                          "peers": {by_id[pid]: {"status": e.status, "error": e.error, "timestamp": e.timestamp,
                                                 "attempt_count": e.attempts, "running": e.running}
                                    for pid, e in pin.peers.items()}}
                    for cid, pin in self.pins.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer", action="append", required=True, metavar="NAME=KUBO_RPC_URL")
    parser.add_argument("--basic", metavar="USER:PASSWORD")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--control-port", type=int, default=0)
    parser.add_argument("--pin-timeout", type=float, default=120.0)
    args = parser.parse_args()

    peers = []
    for spec in args.peer:
        name, sep, url = spec.partition("=")
        if not sep or not name or not url:
            parser.error(f"--peer must be NAME=KUBO_RPC_URL, got {spec!r}")
        peers.append(Peer(name, url))
    if len({p.name for p in peers}) != len(peers):
        parser.error("--peer names must be distinct")
    basic = None
    if args.basic:
        user, sep, password = args.basic.partition(":")
        if not sep or not user or not password:
            parser.error("--basic must be USER:PASSWORD")
        basic = (user, password)
    for peer in peers:
        peer.up()

    cluster = Cluster(peers, basic, args.pin_timeout)
    DoubleServer(cluster, args.port).serve(
        args.control_port, {"id": peers[0].id, "peers": {p.name: p.id for p in peers}})


if __name__ == "__main__":
    main()

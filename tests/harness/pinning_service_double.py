#!/usr/bin/env python3
"""TEST DOUBLE: stands in for a remote pinning service speaking the IPFS
Pinning Service API (spec v1.0.0, as offered by Pinata, Filebase and
4EVERLAND), which cannot be reached from this machine.

Wire format: the spec's /pins routes (GET, POST; GET, POST, DELETE
/pins/{requestid}) with its Pin, PinStatus and PinResults objects, bearer-token
auth, list filters (cid, name, match, status, before, after, limit, meta) and
`{"error": {"reason", "details"}}` failures.

Real work: the service's storage is a real kubo harness node (kubo_node.py).
Each accepted request is worked on a thread: `swarm/connect` the node to the
request's origins, kubo `pin/add` with a deadline (--pin-timeout), then
`pinned` or `failed`. Removing or replacing a request runs kubo `pin/rm` once
no other request holds the CID. `delegates` are the node's real addresses.

Simplified: one token, one user, state in memory only; requests are worked at
once (`queued` only until the worker starts); no quotas or pagination beyond
`limit`/`before`/`after`; a replaced request's old CID is unpinned when the new
one ends, whatever its outcome.

Usage: pinning_service_double.py --node KUBO_RPC_URL --token TOKEN
           [--port N] [--control-port N] [--pin-timeout S]
Prints one JSON line on stdout once ready: {"api": url, "control": url}
Control API: POST /faults {rule} (ops are route ids, e.g. "POST /pins"),
POST /faults/clear, POST /refuse, POST /accept, GET /calls, GET /state,
POST /fail-next-pins {"count": N} (the next N accepted requests end `failed`
without pinning, info {"status_details": "injected failure"}).
"""

import argparse
import hmac
import json
import sys
import threading
import time
import uuid
from datetime import datetime
from http import HTTPStatus

from doubles_common import (
    Api, ApiError, DoubleServer, Kubo, KuboError, Reply, Request,
    authorization, looks_like_cid, now_rfc3339, spawn,
)

STATUSES = ("queued", "pinning", "pinned", "failed")
MATCHERS = {
    "exact": lambda name, want: name == want,
    "iexact": lambda name, want: name.lower() == want.lower(),
    "partial": lambda name, want: want in name,
    "ipartial": lambda name, want: want.lower() in name.lower(),
}


def parse_time(text: str, what: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise ApiError(400, f"{what} is not an RFC 3339 timestamp: {text!r}")
    return parsed


def string_map(value, what: str) -> dict:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ApiError(400, f"{what} must be an object of strings")
    return value


def parse_pin(body) -> dict:
    """The spec's Pin object, validated; name is kept only when given."""
    if not isinstance(body, dict):
        raise ApiError(400, "request body must be a Pin object")
    if not looks_like_cid(body.get("cid")):
        raise ApiError(400, "cid is missing or is not a valid CID")
    pin = {"cid": body["cid"]}
    if body.get("name") is not None:
        if not isinstance(body["name"], str) or len(body["name"]) > 255:
            raise ApiError(400, "name must be a string of at most 255 characters")
        pin["name"] = body["name"]
    origins = body.get("origins") or []
    if (not isinstance(origins, list) or len(origins) > 20 or len(set(map(str, origins))) != len(origins)
            or not all(isinstance(o, str) and o.startswith("/") for o in origins)):
        raise ApiError(400, "origins must be a list of at most 20 distinct multiaddrs")
    pin["origins"] = origins
    pin["meta"] = string_map(body.get("meta") or {}, "meta")
    return pin


class PinRequest:
    def __init__(self, pin: dict, replaces: str | None):
        self.requestid = str(uuid.uuid4())
        self.pin = pin
        self.created = now_rfc3339()
        self.status = "queued"
        self.info: dict[str, str] = {}
        self.replaces = replaces  # the CID of the request this one replaced

    def to_json(self, delegates: list[str]) -> dict:
        return {"requestid": self.requestid, "status": self.status, "created": self.created,
                "pin": self.pin, "delegates": delegates, "info": self.info}


class PinningService(Api):
    def __init__(self, node: Kubo, token: str, pin_timeout: float):
        self.node = node
        self.token = token
        self.pin_timeout = pin_timeout
        self.delegates = node.id()["Addresses"]
        self.requests: dict[str, PinRequest] = {}
        self.fail_next = 0
        self.lock = threading.Lock()
        self.routes = [
            ("GET", "/pins", self.list_pins),
            ("POST", "/pins", self.add),
            ("GET", "/pins/{requestid}", self.get),
            ("POST", "/pins/{requestid}", self.replace),
            ("DELETE", "/pins/{requestid}", self.delete),
        ]

    # -- wire format --

    def error_body(self, status: int, message: str):
        try:
            reason = HTTPStatus(status).phrase.upper().replace(" ", "_").replace("-", "_")
        except ValueError:
            reason = "ERROR"
        return {"error": {"reason": reason, "details": message}}

    def authorize(self, request: Request) -> Reply | None:
        scheme, credentials = authorization(request.headers)
        if scheme == "bearer" and hmac.compare_digest(credentials.encode(), self.token.encode()):
            return None
        return Reply(401, self.error_body(401, "Access token is missing or invalid"))

    # -- routes --

    def add(self, request: Request) -> Reply:
        return Reply(202, self._accept(parse_pin(request.json()), None))

    def get(self, request: Request) -> Reply:
        with self.lock:
            return Reply(200, self._find(request).to_json(self.delegates))

    def replace(self, request: Request) -> Reply:
        pin = parse_pin(request.json())
        with self.lock:
            old = self.requests.pop(self._find(request).requestid)
        return Reply(202, self._accept(pin, old.pin["cid"]))

    def delete(self, request: Request) -> Reply:
        with self.lock:
            old = self.requests.pop(self._find(request).requestid)
        spawn(self._release, old.pin["cid"])
        return Reply(202)

    def list_pins(self, request: Request) -> Reply:
        statuses = (request.arg("status") or "pinned").split(",")
        if any(s not in STATUSES for s in statuses):
            raise ApiError(400, f"status must be among {', '.join(STATUSES)}")
        cids = [c for c in (request.arg("cid") or "").split(",") if c]
        if len(cids) > 10:
            raise ApiError(400, "at most 10 CIDs can be listed")
        matcher = MATCHERS.get(request.arg("match") or "exact")
        if matcher is None:
            raise ApiError(400, f"match must be among {', '.join(MATCHERS)}")
        name = request.arg("name")
        before = request.arg("before") and parse_time(request.arg("before"), "before")
        after = request.arg("after") and parse_time(request.arg("after"), "after")
        try:
            limit = int(request.arg("limit") or 10)
            meta = string_map(json.loads(request.arg("meta") or "{}"), "meta")
        except ValueError:
            raise ApiError(400, "limit must be an integer and meta a JSON object") from None
        if not 1 <= limit <= 1000:
            raise ApiError(400, "limit must be between 1 and 1000")

        def matches(r: PinRequest) -> bool:
            created = datetime.fromisoformat(r.created)
            return (r.status in statuses and (not cids or r.pin["cid"] in cids)
                    and (name is None or matcher(r.pin.get("name", ""), name))
                    and (not before or created < before) and (not after or created > after)
                    and all(r.pin["meta"].get(k) == v for k, v in meta.items()))

        with self.lock:
            found = [r.to_json(self.delegates) for r in reversed(self.requests.values()) if matches(r)]
        return Reply(200, {"count": len(found), "results": found[:limit]})

    def control(self, method: str, path: str, body) -> Reply | None:
        if method == "POST" and path == "/fail-next-pins":
            if not isinstance(body, dict) or not isinstance(body.get("count"), int) or body["count"] < 0:
                return Reply(400, {"error": 'expected {"count": N}'})
            with self.lock:
                self.fail_next = body["count"]
            return Reply(200, {"ok": True})
        return None

    def state(self):
        with self.lock:
            return {"fail_next": self.fail_next, "delegates": self.delegates,
                    "requests": [{**r.to_json(self.delegates), "replaces": r.replaces} for r in self.requests.values()]}

    # -- service logic --

    def _find(self, request: Request) -> PinRequest:
        found = self.requests.get(request.params["requestid"])
        if found is None:
            raise ApiError(404, "The specified resource was not found")
        return found

    def _accept(self, pin: dict, replaces: str | None) -> dict:
        """Records a request and starts its worker; returns its `queued` PinStatus."""
        record = PinRequest(pin, replaces)
        with self.lock:
            self.requests[record.requestid] = record
            inject = self.fail_next > 0
            self.fail_next -= inject
            reply = record.to_json(self.delegates)
        spawn(self._work, record, inject)
        return reply

    def _work(self, record: PinRequest, inject: bool) -> None:
        deadline = time.monotonic() + self.pin_timeout
        if inject:
            status, details = "failed", "injected failure"
        else:
            with self.lock:
                record.status = "pinning"
            self.node.connect(record.pin["origins"], deadline)
            try:
                self.node.pin_add(record.pin["cid"], deadline)
                status, details = "pinned", None
            except KuboError as err:
                status, details = "failed", str(err)
        with self.lock:
            record.status = status
            record.info = {"status_details": details} if details else {}
            forgotten = self.requests.get(record.requestid) is not record
        if record.replaces and record.replaces != record.pin["cid"]:
            self._release(record.replaces)
        if forgotten:
            self._release(record.pin["cid"])

    def _release(self, cid: str) -> None:
        """Unpins `cid` from the node unless a live request still holds it."""
        with self.lock:
            if any(r.pin["cid"] == cid and r.status != "failed" for r in self.requests.values()):
                return
        try:
            self.node.pin_rm(cid)
        except KuboError:
            pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--node", required=True, metavar="KUBO_RPC_URL")
    parser.add_argument("--token", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--control-port", type=int, default=0)
    parser.add_argument("--pin-timeout", type=float, default=120.0)
    args = parser.parse_args()
    try:
        service = PinningService(Kubo(args.node), args.token, args.pin_timeout)
    except KuboError as err:
        sys.exit(f"pinning_service_double: the backing kubo node does not answer `id`: {err}")
    DoubleServer(service, args.port).serve(args.control_port, {})


if __name__ == "__main__":
    main()

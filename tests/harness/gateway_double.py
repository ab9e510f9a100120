#!/usr/bin/env python3
"""TEST DOUBLE: stands in for the legacy 3Speak encoder gateway (the NestJS
server of spknetwork/video-encoder, src/api/gateway.controller.ts and
src/modules/core/gateway.service.ts), which cannot be reached from this
machine. (The 2026 embed system has its own double, tests/embed-double.)

Wire format: routes under /api/v0/gateway. GET getJob, GET stats and
GET jobstatus/{job_id} are unsigned. Every POST (updateNode, acceptJob,
pingJob, finishJob, failJob, rejectJob) has the body
{"jws": JWS}, a general JWS in JSON form:
  {"payload": b64url(JSON object),
   "signatures": [{"protected": b64url({"alg":"EdDSA","kid":"<did>#<z6Mk...>"}),
                   "signature": b64url(Ed25519 over ASCII "<protected>.<payload>")}]}
base64url without padding; <did> is did:key:z<base58btc(0xed 0x01 + public
key)> and the fragment is the part of the DID after "did:key:". The signer is
the DID before "#". Answers as NestJS writes them: POST routes answer 201, a
returned string is a text body ("ok", text/html), nothing is an empty body,
anything else JSON; errors are {"statusCode", "message", "error": the HTTP
reason phrase}. Jobs are JSON objects: id, status (queued, assigned, running,
uploading, complete, failed), created_at, input {uri, size, format}, metadata
{video_owner, video_permlink}, storageMetadata {app, key, type}, profiles,
output [], assigned_to, assigned_date, last_pinged, progress ({pct,
download_pct} or null), result ({cid} or null), attempt_count, num_fails,
completed_at, history [{at, status, by, reason}] (reasons: pushed, accepted,
running, finished, failed, rejected, reassigned; by: the DID, null for pushed
and reassigned), and the double's own pings, failures [{at, by, error}] and
finished_by. Times are ISO 8601 with milliseconds, as JavaScript writes them.

Real work: every POST's JWS is verified here (base58btc did:key decoding
written here, Ed25519 with the `cryptography` package); a bad one answers 401
{"statusCode":401,"message":"invalid JWS: <reason>","error":"Unauthorized"}.
One lock holds all the state, so claiming is atomic: of encoders racing for a
job, exactly one wins. The job life cycle is the
gateway's: pings (progressPct > 1 turns assigned into running), finish, fail
(5 failures end the job `failed`), reject, and reassignment of jobs whose last
ping is older than --reassign-after seconds (checked every --sweep-every).

Simplified: state in memory only; jobs come from the control API (the real
gateway takes a signed pushJob from its admins and HEADs the URL for its
size). finishJob completes the job at once (the real one goes to `uploading`,
has ipfs-cluster pin the CID and marks it `complete` later). Reassignment
only looks at the last ping: the real gateway also reassigns jobs whose
progress has not moved for 5 minutes and `uploading` jobs after 40 minutes,
and fails queued jobs rejected 5 times; the double does neither. Where this
double follows the newer gateways rather than the legacy code: a bad JWS
answers 401 (legacy: 500); a lost acceptJob answers 409 Conflict (legacy: 500,
which --opaque-errors gives); failJob counts num_fails and records the error
(legacy: the same as rejectJob); pingJob for an unknown job is ignored and
finishJob for one says "<id> does not exist" (legacy: a TypeError, 500); a
second finishJob answers 500 "job <id> already completed (duplicate finish)"
(legacy: uploads again); stats answers {} (legacy: an empty body). No
nodeinfo, nodestats, nodeJobs, askJob, pushJob, cancelJob, rejectAll or sync
routes (404), no node scoring or bans, no Mongo `_id` on jobs.

Usage: gateway_double.py [--port N] [--control-port N] [--reassign-after S]
           [--sweep-every S] [--opaque-errors] [--self-test]
Prints one JSON line on stdout once ready: {"api": url, "control": url}; the
product appends /api/v0/gateway/... to `api`. --opaque-errors: every 500 is
{"statusCode":500,"message":"Internal server error"}, as NestJS answers a
thrown Error (the legacy gateway); without it the message says what went
wrong (newer gateways). --self-test checks the JWS code path and exits 0 or 1.

Control API: POST /faults {rule} (faults.py; ops are the short route names:
"getJob", "stats", "jobstatus", "updateNode", "acceptJob", "pingJob",
"finishJob", "failJob", "rejectJob"; "after": true
handles the request, then fails or hangs its answer), POST /faults/clear,
POST /refuse, POST /accept, GET /calls (request counts by route name),
GET /state {"jobs", "nodes", "calls", "jws_rejections",
"reassign_after", "hold_getjob"},
POST /jobs {"uri", "size"?, "format"?, "owner"?, "permlink"?} -> {"id", "job"}
(a queued job; defaults: size 0, format the URI's extension or "mp4", owner
"tank-test", permlink "video-<n>"),
POST /hold-getjob {"callers": N, "seconds"?: S (default 10)}: each of the next
N getJob requests waits until the N-th has arrived (or S seconds from its own
arrival), then is answered; N = 0 cancels a hold,
POST /reassign-after {"seconds": S}.
A `calls` entry: {"at", "route", "did" (the verified signer; null for GETs and
rejected JWS), "payload" (the verified payload or null), "status" (the HTTP
status sent; null when none was: a hang)} and, when a fault rule applied,
"fault": {"action", "after", "handled_status" (what the route answered before
the fault replaced it; null when the route never ran)}.
"""

import argparse
import base64
import copy
import json
import re
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from http import HTTPStatus

from doubles_common import Api, ApiError, DoubleServer, Reply, Request, b58decode, b58encode, spawn
from faults import Faults

try:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
except ImportError:
    sys.exit("gateway_double: the `cryptography` package is missing from this Python: run scripts/setup.sh")

BASE = "/api/v0/gateway"
ED25519_PUB = b"\xed\x01"  # multicodec ed25519-pub, as an unsigned varint
LIVE = ("assigned", "running")
MAX_FAILS = 5
PROFILES = [{"name": "1080p", "size": "?x1080"}, {"name": "720p", "size": "?x720"}, {"name": "480p", "size": "?x480"}]
SEVENS_DID = "did:key:z6MkvDqGT54cXesYGvABpF1UapVNwjCqRcafi4Px6Thv5T3Z"


def iso(t: float | None = None) -> str:
    """A time as JavaScript's Date.toISOString writes it."""
    moment = datetime.fromtimestamp(time.time() if t is None else t, timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def js(value) -> str:
    """A payload value as a JavaScript template string shows it."""
    return "undefined" if value is None else value if isinstance(value, str) else json.dumps(value)


def truthy(value) -> bool:
    """JavaScript's truthiness: objects and lists are true even when empty."""
    return value not in (None, False, 0, "")


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# -- did:key and JWS --

class JwsError(Exception):
    pass


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


_B64URL = re.compile(r"[A-Za-z0-9_-]*")


def b64url_decode(text, what: str) -> bytes:
    if not isinstance(text, str) or not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise JwsError(f"{what} is not base64url without padding")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def did_for(public_key: bytes) -> str:
    return "did:key:z" + b58encode(ED25519_PUB + public_key)


def verify_jws(body) -> tuple[str, dict]:
    """(signer DID, payload) of a `{"jws": ...}` body; JwsError says why not."""
    if not isinstance(body, dict) or "jws" not in body:
        raise JwsError("the body is not an object with a jws")
    jws = body["jws"]
    if not isinstance(jws, dict) or not isinstance(jws.get("payload"), str) or not isinstance(jws.get("signatures"), list):
        raise JwsError("the jws is not an object with a payload string and a signatures list")
    if len(jws["signatures"]) != 1:
        raise JwsError(f"expected exactly one signature, got {len(jws['signatures'])}")
    entry = jws["signatures"][0]
    if not isinstance(entry, dict) or not isinstance(entry.get("protected"), str) or not isinstance(entry.get("signature"), str):
        raise JwsError("the signature is not an object with protected and signature strings")
    try:
        header = json.loads(b64url_decode(entry["protected"], "the protected header"))
    except ValueError:
        raise JwsError("the protected header is not JSON") from None
    if not isinstance(header, dict):
        raise JwsError("the protected header is not a JSON object")
    if header.get("alg") != "EdDSA":
        raise JwsError(f"alg must be EdDSA, got {header.get('alg')!r}")
    kid = header.get("kid")
    if not isinstance(kid, str) or kid.count("#") != 1:
        raise JwsError(f"kid must be <did>#<fragment>, got {kid!r}")
    did, fragment = kid.split("#")
    if not did.startswith("did:key:z"):
        raise JwsError(f"the kid's DID is not a base58btc did:key: {did!r}")
    if fragment != did[len("did:key:"):]:
        raise JwsError(f"the kid's fragment {fragment!r} is not its DID's key")
    try:
        key = b58decode(did[len("did:key:z"):])
    except ValueError as err:
        raise JwsError(f"the DID is not base58btc: {err}") from None
    if len(key) != 34 or key[:2] != ED25519_PUB:
        raise JwsError("the DID is not an Ed25519 did:key (34 bytes starting 0xed 0x01)")
    signature = b64url_decode(entry["signature"], "the signature")
    if len(signature) != 64:
        raise JwsError(f"the signature is {len(signature)} bytes, not 64")
    try:
        Ed25519PublicKey.from_public_bytes(key[2:]).verify(signature, f"{entry['protected']}.{jws['payload']}".encode())
    except (InvalidSignature, ValueError):
        raise JwsError("the signature does not verify") from None
    try:
        payload = json.loads(b64url_decode(jws["payload"], "the payload"))
    except ValueError:
        raise JwsError("the payload is not JSON") from None
    if not isinstance(payload, dict):
        raise JwsError("the payload is not a JSON object")
    return did, payload


def canonical_json(value) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def sign(key: Ed25519PrivateKey, payload) -> dict:
    """The encoder's side: `payload` signed as the product signs it (for the
    self-test and for Python code driving the double)."""
    did = did_for(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
    protected = b64url(canonical_json({"alg": "EdDSA", "kid": f"{did}#{did[len('did:key:'):]}"}))
    encoded = b64url(canonical_json(payload))
    signature = key.sign(f"{protected}.{encoded}".encode())
    return {"payload": encoded, "signatures": [{"protected": protected, "signature": b64url(signature)}]}


# -- the gateway --

class TextReply(Reply):
    """A handler's returned string: NestJS sends it as text."""

    def __init__(self, status: int, text: str):
        super().__init__(status)
        self.text = text

    def encoded(self) -> bytes:
        return self.text.encode()


class Job:
    def __init__(self, uri: str, size: int, fmt: str, owner: str, permlink: str):
        self.id = str(uuid.uuid4())
        self.pinged_at: float | None = None  # time.monotonic() of last_pinged
        self.fields = {
            "id": self.id, "status": "queued", "created_at": iso(),
            "input": {"uri": uri, "size": size, "format": fmt},
            "metadata": {"video_owner": owner, "video_permlink": permlink},
            "storageMetadata": {"app": "3speak", "key": f"{owner}/{permlink}/video", "type": "video"},
            "profiles": copy.deepcopy(PROFILES), "output": [],
            "assigned_to": None, "assigned_date": None, "last_pinged": None,
            "progress": None, "result": None, "attempt_count": 0, "num_fails": 0,
            "completed_at": None, "history": [],
            "pings": 0, "failures": [], "finished_by": None,
        }
        self.change("queued", None, "pushed")

    def __getitem__(self, name):
        return self.fields[name]

    def __setitem__(self, name, value):
        self.fields[name] = value

    def change(self, status: str, by: str | None, reason: str) -> None:
        self["status"] = status
        self["history"].append({"at": iso(), "status": status, "by": by, "reason": reason})

    def assign(self, did: str, reason: str) -> None:
        now = iso()
        self.change("assigned", did, reason)
        self.fields.update(assigned_to=did, assigned_date=now, last_pinged=now)
        self.pinged_at = time.monotonic()

    def release(self, status: str, by: str | None, reason: str) -> None:
        self.change(status, by, reason)
        self.fields.update(assigned_to=None, assigned_date=None, last_pinged=None)
        self.pinged_at = None

    def to_json(self) -> dict:
        return copy.deepcopy(self.fields)


_taken = threading.local()  # the fault rule (or None) the request on this thread took


class GatewayFaults(Faults):
    """The server's fault rules, noting on the handling thread which rule the
    request took (for its `calls` entry) and recording the requests a fault
    answers in their route's place."""

    def __init__(self, gateway: "Gateway"):
        super().__init__(after_allowed=True)
        self.gateway = gateway

    def take(self, op: str):
        rule = super().take(op)
        _taken.rule = rule
        if rule is not None and not rule.after and rule.action in ("fail", "hang") and op in self.gateway.route_names:
            self.gateway.record(op, None, None, rule.status if rule.action == "fail" else None, rule, None)
        return rule


class Gateway(Api):
    def __init__(self, reassign_after: float, opaque_errors: bool):
        self.reassign_after = reassign_after
        self.opaque_errors = opaque_errors
        self.lock = threading.Lock()
        self.jobs: dict[str, Job] = {}  # in creation order: the queue's order
        self.nodes: dict[str, dict] = {}
        self.calls: list[dict] = []
        self.jws_rejections: list[dict] = []
        self.hold: dict | None = None
        self.pushed = 0
        routes = [
            ("GET", "getJob", "getJob", self.get_job, False),
            ("GET", "stats", "stats", self.stats, False),
            ("GET", "jobstatus/{job_id}", "jobstatus", self.job_status, False),
            ("POST", "updateNode", "updateNode", self.update_node, True),
            ("POST", "acceptJob", "acceptJob", self.accept_job, True),
            ("POST", "pingJob", "pingJob", self.ping_job, True),
            ("POST", "finishJob", "finishJob", self.finish_job, True),
            ("POST", "failJob", "failJob", self.fail_job, True),
            ("POST", "rejectJob", "rejectJob", self.reject_job, True),
        ]
        self.route_names = {name for _, _, name, _, _ in routes}
        self.routes = [(method, f"{BASE}/{path}", self._route(name, fn, signed))
                       for method, path, name, fn, signed in routes]

    def compiled_routes(self):
        """Route ids are the short names ("getJob", ...): fault ops and GET /calls use them."""
        for method, regex, _, handler in super().compiled_routes():
            yield method, regex, handler.route_name, handler

    # -- wire format --

    def error_body(self, status: int, message: str):
        if status == 500 and self.opaque_errors:
            return {"statusCode": 500, "message": "Internal server error"}
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        return {"statusCode": status, "message": message, "error": phrase}

    def _route(self, name: str, fn, signed: bool):
        def handler(request: Request) -> Reply:
            rule = getattr(_taken, "rule", None)
            did = payload = None
            try:
                if signed:
                    did, payload = self._verify(name, request)
                    reply = fn(did, payload)
                else:
                    reply = fn(request)
            except ApiError as err:
                reply = Reply(err.status, self.error_body(err.status, err.message))
            except Exception as err:  # a thrown plain Error: NestJS answers 500
                reply = Reply(500, self.error_body(500, f"{type(err).__name__}: {err}"))
            if rule is not None and rule.after:
                self.record(name, did, payload, rule.status if rule.action == "fail" else None, rule, reply.status)
            else:
                self.record(name, did, payload, reply.status, rule, reply.status if rule is not None else None)
            return reply

        handler.route_name = name
        return handler

    def _verify(self, name: str, request: Request) -> tuple[str, dict]:
        try:
            try:
                body = json.loads(request.body)
            except ValueError:
                raise JwsError("the body is not JSON") from None
            return verify_jws(body)
        except JwsError as err:
            with self.lock:
                self.jws_rejections.append({"at": iso(), "route": name, "reason": str(err)})
            raise ApiError(401, f"invalid JWS: {err}") from None

    def record(self, name: str, did, payload, status, rule, handled_status) -> None:
        entry = {"at": iso(), "route": name, "did": did, "payload": payload, "status": status}
        if rule is not None:
            entry["fault"] = {"action": rule.action, "after": rule.after, "handled_status": handled_status}
        with self.lock:
            self.calls.append(entry)

    def _job(self, job_id) -> Job | None:
        return self.jobs.get(job_id) if isinstance(job_id, str) else None

    def _oldest_queued(self) -> Job | None:
        return next((job for job in self.jobs.values() if job["status"] == "queued"), None)

    # -- unsigned routes --

    def get_job(self, request: Request) -> Reply:
        self._wait_hold()
        with self.lock:
            job = self._oldest_queued()
            return Reply(200, job.to_json() if job else None)

    def _wait_hold(self) -> None:
        with self.lock:
            hold = self.hold
            if hold is None:
                return
            hold["arrived"] += 1
            if hold["arrived"] >= hold["callers"]:
                self.hold = None
                hold["released"].set()
        hold["released"].wait(hold["seconds"])

    def stats(self, request: Request) -> Reply:
        return Reply(200, {})

    def job_status(self, request: Request) -> Reply:
        job_id = request.params["job_id"]
        with self.lock:
            queued = [job.id for job in self.jobs.values() if job["status"] == "queued"]
            job = self.jobs.get(job_id)
            return Reply(200, {"job": job.to_json() if job else None,
                               "rank": queued.index(job_id) if job_id in queued else None})

    # -- signed routes --

    def update_node(self, did: str, payload: dict) -> Reply:
        info = payload.get("node_info") if isinstance(payload.get("node_info"), dict) else {}
        fields = {"name": info.get("name"), "peer_id": info.get("peer_id"), "commit_hash": info.get("commit_hash"),
                  "cryptoAccounts": info.get("cryptoAccounts")}
        now = iso()
        with self.lock:
            node = self.nodes.setdefault(did, {"id": did, "first_seen": now, "banned": False})
            node.update(fields, last_seen=now)
        return Reply(201)

    def accept_job(self, did: str, payload: dict) -> Reply:
        job_id = payload.get("job_id")
        if not truthy(job_id):
            raise ApiError(500, "Job_id is not defined")
        with self.lock:
            job = self._job(job_id)
            if job is None:
                raise ApiError(500, f"{js(job_id)} does not exist")
            if job["status"] != "queued":
                if self.opaque_errors:
                    raise ApiError(500, f"{job_id} is nolonger available")
                taken = "assigned" if job["status"] in LIVE else job["status"]
                raise ApiError(409, f"{job_id} is no longer available: already {taken}")
            job.assign(did, "accepted")
        return TextReply(201, "ok")

    def ping_job(self, did: str, payload: dict) -> Reply:
        pct, download = payload.get("progressPct"), payload.get("download_pct")
        with self.lock:
            job = self._job(payload.get("job_id"))
            if job is not None and job["assigned_to"] == did and job["status"] in LIVE:
                if is_number(pct) and pct > 1 and job["status"] == "assigned":
                    job.change("running", did, "running")
                job["last_pinged"] = iso()
                job.pinged_at = time.monotonic()
                progress = dict(job["progress"] or {"pct": 0, "download_pct": 0})
                if is_number(pct):
                    progress["pct"] = pct
                if is_number(download):
                    progress["download_pct"] = download
                job["progress"] = progress
                job["pings"] += 1
                if did in self.nodes:
                    self.nodes[did]["last_seen"] = iso()
        return TextReply(201, "ok")

    def finish_job(self, did: str, payload: dict) -> Reply:
        job_id = payload.get("job_id")
        output = payload.get("output")
        with self.lock:
            job = self._job(job_id)
            if job is None:
                raise ApiError(500, f"{js(job_id)} does not exist")
            if job["status"] in ("complete", "uploading") and job["result"]:
                raise ApiError(500, f"job {job_id} already completed (duplicate finish)")
            if job["assigned_to"] != did:
                raise ApiError(500, "This job does not belong to you!")
            if not truthy(output):
                raise ApiError(500, "Output not provided")
            if not isinstance(output, dict) or not truthy(output.get("cid")):
                raise ApiError(500, "Output CID not provided")
            job.change("complete", did, "finished")
            job.fields.update(result={"cid": output["cid"]}, completed_at=iso(), finished_by=did)
        return Reply(201)

    def fail_job(self, did: str, payload: dict) -> Reply:
        with self.lock:
            job = self._job(payload.get("job_id"))
            if job is not None and job["assigned_to"] == did and job["status"] in LIVE:
                job["num_fails"] += 1
                job["failures"].append({"at": iso(), "by": did, "error": payload.get("error")})
                job.release("failed" if job["num_fails"] >= MAX_FAILS else "queued", did, "failed")
        return Reply(201)

    def reject_job(self, did: str, payload: dict) -> Reply:
        with self.lock:
            job = self._job(payload.get("job_id"))
            if job is not None and job["assigned_to"] == did and job["status"] in LIVE:
                job["attempt_count"] += 1
                job.release("queued", did, "rejected")
        return Reply(201)

    # -- reassignment --

    def sweep(self) -> None:
        now = time.monotonic()
        with self.lock:
            for job in self.jobs.values():
                if job["status"] in LIVE and job.pinged_at is not None and now - job.pinged_at > self.reassign_after:
                    job.release("queued", None, "reassigned")

    def sweep_forever(self, every: float) -> None:
        while True:
            time.sleep(every)
            self.sweep()

    # -- control --

    def control(self, method: str, path: str, body) -> Reply | None:
        if method == "POST" and path == "/jobs":
            return self._push(body)
        if method == "POST" and path == "/hold-getjob":
            callers = body.get("callers") if isinstance(body, dict) else None
            seconds = body.get("seconds", 10) if isinstance(body, dict) else None
            if not isinstance(callers, int) or isinstance(callers, bool) or callers < 0 or not is_number(seconds) or seconds < 0:
                return Reply(400, {"error": 'expected {"callers": N, "seconds": S}'})
            with self.lock:
                if self.hold is not None:
                    self.hold["released"].set()
                self.hold = None if callers == 0 else {
                    "callers": callers, "seconds": float(seconds), "arrived": 0, "released": threading.Event()}
            return Reply(200, {"ok": True})
        if method == "POST" and path == "/reassign-after":
            seconds = body.get("seconds") if isinstance(body, dict) else None
            if not is_number(seconds) or seconds < 0:
                return Reply(400, {"error": 'expected {"seconds": S}'})
            with self.lock:
                self.reassign_after = float(seconds)
            return Reply(200, {"ok": True})
        return None

    def _push(self, body) -> Reply:
        if not isinstance(body, dict) or not isinstance(body.get("uri"), str) or not body["uri"]:
            return Reply(400, {"error": 'expected {"uri": str, "size"?: int, "format"?: str, "owner"?: str, "permlink"?: str}'})
        size = body.get("size", 0)
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            return Reply(400, {"error": "size must be a non-negative integer"})
        texts = {k: body.get(k) for k in ("format", "owner", "permlink")}
        if any(v is not None and (not isinstance(v, str) or not v) for v in texts.values()):
            return Reply(400, {"error": "format, owner and permlink must be non-empty strings"})
        name = body["uri"].split("?")[0].rsplit("/", 1)[-1]
        extension = name.rpartition(".")[2] if "." in name else ""
        with self.lock:
            self.pushed += 1
            job = Job(body["uri"], size, texts["format"] or (extension.lower() if extension else "mp4"),
                      texts["owner"] or "tank-test", texts["permlink"] or f"video-{self.pushed}")
            self.jobs[job.id] = job
            return Reply(200, {"id": job.id, "job": job.to_json()})

    def state(self):
        with self.lock:
            hold = self.hold and {k: v for k, v in self.hold.items() if k != "released"}
            return copy.deepcopy({
                "jobs": [job.fields for job in self.jobs.values()], "nodes": self.nodes, "calls": self.calls,
                "jws_rejections": self.jws_rejections,
                "reassign_after": self.reassign_after, "hold_getjob": hold,
            })


class GatewayServer(DoubleServer):
    """The shared server, with the gateway's fault bookkeeping and answers
    encoded as NestJS (Express) sends them."""

    def __init__(self, api: Gateway, port: int):
        super().__init__(api, port)
        self.faults = GatewayFaults(api)

    @staticmethod
    def _send(h, reply: Reply) -> None:
        if isinstance(reply, TextReply):
            data, content_type = reply.encoded(), "text/html; charset=utf-8"
        elif reply.body is None:
            data, content_type = b"", None
        else:
            data, content_type = json.dumps(reply.body, separators=(",", ":")).encode(), "application/json; charset=utf-8"
        h.send_response(reply.status)
        if content_type:
            h.send_header("Content-Type", content_type)
        for name, value in reply.headers:
            h.send_header(name, value)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)


# -- self-test --

def self_test() -> int:
    results = []

    def check(what: str, ok: bool) -> None:
        results.append(ok)
        print(f"{'ok  ' if ok else 'FAIL'} {what}")

    def rejected(body) -> str | None:
        try:
            verify_jws(body)
        except JwsError as err:
            return str(err)
        return None

    sevens = Ed25519PrivateKey.from_private_bytes(bytes([7] * 32))
    public = sevens.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    check("a seed of 32 bytes 0x07 gives " + SEVENS_DID, did_for(public) == SEVENS_DID)
    check("base58btc decoding of that DID gives 0xed 0x01 + the public key",
          b58decode(SEVENS_DID[len("did:key:z"):]) == ED25519_PUB + public)
    check("base58btc keeps leading zero bytes", b58decode(b58encode(b"\0\0\x01\x02")) == b"\0\0\x01\x02")

    payload = {"job_id": "j1", "output": {"cid": "QmX"}, "b": [{"z": 1, "a": 2}]}
    jws = sign(sevens, payload)
    try:
        check("a JWS signed with cryptography verifies, signer and payload intact",
              verify_jws({"jws": jws}) == (SEVENS_DID, payload))
    except JwsError as err:
        check(f"a JWS signed with cryptography verifies (rejected: {err})", False)

    flipped = bytearray(base64.urlsafe_b64decode(jws["payload"] + "=" * (-len(jws["payload"]) % 4)))
    flipped[flipped.index(b"j1") + 1] ^= 0x03  # "j1" -> "j2": still JSON
    tampered = {**jws, "payload": b64url(bytes(flipped))}
    check("a flipped payload byte is rejected", rejected({"jws": tampered}) == "the signature does not verify")

    other = Ed25519PrivateKey.from_private_bytes(bytes([8] * 32))
    forged = sign(other, payload)
    forged["signatures"][0]["protected"] = jws["signatures"][0]["protected"]  # claims the sevens' kid
    check("a signature by another key under the sevens' kid is rejected", rejected({"jws": forged}) is not None)

    def with_header(header: dict) -> dict:
        protected = b64url(canonical_json(header))
        signature = sevens.sign(f"{protected}.{jws['payload']}".encode())
        return {"jws": {"payload": jws["payload"], "signatures": [{"protected": protected, "signature": b64url(signature)}]}}

    check("alg other than EdDSA is rejected", "alg" in (rejected(with_header({"alg": "ES256K", "kid": f"{SEVENS_DID}#{SEVENS_DID[8:]}"})) or ""))
    check("a kid whose fragment is not the DID's key is rejected",
          "fragment" in (rejected(with_header({"alg": "EdDSA", "kid": f"{SEVENS_DID}#key-1"})) or ""))
    check("two signatures are rejected",
          "exactly one" in (rejected({"jws": {**jws, "signatures": jws["signatures"] * 2}}) or ""))
    check("a body without jws is rejected", rejected({"payload": jws["payload"]}) is not None)
    check("a signed payload that is not an object is rejected",
          rejected({"jws": sign(sevens, [1, 2])}) == "the payload is not a JSON object")
    check("a padded signature is rejected", rejected({"jws": {**jws, "signatures": [
        {**jws["signatures"][0], "signature": jws["signatures"][0]["signature"] + "=="}]}}) is not None)

    passed = sum(results)
    print(f"self-test: {passed} passed, {len(results) - passed} failed")
    return 0 if all(results) else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--control-port", type=int, default=0)
    parser.add_argument("--reassign-after", type=float, default=60.0, metavar="S")
    parser.add_argument("--sweep-every", type=float, default=1.0, metavar="S")
    parser.add_argument("--opaque-errors", action="store_true")
    parser.add_argument("--self-test", action="store_true")
    args = parser.parse_args()
    if args.self_test:
        sys.exit(self_test())
    if args.sweep_every <= 0:
        parser.error("--sweep-every must be positive")
    gateway = Gateway(args.reassign_after, args.opaque_errors)
    spawn(gateway.sweep_forever, args.sweep_every)
    GatewayServer(gateway, args.port).serve(args.control_port, {})


if __name__ == "__main__":
    main()

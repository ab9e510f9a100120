"""Shared plumbing for the harness TEST DOUBLES (cluster_double.py,
pinning_service_double.py): the API server that can refuse and re-accept
connections, fault rules in front of it (faults.py), per-route call counts, the
control API, a small kubo RPC client for the real harness nodes underneath, and
Authorization header parsing.

A double describes itself with an `Api` object: its routes, its error body, its
auth check, its internal state and any extra control routes.
"""

import base64
import json
import re
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import multipart  # noqa: E402
from faults import Faults  # noqa: E402
from listener import RefusableListener, TrackedHandler  # noqa: E402

FAULT_ACTIONS = {"fail", "hang", "delay"}

# CIDv0 (base58 "Qm...") or CIDv1 in base32 ("b..."), base58btc ("z...") or hex ("f...").
_CID = re.compile(r"^(Qm[1-9A-HJ-NP-Za-km-z]{44}|b[a-z2-7]{20,}|z[1-9A-HJ-NP-Za-km-z]{20,}|f[0-9a-f]{20,})$")


B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def b58encode(data: bytes) -> str:
    number, text = int.from_bytes(data, "big"), ""
    while number:
        number, digit = divmod(number, 58)
        text = B58[digit] + text
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + text


def b58decode(text: str) -> bytes:
    number = 0
    for char in text:
        digit = B58.find(char)
        if digit < 0:
            raise ValueError(f"{char!r} is not a base58btc character")
        number = number * 58 + digit
    return b"\0" * (len(text) - len(text.lstrip("1"))) + number.to_bytes((number.bit_length() + 7) // 8, "big")


def looks_like_cid(text) -> bool:
    return isinstance(text, str) and bool(_CID.match(text))


def now_rfc3339() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def spawn(fn, *args) -> None:
    threading.Thread(target=fn, args=args, daemon=True).start()


class ApiError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class Reply:
    """`body` is a JSON value, a list of JSON values sent as NDJSON
    (`ndjson=True`), or None for an empty body."""

    def __init__(self, status: int, body=None, headers: list[tuple[str, str]] = (), ndjson: bool = False):
        self.status = status
        self.body = body
        self.headers = list(headers)
        self.ndjson = ndjson

    def encoded(self) -> bytes:
        if self.body is None:
            return b""
        values = self.body if self.ndjson else [self.body]
        return b"".join((json.dumps(v, separators=(",", ":")) + "\n").encode() for v in values)


class Request:
    def __init__(self, method: str, path: str, query: str, headers, body: bytes, params: dict[str, str]):
        self.method = method
        self.path = path
        self.query = urllib.parse.parse_qs(query, keep_blank_values=True)
        self.headers = headers
        self.body = body
        self.params = params

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            raise ApiError(400, "request body is not valid JSON") from None


def authorization(headers) -> tuple[str, str]:
    """(lower-case scheme, credentials) of the Authorization header, ("", "") when absent."""
    scheme, _, credentials = (headers.get("Authorization") or "").strip().partition(" ")
    return scheme.lower(), credentials.strip()


def basic_credentials(credentials: str) -> tuple[str, str] | None:
    """(user, password) of a Basic credential, None when malformed."""
    try:
        user, sep, password = base64.b64decode(credentials, validate=True).decode().partition(":")
    except ValueError:
        return None
    return (user, password) if sep else None


class Api:
    """What a double plugs into the server. `routes` is a list of
    (method, path pattern with {name} parameters, handler(Request) -> Reply);
    the route id is "<METHOD> <pattern>"."""

    routes: list = []

    def error_body(self, status: int, message: str):
        raise NotImplementedError

    def authorize(self, request: Request) -> Reply | None:
        """None when the request may proceed, else the refusal."""
        return None

    def state(self):
        raise NotImplementedError

    def control(self, method: str, path: str, body) -> Reply | None:
        """Double-specific control routes; None for an unknown path."""
        return None

    def compiled_routes(self):
        for method, pattern, handler in self.routes:
            regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "$")
            yield method, regex, f"{method} {pattern}", handler


class ApiHandler(TrackedHandler):
    def do_GET(self):
        self.server.double.handle(self)

    do_POST = do_DELETE = do_PUT = do_GET


class DoubleServer:
    """The API listener (closable and reopenable on the same port), fault
    rules, call counts and the control API around one `Api`."""

    def __init__(self, api: Api, port: int):
        self.api = api
        self.faults = Faults(after_allowed=True)
        self.listener = RefusableListener(ApiHandler, port, double=self)
        self._routes = list(api.compiled_routes())
        self._lock = threading.Lock()
        self._calls: dict[str, int] = {}

    # -- API side --

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        url = urllib.parse.urlsplit(h.path)
        try:
            body = b"".join(multipart.body_chunks(h.rfile, h.headers))
        except ValueError:
            h.close_connection = True
            return
        route, handler, params = "unknown", None, {}
        for method, regex, route_id, fn in self._routes:
            match = regex.match(url.path)
            if match and method == h.command:
                route, handler, params = route_id, fn, match.groupdict()
                break
        with self._lock:
            self._calls[route] = self._calls.get(route, 0) + 1
        rule = self.faults.take(route)
        before = rule is not None and not rule.after
        if before and rule.action == "hang":
            self.faults.wait_released(rule.seconds)
            h.close_connection = True
            return
        if before and rule.action == "delay":
            time.sleep(rule.seconds)
        if before and rule.action == "fail":
            reply = Reply(rule.status, self.api.error_body(rule.status, rule.message or f"{route}: injected failure"))
        else:
            request = Request(h.command, url.path, url.query, h.headers, body, params)
            reply = self.api.authorize(request)
            if reply is None:
                reply = self._call(handler, request)
        if rule is not None and rule.after:
            # The request was handled (its effect stands); its answer is lost.
            if rule.action == "hang":
                self.faults.wait_released(rule.seconds)
                h.close_connection = True
                return
            reply = Reply(rule.status, self.api.error_body(rule.status, rule.message or f"{route}: injected failure"))
        self._send(h, reply)

    def _call(self, handler, request: Request) -> Reply:
        if handler is None:
            return Reply(404, self.api.error_body(404, "not found"))
        try:
            return handler(request)
        except ApiError as err:
            return Reply(err.status, self.api.error_body(err.status, err.message))

    @staticmethod
    def _send(h: BaseHTTPRequestHandler, reply: Reply) -> None:
        data = reply.encoded()
        h.send_response(reply.status)
        h.send_header("Content-Type", "application/json")
        for name, value in reply.headers:
            h.send_header(name, value)
        if reply.status != 204:
            h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    # -- control side --

    def control(self, method: str, path: str, body) -> Reply:
        if method == "GET" and path == "/calls":
            with self._lock:
                return Reply(200, dict(self._calls))
        if method == "GET" and path == "/state":
            return Reply(200, self.api.state())
        if method == "POST" and path == "/faults":
            if not isinstance(body, dict) or body.get("action") not in FAULT_ACTIONS:
                return Reply(400, {"error": f"a fault rule needs an action among {sorted(FAULT_ACTIONS)}"})
            try:
                self.faults.add(body)
            except (ValueError, TypeError) as err:
                return Reply(400, {"error": str(err)})
        elif method == "POST" and path == "/faults/clear":
            self.faults.clear()
        elif method == "POST" and path == "/refuse":
            self.listener.refuse()
        elif method == "POST" and path == "/accept":
            self.listener.accept()
        else:
            return self.api.control(method, path, body) or Reply(404, {"error": f"unknown control path {path}"})
        return Reply(200, {"ok": True})

    def serve(self, control_port: int, ready: dict) -> None:
        """Starts both listeners, prints the ready line and serves forever."""
        double = self

        class ControlHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt, *args):
                pass

            def do_GET(self):
                raw = b"".join(multipart.body_chunks(self.rfile, self.headers))
                try:
                    body = json.loads(raw) if raw.strip() else None
                except ValueError:
                    return double._send(self, Reply(400, {"error": "control body is not valid JSON"}))
                double._send(self, double.control(self.command, urllib.parse.urlsplit(self.path).path, body))

            do_POST = do_GET

        self.listener.accept()
        control = ThreadingHTTPServer(("127.0.0.1", control_port), ControlHandler)
        control.daemon_threads = True
        spawn(control.serve_forever)
        line = {"api": f"http://127.0.0.1:{self.listener.port}", "control": f"http://127.0.0.1:{control.server_address[1]}"}
        print(json.dumps({**line, **ready}), flush=True)
        threading.Event().wait()


class KuboError(Exception):
    pass


class Kubo:
    """The kubo RPC calls the doubles make on a harness node."""

    def __init__(self, url: str):
        self.url = url.rstrip("/")

    def call(self, cmd: str, args: list[str] = (), wait: float = 30.0, options: dict[str, str] | None = None):
        """POSTs one RPC command, waiting at most `wait` seconds for each socket operation."""
        query = urllib.parse.urlencode([("arg", a) for a in args] + list((options or {}).items()))
        request = urllib.request.Request(f"{self.url}/api/v0/{cmd}?{query}", data=b"", method="POST")
        try:
            with urllib.request.urlopen(request, timeout=max(wait, 0.001)) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as err:
            text = err.read().decode(errors="replace")
            try:
                text = json.loads(text)["Message"]
            except (ValueError, KeyError, TypeError):
                pass
            raise KuboError(text) from None
        except (urllib.error.URLError, OSError, ValueError) as err:
            raise KuboError(f'Post "{self.url}/api/v0/{cmd}": {getattr(err, "reason", err)}') from None

    def id(self) -> dict:
        return self.call("id", wait=10)

    def pin_add(self, cid: str, deadline: float) -> None:
        seconds = deadline - time.monotonic()
        if seconds <= 0:
            raise KuboError("pin: context deadline exceeded")
        # kubo's own `timeout` option ends the pin at the deadline; the socket
        # wait is a little longer, for a kubo that does not answer at all.
        self.call("pin/add", [cid], wait=seconds + 2, options={"timeout": f"{seconds:.3f}s"})

    def pin_rm(self, cid: str) -> None:
        self.call("pin/rm", [cid])

    def pinned(self, cid: str, timeout: float = 15.0) -> bool:
        """Whether kubo holds a recursive pin on `cid`; KuboError when kubo does not answer."""
        try:
            self.call("pin/ls", [cid], wait=timeout, options={"type": "recursive"})
        except KuboError as err:
            if "is not pinned" in str(err):
                return False
            raise
        return True

    def connect(self, origins: list[str], deadline: float) -> None:
        """`swarm/connect` to each origin peer (all its addresses in one call);
        errors are ignored: the content may still be found elsewhere."""
        by_peer: dict[str, list[str]] = {}
        for addr in origins:
            by_peer.setdefault(addr.rsplit("/p2p/", 1)[-1], []).append(addr)
        for addrs in by_peer.values():
            try:
                self.call("swarm/connect", addrs, wait=min(30.0, deadline - time.monotonic()))
            except KuboError:
                pass

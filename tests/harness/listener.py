"""An HTTP listener that can refuse connections and take them again: how the
harness processes play a node whose API is down. Refusing closes the
listening socket (new connections get "connection refused") and cuts every
open connection (kept-alive clients see the break too)."""

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class TrackedHandler(BaseHTTPRequestHandler):
    """Base for handlers whose connections a RefusableListener can cut."""

    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        self.server.listener.track(self.connection, True)

    def finish(self):
        self.server.listener.track(self.connection, False)
        super().finish()

    def log_message(self, fmt, *args):
        pass


class RefusableListener:
    """Serves `handler` on 127.0.0.1:`port` (0: a free port, kept across
    refuse/accept). `attributes` are set on the server for handlers to use."""

    def __init__(self, handler: type[TrackedHandler], port: int, **attributes):
        self.handler = handler
        self.port = port
        self.attributes = attributes
        self._server: ThreadingHTTPServer | None = None
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()

    def track(self, conn: socket.socket, alive: bool) -> None:
        with self._lock:
            (self._connections.add if alive else self._connections.discard)(conn)

    def accept(self) -> None:
        with self._lock:
            if self._server is not None:
                return
            server = ThreadingHTTPServer(("127.0.0.1", self.port), self.handler)
            server.daemon_threads = True
            server.listener = self
            for name, value in self.attributes.items():
                setattr(server, name, value)
            self.port = server.server_address[1]
            self._server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()

    def refuse(self) -> None:
        with self._lock:
            server, self._server = self._server, None
            connections = list(self._connections)
        if server is not None:
            server.shutdown()
            server.server_close()
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

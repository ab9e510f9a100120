"""Streaming readers for request bodies: HTTP/1.1 chunked decoding and
multipart/form-data as kubo's `add` receives it.

Nothing here holds a whole body or a whole part in memory: parts are written
to their sink as the bytes arrive, so the harness can take uploads of any size.
"""

from typing import Callable, Iterator

READ_SIZE = 1 << 20


def body_chunks(rfile, headers) -> Iterator[bytes]:
    """Yields the request body, whether sized by Content-Length or chunked."""
    if "chunked" in headers.get("Transfer-Encoding", "").lower():
        while True:
            size_line = rfile.readline()
            if not size_line:
                raise ValueError("request body ended inside a chunk header")
            size = int(size_line.split(b";")[0].strip(), 16)
            if size == 0:
                while rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return
            remaining = size
            while remaining:
                data = rfile.read(min(remaining, READ_SIZE))
                if not data:
                    raise ValueError("request body ended inside a chunk")
                remaining -= len(data)
                yield data
            rfile.readline()  # CRLF after the chunk
    else:
        remaining = int(headers.get("Content-Length") or 0)
        while remaining:
            data = rfile.read(min(remaining, READ_SIZE))
            if not data:
                raise ValueError("request body shorter than its Content-Length")
            remaining -= len(data)
            yield data


def boundary_of(content_type: str) -> str | None:
    for param in content_type.split(";")[1:]:
        key, _, value = param.strip().partition("=")
        if key.lower() == "boundary":
            return value.strip('"')
    return None


class Part:
    """One part's headers; `sink` is what the caller chose to write its body to."""

    def __init__(self, headers: dict[str, str]):
        self.headers = headers
        self.sink = None

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    def disposition_param(self, name: str) -> str | None:
        for param in self.headers.get("content-disposition", "").split(";")[1:]:
            key, _, value = param.strip().partition("=")
            if key.lower() == name:
                return value.strip('"')
        return None


def parse(
    chunks: Iterator[bytes],
    boundary: str,
    on_begin: Callable[[Part], None],
    on_data: Callable[[Part, bytes], None],
    on_end: Callable[[Part], None],
) -> int:
    """Parses a multipart body chunk by chunk; returns the number of parts."""
    delimiter = b"--" + boundary.encode()
    body_delimiter = b"\r\n" + delimiter
    buf = b""
    state = "preamble"
    part: Part | None = None
    count = 0
    for chunk in chunks:
        buf += chunk
        while True:
            if state == "preamble":
                at = buf.find(delimiter)
                if at < 0 or len(buf) < at + len(delimiter) + 2:
                    break
                buf = buf[at + len(delimiter):]
                state = "after_delimiter"
            if state == "after_delimiter":
                if len(buf) < 2:
                    break
                if buf[:2] == b"--":
                    return count
                buf = buf[2:]  # CRLF
                state = "headers"
            if state == "headers":
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    break
                headers = {}
                for line in buf[:end].decode("utf-8", "replace").split("\r\n"):
                    key, _, value = line.partition(":")
                    headers[key.strip().lower()] = value.strip()
                buf = buf[end + 4:]
                part = Part(headers)
                count += 1
                on_begin(part)
                state = "body"
            if state == "body":
                at = buf.find(body_delimiter)
                if at >= 0:
                    on_data(part, buf[:at])
                    on_end(part)
                    buf = buf[at + len(body_delimiter):]
                    state = "after_delimiter"
                    continue
                keep = len(body_delimiter)
                if len(buf) > keep:
                    on_data(part, buf[:-keep])
                    buf = buf[-keep:]
                break
    raise ValueError("multipart body ended before its closing boundary")

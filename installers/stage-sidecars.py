#!/usr/bin/env python3
"""Puts the binaries the installers ship beside the app where the Tauri
bundler wants them, and writes the bundler config that lists them.

    python3 installers/stage-sidecars.py --target x86_64-unknown-linux-gnu \
        --profile release [--system-ffmpeg]

Each sidecar is `target/sidecars/<name>-<target triple>[.exe]` (Tauri's
`bundle.externalBin` naming); the installed app finds them next to its
executable as `tank`, `tank-ffmpeg`, `tank-ffprobe` and `tank-kubo`:

- `tank`, the headless binary, copied from cargo's output for `--profile`;
- `tank-ffmpeg`, `tank-ffprobe`, `tank-kubo`: put there by the platform's
  `fetch-sidecars.sh` (official archives, checksums verified). Without them,
  `--system-ffmpeg` takes FFmpeg from this machine (Debian's `ffmpeg` on
  build hosts without internet) and adds the packages its libraries come
  from to the .deb's and .rpm's dependencies. kubo has no such stand-in: a
  build without it succeeds, says so loudly, and the app then uses `ipfs`
  on PATH or tells the operator how to install it.

Writes `tauri.sidecars.json` there too, passed to `tauri build` or
`tauri bundle` with `--config` after the platform's own bundle config.
"""

import argparse
import hashlib
import json
import os
import pathlib
import platform
import shutil
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
# Where fetch-sidecars.sh put them (the same variable as there).
SIDECARS = pathlib.Path(os.environ.get("TANK_SIDECAR_DIR", ROOT / "target" / "sidecars"))

# Libraries every Linux system has (glibc); never listed as dependencies.
GLIBC = {"libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2", "librt.so.1", "ld-linux-x86-64.so.2",
         "ld-linux-aarch64.so.1"}


def main() -> int:
    args = parse_args()
    exe = ".exe" if "windows" in args.target else ""
    SIDECARS.mkdir(parents=True, exist_ok=True)

    def sidecar(name: str) -> pathlib.Path:
        return SIDECARS / f"{name}-{args.target}{exe}"

    staged = {"tank": stage_tank(args, sidecar("tank"), exe)}
    for tool in ("ffmpeg", "ffprobe"):
        path = sidecar(f"tank-{tool}")
        if not path.is_file():
            if not args.system_ffmpeg:
                return fail(f"no {tool} sidecar at {path}: run the platform's fetch-sidecars.sh first "
                            "(or pass --system-ffmpeg to use this machine's FFmpeg)")
            system_tool = shutil.which(tool)
            if system_tool is None:
                return fail(f"no {tool} sidecar at {path} and no {tool} on PATH (apt-get install ffmpeg)")
            shutil.copy2(system_tool, path)
            print(f"sidecar tank-{tool}: this machine's {system_tool}")
        staged[f"tank-{tool}"] = path
    kubo = sidecar("tank-kubo")
    if kubo.is_file():
        staged["tank-kubo"] = kubo
    else:
        print(KUBO_ABSENT.format(path=kubo), file=sys.stderr)

    depends = linux_library_dependencies(staged.values()) if "linux" in args.target else None
    config = bundler_config(args, staged, depends)
    out = SIDECARS / "tauri.sidecars.json"
    out.write_text(json.dumps(config, indent=2) + "\n")

    print(f"staged for {args.target} ({args.profile}):")
    for name, path in staged.items():
        print(f"  {name:<13} {path.stat().st_size / 2**20:7.1f} MiB  sha256 {sha256(path)}")
    if "tank-kubo" not in staged:
        print("  tank-kubo     ABSENT (the app will use `ipfs` on PATH)")
    print(f"bundler config: {out}")
    return 0


KUBO_ABSENT = """
!! kubo sidecar ABSENT: {path} does not exist.
!! The package is built without kubo. The installed app and `tank` use `ipfs`
!! on PATH for the local node, and say how to install kubo when there is none.
!! For a release, run the platform's fetch-sidecars.sh first.
"""


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", required=True, help="the Rust target triple being packaged")
    parser.add_argument("--profile", required=True, choices=["debug", "release"])
    parser.add_argument("--system-ffmpeg", action="store_true",
                        help="use this machine's ffmpeg/ffprobe when none were fetched")
    parser.add_argument("--bundle-config", type=pathlib.Path,
                        help="the platform's bundle config, whose dependency lists are extended")
    return parser.parse_args()


def stage_tank(args, dest: pathlib.Path, exe: str) -> pathlib.Path:
    candidates = [ROOT / "target" / args.target / args.profile / f"tank{exe}",
                  ROOT / "target" / args.profile / f"tank{exe}"]
    built = next((c for c in candidates if c.is_file()), None)
    if built is None:
        sys.exit(fail(f"no tank binary in {' or '.join(map(str, candidates))}: "
                      f"cargo build -p tank-cli{' --release' if args.profile == 'release' else ''}"))
    shutil.copy2(built, dest)
    return dest


def linux_library_dependencies(binaries):
    """The packages (deb) and sonames (rpm) that the dynamically linked
    sidecars need, beyond glibc: none for static builds."""
    needs = {binary: needed(binary) - GLIBC for binary in binaries}
    debs = {debian_package(binary, soname) for binary, sonames in needs.items() for soname in sonames}
    # rpm's automatic soname capabilities, as Fedora's packages provide them.
    suffix = "()(64bit)" if platform.machine() in ("x86_64", "aarch64") else ""
    rpms = {f"{soname}{suffix}" for sonames in needs.values() for soname in sonames}
    return {"deb": sorted(debs), "rpm": sorted(rpms)}


def needed(binary: pathlib.Path) -> set:
    """The sonames in the binary's dynamic section: none if it is static."""
    dynamic = subprocess.run(["readelf", "-d", str(binary)], capture_output=True, text=True).stdout
    return {line.split("[", 1)[1].rstrip("]") for line in dynamic.splitlines() if "(NEEDED)" in line}


def debian_package(binary: pathlib.Path, soname: str) -> str:
    """The dependency on the package that has `soname` as `binary` resolves
    it, as that package's shlibs file states it (`libavcodec59 (>= 7:5.1.9)`,
    what dpkg-shlibdeps would write), else the bare package name."""
    resolved = None
    for line in subprocess.run(["ldd", str(binary)], capture_output=True, text=True).stdout.splitlines():
        name, _, rest = line.strip().partition(" => ")
        if name == soname and rest.startswith("/"):
            resolved = pathlib.Path(rest.split(" (", 1)[0]).resolve()
    if resolved is None:
        sys.exit(fail(f"{binary} needs {soname}, which this machine does not have"))
    # Merged /usr: dpkg may know the file by its /lib or its /usr/lib name.
    text = str(resolved)
    for path in (text, text.removeprefix("/usr"), "/usr" + text):
        owner = subprocess.run(["dpkg-query", "-S", path], capture_output=True, text=True)
        if owner.returncode == 0:
            package = owner.stdout.split(":", 1)[0]
            return shlibs_dependency(package, soname) or package
    sys.exit(fail(f"{binary} needs {soname} ({resolved}), which no Debian package owns"))


def shlibs_dependency(package: str, soname: str):
    """`libavcodec.so.59` → the `libavcodec 59 <dependency>` line of the
    package's shlibs file: the oldest version with that library's ABI."""
    shlibs = subprocess.run(["dpkg-query", "--control-path", package, "shlibs"],
                            capture_output=True, text=True).stdout.strip()
    if not shlibs:
        return None
    library, _, abi = soname.partition(".so.")
    for line in pathlib.Path(shlibs).read_text().splitlines():
        fields = line.split(maxsplit=2)
        if len(fields) == 3 and fields[:2] == [library, abi]:
            return fields[2]
    return None


def bundler_config(args, staged, depends):
    # externalBin names lose the triple: Tauri appends it when it looks.
    bundle = {"externalBin": [str(path.with_name(name)) for name, path in staged.items()]}
    if depends is not None:
        platform_config = json.loads(args.bundle_config.read_text()) if args.bundle_config else {}
        linux = platform_config.get("bundle", {}).get("linux", {})
        bundle["linux"] = {
            kind: {"depends": linux.get(kind, {}).get("depends", []) + depends[kind]}
            for kind in ("deb", "rpm")
        }
    return {"bundle": bundle}


def sha256(path: pathlib.Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fail(message: str) -> int:
    print(f"stage-sidecars: {message}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())

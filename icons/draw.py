"""Draws Tank Encoder's icons: a rounded teal square with a white "play"
triangle over three bars (the HLS ladder). Plain Python (zlib), so the
repository needs no image tools:  python3 icons/draw.py
The Windows and macOS icons (icon.ico, icon.icns) are made from icon.png by
the Tauri CLI:  installers/node_modules/.bin/tauri icon icons/icon.png -o DIR"""
import pathlib
import struct
import zlib

HERE = pathlib.Path(__file__).parent


def pixel(x, y, size):
    r = size * 0.18
    cx = min(max(x, r), size - 1 - r)
    cy = min(max(y, r), size - 1 - r)
    d = ((x - cx) ** 2 + (y - cy) ** 2) ** 0.5
    alpha = max(0.0, min(1.0, r - d + 0.5)) if d > 0 else 1.0
    colour = (0x13, 0x7A, 0x7F)
    u, v = x / size, y / size
    if 0.30 <= u <= 0.72 and abs(v - 0.42) <= (0.72 - u) * 0.62 and v < 0.68:
        colour = (255, 255, 255)
    for i, width in enumerate((0.56, 0.44, 0.32)):
        top = 0.70 + i * 0.075
        if top <= v <= top + 0.045 and 0.22 <= u <= 0.22 + width:
            colour = (0xD8, 0xF3, 0xF0)
    return bytes(colour) + bytes([int(alpha * 255)])


def png(size):
    rows = b"".join(b"\0" + b"".join(pixel(x, y, size) for x in range(size)) for y in range(size))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


for size, name in ((32, "32x32.png"), (128, "128x128.png"), (256, "128x128@2x.png"), (512, "icon.png")):
    (HERE / name).write_bytes(png(size))

"""Bounded mutation fuzzing of the image and DICOM loaders (a benchmark, not a test).

    python scripts/fuzz_loaders.py --seconds 60 [--seed 0] [--out out/fuzz]

Valid seeds are made in memory (PNG 8/16-bit, gray/RGB/RGBA/palette, JPEG, BMP, TIFF, an
animated GIF, DICOM single- and multi-frame with ultrasound regions and PixelSpacing) and
mutated at random: bit flips, interesting bytes and integers (sizes, lengths, counts), inserted,
deleted, duplicated and truncated ranges, splices of two seeds, and PNG chunk edits with the CRC
recomputed (so mutations get past the checksum to the decoder). Each input goes through
``fetalseg.web.uploads.decode_upload`` (the web API's entry: DICOM, GIF or image, told by
content: ``fetalseg.data.dicom.decode_dicom``, the GIF reader or
``fetalseg.data.io.decode_image``).

Expected outcomes: decoded, or :class:`fetalseg.errors.InputError`. Anything else is a
finding: another exception (``MemoryError`` under the address-space limit included), an input
slower than ``--slow`` seconds, or one that raises the process's peak RSS above
``--max-rss-mb``. Findings are printed, and saved under ``--out`` to reproduce. A watchdog
ends the run if one input hangs in native code. The native decoders' own stderr chatter
(libpng, libtiff warnings) is silenced during the run. Exit code: 0 without findings, 1 with.
"""

from __future__ import annotations

import argparse
import collections
import faulthandler
import hashlib
import io
import os
import random
import resource
import struct
import sys
import time
import zlib
from pathlib import Path

import cv2
import numpy as np

from fetalseg.data.dicom import encode_ultrasound_dicom
from fetalseg.errors import InputError
from fetalseg.web.uploads import decode_upload

INTERESTING_8 = [0, 1, 0x7F, 0x80, 0xFF]
INTERESTING_16 = [0, 1, 32, 0x7FFF, 0x8000, 0xFFFF]
INTERESTING_32 = [0, 1, 31, 32, 8192, 8193, 20000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF]


def _frame(w: int = 96, h: int = 64, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = cv2.GaussianBlur(rng.integers(0, 256, (h, w), dtype=np.uint8), (0, 0), 2)
    cv2.ellipse(img, ((w / 2, h / 2), (w * 0.6, h * 0.5), 20), 230, 2)
    return img


def _encode(ext: str, arr: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(ext, arr)
    assert ok
    return buf.tobytes()


def _pil(image: np.ndarray, fmt: str, **kw) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    if fmt == "GIF":
        frames = [Image.fromarray(np.roll(image, 3 * i, axis=1)) for i in range(3)]
        frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=40)
    else:
        Image.fromarray(image).convert(kw.pop("mode", "L")).save(buf, fmt, **kw)
    return buf.getvalue()


def _dicom(frames: np.ndarray) -> bytes:
    return encode_ultrasound_dicom(frames, region_cm=(0.015, 0.015), pixel_spacing=[0.15, 0.15])


def make_seeds() -> dict[str, bytes]:
    g = _frame()
    bgr = cv2.merge([g, np.roll(g, 5, 0), 255 - g])
    return {
        "gray8.png": _encode(".png", g),
        "gray16.png": _encode(".png", g.astype(np.uint16) * 257),
        "rgb.png": _encode(".png", bgr),
        "rgba.png": _encode(".png", cv2.merge([g, g, g, np.full_like(g, 128)])),
        "palette.png": _pil(g, "PNG", mode="P"),
        "gray.jpg": _encode(".jpg", g),
        "rgb.jpg": _encode(".jpg", bgr),
        "gray.bmp": _encode(".bmp", g),
        "gray.tiff": _encode(".tiff", g),
        "float.tiff": _encode(".tiff", g.astype(np.float32) / 255),
        "clip.gif": _pil(g, "GIF"),
        "image.dcm": _dicom(g),
        "clip.dcm": _dicom(np.stack([g, np.roll(g, 4, 1), np.roll(g, 8, 1)])),
    }


def _png_chunks(data: bytes) -> list[tuple[int, int]] | None:
    """``(start, length)`` of each chunk's data in a PNG, or ``None`` if not a PNG."""
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return None
    out, pos = [], 8
    while pos + 12 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        if pos + 12 + length > len(data):
            break
        out.append((pos + 8, length))
        pos += 12 + length
    return out


def mutate(data: bytes, seeds: list[bytes], rng: random.Random) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.choice([1, 1, 1, 2, 3, 5])):
        if not buf:
            buf = bytearray(rng.choice(seeds))
        op = rng.randrange(9)
        i = rng.randrange(len(buf))
        if op == 0:  # bit flips
            buf[i] ^= 1 << rng.randrange(8)
        elif op == 1:  # interesting byte
            buf[i] = rng.choice(INTERESTING_8)
        elif op == 2:  # interesting 16/32-bit integer, either endianness (sizes, lengths)
            value = rng.choice(INTERESTING_16 + INTERESTING_32)
            fmt = rng.choice(["<H", ">H", "<I", ">I"])
            packed = struct.pack(fmt, value & (0xFFFF if "H" in fmt else 0xFFFFFFFF))
            buf[i : i + len(packed)] = packed
        elif op == 3:  # insert random bytes
            buf[i:i] = rng.randbytes(rng.randint(1, 64))
        elif op == 4:  # delete a range
            del buf[i : i + rng.randint(1, max(1, len(buf) // 8))]
        elif op == 5:  # truncate
            del buf[rng.randrange(len(buf) + 1) :]
        elif op == 6:  # duplicate a range
            j = rng.randrange(len(buf))
            buf[j:j] = buf[i : i + rng.randint(1, 256)]
        elif op == 7:  # splice with another seed
            other = rng.choice(seeds)
            buf = buf[:i] + bytearray(other[rng.randrange(len(other)) :])
        else:  # PNG: edit one chunk's data and fix its CRC, so the decoder gets past the check
            chunks = _png_chunks(bytes(buf))
            if chunks:
                start, length = rng.choice(chunks)
                if length:
                    k = start + rng.randrange(length)
                    if rng.random() < 0.5:
                        buf[k] = rng.randrange(256)
                    else:
                        buf[k : k + 4] = struct.pack(">I", rng.choice(INTERESTING_32))
                    body = bytes(buf[start - 4 : start + length])
                    buf[start + length : start + length + 4] = struct.pack(
                        ">I", zlib.crc32(body) & 0xFFFFFFFF
                    )
    return bytes(buf)


def run_one(data: bytes) -> str:
    """``"ok"`` or ``"input_error"``; anything else raises."""
    try:
        decode_upload(data, "fuzz")  # DICOM (decode_dicom), GIF, or decode_image
    except InputError:
        return "input_error"
    return "ok"


def peak_rss_mb() -> float:
    """This process's peak resident memory so far (``VmHWM``), MB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="time budget (default 60)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--out", help="folder for inputs that gave a finding")
    parser.add_argument("--slow", type=float, default=5.0, help="an input slower is a finding")
    parser.add_argument("--max-memory-mb", type=int, default=4096, help="address-space limit")
    parser.add_argument(
        "--max-rss-mb", type=float, default=1024.0, help="peak RSS above this is a finding"
    )
    args = parser.parse_args(argv)
    if args.seconds <= 0:
        parser.error("--seconds must be positive")

    limit = args.max_memory_mb * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    seeds = make_seeds()
    seed_list = list(seeds.values())
    for name, data in seeds.items():  # the seeds themselves must decode
        assert run_one(data) == "ok", name
    rng = random.Random(args.seed)
    counts: collections.Counter[str] = collections.Counter()
    findings: list[tuple[str, str, bytes]] = []
    slowest = (0.0, "")
    # Native decoders print to fd 2 (libpng errors, libtiff warnings): silence it, keep stdout.
    saved_stderr = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    watchdog = max(60.0, 4 * args.slow)
    peak_seen = peak_rss_mb()
    start = time.perf_counter()
    try:
        while time.perf_counter() - start < args.seconds:
            name = rng.choice(list(seeds))
            data = mutate(seeds[name], seed_list, rng)
            faulthandler.dump_traceback_later(watchdog, exit=True, file=sys.stdout)
            t0 = time.perf_counter()
            try:
                counts[run_one(data)] += 1
            except Exception as e:  # a finding: anything but InputError
                counts["unexpected"] += 1
                findings.append((name, f"{type(e).__name__}: {e}"[:300], data))
            finally:
                faulthandler.cancel_dump_traceback_later()
            dt = time.perf_counter() - t0
            peak = peak_rss_mb()
            if peak > max(args.max_rss_mb, peak_seen):  # a new high-water mark over the limit
                counts["memory"] += 1
                findings.append((name, f"memory: peak RSS {peak:.0f} MB", data))
            peak_seen = max(peak_seen, peak)
            if dt > slowest[0]:
                slowest = (dt, name)
            if dt > args.slow:
                counts["slow"] += 1
                findings.append((name, f"slow: {dt:.1f} s", data))
    finally:
        os.dup2(saved_stderr, 2)
        os.close(devnull)
    elapsed = time.perf_counter() - start
    tried = counts["ok"] + counts["input_error"] + counts["unexpected"]
    print(
        f"fuzz_loaders: {tried} inputs in {elapsed:.1f} s ({tried / elapsed:.0f}/s) from "
        f"{len(seeds)} seeds, seed {args.seed}: {counts['ok']} decoded, "
        f"{counts['input_error']} refused with InputError, {counts['unexpected']} other "
        f"exceptions, {counts['slow']} slower than {args.slow:g} s "
        f"(slowest {slowest[0] * 1000:.0f} ms, from {slowest[1]}), {counts['memory']} over "
        f"{args.max_rss_mb:g} MB peak RSS (peak {peak_seen:.0f} MB)"
    )
    kinds = collections.Counter(msg.split(":")[0] for _, msg, _ in findings)
    for kind, n in kinds.most_common():
        example = next(f for f in findings if f[1].split(":")[0] == kind)
        print(f"  {n} x {kind}, e.g. from {example[0]}: {example[1]}")
    if findings and args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        for name, _, data in findings[:50]:
            (out / f"{hashlib.sha1(data).hexdigest()[:12]}_{name}").write_bytes(data)
        print(f"  inputs saved in {out}/")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())

"""Peak memory of decoding (and optionally measuring) inputs of growing *decoded* size.

    python scripts/memory_probe.py [--measure] [--only CASE ...] [--json out/memory_probe.json]

Builds each input deterministically (constant pixels, written a row at a time: a few KB to a
few MB on disk, up to hundreds of MB decoded), then decodes it in a fresh subprocess, through
the web app's path (:func:`fetalseg.web.uploads.decode_upload`, which is also what ``predict``
reads DICOM and images with). The child reads the file's bytes, resets its peak-RSS mark
(``/proc/self/clear_refs``), decodes, and reports ``VmHWM - VmRSS`` from ``/proc/self/status``:
the growth of resident memory caused by decoding that one input. With ``--measure`` the child
also measures every frame with the shipped model (``Measurer``, as the server does), so the
figure is the server's growth for one request. Linux only (``/proc``).

A refused input (over :data:`fetalseg.data.io.MAX_PIXELS` or ``MAX_FRAME_BYTES`` per frame, or
:data:`fetalseg.data.io.MAX_TOTAL_PIXELS` per file) is reported with its one-line error and
must grow memory by almost nothing: the budget is checked from the header, before decoding.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: ``name: (builder, arguments, what it is)``; decoded size = what the decoder allocates.
CASES: dict[str, tuple[str, tuple[int, ...], str]] = {
    "png_gray8_0.4MP": ("png", (800, 540, 8, 0), "800x540 8-bit gray PNG"),
    "png_gray8_16MP": ("png", (4000, 4000, 8, 0), "4000x4000 8-bit gray PNG"),
    "png_rgb8_16MP": ("png", (4000, 4000, 8, 2), "4000x4000 8-bit RGB PNG"),
    "png_gray16_16MP": ("png", (4000, 4000, 16, 0), "4000x4000 16-bit gray PNG"),
    "png_rgba16_16MP": ("png", (4000, 4000, 16, 6), "4000x4000 16-bit RGBA PNG"),
    "png_rgba16_40MP": ("png", (8000, 5000, 16, 6), "8000x5000 16-bit RGBA PNG"),
    "dicom_rle16_1x16MP": ("dicom", (1, 4000, 4000, 16), "1 frame 4000x4000 16-bit RLE DICOM"),
    "dicom_rle16_6x16MP": ("dicom", (6, 4000, 4000, 16), "6 frames 4000x4000 16-bit RLE DICOM"),
    "dicom_rle16_7x16MP": ("dicom", (7, 4000, 4000, 16), "7 frames 4000x4000 16-bit RLE DICOM"),
    "dicom_rle16_5x40MP": ("dicom", (5, 5000, 8000, 16), "5 frames 8000x5000 16-bit RLE DICOM"),
    "dicom_rle8_300x0.3MP": ("dicom", (300, 480, 640, 8), "300 frames 640x480 8-bit RLE DICOM"),
}


def build(kind: str, args: tuple[int, ...]) -> tuple[bytes, int]:
    """``(file bytes, bytes the decoder allocates for all frames in the file's own depth)``."""
    if kind == "png":
        from fetalseg.data.io import encode_constant_png

        w, h, depth, colour = args
        channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
        return encode_constant_png(w, h, depth, colour, 7), w * h * channels * depth // 8
    from fetalseg.data.dicom import encode_constant_rle_dicom

    n, rows, cols, bits = args
    return encode_constant_rle_dicom(n, rows, cols, bits), n * rows * cols * bits // 8


def _status_kb(field: str) -> int:
    text = Path("/proc/self/status").read_text()
    return int(text.split(f"{field}:")[1].split()[0])


def child(path: str, measure: bool) -> None:
    """Decode (and measure) ``path``; print one JSON line: outcome, growth MB, seconds."""
    import numpy as np

    from fetalseg.errors import InputError
    from fetalseg.web.uploads import Upload, decode_upload

    measurer = None
    if measure:
        from fetalseg.inference.predictor import Predictor
        from fetalseg.web.measure import Measurer

        measurer = Measurer(Predictor())
        warm = Upload("warm-up", "png", np.full((1, 540, 800), 7, np.uint8))
        measurer.measure(warm, 0.1)  # the model and the allocator warmed up, not counted
    data = Path(path).read_bytes()
    before = _status_kb("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    t0 = time.perf_counter()
    try:
        upload = decode_upload(data, Path(path).name)
        if measurer is not None:
            measurer.measure(upload, 0.1)
        outcome = f"decoded {upload.frames.shape[0]} frame(s)"
    except InputError as e:
        outcome = f"refused: {e}"
    seconds = time.perf_counter() - t0
    growth = (_status_kb("VmHWM") - before) / 1024
    print(json.dumps({"outcome": outcome, "growth_mb": round(growth, 1), "seconds": seconds}))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--measure", action="store_true", help="also measure with the model")
    parser.add_argument("--json", help="write the results here too")
    parser.add_argument("--only", action="append", choices=list(CASES), help="just these cases")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.measure)
        return 0
    results = []
    print(f"{'case':24s} {'file MB':>8s} {'decoded MB':>10s} {'growth MB':>9s} {'s':>6s}  outcome")
    with tempfile.TemporaryDirectory() as tmp:
        for name, (kind, case_args, what) in CASES.items():
            if args.only and name not in args.only:
                continue
            data, decoded = build(kind, case_args)
            path = Path(tmp) / (name + (".png" if kind == "png" else ".dcm"))
            path.write_bytes(data)
            cmd = [sys.executable, __file__, "--child", str(path)]
            cmd += ["--measure"] if args.measure else []
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                print(f"{name}: the child failed:\n{proc.stderr}", file=sys.stderr)
                return 1
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            r.update(case=name, input=what, file_mb=len(data) / 1e6, decoded_mb=decoded / 1e6)
            results.append(r)
            print(
                f"{name:24s} {r['file_mb']:8.2f} {r['decoded_mb']:10.0f} {r['growth_mb']:9.0f} "
                f"{r['seconds']:6.2f}  {r['outcome'][:90]}"
            )
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

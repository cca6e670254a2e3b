"""Write the reliability tests' corpus of bad inputs to a folder, to try them by hand.

    python scripts/make_bad_inputs.py out/bad_inputs [--hc18]

Single files (empty, truncated, not an image, 16-bit/RGBA/palette PNGs, 1x1, a 20000x20000
decompression bomb, DICOM without pixel data or spacing, blank and headless frames, bad
pixel-size CSVs, bad training configs, fake checkpoints) go to the folder; with ``--hc18`` also
small synthetic HC18-layout folders, each broken in one way, under ``hc18/``. The generator
is ``tests/reliability/bad_inputs.py`` (the tests use it directly). No HC18 file is used.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "reliability"))

from bad_inputs import EXPECTED, HC18_VARIANTS, make_corpus, make_hc18_variants


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="output folder (created)")
    parser.add_argument("--hc18", action="store_true", help="also write broken HC18 layouts")
    args = parser.parse_args(argv)
    files = make_corpus(args.folder)
    for name, path in files.items():
        print(f"{path.stat().st_size:>10}  {name:28s} {EXPECTED.get(name, '')}")
    if args.hc18:
        for name, root in make_hc18_variants(Path(args.folder) / "hc18").items():
            print(f"{'':>10}  {root}/  {HC18_VARIANTS.get(name, 'clean')}")
    print(f"{len(files)} files in {args.folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

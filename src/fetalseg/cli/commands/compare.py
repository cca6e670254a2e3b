"""``fetalseg compare``: is model B better than model A on the same images? Paired per-image
differences of ``fetalseg evaluate`` results, with bootstrap confidence intervals."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from fetalseg.cli.common import add_overwrite_arg
from fetalseg.errors import InputError

NAME = "compare"
HELP = "paired per-image comparison of evaluate results (B - A, bootstrap CI)"
NEEDS_EXTRA = None

#: ``per_image.csv`` columns of ``fetalseg evaluate`` that can be compared, and whether higher
#: is better (the signed ``df_mm`` has no better direction; tests check this table against the
#: evaluate columns)
_OVERLAP = ("dsc", "se", "pc", "sp", "js")
#: the overlap columns, fractions in the file, shown in percent
PERCENT = {*_OVERLAP, *(f"net_{k}" for k in _OVERLAP)}
DIRECTION = {
    **{k: True for k in PERCENT},
    **{k: False for k in ("hd_mm", "hd95_mm", "assd_mm", "adf_mm")},
}
DEFAULT_METRICS = ("dsc", "adf_mm", "hd95_mm")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-a",
        "--reference",
        nargs="+",
        required=True,
        metavar="RESULTS",
        help="model A: evaluate output folder(s) or per_image.csv file(s); several (seeds of "
        "one recipe) are averaged per image",
    )
    p.add_argument(
        "-b",
        "--candidate",
        nargs="+",
        required=True,
        metavar="RESULTS",
        help="model B, the same way; it must have been scored on the same images as A",
    )
    p.add_argument(
        "--metrics",
        nargs="+",
        default=list(DEFAULT_METRICS),
        help=f"per_image.csv columns (default: {' '.join(DEFAULT_METRICS)}); "
        f"valid: {', '.join(DIRECTION)}",
    )
    p.add_argument("--level", type=float, default=0.95, help="CI coverage (default 0.95)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--out", help="also write the table as JSON here")
    add_overwrite_arg(p)


def read_per_image(path: str | Path, metrics: list[str]) -> dict[str, dict[str, float]]:
    """``{image file: {metric: value}}`` from an evaluate ``per_image.csv`` (or its folder).

    Raises :class:`InputError` naming the file: no such file, a missing column, a repeated
    image, or a value that is not a finite number."""
    from fetalseg.data.io import read_csv_rows

    path = Path(path)
    if path.is_dir():
        path = path / "per_image.csv"
    if not path.is_file():
        raise InputError(
            f"{path}: no such file (give an evaluate --out folder or its per_image.csv)"
        )
    rows = read_csv_rows(path)
    if not rows:
        raise InputError(f"{path}: empty; not an evaluate per_image.csv")
    header = rows[0]
    for column in ("file", *metrics):
        if column not in header:
            raise InputError(f"{path}: no column {column!r}; not an evaluate per_image.csv")
    at = {c: header.index(c) for c in ("file", *metrics)}
    table: dict[str, dict[str, float]] = {}
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise InputError(
                f"{path}: line {line}: {len(row)} fields, the header has {len(header)}"
            )
        name = row[at["file"]]
        if name in table:
            raise InputError(f"{path}: line {line}: {name!r} is listed twice")
        values = {}
        for m in metrics:
            try:
                values[m] = float(row[at[m]])
            except ValueError:
                values[m] = math.nan
            if not math.isfinite(values[m]):
                raise InputError(
                    f"{path}: line {line}: {m} = {row[at[m]]!r} is not a finite number"
                )
        table[name] = values
    if not table:
        raise InputError(f"{path}: no images")
    return table


def _side(paths: list[str], metrics: list[str], label: str) -> dict[str, dict[str, float]]:
    """Per image and metric, the mean over ``paths`` (runs of one model or recipe)."""
    from fetalseg.metrics.paired import mean_over_runs

    tables = [read_per_image(p, metrics) for p in paths]
    try:
        per_metric = {m: mean_over_runs([{f: t[f][m] for f in t} for t in tables]) for m in metrics}
    except ValueError as e:
        raise InputError(f"{label} ({', '.join(paths)}): {e}") from None
    return {f: {m: per_metric[m][f] for m in metrics} for f in per_metric[metrics[0]]}


def compare(
    reference: list[str], candidate: list[str], metrics: list[str], level: float, seed: int
) -> dict[str, dict[str, float]]:
    """``{metric: PairedDifference as a dict}`` of B - A over the images both were scored on
    (which must be the same set)."""
    from dataclasses import asdict

    from fetalseg.metrics.paired import paired_difference

    unknown = [m for m in metrics if m not in DIRECTION]
    if unknown:
        raise InputError(f"--metrics {unknown[0]!r}: unknown; valid: {', '.join(DIRECTION)}")
    if not 0 < level < 1:
        raise InputError(f"--level {level}: must be between 0 and 1 (e.g. 0.95)")
    a = _side(reference, metrics, "--reference")
    b = _side(candidate, metrics, "--candidate")
    if set(a) != set(b):
        only = sorted(set(a) ^ set(b))
        raise InputError(
            f"A and B were not scored on the same images ({len(only)} differ, e.g. {only[0]}); "
            "evaluate both on the same split of the same data"
        )
    names = sorted(a)
    out = {}
    for m in metrics:
        d = paired_difference(
            [a[f][m] for f in names],
            [b[f][m] for f in names],
            higher_is_better=DIRECTION[m],
            level=level,
            seed=seed,
        )
        out[m] = asdict(d)
    return out


def table_markdown(result: dict[str, dict[str, float]]) -> str:
    """The comparison as a Markdown table (percent for overlap metrics, mm for distances)."""
    lines = [
        "| metric | A | B | B - A | CI | B better | B worse |",
        "|---|---:|---:|---:|---|---:|---:|",
    ]
    for m, d in result.items():
        scale, unit = (100.0, " %") if m in PERCENT else (1.0, " mm")
        ci = f"[{d['ci_low'] * scale:+.3f}, {d['ci_high'] * scale:+.3f}]"
        lines.append(
            f"| {m} | {d['mean_a'] * scale:.3f}{unit} | {d['mean_b'] * scale:.3f}{unit} "
            f"| {d['mean_diff'] * scale:+.3f} | {ci} | {d['better']:.0%} | {d['worse']:.0%} |"
        )
    n = next(iter(result.values()))["n"]
    level = next(iter(result.values()))["level"]
    lines.append(
        f"\n{n} paired images; CI: {level:.0%} percentile bootstrap of the mean difference "
        "(images resampled); higher is better for overlap, lower for distances and adf."
    )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    import contextlib
    import json

    from fetalseg.destination import output_file

    with contextlib.ExitStack() as stack:  # the destination refused before anything is read
        tmp = stack.enter_context(output_file(args.out, args.overwrite)) if args.out else None
        result = compare(args.reference, args.candidate, args.metrics, args.level, args.seed)
        if tmp is not None:
            tmp.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(table_markdown(result))
    if args.out:
        print(f"wrote {args.out}")
    return 0

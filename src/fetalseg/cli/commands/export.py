"""``fetalseg export``: export a model: ONNX (fp32 / int8) or fp16 safetensors."""

from __future__ import annotations

import argparse

from fetalseg.cli.common import add_overwrite_arg
from fetalseg.errors import InputError

NAME = "export"
HELP = "export a model: ONNX (fp32 / int8) or fp16 safetensors"
NEEDS_EXTRA = "train"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=("onnx", "safetensors"), default="onnx")
    p.add_argument("--checkpoint", help=".safetensors or .pt (default: the shipped model)")
    p.add_argument("--int8", action="store_true", help="also write a static int8 (QDQ) model")
    p.add_argument("--data", help="HC18 folder for calibration and the parity check")
    p.add_argument(
        "--out",
        help="output file (default: out/export/CHECKPOINT.onnx or .safetensors; never inside "
        "the installed package)",
    )
    add_overwrite_arg(p)
    p.add_argument("--note", default="", help="free text stored with safetensors provenance")


def run(args: argparse.Namespace) -> int:
    if args.format == "safetensors":
        import json
        from pathlib import Path

        from fetalseg.destination import output_file
        from fetalseg.inference.weights import export_safetensors, load_model

        if not args.checkpoint or not args.checkpoint.endswith(".pt"):
            raise InputError("--format safetensors needs --checkpoint RUN/best.pt (a .pt file)")
        out = Path(args.out or f"out/export/{Path(args.checkpoint).stem}.safetensors")
        info = {"git_commit": _git_commit(), "source": args.checkpoint, "note": args.note}
        card = out.with_suffix(".json")
        with output_file(card, args.overwrite) as card_tmp:  # both refused before any work
            with output_file(out, args.overwrite) as tmp:
                export_safetensors(args.checkpoint, tmp, info)
            print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB, fp16)")
            loaded = load_model(out)
            card_tmp.write_text(
                json.dumps({"config": loaded.config, "info": loaded.info}, indent=2) + "\n",
                encoding="utf-8",
            )
        print(f"wrote {card} (how the model was trained)")
        return 0
    from fetalseg.config import default_data_root
    from fetalseg.export.pipeline import export_model
    from fetalseg.inference.weights import load_model

    data = args.data or default_data_root()
    report = export_model(load_model(args.checkpoint), args.out, args.int8, data, args.overwrite)
    print("\n".join(report.lines()))
    return 0


def _git_commit() -> str:
    import subprocess

    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"

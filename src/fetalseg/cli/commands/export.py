"""``fetalseg export``: export a model: ONNX (fp32 / int8) or fp16 safetensors."""

from __future__ import annotations

import argparse

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
        help="output file (default: out/export/... or, for safetensors, "
        "the package's shipped weights)",
    )
    p.add_argument("--note", default="", help="free text stored with safetensors provenance")


def run(args: argparse.Namespace) -> int:
    if args.format == "safetensors":
        import json

        from fetalseg.inference.weights import export_safetensors, shipped_weights

        if not args.checkpoint or not args.checkpoint.endswith(".pt"):
            raise InputError("--format safetensors needs --checkpoint RUN/best.pt (a .pt file)")
        out = args.out or str(shipped_weights())
        info = {"git_commit": _git_commit(), "source": args.checkpoint, "note": args.note}
        path = export_safetensors(args.checkpoint, out, info)
        print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB, fp16)")
        from fetalseg.inference.weights import load_model

        loaded = load_model(path)
        card = path.with_suffix(".json")
        card.write_text(json.dumps({"config": loaded.config, "info": loaded.info}, indent=2) + "\n")
        print(f"wrote {card} (how the model was trained)")
        return 0
    from fetalseg.config import default_data_root
    from fetalseg.inference.export import export_model

    report = export_model(args.checkpoint, args.out, args.int8, args.data or default_data_root())
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

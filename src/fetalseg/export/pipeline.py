"""``fetalseg export --format onnx [--int8]``: export, quantise, and check parity on real frames."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path

from fetalseg.artifacts import LoadedModel
from fetalseg.destination import output_file
from fetalseg.errors import InputError
from fetalseg.export.calibration import calibration_batch
from fetalseg.export.onnx import export_onnx
from fetalseg.export.parity import parity_check, parity_images
from fetalseg.export.quantize import quantize_int8


@dataclass
class ExportReport:
    fp32_path: Path
    int8_path: Path | None
    parity_source: str  # what the parity images were
    parity: dict[str, dict[str, float]] = field(default_factory=dict)

    def lines(self) -> list[str]:
        out = [f"wrote {self.fp32_path}"] + ([f"wrote {self.int8_path}"] if self.int8_path else [])
        out.append(f"parity vs PyTorch on {self.parity_source}:")
        for name, p in self.parity.items():
            out.append(
                f"  {name}: max |logit diff| {p['max_abs_diff']:.2e} (logit scale "
                f"{p['logit_scale']:.1f}), mask agreement {p['mask_agreement'] * 100:.3f} %"
            )
        return out


def export_model(
    loaded: LoadedModel,
    out: str | Path | None,
    int8: bool,
    data_root: str | Path | None,
    overwrite: bool = False,
) -> ExportReport:
    """Export ``loaded`` (from :func:`fetalseg.inference.weights.load_model`) to ONNX fp32
    (``out``, default ``out/export/<file stem>.onnx``; with ``int8`` also the static int8 model
    beside it, ``*_int8.onnx``, calibrated on ``data_root``'s HC18 training split), then check
    both against PyTorch. The files follow :mod:`fetalseg.destination` (an existing file is
    refused unless ``overwrite``; each is written whole, then moved into place)."""
    if loaded.model is None:
        raise InputError(f"{loaded.source}: already ONNX; export from a .pt or .safetensors")
    if int8 and (data_root is None or not (Path(data_root) / "training_set").is_dir()):
        raise InputError(f"{data_root}: int8 calibration needs HC18 training images (--data)")
    fp32 = Path(out) if out else Path("out/export") / f"{loaded.source.stem}.onnx"
    int8_path = fp32.with_name(fp32.stem + "_int8.onnx") if int8 else None
    with contextlib.ExitStack() as stack:
        tmp32 = stack.enter_context(output_file(fp32, overwrite))
        tmp8 = stack.enter_context(output_file(int8_path, overwrite)) if int8_path else None
        export_onnx(loaded, tmp32)
        if tmp8 is not None:
            calib = calibration_batch(data_root, loaded.size, n=32, config=loaded.config)
            quantize_int8(tmp32, tmp8, calib)
    images, source = parity_images(loaded, data_root)
    report = ExportReport(fp32, int8_path, source)
    report.parity["onnx fp32"] = parity_check(loaded, fp32, images)
    if int8_path is not None:
        report.parity["onnx int8"] = parity_check(loaded, int8_path, images)
        report.parity["openvino int8"] = parity_check(loaded, int8_path, images, runtime="openvino")
    return report

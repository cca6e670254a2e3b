"""What the machine offers for speed: device, bf16 support, threads."""

from __future__ import annotations

import torch

from fetalseg.machine import cpu_flags


def cpu_has_native_bf16() -> bool:
    """AVX512-BF16 or AMX: bf16 convolutions run faster than fp32 instead of being emulated."""
    return bool({"avx512_bf16", "amx_bf16"} & cpu_flags())


def pick_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def use_bf16(precision: str, device: torch.device) -> bool:
    """Resolve ``"auto" | "bf16" | "fp32"`` for ``device``."""
    if precision not in {"auto", "bf16", "fp32"}:
        raise ValueError(f"precision must be auto, bf16 or fp32, got {precision!r}")
    if precision != "auto":
        return precision == "bf16"
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return cpu_has_native_bf16()

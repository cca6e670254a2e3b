"""fetalseg: real-time fetal head segmentation and biometry for 2D obstetric ultrasound.

The public API (everything else is private by convention)::

    import fetalseg

    model = fetalseg.load()                     # shipped model; no PyTorch needed
    result = model.measure("scan.dcm")          # path, numpy array or fetalseg.Frame
    print(result.status, result.hc_mm, result.bpd_mm, result.ofd_mm, result.ga_weeks)
    clip = model.measure_clip("sweep.mp4", pixel_size_mm=0.12)
    print(clip.to_dict()["hc_mm"], clip.key_frame)

Names are imported on first use (PEP 562), so ``import fetalseg`` itself costs nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

__all__ = [
    "ClipResult",
    "Frame",
    "FrameResult",
    "InputError",
    "Model",
    "__version__",
    "load",
    "measure",
    "read_frame",
    "resolve_calibration",
]

_WHERE = {
    "ClipResult": "fetalseg.result",
    "FrameResult": "fetalseg.result",
    "resolve_calibration": "fetalseg.result",
    "Frame": "fetalseg.api",
    "Model": "fetalseg.api",
    "load": "fetalseg.api",
    "measure": "fetalseg.api",
    "read_frame": "fetalseg.api",
    "InputError": "fetalseg.errors",
}

if TYPE_CHECKING:
    from fetalseg.api import Frame, Model, load, measure, read_frame
    from fetalseg.errors import InputError
    from fetalseg.result import ClipResult, FrameResult, resolve_calibration


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'fetalseg' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)

"""The segmentation networks, registered by name: ``create_model("bisenet", in_channels=1)``.

Every model is a :class:`~fetalseg.models.base.SegmentationNet` (the contract: strides, input
check, training vs inference outputs, training-only heads); importing this package registers
the built-in ones. Adding a model: one module with a ``@register_model("name")`` class, imported
here, plus its test (``tests/models/test_contract.py`` runs over every registered model).
"""

from __future__ import annotations

from fetalseg.models.base import (
    MODELS,
    SegmentationNet,
    TrainOutputs,
    create_model,
    create_model_from_config,
    model_class,
    register_model,
)
from fetalseg.models.bisenet import BiSeNet
from fetalseg.models.unet import UNet

__all__ = [
    "MODELS",
    "BiSeNet",
    "SegmentationNet",
    "TrainOutputs",
    "UNet",
    "create_model",
    "create_model_from_config",
    "model_class",
    "register_model",
]

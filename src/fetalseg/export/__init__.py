"""Export: a trained PyTorch model to ONNX (fp32, then static int8), with parity checks.

One module per step; the package imports none of them itself (importing ``fetalseg.export``
does no work and needs no torch):

* :mod:`fetalseg.export.onnx` -- :func:`~fetalseg.export.onnx.export_onnx` and the graph
  rewrites it applies (BatchNorm folding, :func:`~fetalseg.export.onnx.batchnorms_to_mul_add`
  for the BatchNorms no convolution can take, fetalseg metadata);
* :mod:`fetalseg.export.calibration` -- :func:`~fetalseg.export.calibration.calibration_batch`,
  HC18 *training-split* images for int8 calibration;
* :mod:`fetalseg.export.quantize` -- :func:`~fetalseg.export.quantize.quantize_int8`, static
  int8 QDQ quantisation with ONNX Runtime;
* :mod:`fetalseg.export.parity` -- :func:`~fetalseg.export.parity.parity_check`, an ONNX model
  on a :mod:`fetalseg.runtimes` runtime against PyTorch;
* :mod:`fetalseg.export.pipeline` -- :func:`~fetalseg.export.pipeline.export_model`, the
  ``fetalseg export --format onnx [--int8]`` job: the steps above, written by the output rule
  of :mod:`fetalseg.destination`.

Layer: export sits on :mod:`fetalseg.artifacts`, :mod:`fetalseg.models`,
:mod:`fetalseg.runtimes` and :mod:`fetalseg.data`; inference (the predictor's fp32 ONNX
backend from PyTorch weights, the benchmark) and training (the study) sit on it. It takes an
:class:`~fetalseg.artifacts.LoadedModel`, loaded by the caller with
:func:`fetalseg.inference.weights.load_model`.
"""

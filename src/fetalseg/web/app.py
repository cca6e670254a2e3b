"""The web app: one page for sonographers and a JSON API (``fetalseg serve``).

Endpoints (OpenAPI schema at ``/openapi.json``):

* ``GET /``: the page (static HTML/JS/CSS shipped in the package; no external assets).
* ``POST /api/measure``: one file (``file``; PNG, JPEG, BMP, TIFF, DICOM, GIF clip) and an
  optional ``pixel_size_mm`` form field -> measurements, pixel size and its source, the overlay
  PNG (base64), timings. A clip (multi-frame DICOM or animated GIF) is measured frame by frame,
  with a summary (median HC over the frames with a head, and its spread).
* ``POST /api/measure/batch``: several ``files`` -> one result per file; a bad file gets an
  ``error`` in its item and the others are processed.
* ``POST /api/report``: the same fields as ``/api/measure`` plus the GA (``ga`` "20+3", or
  ``lmp`` and ``exam_date``) and ``standard`` -> the exam report, one self-contained HTML file.
* ``POST /api/dicom``: the same -> a ZIP of the DICOM SR (TID 5000 biometry), the SEG of the
  head and, for a non-DICOM upload, the Secondary Capture both reference.
* ``GET /api/health``, ``GET /api/info``.

``/api/measure`` takes the GA fields too: its ``clinical`` block then holds the centiles,
z-scores, GA from HC, the standard used, growth charts and the quality verdict
(:mod:`fetalseg.web.clinical`).

Errors are JSON ``{"error": "..."}`` with a 4xx status (413: upload too large; 422: not a
readable image, bad pixel size, missing field), never a traceback. Uploads are checked by
content and size (bytes before parsing, dimensions before decoding); nothing the client sends
becomes a file path. Thread safety: see :mod:`fetalseg.web.measure` (one shared model, calls
serialised by a lock).

The interactive docs (``/docs``) are off: they load their scripts from a CDN, and the app must
work offline.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, File, Form, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fetalseg import __version__
from fetalseg.data.dicom import MAX_FRAMES
from fetalseg.data.io import MAX_PIXELS, MAX_SIDE
from fetalseg.errors import InputError
from fetalseg.inference.predictor import Predictor
from fetalseg.quality import check_pixel_size
from fetalseg.web.clinical import ClinicalFields, clinical_json, dicom_zip, upload_exam
from fetalseg.web.guard import BODY_TIMEOUT_S, IDLE_TIMEOUT_S, RequestGuard
from fetalseg.web.measure import Measurer
from fetalseg.web.schemas import BatchResponse, ErrorResponse, Health, Info, MeasureResponse
from fetalseg.web.uploads import (
    check_request_budget,
    decode_upload,
    decoded_pixels,
    safe_name,
)

__all__ = ["MAX_BATCH_FILES", "MAX_UPLOAD_BYTES", "create_app", "static_dir"]

log = logging.getLogger("fetalseg.web")

MAX_UPLOAD_BYTES = 32 * 1024 * 1024
MAX_BATCH_FILES = 20
#: Multipart framing and the form fields around the files.
_FORM_OVERHEAD = 64 * 1024

_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data: blob:; object-src 'none'; "
        b"base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
    ),
]

_GA_HELP = "gestational age known before the scan, weeks+days: '20+3' or '20w3d'"
_LMP_HELP = "first day of the last menstrual period, YYYY-MM-DD (instead of ga)"
_EXAM_DATE_HELP = "date of the scan, YYYY-MM-DD (with lmp; default today)"
_STANDARD_HELP = "growth standard: intergrowth (default), who or hadlock"

_ERRORS: dict[int | str, dict[str, Any]] = {
    413: {"model": ErrorResponse, "description": "upload too large"},
    422: {"model": ErrorResponse, "description": "not a readable image, or a bad field"},
}


def static_dir() -> Path:
    """Folder of the page's files, inside the installed package."""
    return Path(str(resources.files("fetalseg.web") / "static"))


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


class _LimitsAndHeaders:
    """ASGI middleware: refuses request bodies over a per-path limit with 413 (by
    ``Content-Length`` up front, and by counting for chunked uploads), and adds security
    headers to every response (and ``Cache-Control: no-store`` to API answers: they hold
    patient images)."""

    def __init__(self, app: ASGIApp, limits: dict[str, int], default_limit: int) -> None:
        self.app = app
        self.limits = limits
        self.default_limit = default_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        limit = self.limits.get(path.rstrip("/") or "/", self.default_limit)
        extra = list(_SECURITY_HEADERS)
        if path.startswith("/api/"):
            extra.append((b"cache-control", b"no-store"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        length = dict(scope.get("headers", [])).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            await _send_413(send_with_headers, limit)
            return
        received = 0
        too_large = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, too_large
            if too_large:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    too_large = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if too_large:
                return  # the app's answer to a cut-off body is replaced by the 413
            started = True
            await send_with_headers(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not too_large:
                raise
        if too_large and not started:
            await _send_413(send_with_headers, limit)


async def _send_413(send: Send, limit: int) -> None:
    body = json.dumps(
        {"error": f"upload too large: the limit is {limit / 2**20:.0f} MB per request"}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def parse_pixel_size(value: str | None) -> float | None:
    """The ``pixel_size_mm`` form field: empty -> ``None``; a decimal comma is accepted."""
    if value is None or not value.strip():
        return None
    text = value.strip().replace(",", ".")
    try:
        size = float(text)
    except ValueError:
        raise _Unprocessable(f"pixel_size_mm {value[:40]!r}: not a number") from None
    return float(check_pixel_size(size, "pixel_size_mm"))  # InputError: 422


class _Unprocessable(Exception):
    """A request field that is present but wrong (422)."""


class _TooLarge(Exception):
    """One uploaded file over the per-file limit (413)."""


def _jsonable(value: Any) -> Any:
    """Model provenance for JSON: plain types, non-finite floats as ``None``."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (str, int, bool)):
        return value
    try:
        return _jsonable(float(value))  # numpy / torch scalars
    except (TypeError, ValueError):
        return str(value)


def _read_upload(upload: UploadFile, max_bytes: int) -> tuple[str, bytes]:
    name = safe_name(upload.filename)
    data = upload.file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise _TooLarge(f"{name}: file too large: the limit is {max_bytes / 2**20:.0f} MB")
    return name, data


def _check_batch_budget(files: Sequence[UploadFile], max_bytes: int) -> None:
    """Refuse a batch whose files decode to too many pixels together
    (:func:`fetalseg.web.uploads.check_request_budget`), from their headers, before any is
    decoded; each file is read for it and rewound (one file's bytes held at a time)."""
    total = 0
    for upload in files:
        data = upload.file.read(max_bytes + 1)
        upload.file.seek(0)
        if len(data) <= max_bytes:  # a file over the limit is reported in its own item
            total += decoded_pixels(data, safe_name(upload.filename))
    check_request_budget(total, len(files))


def create_app(
    predictor: Predictor | None = None,
    *,
    max_upload_bytes: int = MAX_UPLOAD_BYTES,
    max_batch_files: int = MAX_BATCH_FILES,
    max_frames: int = MAX_FRAMES,
    max_concurrent: int = 2,
    allowed_hosts: Sequence[str] | None = None,
    allowed_origins: Sequence[str] = (),
    body_timeout_s: float = BODY_TIMEOUT_S,
    idle_timeout_s: float = IDLE_TIMEOUT_S,
) -> FastAPI:
    """The app, around one shared ``predictor`` (default: the shipped model, auto backend).

    ``max_upload_bytes`` is per file; a batch request may carry up to
    ``min(max_batch_files, 4) * max_upload_bytes``. ``max_frames``: most frames in a clip.
    ``max_concurrent``: requests holding an upload's bytes, decoding and measuring at once
    (model calls are serialised); the others wait before reading their upload (the multipart
    parser keeps at most 1 MB of each file in memory, the rest in a temporary file).
    ``allowed_hosts`` (``None``: any), ``allowed_origins``, ``body_timeout_s``,
    ``idle_timeout_s``: see :class:`fetalseg.web.guard.RequestGuard`.
    """
    predictor = predictor if predictor is not None else Predictor()
    measurer = Measurer(predictor, max_concurrent)
    loaded = predictor.loaded
    static = static_dir()
    index_html = (static / "index.html").read_text(encoding="utf-8")

    app = FastAPI(
        title="fetalseg",
        version=__version__,
        summary="Fetal head segmentation and biometry (HC, BPD, OFD, GA) in 2D ultrasound.",
        description=__doc__,
        docs_url=None,
        redoc_url=None,
    )
    app.state.measurer = measurer
    app.add_middleware(
        _LimitsAndHeaders,
        limits={
            "/api/measure": max_upload_bytes + _FORM_OVERHEAD,
            "/api/measure/batch": min(max_batch_files, 4) * max_upload_bytes + _FORM_OVERHEAD,
            "/api/report": max_upload_bytes + _FORM_OVERHEAD,
            "/api/dicom": max_upload_bytes + _FORM_OVERHEAD,
        },
        default_limit=_FORM_OVERHEAD,
    )
    app.add_middleware(  # outermost: refuses foreign hosts and origins before anything else
        RequestGuard,
        allowed_hosts=allowed_hosts,
        allowed_origins=allowed_origins,
        body_timeout_s=body_timeout_s,
        idle_timeout_s=idle_timeout_s,
    )

    @app.exception_handler(InputError)
    async def _input_error(request: Request, exc: InputError) -> JSONResponse:
        return _error(422, str(exc))

    @app.exception_handler(_Unprocessable)
    async def _unprocessable(request: Request, exc: _Unprocessable) -> JSONResponse:
        return _error(422, str(exc))

    @app.exception_handler(_TooLarge)
    async def _too_large(request: Request, exc: _TooLarge) -> JSONResponse:
        return _error(413, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for err in exc.errors()[:5]:
            where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query"))
            parts.append(f"{where or 'request'}: {err.get('msg', 'invalid')}")
        return _error(422, "; ".join(parts) or "invalid request")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            {"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s", request.url.path)
        return _error(500, f"internal error ({type(exc).__name__}); see the server log")

    def measure_file(file: UploadFile, pixel_size: float | None) -> dict[str, Any]:
        """Read, decode and measure one uploaded file inside a request slot (the bytes and
        frames are freed when :func:`read_and_measure` returns, before the slot is left)."""
        with measurer.slot():
            return read_and_measure(file, pixel_size)

    def read_and_measure(file: UploadFile, pixel_size: float | None) -> dict[str, Any]:
        name, data = _read_upload(file, max_upload_bytes)
        t0 = time.perf_counter()
        upload = decode_upload(data, name, max_frames)
        t1 = time.perf_counter()
        result = measurer.measure(upload, pixel_size)
        result["timing_ms"]["decode_ms"] = 1000 * (t1 - t0)
        result["timing_ms"]["total_ms"] = 1000 * (time.perf_counter() - t0)
        return result

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index() -> HTMLResponse:
        return HTMLResponse(index_html)

    app.mount("/static", StaticFiles(directory=static), name="static")

    @app.post(
        "/api/measure",
        response_model=MeasureResponse,
        responses=_ERRORS,
        summary="Segment and measure one image or clip",
    )
    def measure(
        file: Annotated[UploadFile, File(description="PNG, JPEG, BMP, TIFF, DICOM or GIF")],
        pixel_size_mm: Annotated[
            str | None,
            Form(
                description="mm per pixel, used when the file has no calibration of its own "
                "(DICOM ultrasound regions or PixelSpacing win); empty: px only"
            ),
        ] = None,
        ga: Annotated[str | None, Form(description=_GA_HELP)] = None,
        lmp: Annotated[str | None, Form(description=_LMP_HELP)] = None,
        exam_date: Annotated[str | None, Form(description=_EXAM_DATE_HELP)] = None,
        standard: Annotated[str | None, Form(description=_STANDARD_HELP)] = None,
    ) -> dict[str, Any]:
        size = parse_pixel_size(pixel_size_mm)
        fields = ClinicalFields.parse(ga, lmp, exam_date, standard)
        return with_clinical(measure_file(file, size), fields)

    def with_clinical(result: dict[str, Any], fields: ClinicalFields) -> dict[str, Any]:
        """``result`` with its ``clinical`` block, of the numbers shown (a clip: its medians,
        and the clip's verdict)."""
        head = result["summary"] or result["measurement"]
        result["clinical"] = clinical_json(head, fields, head["quality"])
        return result

    def exam_of_request(
        file: Annotated[UploadFile, File(description="as for /api/measure")],
        pixel_size_mm: Annotated[str | None, Form(description="as for /api/measure")] = None,
        ga: Annotated[str | None, Form(description=_GA_HELP)] = None,
        lmp: Annotated[str | None, Form(description=_LMP_HELP)] = None,
        exam_date: Annotated[str | None, Form(description=_EXAM_DATE_HELP)] = None,
        standard: Annotated[str | None, Form(description=_STANDARD_HELP)] = None,
    ) -> tuple[str, Any]:
        """The form of /api/report and /api/dicom (a FastAPI dependency): ``(file name, the
        measured exam)``."""
        fields = ClinicalFields.parse(ga, lmp, exam_date, standard)
        size = parse_pixel_size(pixel_size_mm)
        with measurer.slot():
            name, data = _read_upload(file, max_upload_bytes)
            upload = decode_upload(data, name, max_frames)
            return name, upload_exam(measurer, upload, data, size, fields)

    def attachment(body: bytes, media_type: str, name: str, suffix: str) -> Response:
        stem = Path(name).stem or "image"
        filename = "".join(c if c.isalnum() or c in "-_." else "_" for c in stem) + suffix
        return Response(
            body,
            media_type=media_type,
            headers={"content-disposition": f'attachment; filename="{filename}"'},
        )

    @app.post(
        "/api/report",
        response_class=Response,
        responses={**_ERRORS, 200: {"content": {"text/html": {}}, "description": "report"}},
        summary="The exam report of one image or clip (self-contained HTML)",
    )
    def report(
        request_exam: tuple[str, Any] = Depends(exam_of_request),  # a local: not in Annotated
    ) -> Response:
        from fetalseg.outputs.report import render_report

        name, exam = request_exam
        html = render_report(exam).encode("utf-8")
        return attachment(html, "text/html; charset=utf-8", name, "_report.html")

    @app.post(
        "/api/dicom",
        response_class=Response,
        responses={**_ERRORS, 200: {"content": {"application/zip": {}}, "description": "ZIP"}},
        summary="DICOM SR (TID 5000) and SEG of one image or clip, as a ZIP",
    )
    def dicom(
        request_exam: tuple[str, Any] = Depends(exam_of_request),  # a local: not in Annotated
    ) -> Response:
        name, exam = request_exam
        return attachment(dicom_zip(exam), "application/zip", name, "_dicom.zip")

    @app.post(
        "/api/measure/batch",
        response_model=BatchResponse,
        responses=_ERRORS,
        summary="Measure several files; a bad file is reported in its item",
    )
    def measure_batch(
        files: Annotated[list[UploadFile], File(description="images, DICOM files or clips")],
        pixel_size_mm: Annotated[str | None, Form(description="as for /api/measure")] = None,
        ga: Annotated[str | None, Form(description=_GA_HELP + " (for every file)")] = None,
        lmp: Annotated[str | None, Form(description=_LMP_HELP)] = None,
        exam_date: Annotated[str | None, Form(description=_EXAM_DATE_HELP)] = None,
        standard: Annotated[str | None, Form(description=_STANDARD_HELP)] = None,
    ) -> dict[str, Any]:
        size = parse_pixel_size(pixel_size_mm)
        fields = ClinicalFields.parse(ga, lmp, exam_date, standard)
        if len(files) > max_batch_files:
            raise _Unprocessable(f"{len(files)} files: at most {max_batch_files} per request")
        with measurer.slot():
            _check_batch_budget(files, max_upload_bytes)
        results: list[dict[str, Any]] = []
        for upload in files:
            try:
                results.append(with_clinical(measure_file(upload, size), fields))
            except (InputError, _TooLarge) as e:
                results.append(
                    {"file": safe_name(upload.filename), "status": "error", "error": str(e)}
                )
        errors = sum(r["status"] == "error" for r in results)
        return {"count": len(results), "errors": errors, "results": results}

    @app.get("/api/health", response_model=Health, summary="Liveness")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "version": __version__, "backend": predictor.backend}

    info = {
        "name": "fetalseg",
        "version": __version__,
        "backend": predictor.backend,
        "model": {
            "name": loaded.config.get("model", {}).get("name"),
            "source": loaded.source.name,
            "input_size": list(loaded.size),
            "in_channels": loaded.in_channels,
        },
        "training": _jsonable(loaded.info),
        "limits": {
            "max_upload_mb": max_upload_bytes / 2**20,
            "max_batch_files": max_batch_files,
            "max_frames": max_frames,
            "max_side_px": MAX_SIDE,
            "max_pixels": MAX_PIXELS,
        },
    }

    @app.get("/api/info", response_model=Info, summary="Model, version, backend, limits")
    async def get_info() -> dict[str, Any]:
        return info

    return app

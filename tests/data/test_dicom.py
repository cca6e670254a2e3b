"""DICOM reading: files built with pydicom in tmp_path (no downloaded samples)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRLittleEndian,
    JPEGBaseline8Bit,
    JPEGLSLossless,
    RLELossless,
    UltrasoundImageStorage,
    UltrasoundMultiFrameImageStorage,
    generate_uid,
)

from fetalseg.data.dicom import (
    decode_dicom,
    dicom_frame_count,
    is_dicom,
    pixel_size_from_dataset,
    pixel_size_value,
    read_dicom,
)
from fetalseg.errors import InputError


def region(
    x0: int, y0: int, x1: int, y1: int, dx_cm: float, dy_cm: float, fmt: int = 1, units: int = 3
) -> Dataset:
    r = Dataset()
    r.RegionSpatialFormat = fmt
    r.RegionDataType = 1
    r.RegionFlags = 0
    r.RegionLocationMinX0 = x0
    r.RegionLocationMinY0 = y0
    r.RegionLocationMaxX1 = x1
    r.RegionLocationMaxY1 = y1
    r.PhysicalUnitsXDirection = units
    r.PhysicalUnitsYDirection = units
    r.PhysicalDeltaX = dx_cm
    r.PhysicalDeltaY = dy_cm
    return r


def make_dicom(
    path: Path,
    pixels: np.ndarray | None,
    photometric: str = "MONOCHROME2",
    regions: list[Dataset] | None = None,
    pixel_spacing: list[float] | None = None,
    frames: int = 1,
) -> Path:
    """Write an ultrasound DICOM file; ``pixels`` is (H, W), (H, W, 3), (N, H, W) or None."""
    meta = FileMetaDataset()
    sop_class = UltrasoundMultiFrameImageStorage if frames > 1 else UltrasoundImageStorage
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "US"
    ds.PatientName = "Synthetic^Phantom"
    if pixels is not None:
        rgb = photometric in ("RGB", "YBR_FULL")
        ds.Rows, ds.Columns = pixels.shape[-3:-1] if rgb else pixels.shape[-2:]
        ds.SamplesPerPixel = 3 if rgb else 1
        if rgb:
            ds.PlanarConfiguration = 0
        ds.PhotometricInterpretation = photometric
        ds.BitsAllocated = pixels.dtype.itemsize * 8
        ds.BitsStored = pixels.dtype.itemsize * 8
        ds.HighBit = ds.BitsStored - 1
        ds.PixelRepresentation = 0
        if frames > 1:
            ds.NumberOfFrames = frames
            ds.FrameTime = 33.3
        ds.PixelData = np.ascontiguousarray(pixels).tobytes()
    if regions is not None:
        ds.SequenceOfUltrasoundRegions = Sequence(regions)
    if pixel_spacing is not None:
        ds.PixelSpacing = pixel_spacing
    ds.save_as(path, enforce_file_format=True)
    return path


def ramp(h: int = 48, w: int = 64) -> np.ndarray:
    return (np.arange(h * w).reshape(h, w) % 256).astype(np.uint8)


def test_regions_in_cm_give_mm(tmp_path):
    img = ramp()
    path = make_dicom(tmp_path / "a.dcm", img, regions=[region(0, 0, 63, 47, 0.015, 0.02)])
    d = read_dicom(path)
    assert d.frames.shape == (1, 48, 64) and d.frames.dtype == np.uint8
    np.testing.assert_array_equal(d.frames[0], img)
    assert d.pixel_size_mm == pytest.approx((0.15, 0.2))
    assert d.pixel_size_source == "ultrasound regions"
    assert not d.is_clip


def test_regions_choose_largest_2d_cm_region(tmp_path):
    regions = [
        region(0, 0, 20, 20, 0.05, 0.05),  # small 2D region
        region(0, 0, 63, 47, 0.1, 0.1, fmt=3),  # spectral Doppler: never used
        region(0, 0, 63, 47, 0.1, 0.1, units=4),  # seconds, not cm: never used
        region(5, 5, 200, 300, 0.012, 0.012),  # most of the image (clipped to it)
    ]
    path = make_dicom(tmp_path / "r.dcm", ramp(), regions=regions, pixel_spacing=[0.5, 0.5])
    d = read_dicom(path)
    assert d.pixel_size_mm == pytest.approx((0.12, 0.12))
    assert d.pixel_size_source == "ultrasound regions"


def test_pixel_spacing_is_row_col(tmp_path):
    path = make_dicom(tmp_path / "p.dcm", ramp(), pixel_spacing=[0.2, 0.1])
    d = read_dicom(path)
    assert d.pixel_size_mm == pytest.approx((0.1, 0.2))  # (x, y) from [row, col]
    assert d.pixel_size_source == "PixelSpacing"


def test_regions_without_usable_2d_fall_back_to_pixel_spacing(tmp_path):
    regions = [region(0, 0, 63, 47, 0.1, 0.1, fmt=2)]  # M-mode
    path = make_dicom(tmp_path / "m.dcm", ramp(), regions=regions, pixel_spacing=[0.3, 0.3])
    assert read_dicom(path).pixel_size_source == "PixelSpacing"


def test_no_pixel_size(tmp_path):
    d = read_dicom(make_dicom(tmp_path / "n.dcm", ramp()))
    assert d.pixel_size_mm is None and d.pixel_size_source is None


def test_pixel_size_from_dataset_ignores_bad_values():
    ds = Dataset()
    ds.Rows, ds.Columns = 10, 10
    ds.PixelSpacing = [0, 0.1]
    assert pixel_size_from_dataset(ds) == (None, None)


def test_multi_frame_clip(tmp_path):
    frames = np.stack([ramp() + i for i in range(4)]).astype(np.uint8)
    path = make_dicom(tmp_path / "clip.dcm", frames, frames=4, pixel_spacing=[0.1, 0.1])
    d = read_dicom(path)
    assert d.is_clip and d.n_frames == 4
    np.testing.assert_array_equal(d.frames, frames)
    assert d.frame_time_ms == pytest.approx(33.3)


def test_frame_count_from_the_header(tmp_path):
    frames = np.stack([ramp()] * 4)
    clip = make_dicom(tmp_path / "clip.dcm", frames, frames=4).read_bytes()
    assert dicom_frame_count(clip, "clip.dcm") == 4
    assert dicom_frame_count(make_dicom(tmp_path / "one.dcm", ramp()).read_bytes()) == 1
    with pytest.raises(InputError, match=r"x\.png: not a DICOM file"):
        dicom_frame_count(b"\x89PNG" + bytes(200), "x.png")
    ds = pydicom.dcmread(tmp_path / "clip.dcm")
    ds.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    ds.save_as(tmp_path / "z.dcm", enforce_file_format=True)
    with pytest.raises(InputError, match=r"z\.dcm: deflated"):  # refused before inflating
        dicom_frame_count((tmp_path / "z.dcm").read_bytes(), "z.dcm")


def test_pixel_size_value_is_one_number_for_square_pixels():
    assert pixel_size_value((0.2, 0.2)) == 0.2
    assert pixel_size_value((0.2, 0.3)) == (0.2, 0.3)


def test_too_many_frames(tmp_path):
    frames = np.zeros((5, 40, 40), np.uint8)
    path = make_dicom(tmp_path / "long.dcm", frames, frames=5)
    with pytest.raises(InputError, match="5 frames"):
        read_dicom(path, max_frames=4)


def test_monochrome1_is_inverted(tmp_path):
    img = ramp()
    d = read_dicom(make_dicom(tmp_path / "m1.dcm", img, photometric="MONOCHROME1"))
    np.testing.assert_array_equal(d.frames[0], 255 - img)


def test_rgb_to_gray(tmp_path):
    rgb = np.zeros((40, 50, 3), np.uint8)
    rgb[..., 0] = 200  # red
    rgb[:, 25:, 1] = 100  # green on the right half
    d = read_dicom(make_dicom(tmp_path / "rgb.dcm", rgb, photometric="RGB"))
    assert d.frames.shape == (1, 40, 50)
    # ITU-R BT.601 luminance, as cv2's RGB2GRAY
    assert abs(int(d.frames[0, 0, 0]) - round(0.299 * 200)) <= 1
    assert abs(int(d.frames[0, 0, 49]) - round(0.299 * 200 + 0.587 * 100)) <= 1


def test_ybr_full_to_gray(tmp_path):
    ybr = np.full((40, 50, 3), 128, np.uint8)
    ybr[..., 0] = np.arange(50, dtype=np.uint8)[None, :] * 4  # Y is the luminance
    d = read_dicom(make_dicom(tmp_path / "ybr.dcm", ybr, photometric="YBR_FULL"))
    assert np.abs(d.frames[0].astype(int) - ybr[..., 0].astype(int)).max() <= 2


def test_16_bit_scaled_by_bits_stored(tmp_path):
    img = np.zeros((40, 40), np.uint16)
    img[:, 20:] = 65535
    img[:, 10:20] = 32768
    d = read_dicom(make_dicom(tmp_path / "16.dcm", img))
    assert d.frames.dtype == np.uint8
    assert d.frames[0, 0, 0] == 0 and d.frames[0, 0, 30] == 255
    assert d.frames[0, 0, 15] == 128


def test_no_pixel_data(tmp_path):
    path = make_dicom(tmp_path / "sr.dcm", None, pixel_spacing=[0.1, 0.1])
    with pytest.raises(InputError, match=r"sr\.dcm: DICOM file has no pixel data"):
        read_dicom(path)


def test_not_dicom(tmp_path):
    path = tmp_path / "x.dcm"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(300))
    assert not is_dicom(path.read_bytes())
    with pytest.raises(InputError, match=r"x\.dcm: not a DICOM file"):
        read_dicom(path)


def test_truncated_dicom(tmp_path):
    data = make_dicom(tmp_path / "t.dcm", ramp()).read_bytes()
    with pytest.raises(InputError, match="cut"):
        decode_dicom(data[: len(data) - 500], "cut.dcm")


def test_compressed_without_decoder_is_input_error(tmp_path):
    # JPEG-LS: pydicom decodes it only with pylibjpeg, gdcm or pyjpegls, none of which we need.
    from pydicom.encaps import encapsulate
    from pydicom.pixels import get_decoder

    if get_decoder(JPEGLSLossless).is_available:
        pytest.skip("a JPEG-LS decoder is installed here")
    path = tmp_path / "j.dcm"
    make_dicom(path, ramp())
    ds = pydicom.dcmread(path)
    ds.file_meta.TransferSyntaxUID = JPEGLSLossless
    ds.PixelData = encapsulate([b"\xff\xd8\xff\xf7jpeg-ls\xff\xd9"])
    ds.save_as(path, enforce_file_format=True)
    with pytest.raises(InputError, match=r"j\.dcm: compressed DICOM .*decoder"):
        read_dicom(path)


def test_corrupt_compressed_is_input_error(tmp_path):
    from pydicom.encaps import encapsulate

    path = tmp_path / "c.dcm"
    make_dicom(path, ramp())
    ds = pydicom.dcmread(path)
    ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit  # decodable (Pillow), but not JPEG data
    ds.PixelData = encapsulate([b"\xff\xd8\xff\xe0not really jpeg\xff\xd9"])
    ds.save_as(path, enforce_file_format=True)
    with pytest.raises(InputError, match=r"c\.dcm: cannot decode"):
        read_dicom(path)


def test_rle_compressed_decodes(tmp_path):
    path = make_dicom(tmp_path / "rle.dcm", ramp(), pixel_spacing=[0.1, 0.1])
    ds = pydicom.dcmread(path)
    ds.compress(RLELossless)
    ds.save_as(path, enforce_file_format=True)
    np.testing.assert_array_equal(read_dicom(path).frames[0], ramp())


def test_deflated_refused(tmp_path):
    path = make_dicom(tmp_path / "z.dcm", ramp())
    ds = pydicom.dcmread(path)
    ds.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    ds.save_as(path, enforce_file_format=True)
    with pytest.raises(InputError, match="deflated"):
        read_dicom(path)


def test_oversized_frame_refused_before_decoding(tmp_path):
    path = make_dicom(tmp_path / "big.dcm", ramp())
    ds = pydicom.dcmread(path)
    ds.Rows, ds.Columns = 9000, 9000  # header only: the pixel data is far smaller
    ds.save_as(path, enforce_file_format=True)
    with pytest.raises(InputError, match="9000x9000"):
        read_dicom(path)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_dicom(tmp_path / "nope.dcm")

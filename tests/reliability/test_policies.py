"""Issue 17's policies, each reproduced: one overwrite rule for every command that writes, the
batch exit code, special files, text encodings and CSV limits, YAML aliases and typed config
values, the pixel-size and HC18 CSV rules, non-UTF-8 file names, benchmark's counts, and memory
bounded by the decoded size.

A user error is one line on stderr naming the input, exit code 2, never a traceback.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import assert_user_error, run

from fetalseg.cli.common import EXIT_SOME_FAILED, EXIT_USER_ERROR, batch_exit_code
from fetalseg.config import load_config
from fetalseg.data.dicom import decode_dicom, encode_constant_rle_dicom
from fetalseg.data.hc18 import read_records
from fetalseg.data.io import encode_constant_png, read_csv_rows, write_image
from fetalseg.data.synthetic import synthetic_frame, write_hc18_layout
from fetalseg.errors import InputError
from fetalseg.inference.batch import read_pixel_csv

SRC = str(Path(__file__).resolve().parents[2] / "src")


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> Path:
    """A folder of two synthetic frames ``a_HC.png``, ``b_HC.png`` and a broken ``c_HC.png``."""
    folder = tmp_path_factory.mktemp("images")
    for i, name in enumerate(("a_HC.png", "b_HC.png")):
        write_image(folder / name, synthetic_frame(320, 240, rng=i)[0])
    return folder


@pytest.fixture(scope="module")
def hc18(tmp_path_factory) -> Path:
    return write_hc18_layout(tmp_path_factory.mktemp("hc18") / "base", 8, seed=0)


# ---------------------------------------------------------------- one rule for results on disk


def test_predict_overwrite_replaces_the_whole_folder(images, tiny_checkpoint, tmp_path, capsys):
    """A second run with --overwrite leaves no overlay, mask or submission of the first."""
    out = tmp_path / "out"
    model = ["--checkpoint", tiny_checkpoint, "--out", out, "--quiet"]
    argv = ["predict", images / "a_HC.png", *model]
    folder = tmp_path / "two"
    folder.mkdir()
    for name in ("a_HC.png", "b_HC.png"):
        shutil.copy(images / name, folder / name)
    assert run(["predict", folder, *model, "--pixel-size", "0.2", "--save-masks"], capsys)[0] == 0
    assert (out / "hc18_submission.csv").is_file() and (out / "masks" / "b_HC.png").is_file()
    before = snapshot(out)
    rc, err = run(argv, capsys)
    assert_user_error(rc, err, "--overwrite")
    assert snapshot(out) == before
    assert run([*argv, "--overwrite"], capsys)[0] == 0
    assert sorted(snapshot(out)) == ["measurements.csv", "measurements.json", "overlays/a_HC.png"]
    assert not list(tmp_path.glob(".out.*"))  # no temporary sibling left behind


def test_predict_clip_overwrite_replaces_the_whole_folder(
    images, tiny_checkpoint, tmp_path, capsys
):
    pytest.importorskip("av")
    out = tmp_path / "out"
    argv = ["predict", images, "--clip", "--checkpoint", tiny_checkpoint, "--out", out, "--quiet"]
    assert run(argv, capsys)[0] == 0
    (out / "stale.txt").write_text("from an earlier run")
    before = snapshot(out)
    rc, err = run(argv, capsys)
    assert_user_error(rc, err, "--overwrite")
    assert snapshot(out) == before
    assert run([*argv, "--overwrite"], capsys)[0] == 0
    assert sorted(snapshot(out)) == ["annotated.mp4", "frames.csv", "summary.json"]


@pytest.mark.parametrize("command", ["evaluate", "demo"])
def test_folder_commands_refuse_earlier_results(command, hc18, tiny_checkpoint, tmp_path, capsys):
    out = tmp_path / "out"
    argv = [command, "--checkpoint", tiny_checkpoint, "--data", hc18, "--out", out, "--quiet"]
    argv += ["-n", "1"] if command == "demo" else ["--split", "all"]
    assert run(argv, capsys)[0] == 0
    (out / "stale.txt").write_text("from an earlier run")
    before = snapshot(out)
    rc, err = run(argv, capsys)
    assert_user_error(rc, err, "--overwrite")
    assert snapshot(out) == before
    assert run([*argv, "--overwrite"], capsys)[0] == 0
    assert "stale.txt" not in snapshot(out) and snapshot(out)


def test_benchmark_refuses_earlier_results_before_timing(tmp_path, capsys):
    (tmp_path / "benchmark.json").write_text("{}")
    rc, err = run(["benchmark", "--out", tmp_path, "--iterations", "1"], capsys)
    assert_user_error(rc, err, "--overwrite")
    assert (tmp_path / "benchmark.json").read_text() == "{}"


@pytest.mark.parametrize("option", ["--out", "--csv"])
def test_check_data_refuses_an_existing_file(option, hc18, tmp_path, capsys):
    path = tmp_path / "report"
    path.write_text("earlier")
    argv = ["check-data", "--data", hc18, option, path, "--quiet"]
    rc, err = run(argv, capsys)
    assert_user_error(rc, err, "--overwrite")
    assert path.read_text() == "earlier"
    assert run([*argv, "--overwrite"], capsys)[0] == 0
    assert path.read_text() != "earlier"


def test_export_refuses_an_existing_file(tiny_checkpoint, tmp_path, capsys):
    path = tmp_path / "model.onnx"
    path.write_text("earlier")
    rc, err = run(["export", "--checkpoint", tiny_checkpoint, "--out", path], capsys)
    assert_user_error(rc, err, "--overwrite")
    assert path.read_text() == "earlier"


def test_export_safetensors_never_writes_the_package(
    tiny_checkpoint, tmp_path, monkeypatch, capsys
):
    from fetalseg.inference.weights import shipped_weights

    shipped = shipped_weights().read_bytes()
    monkeypatch.chdir(tmp_path)
    argv = ["export", "--format", "safetensors", "--checkpoint", str(tiny_checkpoint)]
    assert run(argv, capsys)[0] == 0
    written = tmp_path / "out" / "export" / f"{Path(tiny_checkpoint).stem}.safetensors"
    assert written.is_file() and written.with_suffix(".json").is_file()
    assert shipped_weights().read_bytes() == shipped
    rc, err = run([*argv, "--out", shipped_weights(), "--overwrite"], capsys)
    assert_user_error(rc, err, "inside the installed fetalseg package")
    assert shipped_weights().read_bytes() == shipped


# ---------------------------------------------------------------- exit codes


@pytest.mark.parametrize(
    "n, failed, keep_going, code",
    [(3, 0, False, 0), (3, 1, False, EXIT_SOME_FAILED), (3, 1, True, 0), (3, 3, True, 2)],
)
def test_batch_exit_code(n, failed, keep_going, code):
    assert batch_exit_code(n, failed, keep_going) == code
    assert EXIT_SOME_FAILED not in (0, EXIT_USER_ERROR)


def test_predict_batch_with_a_failed_file_exits_1_unless_keep_going(
    images, tiny_checkpoint, tmp_path, capsys
):
    folder = tmp_path / "in"
    shutil.copytree(images, folder)
    (folder / "c_HC.png").write_bytes(b"not an image")
    argv = ["predict", folder, "--checkpoint", tiny_checkpoint, "--quiet", "--out"]
    rc, err = run([*argv, tmp_path / "o1"], capsys)
    assert rc == EXIT_SOME_FAILED and "c_HC.png" in err
    assert run([*argv, tmp_path / "o2", "--keep-going"], capsys)[0] == 0
    for name in ("a_HC.png", "b_HC.png"):
        (folder / name).write_bytes(b"not an image")
    assert run([*argv, tmp_path / "o3", "--keep-going"], capsys)[0] == EXIT_USER_ERROR


# ---------------------------------------------------------------- special files


def test_predict_dev_zero_is_refused(tiny_checkpoint, tmp_path, capsys):
    argv = ["predict", "/dev/zero", "--checkpoint", tiny_checkpoint, "--out", tmp_path / "o"]
    rc, err = run(argv, capsys)
    assert_user_error(rc, err, "/dev/zero")
    assert "not a regular file" in err


@pytest.mark.parametrize("name", ["x.png", "x.dcm", "x.mp4"])
def test_predict_fifo_is_refused_at_once(name, tiny_checkpoint, tmp_path, capsys):
    fifo = tmp_path / name
    os.mkfifo(fifo)

    def hung(*_):
        raise AssertionError(f"predict {name} (a FIFO) blocked")

    old = signal.signal(signal.SIGALRM, hung)
    signal.alarm(60)
    try:
        argv = ["predict", fifo, "--checkpoint", tiny_checkpoint, "--out", tmp_path / "o"]
        rc, err = run(argv, capsys)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    assert_user_error(rc, err, name)
    assert "FIFO" in err


# ---------------------------------------------------------------- text inputs


def test_latin1_pixel_csv_is_one_line(images, tiny_checkpoint, tmp_path, capsys):
    path = tmp_path / "px.csv"
    path.write_bytes("filename,pixel size(mm)\na_HC.png,0.1\nbébé.png,0.1\n".encode("latin-1"))
    argv = ["predict", images / "a_HC.png", "--checkpoint", tiny_checkpoint]
    rc, err = run([*argv, "--out", tmp_path / "o", "--pixel-csv", path], capsys)
    assert_user_error(rc, err, "px.csv")
    assert "UTF-8" in err


def test_utf8_bom_csv_is_read(tmp_path):
    path = tmp_path / "px.csv"
    path.write_bytes("\ufefffilename,pixel size(mm)\na.png,0.1\n".encode())
    assert read_pixel_csv(path) == {"a.png": 0.1}


def test_latin1_hc18_csv_is_one_line(hc18, tmp_path, capsys):
    root = tmp_path / "hc18"
    shutil.copytree(hc18, root)
    csv_path = root / "training_set_pixel_size_and_HC.csv"
    csv_path.write_bytes(csv_path.read_bytes() + "é.png,0.1,100\n".encode("latin-1"))
    rc, err = run(["check-data", "--data", root, "--quiet"], capsys)
    assert_user_error(rc, err, "training_set_pixel_size_and_HC.csv")


def test_huge_csv_field_is_one_line(tmp_path):
    path = tmp_path / "px.csv"
    path.write_text("filename,pixel size(mm)\n" + "a" * 200_000 + ",0.1\n")
    with pytest.raises(InputError, match="line 2") as e:
        read_csv_rows(path)
    assert len(str(e.value)) < 300 and "px.csv" in str(e.value)
    path.write_text('filename,pixel size(mm)\n"' + "a" * 200_000 + "\n")  # an unclosed quote
    with pytest.raises(InputError, match=r"px\.csv"):
        read_pixel_csv(path)


def test_latin1_config_is_one_line(tmp_path, capsys):
    path = tmp_path / "c.yaml"
    path.write_bytes("train:\n  precision: fp32 # é\n".encode("latin-1"))
    rc, err = run(["train", "--config", path, "--out", tmp_path / "run"], capsys)
    assert_user_error(rc, err, "c.yaml")
    assert "UTF-8" in err


def test_yaml_aliases_are_refused_quickly(tmp_path):
    """The 'billion laughs': 314 bytes of aliases took 21 s and 2.6 GB before."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for k in "bcdefghi":
        prev = chr(ord(k) - 1)
        lines.append(f"{k}: &{k} [" + ",".join([f"*{prev}"] * 9) + "]")
    path = tmp_path / "laughs.yaml"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match="aliases") as e:
        load_config(path)
    assert "laughs.yaml" in str(e.value) and len(str(e.value)) < 300


def test_long_values_are_cut_in_messages(tmp_path):
    path = tmp_path / "long.yaml"
    path.write_text("train:\n  epochs: " + "x" * 500_000 + "\n")
    with pytest.raises(InputError, match=r"train\.epochs") as e:
        load_config(path)
    assert len(str(e.value)) < 400


@pytest.mark.parametrize(
    "text, key",
    [
        ("train:\n  epochs: 2.7\n", "train.epochs"),
        ("train:\n  epochs: true\n", "train.epochs"),
        ("train:\n  channels_last: 5\n", "train.channels_last"),
        ("train:\n  channels_last: 1\n", "train.channels_last"),
        ("train:\n  lr: true\n", "train.lr"),
        ("data:\n  width: '384.5'\n", "data.width"),
    ],
)
def test_config_values_are_checked_by_type(text, key, tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(InputError, match=key.replace(".", r"\.")):
        load_config(path)


@pytest.mark.parametrize(
    "overrides, value",
    [
        (["train.epochs=true"], None),
        (["train.epochs=2.7"], None),
        (["train.channels_last=5"], None),
        (["train.channels_last=false"], False),
        (["train.epochs=3"], 3),
        (["train.lr=1e-3"], 1e-3),  # YAML 1.1 reads 1e-3 as text: a float field takes it
    ],
)
def test_overrides_are_checked_by_type(overrides, value):
    if value is None:
        with pytest.raises(InputError, match=overrides[0].split("=")[0]):
            load_config(None, overrides)
    else:
        cfg = load_config(None, overrides)
        key = overrides[0].split("=")[0].split(".")[1]
        assert getattr(cfg.train, key) == value and type(getattr(cfg.train, key)) is type(value)


@pytest.mark.parametrize(
    "overrides, names",
    [
        (["train.epochs=[1,2"], "train.epochs=[1,2"),
        (["a=1", "a.b=1"], "a.b=1"),
        (["train.epochs=*x"], "train.epochs"),
    ],
)
def test_bad_overrides_are_one_line(overrides, names, tmp_path, capsys):
    argv = ["train", "--out", tmp_path / "run"]
    for item in overrides:
        argv += ["--set", item]
    rc, err = run(argv, capsys)
    assert_user_error(rc, err, names)


# ---------------------------------------------------------------- the pixel-size and HC18 CSVs


@pytest.mark.parametrize(
    "text, expected",
    [
        ("filename,pixel size(mm),head circumference (mm)\na.png,0.1,180\n", {"a.png": 0.1}),
        ("pixel_size_mm,filename\n0.12,a.png\n", {"a.png": 0.12}),
        ("filename,pixel size(mm)\na.png,0.1\na.png,0.1\n", {"a.png": 0.1}),  # same twice
    ],
)
def test_pixel_csv_columns_by_header(text, expected, tmp_path):
    path = tmp_path / "px.csv"
    path.write_text(text)
    assert read_pixel_csv(path) == expected


@pytest.mark.parametrize(
    "text, message",
    [
        ("filename,head circumference (mm)\na.png,180\n", "head circumference"),
        ("filename,pixel size(mm)\na.png,0.1\nb.png,0.2\na.png,0.15\n", "line 4"),
        ("filename,pixel size(mm)\na.png,5\n", "plausible"),
    ],
)
def test_pixel_csv_refusals(text, message, tmp_path):
    path = tmp_path / "px.csv"
    path.write_text(text)
    with pytest.raises(InputError, match=message) as e:
        read_pixel_csv(path)
    assert "px.csv" in str(e.value)


def test_pixel_size_option_and_csv_share_one_range(images, tiny_checkpoint, tmp_path, capsys):
    argv = ["predict", images / "a_HC.png", "--checkpoint", tiny_checkpoint, "--out", tmp_path]
    rc, err = run([*argv, "--pixel-size", "5"], capsys)
    assert_user_error(rc, err, "--pixel-size")
    assert "plausible" in err
    report = ["report", images / "a_HC.png", "--checkpoint", tiny_checkpoint]
    rc, err = run([*report, "--out", tmp_path / "r", "--pixel-size", "5"], capsys)  # was 0-10
    assert_user_error(rc, err, "--pixel-size")
    assert "plausible" in err


def test_file_the_csv_does_not_list_is_a_warning(images, tiny_checkpoint, tmp_path, capsys):
    path = tmp_path / "px.csv"
    path.write_text("filename,pixel size(mm)\nother.png,0.1\n")
    out = tmp_path / "out"
    argv = ["predict", images / "a_HC.png", "--checkpoint", tiny_checkpoint, "--out", out]
    rc, err = run([*argv, "--pixel-csv", path, "--quiet"], capsys)
    (row,) = csv.DictReader((out / "measurements.csv").open())
    assert rc == 0 and "warning" in err and "a_HC.png" in err
    assert "not listed in the pixel-size CSV" in row["message"] and row["hc_mm"] == ""


def test_hc18_csv_disagreeing_duplicate_is_refused(hc18, tmp_path):
    root = tmp_path / "hc18"
    shutil.copytree(hc18, root)
    csv_path = root / "training_set_pixel_size_and_HC.csv"
    first = csv_path.read_text().splitlines()[1]
    name, size, hc = first.split(",")
    csv_path.write_text(csv_path.read_text() + first + "\n")  # the same row again: fine
    assert len(read_records(root)) == len(read_records(hc18))
    csv_path.write_text(csv_path.read_text() + f"{name},{size},{float(hc) + 5}\n")
    with pytest.raises(InputError, match=f"{name}' is listed again"):
        read_records(root)


# ---------------------------------------------------------------- non-UTF-8 file names


def test_write_image_with_a_non_utf8_name(tmp_path):
    path = tmp_path / os.fsdecode(b"caf\xe9.png")
    write_image(path, np.zeros((40, 40), np.uint8))
    assert os.fsencode(path).endswith(b"caf\xe9.png") and path.stat().st_size > 0


def test_predict_non_utf8_names_in_folder_and_out(images, tiny_checkpoint, tmp_path):
    """Segfaulted (exit 139) in cv2.imwrite before; run in a subprocess so a crash is a fail."""
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(images / "a_HC.png", folder / os.fsdecode(b"b\xe9b\xe9_HC.png"))
    out = tmp_path / os.fsdecode(b"r\xe9sultats")
    argv = ["predict", folder, "--checkpoint", tiny_checkpoint, "--out", out, "--quiet"]
    env = {**os.environ, "PYTHONPATH": SRC}
    cmd = [sys.executable, "-m", "fetalseg.cli.main", *map(str, argv)]
    proc = subprocess.run([os.fsencode(c) for c in cmd], capture_output=True, env=env)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    assert (out / "overlays" / os.fsdecode(b"b\xe9b\xe9_HC.png")).is_file()


# ---------------------------------------------------------------- benchmark counts


@pytest.mark.parametrize(
    "args, names",
    [
        (["--iterations", "0"], "--iterations 0"),
        (["--iterations", "-3"], "--iterations -3"),
        (["--threads", "0"], "--threads 0"),
        (["--train", "--batch-size", "1"], "--batch-size 1"),
        (["--train", "--batch-size", "0"], "--batch-size 0"),
        (["--train", "--iterations", "-3"], "--iterations -3"),
    ],
)
def test_benchmark_bad_counts(args, names, tmp_path, capsys):
    rc, err = run(["benchmark", "--out", tmp_path, *args], capsys)
    assert_user_error(rc, err, names)
    assert not any(tmp_path.iterdir())


# ---------------------------------------------------------------- memory by decoded size


def _peak_growth_mb(code: str, *args: str) -> tuple[int, str]:
    """Run ``code`` after reading ``args[0]``'s bytes as ``data``; peak RSS growth (MB)."""
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from fetalseg.errors import InputError\n"
        "from fetalseg.web.uploads import decode_upload\n"
        "data = Path(sys.argv[1]).read_bytes()\n"
        "def kb(f): return int(open('/proc/self/status').read().split(f + ':')[1].split()[0])\n"
        "before = kb('VmRSS')\n"
        "open('/proc/self/clear_refs', 'w').write('5')\n"
        f"{code}\n"
        "print((kb('VmHWM') - before) // 1024)\n"
    )
    env = {**os.environ, "PYTHONPATH": SRC}
    out = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, env=env
    )
    assert out.returncode == 0, out.stderr
    *lines, growth = out.stdout.strip().splitlines()
    return int(growth), "\n".join(lines)


@pytest.mark.parametrize(
    "width, height, says",
    [(8000, 5000, "16 MP"), (4000, 4000, "decodes to 128 MB")],  # 957 MB before; 128 MB decoded
)
def test_16bit_rgba_png_is_refused_before_decoding(width, height, says, tmp_path):
    path = tmp_path / "rgba16.png"
    path.write_bytes(encode_constant_png(width, height, 16, 6, 7))  # a few hundred KB
    code = "try:\n    decode_upload(data, 'rgba16.png')\nexcept InputError as e:\n    print(e)\n"
    growth, message = _peak_growth_mb(code, str(path))
    assert "rgba16.png" in message and says in message and "limit" in message
    assert growth < 50, f"{growth} MB"


def test_large_16bit_dicom_is_refused_or_bounded(tmp_path):
    """5 frames of 8000x5000 16-bit (6.3 MB RLE) took ~4 GB; now refused from the header, and
    6 frames of 4000x4000 16-bit (96 MP, near the most a file may hold) are decoded one at a time
    within the 300 MB target."""
    five = tmp_path / "five.dcm"
    five.write_bytes(encode_constant_rle_dicom(5, 5000, 8000, 16))
    code = "try:\n    decode_upload(data, 'five.dcm')\nexcept InputError as e:\n    print(e)\n"
    growth, message = _peak_growth_mb(code, str(five))
    assert "five.dcm" in message and growth < 50
    six = tmp_path / "six.dcm"
    six.write_bytes(encode_constant_rle_dicom(6, 4000, 4000, 16))
    code = "assert decode_upload(data, 'six.dcm').frames.shape[0] == 6"
    growth, _ = _peak_growth_mb(code, str(six))
    assert growth < 300, f"{growth} MB"  # 96 MB out + one 32 MB frame + the decoder's buffers


@pytest.mark.parametrize("dtype, bits, signed", [("<u2", 12, False), ("<i2", 16, True)])
def test_frame_by_frame_conversion_matches_the_formula(dtype, bits, signed):
    """Block-wise conversion gives what the whole-frame int64 formula gave."""
    from fetalseg.data.dicom import _Scale, _to_uint8

    rng = np.random.default_rng(0)
    lo, hi = (-(1 << 15), 1 << 15) if signed else (0, 1 << 16)
    frame = rng.integers(lo, hi, (700, 90)).astype(dtype)
    a = frame.astype(np.int64) + ((1 << (bits - 1)) if signed else 0)
    top = (1 << bits) - 1
    expected = ((np.clip(a, 0, top) * 255 + top // 2) // top).astype(np.uint8)
    np.testing.assert_array_equal(_to_uint8(frame, _Scale(bits, signed)), expected)


def test_16bit_dicom_scales_like_before():
    data = encode_constant_rle_dicom(2, 64, 48, 16, value=40000)
    frames = decode_dicom(data, "x.dcm").frames
    assert frames.shape == (2, 64, 48) and (frames == round(40000 * 255 / 65535)).all()


def test_web_batch_over_the_request_budget_is_refused(tiny_checkpoint):
    from fastapi.testclient import TestClient

    from fetalseg.inference.predictor import Predictor
    from fetalseg.web.app import create_app
    from fetalseg.web.uploads import MAX_REQUEST_PIXELS

    png = encode_constant_png(4000, 4000, 8, 0, 7)  # 16 MP each (the most per image), 20 KB
    n = MAX_REQUEST_PIXELS // (4000 * 4000) + 1
    with TestClient(create_app(Predictor(tiny_checkpoint, "torch"))) as client:
        files = [("files", (f"{i}.png", png)) for i in range(n)]
        r = client.post("/api/measure/batch", files=files)
    assert r.status_code == 422, r.text
    assert "per request" in r.json()["error"] and "\n" not in r.json()["error"]


def test_memory_probe_reports_every_class(tmp_path):
    """``scripts/memory_probe.py`` runs and says, per decoded-size class, decoded or refused."""
    script = Path(__file__).resolve().parents[2] / "scripts" / "memory_probe.py"
    env = {**os.environ, "PYTHONPATH": SRC}
    out = tmp_path / "probe.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(script),
            "--json",
            str(out),
            "--only",
            "png_gray8_0.4MP",
            "--only",
            "png_rgba16_40MP",
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    results = {r["case"]: r for r in json.loads(out.read_text())}
    assert results["png_gray8_0.4MP"]["outcome"].startswith("decoded")
    assert results["png_rgba16_40MP"]["outcome"].startswith("refused")

"""Every command and API route against the corpus of bad inputs (``bad_inputs.py``).

A user error is one line on stderr naming the input, exit code 2 (4xx on the API), never a
traceback; in a batch the bad file is reported in its row and the rest are processed. Valid but
awkward images (16-bit, RGBA, palette) are measured; blank and headless frames are ``no_head``.
Commands run in-process (``main([...])``) around the session's tiny checkpoint.
"""

from __future__ import annotations

import csv
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from bad_inputs import (
    CLIP_FILES,
    CSV_FILES,
    EXPECTED,
    HC18_VARIANTS,
    TRAIN_TARGET,
    make_corpus,
    make_hc18_variants,
    named_in_error,
)
from cli_helpers import assert_user_error, run
from fastapi.testclient import TestClient

from fetalseg.data.io import DICOM_SUFFIXES, IMAGE_SUFFIXES
from fetalseg.inference.predictor import Predictor
from fetalseg.web.app import create_app

IMAGES = list(EXPECTED)
#: The command line reads images, single-frame DICOM files and clips: what the API reads.
PREDICT_EXPECTED = EXPECTED
TINY_TRAIN = [
    "--quiet",
    "--set",
    "data.width=64",
    "--set",
    "data.height=64",
    "--set",
    "train.epochs=1",
    "--set",
    "train.batch_size=2",
    "--set",
    "train.max_steps_per_epoch=1",
    "--set",
    "train.precision=fp32",
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, Path]:
    return make_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module")
def hc18(tmp_path_factory) -> dict[str, Path]:
    return make_hc18_variants(tmp_path_factory.mktemp("hc18"))


def rows(out: Path) -> list[dict[str, str]]:
    with (out / "measurements.csv").open(newline="") as f:
        return list(csv.DictReader(f))


# ---------------------------------------------------------------- predict


@pytest.mark.parametrize("name", IMAGES)
def test_predict_single_file(name, corpus, tiny_checkpoint, tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["predict", corpus[name], "--checkpoint", tiny_checkpoint, "--out", out]
    rc, err = run([*argv, "--pixel-size", "0.2", "--quiet"], capsys)
    if name in CLIP_FILES:  # a clip: per-frame outputs, no measurements.csv
        assert PREDICT_EXPECTED[name] == "error"
        assert_user_error(rc, err, name)
        return
    if PREDICT_EXPECTED[name] == "error":
        assert_user_error(rc, err, name)
        assert not out.exists()  # nothing measured: no folder of one error row
        if name.endswith(".dcm"):
            assert "DICOM" in err
    else:
        (row,) = rows(out)
        assert rc == 0 and err == "" and row["status"] in {"ok", "no_head", "out_of_range"}
        if EXPECTED[name] == "no_head":
            assert row["status"] == "no_head" and row["hc_mm"] == ""


def test_predict_folder_reports_each_bad_file_and_processes_the_rest(
    corpus, tiny_checkpoint, tmp_path, capsys
):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in IMAGES:
        shutil.copy(corpus[name], folder / name)
    out = tmp_path / "out"
    argv = ["predict", folder, "--checkpoint", tiny_checkpoint, "--out", out, "--quiet"]
    rc, err = run(argv, capsys)
    assert rc == 1 and "Traceback" not in err  # some files failed: exit 1 (no --keep-going)
    by_file = {r["file"]: r for r in rows(out)}
    images = [n for n in IMAGES if n.endswith(IMAGE_SUFFIXES + DICOM_SUFFIXES)]  # not clips
    assert sorted(by_file) == sorted(images)
    bad = [n for n in images if PREDICT_EXPECTED[n] == "error"]
    assert len(err.strip().splitlines()) == len(bad)
    for name in images:
        if PREDICT_EXPECTED[name] == "error":
            assert by_file[name]["status"] == "error" and name in err
        else:
            assert by_file[name]["status"] != "error"
            assert (out / "overlays" / f"{Path(name).stem}.png").is_file()


def test_predict_where_every_file_failed_keeps_earlier_results(
    corpus, tiny_checkpoint, tmp_path, capsys
):
    out, dicom = tmp_path / "out", tmp_path / "dicom"
    options = ["--checkpoint", tiny_checkpoint, "--out", out, "--dicom-out", dicom, "--quiet"]
    assert run(["predict", corpus["good.png"], *options], capsys)[0] == 0
    before = {p: p.read_bytes() for d in (out, dicom) for p in d.rglob("*") if p.is_file()}
    rc, err = run(["predict", corpus["truncated.png"], *options, "--overwrite"], capsys)
    assert_user_error(rc, err, "truncated.png")
    assert {p: p.read_bytes() for d in (out, dicom) for p in d.rglob("*") if p.is_file()} == before
    folder = tmp_path / "bad"  # a folder of bad files only: each named, exit 2, nothing written
    folder.mkdir()
    names = ["empty.png", "truncated.jpg", "tiny_1x1.png"]
    for name in names:
        shutil.copy(corpus[name], folder / name)
    new_out = tmp_path / "new"
    argv = [
        "predict",
        folder,
        "--checkpoint",
        tiny_checkpoint,
        "--out",
        new_out,
        "--keep-going",
        "--quiet",
    ]
    rc, err = run(argv, capsys)
    assert rc == 2 and len(err.strip().splitlines()) == len(names) and "Traceback" not in err
    assert all(name in err for name in names) and not new_out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad", "dicom", "out"]  # no temporary


def test_predict_never_overwrites_unless_asked(corpus, tiny_checkpoint, tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["predict", corpus["good.png"], "--checkpoint", tiny_checkpoint, "--out", out, "--quiet"]
    assert run(argv, capsys)[0] == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    rc, err = run([*argv, "--pixel-size", "0.1"], capsys)
    assert_user_error(rc, err, "--overwrite")
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert run([*argv, "--pixel-size", "0.1", "--overwrite"], capsys)[0] == 0
    assert rows(out)[0]["pixel_size_mm"] == "0.1"


@pytest.mark.parametrize("value", ["nan", "-1", "0", "inf", "-inf", "1e400", "10"])
def test_predict_bad_pixel_size_value(value, corpus, tiny_checkpoint, tmp_path, capsys):
    argv = ["predict", corpus["good.png"], "--checkpoint", tiny_checkpoint, "--out", tmp_path]
    rc, err = run([*argv, f"--pixel-size={value}"], capsys)
    assert_user_error(rc, err, "--pixel-size")
    assert not (tmp_path / "measurements.csv").exists()


@pytest.mark.parametrize("command", ["predict", "report"])
@pytest.mark.parametrize("value", ["abc", "", "0,15", "1e"])
def test_non_numeric_pixel_size_is_one_line(command, value, corpus, tmp_path, capsys):
    argv = [command, corpus["good.png"], f"--pixel-size={value}", "--out", tmp_path / "out"]
    rc, err = run(argv, capsys)  # argparse refuses it: no SystemExit, no usage block
    assert_user_error(rc, err, f"fetalseg {command}: error: argument --pixel-size: {value!r}")
    assert "is not a number" in err and not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", CSV_FILES)
def test_predict_pixel_csv(name, corpus, tiny_checkpoint, tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["predict", corpus["good.png"], "--checkpoint", tiny_checkpoint, "--out", out]
    rc, err = run([*argv, "--pixel-csv", corpus[name], "--quiet"], capsys)
    if name == "pixels_extra_row.csv":  # a row without an image is ignored
        assert rc == 0 and rows(out)[0]["pixel_size_mm"] == "0.1"
    else:
        assert_user_error(rc, err, name)
        assert "line 2" in err


def test_predict_image_without_csv_row_is_measured_in_px_only(
    corpus, tiny_checkpoint, tmp_path, capsys
):
    csv_path = tmp_path / "px.csv"
    csv_path.write_text("filename,pixel size(mm)\nother.png,0.1\n")
    out = tmp_path / "out"
    argv = ["predict", corpus["good.png"], "--checkpoint", tiny_checkpoint, "--out", out]
    rc, _ = run([*argv, "--pixel-csv", csv_path, "--quiet"], capsys)
    (row,) = rows(out)
    assert rc == 0 and row["pixel_size_mm"] == "" and row["hc_mm"] == ""


@pytest.mark.parametrize(
    "argv, names",
    [
        (["predict", "{c}/good.png", "--checkpoint", "{c}/garbage.pt"], "garbage.pt"),
        (["predict", "{c}/good.png", "--checkpoint", "{c}/empty.pt"], "empty.pt"),
        (["predict", "{c}/good.png", "--checkpoint", "{c}/text.onnx"], "text.onnx"),
        (["predict", "{c}/good.png", "--checkpoint", "{c}/text.safetensors"], "text.safetensors"),
        (["predict", "{c}/good.png", "--checkpoint", "{c}/good.png"], "good.png"),
        (["predict", "{c}/absent.png", "--checkpoint", "{k}"], "absent.png"),
        (["predict", "{c}/good.png", "--checkpoint", "{k}", "--out", "{c}/good.png"], "good.png"),
        (["evaluate", "--checkpoint", "{k}", "--limit", "-1", "--data", "{c}"], "--limit"),
        (["evaluate", "--checkpoint", "{k}", "--data", "{c}/absent"], "absent"),
        (["check-data", "--data", "{c}/absent"], "absent"),
        (["demo", "--checkpoint", "{k}", "-n", "0"], "-n 0"),
        (["demo", "--checkpoint", "{c}/garbage.pt"], "garbage.pt"),
        (["export", "--checkpoint", "{c}/empty.pt", "--out", "{c}/x.onnx"], "empty.pt"),
        (["export", "--checkpoint", "{c}/garbage.pt", "--out", "{c}/x.onnx"], "garbage.pt"),
        (["export", "--checkpoint", "{c}/text.onnx", "--out", "{c}/x.onnx"], "text.onnx"),
        (["export", "--checkpoint", "{k}", "--out", "{c}/good.png/x.onnx"], "good.png"),
        (["export", "--format", "safetensors", "--checkpoint", "{c}/text.onnx"], ".pt"),
        (["export", "--format", "safetensors", "--checkpoint", "{c}/garbage.pt"], "garbage.pt"),
        (["serve", "--checkpoint", "{c}/garbage.pt", "--port", "{p}"], "garbage.pt"),
        (["serve", "--checkpoint", "{k}", "--port", "70000"], "--port"),
        # second probe: values that ran for ever, or named a temporary instead of --out
        (["demo", "--checkpoint", "{k}", "-n", "100000000000"], "-n 100000000000"),
        (["benchmark", "--iterations", "1000000000000", "--out", "{c}/b"], "--iterations"),
        (["benchmark", "--threads", "100000", "--out", "{c}/b"], "--threads"),
        (["benchmark", "--train", "--batch-size", "100000", "--out", "{c}/b"], "--batch-size"),
        (["predict", "{c}/good.png", "--checkpoint", "{k}", "--out", "/proc/fetalseg"], "/proc"),
        (["serve", "--checkpoint", "{k}", "--host", "no.such.host.invalid"], "--host"),
        (["report", "{c}/good.png", "--checkpoint", "{k}", "--pixel-size", "5"], "--pixel-size"),
    ],
)
def test_bad_files_and_values(argv, names, corpus, tiny_checkpoint, capsys):
    c = corpus["good.png"].parent
    with socket.socket() as s:  # a port free a moment ago
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    argv = [a.format(c=c, k=tiny_checkpoint, p=port) for a in argv]
    if argv[0] == "predict" and "--out" not in argv:
        argv += ["--out", str(c / "predict_out")]
    rc, err = run(argv, capsys)
    assert_user_error(rc, err, names)


def test_serve_port_in_use(tiny_checkpoint, capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = str(s.getsockname()[1])
        rc, err = run(["serve", "--checkpoint", tiny_checkpoint, "--port", port], capsys)
    assert_user_error(rc, err, f"--port {port}")
    assert "in use" in err


# ---------------------------------------------------------------- train: bad configs


@pytest.mark.parametrize(
    "config, names",
    [
        ("config_not_yaml.yaml", "config_not_yaml.yaml"),
        ("config_unknown_key.yaml", "epoks"),
        ("config_wrong_type.yaml", "train.epochs"),
        ("config_not_mapping.yaml", "config_not_mapping.yaml"),
        ("config_batch_zero.yaml", "train.batch_size"),
        ("config_unknown_model.yaml", "model.name"),
        ("config_bad_precision.yaml", "train.precision"),
        ("config_absent.yaml", "config_absent.yaml"),
        ("config_latin1.yaml", "not UTF-8"),
        ("config_aliases.yaml", "aliases"),
        ("config_float_epochs.yaml", "train.epochs"),
        ("config_bool_epochs.yaml", "train.epochs"),
        ("config_int_bool.yaml", "train.channels_last"),
    ],
)
def test_train_bad_config_file(config, names, corpus, tmp_path, capsys):
    path = corpus["good.png"].parent / config
    rc, err = run(["train", "--config", path, "--out", tmp_path, "--quiet"], capsys)
    assert_user_error(rc, err, names)
    assert not (tmp_path / "last.pt").exists()


@pytest.mark.parametrize(
    "override, names",
    [
        ("train.epochs=many", "train.epochs"),
        ("train.epochs=0", "train.epochs"),
        ("train.batch_size=1", "train.batch_size"),
        ("train.batch_size=100", "batch size 100"),
        ("train.lr=-1", "train.lr"),
        ("train.lr=.nan", "train.lr"),
        ("train.lr_decay_every=0", "train.lr_decay_every"),
        ("data.width=0", "data.width"),
        ("data.width=100", "data.width"),
        ("data.synthetic=1", "data.synthetic"),
        ("data.fractions=1,0,0", "data.fractions"),
        ("data.fractions=-1,1,1", "data.fractions"),
        ("model.in_channels=2", "model.in_channels"),
        ("train.augment.gamma=-0.5", "train.augment.gamma"),
        ("train.augment.contrast=1.5", "train.augment.contrast"),
        ("train.augment.brightness=-1", "train.augment.brightness"),
        ("nonsense", "nonsense"),
    ],
)
def test_train_bad_config_value(override, names, hc18, tmp_path, capsys):
    if override.startswith("data.fractions"):  # on the clean HC18-layout folder
        data = ["--data", hc18["base"]]
    else:
        data = ["--set", "data.synthetic=6"]
    argv = ["train", "--out", tmp_path, *TINY_TRAIN, *data, "--set", override]
    rc, err = run(argv, capsys)
    assert_user_error(rc, err, names)


# ---------------------------------------------------------------- HC18-layout commands


def hc18_argv(command: str, root: Path, out: Path, checkpoint: Path) -> list:
    model = ["--checkpoint", checkpoint]
    return {
        "evaluate": ["evaluate", *model, "--data", root, "--split", "test", "--out", out],
        "check-data": ["check-data", "--data", root, "--out", out / "report.json"],
        "demo": ["demo", *model, "--data", root, "-n", "1", "--out", out],
        "export": ["export", *model, "--data", root, "--out", out / "model.onnx"],
        "train": ["train", "--data", root, "--out", out, *TINY_TRAIN],
    }[command] + ([] if command in ("export", "train") else ["--quiet"])


@pytest.mark.parametrize("command", ["evaluate", "check-data", "demo"])
@pytest.mark.parametrize("variant", list(HC18_VARIANTS))
def test_hc18_commands(command, variant, hc18, tiny_checkpoint, tmp_path, capsys):
    rc, err = run(hc18_argv(command, hc18[variant], tmp_path / "out", tiny_checkpoint), capsys)
    if HC18_VARIANTS[variant] == "error":
        assert_user_error(rc, err, named_in_error(variant))
    else:
        assert rc == 0 and "Traceback" not in err


@pytest.mark.slow  # an ONNX export
def test_export_refuses_a_decompression_bomb_in_the_data(hc18, tiny_checkpoint, tmp_path, capsys):
    argv = hc18_argv("export", hc18["image_bomb"], tmp_path, tiny_checkpoint)
    rc, err = run(argv, capsys)
    assert_user_error(rc, err, named_in_error("image_bomb"))
    assert "too large" in err


TRAIN_ERRORS = (
    "image_without_csv_row",
    "pixel_size_missing",
    "hc_missing",
    "annotation_missing",
    "annotation_wrong_size",
    "annotation_empty",
    "image_truncated",
    "image_bomb",
)


@pytest.fixture(scope="module")
def hc18_train(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("hc18_train")
    return make_hc18_variants(folder, target=TRAIN_TARGET, only=TRAIN_ERRORS)


@pytest.mark.parametrize("variant", TRAIN_ERRORS)
def test_train_on_broken_data(variant, hc18_train, tmp_path, capsys):
    rc, err = run(hc18_argv("train", hc18_train[variant], tmp_path, Path()), capsys)
    assert_user_error(rc, err, named_in_error(variant, TRAIN_TARGET))
    assert not (tmp_path / "last.pt").exists()


# ---------------------------------------------------------------- serve's API


def oracle_logits(x: np.ndarray) -> np.ndarray:
    """Stand-in network output: a head-sized ellipse whenever the input is not constant."""
    n, _, h, w = x.shape
    out = np.full((n, h, w), -8.0, np.float32)
    for i in range(n):
        if float(x[i].std()) > 1e-6:
            m = np.zeros((h, w), np.uint8)
            cv2.ellipse(m, ((w / 2, h / 2), (0.6 * w, 0.45 * h), 20.0), 1, thickness=-1)
            out[i][m > 0] = 8.0
    return out


@pytest.fixture(scope="module")
def clients(tiny_checkpoint):
    """``(tiny model as is, tiny model with the oracle's output)``."""
    oracle = Predictor(tiny_checkpoint, "torch")
    oracle.logits = oracle_logits  # type: ignore[method-assign]
    with (
        TestClient(create_app(Predictor(tiny_checkpoint, "torch"))) as plain,
        TestClient(create_app(oracle)) as head,
    ):
        yield plain, head


def post(client, name: str, data: bytes, pixel_size: str | None = "0.2"):
    form = {} if pixel_size is None else {"pixel_size_mm": pixel_size}
    return client.post("/api/measure", files={"file": (name, data)}, data=form)


@pytest.mark.parametrize("name", IMAGES)
def test_api_measure(name, corpus, clients):
    plain, head = clients
    data = corpus[name].read_bytes()
    r = post(plain, name, data)
    body = r.json()
    if EXPECTED[name] == "error":
        assert r.status_code == 422 and name in body["error"]
        assert "Traceback" not in body["error"] and "\n" not in body["error"]
        return
    assert r.status_code == 200 and body["status"] in {"ok", "no_head", "out_of_range"}
    r = post(head, name, data)
    assert r.status_code == 200
    if EXPECTED[name] == "no_head" and name == "blank.png":
        assert r.json()["status"] == "no_head"
    elif EXPECTED[name] == "valid":  # awkward formats are measured, not refused
        assert r.json()["status"] in {"ok", "out_of_range"}
        assert r.json()["measurement"]["hc_px"] > 0


@pytest.mark.parametrize("value", ["nan", "-1", "0", "inf", "1e400", "10", "abc", "0.2mm"])
def test_api_bad_pixel_size(value, corpus, clients):
    r = post(clients[0], "good.png", corpus["good.png"].read_bytes(), value)
    assert r.status_code == 422 and "pixel_size_mm" in r.json()["error"]


def test_api_missing_file_field(clients):
    r = clients[0].post("/api/measure", data={"pixel_size_mm": "0.2"})
    assert r.status_code == 422 and "file" in r.json()["error"]


@pytest.mark.parametrize("part", [0, 1])
def test_api_batch_reports_bad_files_and_measures_the_rest(part, corpus, clients):
    names = IMAGES[part::2]  # two requests: a batch holds at most 20 files
    files = [("files", (n, corpus[n].read_bytes())) for n in names]
    r = clients[1].post("/api/measure/batch", files=files, data={"pixel_size_mm": "0.2"})
    assert r.status_code == 200
    body = r.json()
    bad = [n for n in names if EXPECTED[n] == "error"]
    assert body["count"] == len(names) and body["errors"] == len(bad)
    for name, item in zip(names, body["results"]):
        assert item["file"] == name
        if name in bad:
            assert item["status"] == "error" and name in item["error"]
        else:
            assert item["status"] != "error"


def test_png_chunk_lengths_are_not_trusted(corpus):
    """A 5 KB PNG declaring a 2 GB chunk made OpenCV allocate 2 GB; now it peaks far lower."""
    code = (  # VmHWM: this process's peak (ru_maxrss would include the forking parent's)
        "import sys\n"
        "from fetalseg.data.io import read_image\n"
        "assert read_image(sys.argv[1]).shape == (64, 96)\n"
        "status = open('/proc/self/status').read().split('VmHWM:')[1]\n"
        "print(int(status.split()[0]) // 1024)\n"
    )
    path = corpus["png_chunk_2gb.png"]
    out = subprocess.run([sys.executable, "-c", code, path], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) < 1000, f"peak RSS {out.stdout.strip()} MB"


def test_resume_from_an_incomplete_checkpoint(tiny_checkpoint, tmp_path, capsys):
    """A ``last.pt`` without optimiser state (e.g. made from an export) was a ``KeyError``
    traceback on ``train --resume``."""
    import torch

    ckpt = torch.load(tiny_checkpoint, map_location="cpu", weights_only=True)
    del ckpt["optimizer"]
    torch.save(ckpt, tmp_path / "last.pt")
    rc, err = run(["train", "--resume", "--out", tmp_path, "--quiet"], capsys)
    assert_user_error(rc, err, "not a complete training checkpoint")
    assert "last.pt" in err

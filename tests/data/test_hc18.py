import math

import cv2
import numpy as np
import pytest

from fetalseg.data.hc18 import (
    Record,
    fill_outline,
    load_pair,
    read_records,
    split_subjects,
    subject_of,
)
from fetalseg.errors import InputError


def test_subject_of_groups_repeat_images():
    assert subject_of("012_HC.png") == "012"
    assert subject_of("012_2HC.png") == "012"
    assert subject_of("/a/b/345_10HC.png") == "345"
    with pytest.raises(InputError, match="not an HC18 image name"):
        subject_of("foo.png")


def _outline(w=200, h=150, axes=(60, 40), angle=25, gaps=True):
    img = np.zeros((h, w), np.uint8)
    cv2.ellipse(img, (100, 75), axes, angle, 0, 360, 255, 1)
    if gaps:  # the outline may be broken: a flood fill would leak, an ellipse fit does not
        img[:, 95:105] = 0
        img[70:80, :] = 0
    return img


def test_fill_outline_with_gaps_matches_ellipse_area():
    mask = fill_outline(_outline())
    assert mask.dtype == np.uint8 and set(np.unique(mask)) == {0, 1}
    expected = math.pi * 60 * 40
    assert abs(mask.sum() - expected) / expected < 0.03


def test_fill_outline_rejects_empty():
    with pytest.raises(InputError, match="fewer than 5"):
        fill_outline(np.zeros((10, 10), np.uint8))


def _records(n_subjects=40, repeats=(1, 2, 3)):
    recs = []
    for s in range(n_subjects):
        for k in range(repeats[s % len(repeats)]):
            name = f"{s:03d}_HC.png" if k == 0 else f"{s:03d}_{k + 1}HC.png"
            recs.append(
                Record(
                    image=__import__("pathlib").Path(name),
                    subject=f"{s:03d}",
                    pixel_size_mm=0.1,
                    hc_mm=100.0,
                )
            )
    return recs


def test_split_is_by_subject_deterministic_and_complete():
    recs = _records()
    a = split_subjects(recs, (0.68, 0.17, 0.15), seed=3)
    b = split_subjects(recs, (0.68, 0.17, 0.15), seed=3)
    assert [[r.name for r in g] for g in a] == [[r.name for r in g] for g in b]
    subjects = [{r.subject for r in g} for g in a]
    for i in range(3):
        for j in range(i + 1, 3):
            assert not subjects[i] & subjects[j], "a subject is in two splits"
    assert sum(len(g) for g in a) == len(recs)
    assert [len(s) for s in subjects] == [27, 7, 6]  # 40 subjects: 68/17/15 %
    c = split_subjects(recs, (0.68, 0.17, 0.15), seed=4)
    assert [r.name for r in c[2]] != [r.name for r in a[2]]


def test_split_rejects_bad_fractions():
    with pytest.raises(ValueError):
        split_subjects(_records(), (0.5, -0.1))


def test_read_records_reports_missing_csv_row(tmp_path):
    (tmp_path / "training_set").mkdir()
    cv2.imwrite(str(tmp_path / "training_set" / "001_HC.png"), np.zeros((8, 8), np.uint8))
    (tmp_path / "training_set_pixel_size_and_HC.csv").write_text(
        "filename,pixel size(mm),head circumference (mm)\r\n"
    )
    with pytest.raises(InputError, match=r"001_HC\.png: no row"):
        read_records(tmp_path)


def test_read_records_rejects_bad_pixel_size(tmp_path):
    (tmp_path / "training_set").mkdir()
    cv2.imwrite(str(tmp_path / "training_set" / "001_HC.png"), np.zeros((8, 8), np.uint8))
    (tmp_path / "training_set_pixel_size_and_HC.csv").write_text(
        "filename,pixel size(mm),head circumference (mm)\r\n001_HC.png,nan,50\r\n"
    )
    with pytest.raises(InputError, match="pixel size"):
        read_records(tmp_path)


def test_annotation_of_wrong_size_is_a_clear_error(tmp_path):
    img, ann = tmp_path / "001_HC.png", tmp_path / "001_HC_Annotation.png"
    cv2.imwrite(str(img), np.zeros((150, 200), np.uint8))
    cv2.imwrite(str(ann), _outline(w=220))
    rec = Record(img, "001", 0.1, 100.0, ann)
    with pytest.raises(InputError, match="differs from its image"):
        load_pair(rec)


def test_real_hc18_layout(hc18_root):
    recs = read_records(hc18_root)
    assert len(recs) > 500
    assert all(r.annotation is not None and r.hc_mm > 0 for r in recs)
    # images are not all the same size: never assume 800x540
    image, mask = load_pair(recs[0])
    assert image.shape == mask.shape
    assert 0.05 < mask.mean() < 0.9
    test = read_records(hc18_root, "test_set")
    assert all(r.annotation is None and r.hc_mm is None for r in test)

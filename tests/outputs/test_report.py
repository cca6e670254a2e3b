from __future__ import annotations

import re
import subprocess
import sys

import pytest
from outputs_helpers import frames, make_frame

from fetalseg import __version__, standards
from fetalseg.errors import InputError
from fetalseg.outputs import Exam, KnownGA
from fetalseg.outputs.report import render_report, write_report
from fetalseg.quality import Quality
from fetalseg.quality.verdict import Reason
from fetalseg.standards import format_centile

SVG_NS = "http://www.w3.org/2000/svg"


def test_format_centile_never_prints_100_or_0():
    assert format_centile(99.96) == ">99.9"
    assert format_centile(99.94) == "99.9"
    assert format_centile(0.04) == "<0.1"
    assert format_centile(0.05) == "0.1"
    assert format_centile(50) == "50.0"
    with pytest.raises(InputError):
        format_centile(float("nan"))


def test_report_is_self_contained(png_exam):
    html = render_report(png_exam)
    text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", html)  # base64 has "//"
    urls = re.findall(r"(?:https?:)?//[\w.-]+[^\s\"'<>)]*", text)
    assert set(urls) <= {SVG_NS}, urls  # the SVG namespace names, it is never fetched
    assert "<script" not in html and "<link" not in html and "@import" not in html
    assert not re.search(r"""(?:src|href)=["'](?!data:)""", html)


def test_report_shows_numbers_units_ga_centiles_charts_and_provenance(png_exam):
    m = png_exam.selected.measurement
    html = render_report(png_exam)
    for value in (m.hc_mm, m.bpd_mm, m.ofd_mm):
        assert f"{value:.1f} mm" in html
    a = standards.assess("hc", m.hc_mm, 18 + 3 / 7)
    assert f">{format_centile(a.centile)}<" in html and f"{a.z:+.2f}" in html
    assert "INTERGROWTH-21st" in html and "18w3d" in html and "given: 18+3" in html
    assert html.count("<svg") == 3  # HC, BPD and OFD growth charts
    assert html.count('class="exam"') == 3  # each with this exam's point
    assert "outer-to-outer" in html
    assert "bisenet (test.onnx)" in html and f"fetalseg {__version__}" in html
    assert "0.3 mm/px, from --pixel-size" in html
    assert "Quality: <span class='note'>not assessed</span>" in html


def test_report_shows_the_quality_verdict_and_its_reasons():
    ((image, mask),) = frames(1)
    q = Quality("check", (Reason("touches_border", "check", "The head touches the border."),))
    exam = Exam(make_frame(image, mask, quality=q), "intergrowth21")
    html = render_report(exam)
    assert "verdict-check" in html and "The head touches the border." in html


def test_extreme_centile_shows_above_99_9_not_100():
    ((image, mask),) = frames(1)
    exam = Exam(make_frame(image, mask), "intergrowth21", KnownGA(16.0, "given: 16+0"))
    html = render_report(exam)
    assert "&gt;99.9" in html  # escaped in the HTML: the reader sees ">99.9"
    assert ">100.0<" not in html and "100.0 centile" not in html


def test_clip_report_shows_the_selected_frame_and_the_spread(clip_exam):
    html = render_report(clip_exam)
    k, n = clip_exam.selected_index, len(clip_exam.frame_measurements)
    assert f"Clip: {n} frames" in html
    assert f"Reported frame: <b>{k + 1}</b> of {n}" in html
    s = clip_exam.spread("hc")
    assert f"{s.median:.1f} mm" in html and f"{s.sd:.2f} mm" in html
    assert "HC per frame" in html
    assert "WHO fetal growth charts" in html
    assert "has no OFD chart" in html  # WHO 2017 charts HC and BPD only


def test_no_known_ga_says_why_there_are_no_centiles(dicom_exam):
    html = render_report(dicom_exam)
    assert "No GA was given" in html and "<svg" not in html


def test_write_report_keeps_an_existing_file_unless_overwrite(png_exam, tmp_path):
    path = tmp_path / "r.html"
    write_report(path, png_exam)
    first = path.read_text()
    with pytest.raises(InputError, match="--overwrite"):
        write_report(path, png_exam)
    assert path.read_text() == first
    write_report(path, png_exam, overwrite=True, title="Second")
    assert "Second" in path.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]  # no temporary left


def test_report_and_dicom_outputs_import_no_torch_or_matplotlib():
    code = (
        "import sys\n"
        "from fetalseg.outputs import report, build, dicom_sr, dicom_seg\n"
        "import fetalseg.cli.commands.report\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('torch', 'matplotlib', 'monai')]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_clip_report_counts_frames_by_verdict(clip_exam):
    clip_exam.frame_verdicts = ["good", "check", "good"]
    html = render_report(clip_exam)
    assert "Frames by quality verdict: <span class='status-warn'>2 good, 1 check</span>" in html
    with pytest.raises(ValueError, match="verdicts"):
        Exam(clip_exam.selected, "who2017", frame_measurements=[None], frame_verdicts=["a", "b"])


def test_clip_report_shows_the_clip_verdict_and_its_reasons(clip_exam):
    clip_exam.clip_verdict = "check"
    clip_exam.clip_reasons = [{"code": "frames_disagree", "severity": "check", "message": "M."}]
    html = render_report(clip_exam)
    assert "verdict-check'>Clip: <b>check</b><ul><li>M.</li>" in html


def test_late_head_names_hadlock_as_the_ga_source_and_centile_cells_are_valid_html():
    from fetalseg.biometry import measure_head
    from fetalseg.outputs import ExamFrame

    ((image, mask),) = frames(1)
    m = measure_head(mask, 0.6)  # twice the helpers' pixel size: a third-trimester head
    frame = ExamFrame(image, mask, m, 0.6, "--pixel-size", "bisenet (test.onnx)", "late.png")
    html = render_report(Exam(frame, "intergrowth21", KnownGA(16.0, "given: 16+0")))
    meta = html.split("How this was measured")[1]
    ga_line = meta.split("GA from HC by")[1].split("</dd>")[0]
    assert "Hadlock" in ga_line and "INTERGROWTH" not in ga_line
    assert "class='num' class=" not in html
    assert "status-warn'>&gt;99.9" in html

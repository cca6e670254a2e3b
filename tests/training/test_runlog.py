"""The run log: rows appended and read back, truncated to a checkpoint's epochs."""

from __future__ import annotations

from fetalseg.training.runlog import LOG_FIELDS, append_log, plot_log, read_log, truncate_log


def _row(epoch: int) -> dict[str, float]:
    return dict(zip(LOG_FIELDS, [epoch, 0.5, 0.9, 1.5, 3e-4, 10.0, 2.0]))


def test_append_read_and_truncate(tmp_path):
    log = tmp_path / "log.csv"
    for epoch in (1, 2, 3):
        append_log(log, _row(epoch))
    assert read_log(log) == [_row(e) for e in (1, 2, 3)]
    with log.open("a") as f:
        f.write("4,0.4")  # a write cut by a kill
    truncate_log(log, 2)
    assert [r["epoch"] for r in read_log(log)] == [1, 2]
    truncate_log(log, 5)  # nothing to drop
    assert [r["epoch"] for r in read_log(log)] == [1, 2]


def test_a_log_with_a_cut_header_is_removed(tmp_path):
    log = tmp_path / "log.csv"
    log.write_text("epoch,train_lo")
    truncate_log(log, 0)
    assert not log.exists()
    truncate_log(log, 0)  # no log: nothing to do


def test_plot_writes_the_curves(tmp_path):
    log = tmp_path / "log.csv"
    append_log(log, _row(1))
    append_log(log, _row(2))
    plot_log(log, tmp_path / "curves.png")
    assert (tmp_path / "curves.png").stat().st_size > 0

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np

from fetalseg import standards
from fetalseg.outputs.charts import CENTILES, growth_chart_svg, series_svg

NS = {"s": "http://www.w3.org/2000/svg"}


def _chart(point, outside=False):
    ga = np.linspace(14, 40, 27)
    curves = standards.centile_curves("hc", "intergrowth21", CENTILES, ga_weeks=ga)
    return ET.fromstring(
        growth_chart_svg(ga, curves, title="HC", ylabel="HC (mm)", point=point, outside=outside)
    )


def test_growth_chart_has_five_curves_and_the_point_where_it_belongs():
    low, high = _chart((20.0, 150.0)), _chart((20.0, 190.0))
    assert len(low.findall("s:path", NS)) == len(CENTILES)
    (p_low,), (p_high,) = low.findall("s:circle", NS), high.findall("s:circle", NS)
    assert float(p_high.get("cy")) < float(p_low.get("cy"))  # larger HC: higher on the chart
    assert p_low.get("cx") == p_high.get("cx")
    assert p_low.get("fill") == "#0b5cad"
    assert _chart((20.0, 150.0), outside=True).find("s:circle", NS).get("fill") == "#c0392b"


def test_point_off_the_ga_range_is_not_drawn():
    assert _chart((42.0, 300.0)).findall("s:circle", NS) == []


def test_series_marks_the_selected_frame():
    svg = series_svg([170.0, None, 172.0, 171.0], selected=2, ylabel="HC (mm)", title="HC")
    root = ET.fromstring(svg)
    assert len(root.findall("s:circle", NS)) == 3 + 1  # 3 values, the selected one again
    assert re.search(r'class="exam"', svg)

"""A `Chart`'s picture: SVG drawn on the server by matplotlib, to inline in a page.

matplotlib is imported on the first chart (a second and a half of HQ's start
otherwise), with the Agg backend (no display) and fonts that have Chinese
glyphs (store and product names) for measuring text. The SVG keeps its text as
text (svg.fonttype "none"), drawn by the browser in the CJK font it has: half the
time and a third of the size of glyph outlines, and the labels can be searched.

Drawing takes 0.1-0.2 s a chart, so pictures are kept by their figures (a `Chart`
is frozen and hashable): a page asked again with the same figures, as between two
rollup rounds, draws nothing. Drawing is serialised (matplotlib's font caches are
shared state).
"""

from __future__ import annotations

import functools
import io
import math
import re
import threading
import unicodedata
from typing import Any, Final

from hq.analytics.figures import Chart

MAX_BARS: Final = 20  # the chart shows the first 20 rows; the table and CSV have all
FONTS: Final = ["Noto Sans CJK SC", "Noto Sans CJK JP", "DejaVu Sans"]
COLOURS: Final = ["#2563eb", "#f59e0b", "#10b981", "#ef4444"]
WIDTH_IN: Final = 7.2

CACHED: Final = 512  # pictures: a few hundred KB in all

_lock = threading.Lock()
_drawing = threading.Lock()
_ready = False


def _setup() -> None:
    global _ready  # noqa: PLW0603 (matplotlib's own settings are process-wide anyway)
    with _lock:
        if _ready:
            return
        import matplotlib  # noqa: PLC0415 (lazily: see the docstring)

        matplotlib.use("Agg")
        matplotlib.rcParams.update(
            {
                "font.family": "sans-serif",
                "font.sans-serif": FONTS,
                "font.size": 9,
                "svg.fonttype": "none",
                "svg.hashsalt": "kiosk-hq",  # the same figures give the same SVG
                "axes.spines.top": False,
                "axes.spines.right": False,
                "axes.unicode_minus": False,
            }
        )
        _ready = True


@functools.lru_cache(maxsize=CACHED)
def svg(chart: Chart) -> str:
    """The chart as an `<svg>` element (no XML prolog), or "" when it has no rows."""
    if not chart.rows:
        return ""
    _setup()
    with _drawing:
        return _draw(chart)


def _draw(chart: Chart) -> str:
    from matplotlib.figure import Figure  # noqa: PLC0415

    indexes = [chart.columns.index(name) for name in chart.plotted]
    rows = chart.rows if chart.kind == "line" else chart.rows[:MAX_BARS]
    labels = [str(row[0]) for row in rows]
    series = [[_number(row[i]) for row in rows] for i in indexes]
    height = 2.6 if chart.kind != "barh" else max(1.6, 0.26 * len(rows) + 0.8)
    figure = Figure(figsize=(WIDTH_IN, height))
    # Fixed margins, not a layout engine: it drew every chart twice to measure it.
    longest = max(map(_width, labels)) if chart.kind == "barh" else 0
    left = min(0.45, 0.08 + 0.0115 * longest) if chart.kind == "barh" else 0.08
    bottom = 0.5 / height if chart.kind != "barh" else 0.35 / height
    count = len(series)
    top = (0.4 if count > 1 else 0.15) / height  # room for the legend above the plot
    figure.subplots_adjust(left=left, right=0.98, top=1 - top, bottom=bottom)
    axes = figure.add_subplot()
    if chart.kind == "line":
        positions = range(len(rows))
        for number, values in enumerate(series):
            axes.plot(positions, values, color=COLOURS[number], label=chart.plotted[number],
                      linewidth=1.4)  # fmt: skip
        step = max(1, len(rows) // 8)
        # Days as MM-DD: a year's 2026-11-08 labels would run into each other.
        short = [label[5:] if _DAY.fullmatch(label) else label for label in labels]
        axes.set_xticks(list(positions)[::step], short[::step])
    else:
        _bars(axes, series, chart.plotted, horizontal=chart.kind == "barh")
        if chart.kind == "barh":
            axes.set_yticks(range(len(rows)), labels)
            axes.invert_yaxis()
        else:
            axes.set_xticks(range(len(rows)), labels)
    axes.grid(axis="x" if chart.kind == "barh" else "y", color="#e5e7eb", linewidth=0.6)
    axes.set_axisbelow(True)
    if count > 1 and chart.kind == "line":
        _legend(axes, axes.get_lines())
    out = io.StringIO()
    figure.savefig(out, format="svg", metadata={"Date": None})
    return presentational(out.getvalue())


_DAY: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
_STYLE: Final = re.compile(r'style="([^"]*)"')
_SHEET: Final = re.compile(r"\s*<style[^>]*>.*?</style>", re.DOTALL)
_METADATA: Final = re.compile(r"\s*<metadata>.*?</metadata>", re.DOTALL)


def presentational(text: str) -> str:
    """matplotlib's SVG with its CSS turned into presentation attributes, from `<svg` on.

    The console's Content-Security-Policy allows no inline styles (`style-src 'self'`):
    the browser ignores style attributes and `<style>` blocks, and every shape would
    be filled black. `fill="..."`, `stroke="..."`, `font-size="..."` are attributes,
    not styles, and are drawn."""
    text = text[text.index("<svg") :]
    text = _METADATA.sub("", _SHEET.sub("", text))
    # The sheet's one rule (`* {stroke-linejoin: round; stroke-linecap: butt}`), inherited.
    text = text.replace("<svg ", '<svg stroke-linejoin="round" stroke-linecap="butt" ', 1)

    def attributes(found: re.Match[str]) -> str:
        pairs = (item.split(":", 1) for item in found.group(1).split(";") if ":" in item)
        return " ".join(f'{name.strip()}="{value.strip()}"' for name, value in pairs)

    return _STYLE.sub(attributes, text)


def _bars(
    axes: Any, series: list[list[float]], names: tuple[str, ...], *, horizontal: bool
) -> None:
    """Grouped bars as one PolyCollection per series: a patch per bar (axes.bar) took
    most of a chart's time."""
    from matplotlib.collections import PolyCollection  # noqa: PLC0415
    from matplotlib.patches import Patch  # noqa: PLC0415

    count = len(series)
    width = 0.8 / count
    for number, values in enumerate(series):
        shapes = []
        for place, value in enumerate(values):
            if math.isnan(value):
                continue
            low = place + (number - count / 2) * width
            box = [(low, 0), (low + width, 0), (low + width, value), (low, value)]
            shapes.append([(y, x) for x, y in box] if horizontal else box)
        axes.add_collection(PolyCollection(shapes, facecolors=COLOURS[number], linewidths=0))
    places = (-0.6, len(series[0]) - 0.4)
    extent = (min(0, _bottom(series) * 1.05), max(_top(series), 1) * 1.05)
    if horizontal:
        axes.set_ylim(*places)
        axes.set_xlim(*extent)
    else:
        axes.set_xlim(*places)
        axes.set_ylim(*extent)
    if count > 1:
        _legend(axes, [Patch(color=COLOURS[n], label=name) for n, name in enumerate(names)])


def _legend(axes: Any, handles: Any) -> None:
    """The series' names in a row above the plot, right-aligned: inside it, a legend
    hid whichever bars or points fell under it."""
    axes.legend(
        handles=handles, frameon=False, fontsize=8, ncols=len(handles),
        loc="lower right", bbox_to_anchor=(1.0, 1.0), borderaxespad=0.2,
    )  # fmt: skip


def _width(label: str) -> int:
    """A label's width in Latin characters: a Chinese character takes two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in label)


def _top(series: list[list[float]]) -> float:
    return max((v for values in series for v in values if not math.isnan(v)), default=0.0)


def _bottom(series: list[list[float]]) -> float:
    return min((v for values in series for v in values if not math.isnan(v)), default=0.0)


def _number(value: Any) -> float:
    if value is None:
        return math.nan
    return float(value)

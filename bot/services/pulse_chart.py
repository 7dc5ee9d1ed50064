"""The pulse trend chart: % agree by side over recent pulses, as a PNG."""

from __future__ import annotations

import io
import math

from matplotlib.figure import Figure

from bot.models import Side
from bot.services.pulse import PollResults

COLOURS = {Side.MARKETING.value: "#d95f02", Side.IT.value: "#1b9e77", "overall": "#7570b3"}


def average_agree(result: PollResults, side: str) -> float | None:
    """% agree for a side averaged over the questions where it is shown."""
    values = [
        (q.overall if side == "overall" else q.by_side[side]).agree_pct for q in result.questions
    ]
    shown = [v for v in values if v is not None]
    return round(sum(shown) / len(shown), 1) if shown else None


def trend_chart(history: list[PollResults], labels: dict[str, str]) -> bytes:
    """The trend figure as a PNG."""
    buffer = io.BytesIO()
    trend_figure(history, labels).savefig(buffer, format="png")
    return buffer.getvalue()


def trend_figure(history: list[PollResults], labels: dict[str, str]) -> Figure:
    """A line per side; gaps where a side had too few answers to show (Everyone: where
    any side that answered did)."""
    figure = Figure(figsize=(7.5, 3.6), dpi=110)
    axes = figure.add_subplot()
    dates = [result.poll.opened_at.strftime("%d %b") for result in history]
    positions = list(range(len(history)))
    for side in (Side.MARKETING.value, Side.IT.value, "overall"):
        values = [average_agree(result, side) for result in history]
        series = [math.nan if v is None else v for v in values]
        axes.plot(
            positions,
            series,
            marker="o",
            color=COLOURS[side],
            label=labels[side],
            linestyle="--" if side == "overall" else "-",
        )
    axes.set_xticks(positions, dates, rotation=0 if len(dates) <= 8 else 45)
    axes.set_ylim(0, 100)
    axes.set_ylabel("% agree")
    axes.set_title("Pulse: how each side sees working together")
    axes.grid(axis="y", alpha=0.3)
    axes.legend(loc="lower left", frameon=False)
    figure.tight_layout()
    return figure

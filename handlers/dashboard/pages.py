"""What each dashboard page shows: its charts and the tables behind them, from the domain's
figures. The same tables are what the CSV downloads contain."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from markupsafe import Markup
from sqlalchemy.orm import Session

from bot.models import Side
from bot.services import dashboard, glossary_lookups
from bot.services.workspaces import WorkspaceView
from handlers.dashboard import charts
from handlers.dashboard.charts import Series

Cell = str | int | float | None


@dataclass(frozen=True)
class Table:
    id: str
    caption: str
    headers: list[str]
    rows: list[list[Cell]]
    empty: str = "Nothing to show yet."


@dataclass(frozen=True)
class Chart:
    svg: Markup
    table_id: str  # the chart is a link to this table
    title: str = ""


@dataclass(frozen=True)
class Page:
    name: str  # overview | pulse | standups | board | glossary
    title: str
    intro: str
    charts: list[Chart] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)

    def table(self, table_id: str) -> Table | None:
        return next((t for t in self.tables if t.id == table_id), None)


@dataclass(frozen=True)
class PageContext:
    session: Session
    workspace_id: str
    workspace: WorkspaceView
    now: datetime
    pair_figures: dashboard.PairFigures | None = None
    weeks: int = 26

    def label(self, side: str) -> str:
        if side in {"none", "all"}:
            return "No side" if side == "none" else "All sides"
        return self.workspace.label(Side(side))


def _pct(value: float | None) -> Cell:
    return None if value is None else round(value, 1)


def overview_page(ctx: PageContext) -> Page:
    figures = dashboard.overview(
        session=ctx.session,
        workspace_id=ctx.workspace_id,
        now=ctx.now,
        pair_figures=ctx.pair_figures,
    )
    months = [m.month for m in figures.months]
    m_label, it_label = ctx.label("marketing"), ctx.label("it")
    score_chart = charts.bar_chart(
        "chart-score",
        "Collaboration-health score by month",
        "A bar per month from 0 to 100; months with nothing to measure have no bar. "
        "The table of scores follows.",
        months,
        [m.score for m in figures.months],
    )
    parts_rows = [
        [m.month, _pct(m.score)] + [_pct(m.parts[key]) for key in dashboard.PARTS]
        for m in figures.months
    ]
    figures_rows = [
        [
            m.month,
            _pct(m.gap),
            _pct(m.response["marketing"]),
            _pct(m.response["it"]),
            _pct(m.standups["marketing"]),
            _pct(m.standups["it"]),
            m.challenges,
            m.helped_across,
            m.median_resolve_days,
            _pct(m.pairs_met) if figures.pairs_available else "not available",
            m.lookups_into_other["marketing"],
            m.lookups["marketing"],
            m.lookups_into_other["it"],
            m.lookups["it"],
        ]
        for m in figures.months
    ]
    response_chart = charts.line_chart(
        "chart-response",
        "Pulse response rate by side",
        f"Monthly average response rate to the weekly pulse, {m_label} and {it_label}.",
        months,
        [
            Series(m_label, [m.response["marketing"] for m in figures.months], *charts.MARKETING),
            Series(it_label, [m.response["it"] for m in figures.months], *charts.IT),
        ],
    )
    notes = [
        "How the score is computed: each part below is turned into a number from 0 to 100, "
        "and the month's score is the average of the parts that month has figures for "
        "(a part with nothing to measure is left out, not counted as 0).",
        "The perception gap is the difference in % agree between the two sides on each "
        "pulse question, where both sides have enough answers to be shown; a smaller gap "
        "scores higher.",
    ]
    if not figures.pairs_available:
        notes.append("Pairs that met: not available in this version of bridgebot.")
    return Page(
        name="overview",
        title="Overview",
        intro="How well the two sides work together, month by month.",
        charts=[
            Chart(score_chart, "table-score", "Collaboration-health score by month"),
            Chart(response_chart, "table-figures", "Pulse response rate by side"),
        ],
        tables=[
            Table(
                "table-score",
                "Score by month and its parts (0-100)",
                ["Month", "Score"] + list(dashboard.PARTS.values()),
                parts_rows,
            ),
            Table(
                "table-figures",
                "The figures behind the parts",
                [
                    "Month",
                    "Average perception gap (points)",
                    f"Pulse response {m_label} (%)",
                    f"Pulse response {it_label} (%)",
                    f"Stand-up participation {m_label} (%)",
                    f"Stand-up participation {it_label} (%)",
                    "Challenges posted",
                    "Challenges helped from the other side",
                    "Median days to resolve",
                    "Pairs that met (%)",
                    f"{m_label} lookups of {it_label} terms",
                    f"{m_label} lookups",
                    f"{it_label} lookups of {m_label} terms",
                    f"{it_label} lookups",
                ],
                figures_rows,
            ),
        ],
        notes=notes,
    )


def pulse_page(ctx: PageContext) -> Page:
    history = dashboard.pulse_history(
        session=ctx.session,
        workspace_id=ctx.workspace_id,
        since=ctx.now - timedelta(weeks=ctx.weeks),
    )
    m_label, it_label = ctx.label("marketing"), ctx.label("it")
    page_charts, tables = [], []
    notes = []
    for number, series in enumerate(history.questions, start=1):
        table_id = f"table-q{number}"
        dates = [q.opened.isoformat() for q in series.points]
        title = f"{number}. {series.question}"
        lines = [
            Series(m_label, [q.marketing for q in series.points], *charts.MARKETING),
            Series(it_label, [q.it for q in series.points], *charts.IT),
        ]
        headers = ["Pulse", f"{m_label} % agree", f"{it_label} % agree"]
        if series.pair is None:
            lines.append(Series("Everyone", [q.everyone for q in series.points], *charts.EVERYONE))
            headers.append("Everyone % agree")
            described = "% agree by side for each weekly pulse"
        else:
            # A mirrored pair: each side was asked about the other; a total means nothing.
            asked = {side: series.pair.get(side, "") for side in ("marketing", "it")}
            notes.append(
                f"{title} is a mirrored pair: {m_label} was asked “{asked['marketing']}”, "
                f"{it_label} was asked “{asked['it']}”."
            )
            described = (
                f"{m_label}'s % agree with “{asked['marketing']}” and {it_label}'s with "
                f"“{asked['it']}”, for each weekly pulse"
            )
        headers.append(f"Gap ({m_label} minus {it_label}, points)")
        page_charts.append(
            Chart(
                charts.line_chart(
                    f"chart-q{number}",
                    title,
                    f"{described}; a side with too few answers is not drawn. "
                    f"The table “{title}” has the figures.",
                    dates,
                    lines,
                ),
                table_id,
                title + (" (mirrored pair)" if series.pair else ""),
            )
        )
        tables.append(
            Table(
                table_id,
                f"{title} (% agree by side)",
                headers,
                [
                    [q.opened.isoformat(), q.marketing, q.it]
                    + ([q.everyone] if series.pair is None else [])
                    + [q.gap]
                    for q in series.points
                ],
            )
        )
    tables.append(
        Table(
            "table-response",
            "Response rate by side",
            ["Pulse"]
            + [f"{ctx.label(side)} answered / asked" for side in ("marketing", "it", "other")]
            + [f"{ctx.label(side)} (%)" for side in ("marketing", "it", "other")],
            [_response_row(p) for p in history.points],
        )
    )
    return Page(
        name="pulse",
        title="Pulse",
        intro=f"Each question's % agree (4 or 5 of 5) by side in the weekly pulses of the last "
        f"{ctx.weeks} weeks, followed by the question across pulses, and the perception gap "
        "between the sides.",
        charts=page_charts,
        tables=tables,
        notes=[
            f"Anonymous, as in the chat results: a side's figures show only with at least "
            f"{history.threshold} answers, and Everyone only when every side that answered "
            "shows. Nobody, admins included, can see who answered.",
            *notes,
        ],
        comments=history.latest_comments,
    )


def _response_row(point: dashboard.PulsePoint) -> list[Cell]:
    sides = ("marketing", "it", "other")
    row: list[Cell] = [point.opened.isoformat()]
    row += [
        f"{point.respondents.get(side, 0)}/{point.invited[side]}" if point.invited[side] else None
        for side in sides
    ]
    row += [_pct(point.response_rate.get(side)) for side in sides]
    return row


def standups_page(ctx: PageContext) -> Page:
    labels = dashboard.months_back(ctx.now, 12)
    found = {
        m.month: m
        for m in dashboard.standup_months(
            session=ctx.session, workspace_id=ctx.workspace_id, since=dashboard.first_day(labels[0])
        )
    }
    # Every month, so the chart's axis is the overview's; a month without any is all zeros.
    months = [found.get(month, dashboard.StandupMonth(month, {}, {})) for month in labels]
    m_label, it_label = ctx.label("marketing"), ctx.label("it")
    chart = charts.line_chart(
        "chart-standups",
        "Stand-up participation by side",
        "Share of async stand-up questions answered each month, by side.",
        labels,
        [
            Series(m_label, [m.rate("marketing") for m in months], *charts.MARKETING),
            Series(it_label, [m.rate("it") for m in months], *charts.IT),
        ],
    )
    sides = ("marketing", "it", "other")
    return Page(
        name="standups",
        title="Stand-ups",
        intro="Async stand-ups: how many people were asked and answered, by side, per month.",
        charts=[Chart(chart, "table-standups", "Stand-up participation by side")] if found else [],
        tables=[
            Table(
                "table-standups",
                "Stand-up questions sent and answered by side",
                ["Month"]
                + [f"{ctx.label(s)} asked" for s in sides]
                + [f"{ctx.label(s)} answered" for s in sides]
                + [f"{ctx.label(s)} (%)" for s in sides],
                [
                    [m.month]
                    + [m.asked.get(s, 0) for s in sides]
                    + [m.answered.get(s, 0) for s in sides]
                    + [m.rate(s) for s in sides]
                    for m in months
                ],
                empty="No async stand-up has asked anyone yet.",
            )
        ],
    )


def board_page(ctx: PageContext) -> Page:
    labels = dashboard.months_back(ctx.now, 12)
    found = {
        m.month: m
        for m in dashboard.board_months(
            session=ctx.session, workspace_id=ctx.workspace_id, since=dashboard.first_day(labels[0])
        )
    }
    months = [found.get(m, dashboard.BoardMonth(m, {}, {}, 0, 0, None)) for m in labels]
    sides = ("marketing", "it", "other")
    chart = charts.line_chart(
        "chart-help",
        "Challenges helped from the other side",
        "Share of each month's challenges that someone from the other side offered to help with.",
        [m.month for m in months],
        [Series("Helped across sides", [m.helped_across_pct for m in months], *charts.GAP)],
    )
    return Page(
        name="board",
        title="Board",
        intro="Wins and challenges on the shared board, help across sides and time to resolve.",
        charts=[Chart(chart, "table-board", "Challenges helped from the other side")]
        if found
        else [],
        tables=[
            Table(
                "table-board",
                "Wins and challenges by the author's side",
                ["Month"]
                + [f"Wins {ctx.label(s)}" for s in sides]
                + [f"Challenges {ctx.label(s)}" for s in sides]
                + [
                    "Challenges helped from the other side",
                    "Helped across sides (%)",
                    "Challenges resolved",
                    "Median days to resolve",
                ],
                [
                    [m.month]
                    + [m.wins.get(s, 0) for s in sides]
                    + [m.challenges.get(s, 0) for s in sides]
                    + [m.helped_across, m.helped_across_pct, m.resolved, m.median_resolve_days]
                    for m in months
                ],
                empty="Nobody has posted a win or a challenge yet.",
            )
        ],
    )


def glossary_page(ctx: PageContext) -> Page:
    since = dashboard.glossary_since(ctx.now)
    top = glossary_lookups.top_terms_by_side(
        session=ctx.session, workspace_id=ctx.workspace_id, since=since
    )
    missing = glossary_lookups.not_found(
        session=ctx.session, workspace_id=ctx.workspace_id, since=since
    )
    return Page(
        name="glossary",
        title="Glossary",
        intro="What each side looked up in the last 90 days, and what the glossary did not have.",
        tables=[
            Table(
                "table-top-terms",
                "Most looked-up terms by side",
                ["Side", "Term", "Lookups"],
                [[ctx.label(t.side), t.term, t.lookups] for t in top],
                empty="Nobody has looked a term up yet.",
            ),
            Table(
                "table-not-found",
                "Lookups that found nothing (terms to add)",
                ["Typed", "Lookups"],
                [[t.term, t.lookups] for t in missing],
                empty="Every lookup found a term.",
            ),
        ],
        notes=["Lookups are counted by side only; bridgebot does not keep who looked up what."],
    )


# Which pages exist, in the navigation's order, and whether only admins see them.
PAGES: dict[str, tuple[str, Callable[[PageContext], Page], bool]] = {
    "overview": ("Overview", overview_page, False),
    "pulse": ("Pulse", pulse_page, False),
    "board": ("Board", board_page, False),
    "standups": ("Stand-ups", standups_page, True),
    "glossary": ("Glossary", glossary_page, True),
}

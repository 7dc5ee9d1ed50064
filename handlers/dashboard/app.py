"""The /dashboard routes on the FastAPI app: sign-in by a single-use link, a signed session
cookie, the pages and their CSV downloads. Every query is scoped to the session's
workspace, read from the session's row (never from the request)."""

from __future__ import annotations

import csv
import io
import logging
from datetime import datetime
from typing import Annotated, Any

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from jinja2 import Environment, PackageLoader, select_autoescape

from bot.deps import Deps
from bot.services import dashboard_access, workspaces
from bot.services.dashboard import PairFigures, pairs_that_met
from bot.services.dashboard_access import SESSION_LIFETIME, LinkRefused, Viewer
from handlers.dashboard.pages import PAGES, Cell, Page, PageContext

logger = logging.getLogger(__name__)

COOKIE = "bridgebot_dashboard"
COOKIE_PATH = "/dashboard"
# No script, no frame, nothing from elsewhere: the pages are HTML, inline SVG and CSS.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "Cache-Control": "no-store",
    # The sign-in path holds a token: never send it on to another site.
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
LINK_NOT_VALID = "This sign-in link is not valid. Ask for a new one with /bridge dashboard."
CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def make_templates() -> Environment:
    return Environment(
        loader=PackageLoader("handlers.dashboard", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def csv_cell(value: Cell) -> str:
    """A cell as text; one that a spreadsheet would run as a formula is quoted with '."""
    if value is None:
        return ""
    shown = f"{value:g}" if isinstance(value, float) else str(value)
    if isinstance(value, str) and shown.startswith(CSV_FORMULA_START):
        return "'" + shown
    return shown


def add_dashboard(
    api: FastAPI, deps: Deps, *, pair_figures: PairFigures | None = pairs_that_met
) -> None:
    """Register /dashboard and its pages on `api` (`pair_figures`: pairs that met, or None
    where there are no bridge pairs)."""
    templates = make_templates()
    signer = URLSafeTimedSerializer(deps.secret_key, salt="bridgebot-dashboard-session")
    secure = deps.settings.public_url.startswith("https://")
    max_age = int(SESSION_LIFETIME.total_seconds())

    def render(template: str, status: int = 200, **values: Any) -> HTMLResponse:
        html = templates.get_template(template).render(**values)
        return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)

    def refuse(status: int, title: str, message: str, *, signed_in: bool = False) -> HTMLResponse:
        return render("message.html", status, title=title, message=message, signed_in=signed_in)

    def session_id(request: Request) -> str | None:
        raw = request.cookies.get(COOKIE)
        if not raw:
            return None
        try:
            value = signer.loads(raw, max_age=max_age)
        except BadSignature:  # also SignatureExpired
            return None
        return value if isinstance(value, str) else None

    def current_viewer(request: Request) -> Viewer | None:
        sid = session_id(request)
        if sid is None:
            return None
        with deps.session_factory() as session:
            return dashboard_access.viewer_for(session=session, session_id=sid, now=deps.clock())

    def not_signed_in() -> HTMLResponse:
        return refuse(
            401,
            "Sign in to the dashboard",
            "Your session ended or you have not signed in. Type /bridge dashboard to "
            "bridgebot in Slack, Teams or the console for a sign-in link.",
        )

    @api.get("/dashboard/sign-in/{token}", response_class=HTMLResponse)
    def sign_in_page(token: str) -> HTMLResponse:
        """The link from chat: a button to sign in (a link preview's GET uses nothing)."""
        with deps.session_factory() as session:
            try:
                dashboard_access.check_link(session=session, token=token, now=deps.clock())
            except LinkRefused as refused:
                return refuse(403, "This link does not work", str(refused))
        return render("sign_in.html", token=token)

    @api.post("/dashboard/sign-in")
    def sign_in(token: Annotated[str, Form()] = "") -> Response:
        # A token is 43 characters; anything else is no link of ours (said on a page,
        # not as a JSON validation error a browser would show raw).
        if not token or len(token) > 100:
            return refuse(403, "This link does not work", LINK_NOT_VALID)
        try:
            with deps.session_factory.begin() as session:
                started = dashboard_access.redeem(session=session, token=token, now=deps.clock())
        except LinkRefused as refused:
            return refuse(403, "This link does not work", str(refused))
        response = RedirectResponse("/dashboard", status_code=303, headers=SECURITY_HEADERS)
        response.set_cookie(
            COOKIE,
            signer.dumps(started.session_id),
            max_age=max_age,
            path=COOKIE_PATH,
            httponly=True,
            samesite="lax",
            secure=secure,
        )
        logger.info("dashboard sign-in for workspace %s", started.viewer.workspace_id)
        return response

    @api.post("/dashboard/sign-out")
    def sign_out(request: Request) -> Response:
        sid = session_id(request)
        if sid is not None:
            with deps.session_factory.begin() as session:
                dashboard_access.sign_out(session=session, session_id=sid, now=deps.clock())
        response = render(
            "message.html",
            title="Signed out",
            message="You are signed out of the dashboard. Type /bridge dashboard for a new link.",
            signed_in=False,
        )
        response.delete_cookie(COOKIE, path=COOKIE_PATH, httponly=True, samesite="lax")
        return response

    def build(viewer: Viewer, name: str, weeks: int) -> tuple[Page, str]:
        _, builder, _ = PAGES[name]
        with deps.session_factory() as session:
            workspace = workspaces.get_workspace(session=session, workspace_id=viewer.workspace_id)
            ctx = PageContext(
                session=session,
                workspace_id=viewer.workspace_id,
                workspace=workspace,
                now=deps.clock(),
                pair_figures=pair_figures,
                weeks=weeks,
            )
            return builder(ctx), _workspace_name(session, viewer.workspace_id)

    def allowed(viewer: Viewer, name: str) -> bool:
        return name in PAGES and (viewer.is_admin or not PAGES[name][2])

    def page_response(request: Request, name: str) -> Response:
        viewer = current_viewer(request)
        if viewer is None:
            return not_signed_in()
        if name not in PAGES:
            return refuse(404, "No such page", "There is no such dashboard page.", signed_in=True)
        if not allowed(viewer, name):
            return refuse(
                403,
                "Admins only",
                "Only workspace admins see this page; everyone sees the Overview, Pulse "
                "and Board pages.",
                signed_in=True,
            )
        weeks = _weeks(request)
        page, workspace_name = build(viewer, name, weeks)
        nav = [
            (key, title, key == name)
            for key, (title, _, admin_only) in PAGES.items()
            if viewer.is_admin or not admin_only
        ]
        return render(
            "page.html",
            page=page,
            nav=nav,
            workspace_name=workspace_name,
            viewer=viewer,
            signed_in=True,
            now=_local_now(deps.clock()),
            # A CSV holds what the page shows: the same weeks when they were chosen.
            csv_query=f"?weeks={weeks}" if "weeks" in request.query_params else "",
        )

    @api.get("/dashboard", response_class=HTMLResponse)
    def overview(request: Request) -> Response:
        return page_response(request, "overview")

    @api.get("/dashboard/csv/{name}/{table_id}.csv")
    def table_csv(request: Request, name: str, table_id: str) -> Response:
        viewer = current_viewer(request)
        if viewer is None:
            return not_signed_in()
        if not allowed(viewer, name):
            return refuse(404, "No such table", "There is no such table.", signed_in=True)
        page, _ = build(viewer, name, _weeks(request))
        table = page.table(table_id)
        if table is None:
            return refuse(404, "No such table", "There is no such table.", signed_in=True)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(table.headers)
        writer.writerows([csv_cell(cell) for cell in row] for row in table.rows)
        filename = f"bridgebot-{name}-{table_id.removeprefix('table-')}.csv"
        return Response(
            out.getvalue().encode("utf-8"),
            media_type="text/csv; charset=utf-8",
            headers=SECURITY_HEADERS
            | {"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    @api.get("/dashboard/{name}", response_class=HTMLResponse)
    def other_page(request: Request, name: str) -> Response:
        return page_response(request, name)


def _weeks(request: Request) -> int:
    raw = request.query_params.get("weeks", "")
    return int(raw) if raw.isascii() and raw.isdigit() and 1 <= int(raw) <= 104 else 26


def _workspace_name(session: Any, workspace_id: str) -> str:
    from bot.models import Workspace

    row = session.get(Workspace, workspace_id)
    return (row.name if row is not None and row.name else None) or workspace_id


def _local_now(now: datetime) -> str:
    return now.strftime("%Y-%m-%d %H:%M UTC")

"""`/bridge dashboard`: a single-use link to the web dashboard, for the caller alone."""

from __future__ import annotations

from bot.errors import NotAllowed
from bot.replies import Note, Paragraph, Reply, link, text
from bot.router import CommandContext
from bot.services import dashboard_access


def sign_in_reply(ctx: CommandContext, public_url: str) -> Reply:
    """A private reply with a new sign-in link; admins' sessions see every page.

    Refused where others read what bridgebot answers (a Teams channel): whoever clicked
    the link first would be signed in as the caller.
    """
    if ctx.typed_where_others_see:
        raise NotAllowed(
            "Everyone here could use a sign-in link, so none was made. "
            "Type /bridge dashboard in your chat with bridgebot."
        )
    # Asked now, so the platform's answer (Slack's admin flag) decides what the session sees.
    is_admin = ctx.caller.has_admin_rights()
    token = dashboard_access.create_link(
        session=ctx.session,
        workspace_id=ctx.workspace_id,
        user_ref=ctx.caller.user_ref,
        is_admin=is_admin,
        now=ctx.now,
    )
    url = dashboard_access.sign_in_url(public_url, token)
    sees = (
        "As an admin you see every page."
        if is_admin
        else "You see the workspace's shared results: overview, pulse and board."
    )
    return Reply(
        blocks=(
            Paragraph(text("Your dashboard sign-in link: ", link("Open the dashboard", url))),
            Note(
                text(
                    "It works once, for the next 10 minutes, and only for you: do not share it. ",
                    sees,
                )
            ),
        )
    )

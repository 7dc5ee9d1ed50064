"""What every Teams handler shares: callers, references, rendering and sending replies."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from cachetools import TTLCache
from sqlalchemy.orm import Session

from bot.commands.home import HOME_CONVERSATION
from bot.deps import Deps
from bot.notify import DeliveryError, MessageGone
from bot.replies import Form, Reply
from bot.router import (
    Caller,
    ChannelResolver,
    CommandContext,
    RequestScope,
    no_channel_mentions,
    run_in_context,
    run_refresh,
)
from bot.services.privacy import Forgotten, PrivacyHooks
from handlers.teams import store
from handlers.teams.connector import Connector
from handlers.teams.render import (
    CardContext,
    FileLink,
    render_card,
    render_form,
    span_refs,
    summary,
)
from handlers.teams.store import PERSON, Reference
from handlers.teams.turn import Turn, conversation_ref

logger = logging.getLogger(__name__)

T = TypeVar("T")
PLATFORM = "teams"
FILES_PATH = "/teams/files"
REMEMBERED_LIMIT = 50_000
# A person no roster had is not asked about again for this long (each ask is a call per
# team); their first message to bridgebot, or joining a team, makes them known at once.
NOT_FOUND_SECONDS = 600


class TeamsRuntime:
    """State shared by the Teams handlers, the notifier and the outbox."""

    def __init__(
        self, deps: Deps, connector: Connector, *, public_url: str, tenant_id: str | None
    ) -> None:
        self.deps = deps
        self.connector = connector
        self.public_url = public_url.rstrip("/")
        self.allowed_tenant = tenant_id
        self.admins = set(deps.settings.bridgebot_admins)
        # One lock per updated message, so concurrent clicks update it in order.
        self.refresh_locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        # People no team or chat roster had, for NOT_FOUND_SECONDS (on the deps' clock).
        self._not_found: TTLCache[tuple[str, str], bool] = TTLCache(
            maxsize=REMEMBERED_LIMIT,
            ttl=NOT_FOUND_SECONDS,
            timer=lambda: deps.clock().timestamp(),
        )
        # What was last stored per reference, to skip writing the same thing every message.
        self._remembered: dict[tuple[str, str], tuple[Any, ...]] = {}
        # Forget-me and export-me cover this adapter's own rows, in the command's transaction.
        deps.router.privacy.register(
            PrivacyHooks("teams", export=store.export_person, forget=self._forget_person)
        )

    # -- who and where ---------------------------------------------------------------

    def accepts(self, turn: Turn) -> bool:
        """Activities from another tenant are ignored when TEAMS_TENANT_ID is set."""
        if not turn.tenant_id or not turn.service_url:
            return False
        return self.allowed_tenant is None or turn.tenant_id == self.allowed_tenant

    def caller(self, turn: Turn) -> Caller:
        """Admins on Teams are the ids listed in BRIDGEBOT_ADMINS (Entra object or 29: ids)."""
        return Caller(
            workspace_id=turn.workspace_id,
            user_ref=turn.user_ref,
            platform=PLATFORM,
            is_admin=bool({turn.user_ref, turn.member_id} & self.admins),
            display_name=turn.user_name,
        )

    def request_scope(
        self,
        caller: Caller,
        channel_ref: str | None,
        resolve_channel: ChannelResolver = no_channel_mentions,
    ) -> RequestScope:
        """The scope of one Teams request, for bot.router.run_command / run_action / run_form."""
        return RequestScope(
            session_factory=self.deps.session_factory,
            router=self.deps.router,
            caller=caller,
            now=self.deps.clock(),
            default_timezone=self.deps.settings.bridgebot_timezone,
            channel_ref=channel_ref,
            resolve_channel=resolve_channel,
        )

    async def read(self, work: Callable[[Session], T]) -> T:
        def run() -> T:
            with self.deps.session_factory.begin() as session:
                return work(session)

        return await asyncio.to_thread(run)

    async def remember(self, turn: Turn) -> None:
        """Store where the person and the conversation are (creating the workspace)."""
        person = (
            turn.service_url,
            turn.member_id,
            turn.user_name,
            turn.personal and turn.conversation_id,
        )
        conversation = (
            turn.service_url,
            turn.base_conversation_id,
            turn.team_id,
            turn.channel_name,
        )
        self.found(turn.workspace_id, turn.user_ref)
        todo: list[tuple[str, tuple[Any, ...]]] = []
        if self._remembered.get((turn.workspace_id, turn.user_ref)) != person:
            todo.append((turn.user_ref, person))
        if (
            turn.channel_ref
            and self._remembered.get((turn.workspace_id, turn.channel_ref)) != conversation
        ):
            todo.append((turn.channel_ref, conversation))
        if not todo:
            return

        def work(ctx: CommandContext) -> None:
            for ref, _ in todo:
                if ref == turn.user_ref:
                    store.remember(
                        session=ctx.session, workspace_id=turn.workspace_id, ref=ref, kind=PERSON,
                        service_url=turn.service_url, tenant_id=turn.tenant_id,
                        member_id=turn.member_id, name=turn.user_name,
                        conversation_id=turn.conversation_id if turn.personal else None,
                    )  # fmt: skip
                else:
                    store.remember(
                        session=ctx.session, workspace_id=turn.workspace_id, ref=ref,
                        kind=turn.reference_kind, service_url=turn.service_url,
                        tenant_id=turn.tenant_id, conversation_id=turn.base_conversation_id,
                        team_id=turn.team_id, name=turn.channel_name,
                    )  # fmt: skip

        scope = self.request_scope(self.caller(turn), turn.channel_ref)
        await asyncio.to_thread(run_in_context, scope, work, label="teams reference")
        if len(self._remembered) > REMEMBERED_LIMIT:
            self._remembered.clear()
        for ref, values in todo:
            self._remembered[(turn.workspace_id, ref)] = values

    def _forget_person(
        self, *, session: Session, workspace_id: str, user_ref: str, now: datetime
    ) -> Forgotten:
        """Forget-me's hook: the person's reference and files go in the command's
        transaction; their next message stores the reference afresh."""
        self._remembered.pop((workspace_id, user_ref), None)
        return store.forget_person(
            session=session, workspace_id=workspace_id, user_ref=user_ref, now=now
        )

    async def remember_channels(
        self, workspace_id: str, turn: Turn, channels: list[tuple[str, str]]
    ) -> None:
        """Store a team's channels with their names, so people can pick them by name."""

        def work(session: Session) -> None:
            for channel_id, name in channels:
                store.remember(
                    session=session, workspace_id=workspace_id, ref=conversation_ref(channel_id),
                    kind=store.CHANNEL, service_url=turn.service_url, tenant_id=turn.tenant_id,
                    conversation_id=channel_id, team_id=turn.team_id, name=name,
                )  # fmt: skip

        await self.read(work)

    async def destination(self, workspace_id: str, ref: str) -> tuple[Reference, str]:
        """Where to post for a channel_ref or a user_ref: (reference, conversation id).

        A person's 1:1 chat is opened (and remembered) the first time it is needed.
        """
        found = await self.read(lambda s: store.find(session=s, workspace_id=workspace_id, ref=ref))
        if found is not None and found.conversation_id:
            return found, found.conversation_id
        if found is not None and found.kind != PERSON:
            raise DeliveryError("that Teams conversation has no id on record")
        member_id = found.member_id if found else None
        anchor = found
        if member_id is None:
            member_id, anchor = await self._find_member(workspace_id, ref)
        if member_id is None or anchor is None:
            raise DeliveryError(
                "bridgebot cannot reach that person or conversation in Teams yet "
                "(they need to message bridgebot once, or add it to a team they are in)"
            )
        conversation_id = await self.connector.open_personal(
            anchor.service_url, anchor.tenant_id, member_id
        )

        def save(session: Session) -> Reference | None:
            store.remember(
                session=session, workspace_id=workspace_id, ref=ref, kind=PERSON,
                service_url=anchor.service_url, tenant_id=anchor.tenant_id, member_id=member_id,
                conversation_id=conversation_id,
            )  # fmt: skip
            session.flush()
            return store.find(session=session, workspace_id=workspace_id, ref=ref)

        saved = await self.read(save)
        assert saved is not None
        return saved, conversation_id

    async def _find_member(
        self, workspace_id: str, ref: str
    ) -> tuple[str | None, Reference | None]:
        """A person known only by Entra id: ask each team (once, not once per channel)
        and group chat of this tenant for them; one nobody has is remembered a while."""
        if (workspace_id, ref) in self._not_found:
            return None, None
        known = await self.read(lambda s: store.conversations(session=s, workspace_id=workspace_id))
        asked: set[tuple[str, str]] = set()
        for conversation in known:
            where = conversation.team_id or conversation.conversation_id
            if not where or (conversation.service_url, where) in asked:
                continue
            asked.add((conversation.service_url, where))
            member_id = await self.connector.member_id(
                conversation.service_url, where, ref, tenant_id=conversation.tenant_id
            )
            if member_id:
                return member_id, conversation
        self._not_found[(workspace_id, ref)] = True
        return None, None

    def forget_cached(self, workspace_id: str, ref: str) -> None:
        """A stored reference was deleted: the next message from there stores it again."""
        self._remembered.pop((workspace_id, ref), None)

    def found(self, workspace_id: str, user_ref: str) -> None:
        """The person wrote to bridgebot or joined a team: ask the rosters again."""
        self._not_found.pop((workspace_id, user_ref), None)

    async def private_place(self, turn: Turn) -> tuple[str, str]:
        """(service URL, conversation id) only this person sees: the chat, or their DM."""
        if turn.personal:
            return turn.service_url, turn.conversation_id
        found, conversation_id = await self.destination(turn.workspace_id, turn.user_ref)
        return found.service_url, conversation_id

    # -- rendering -------------------------------------------------------------------

    async def render(
        self, reply: Reply, workspace_id: str, origin: str, *, for_person: str | None = None
    ) -> tuple[dict[str, Any], str]:
        """The reply as a card (names looked up, files stored) and its summary line.

        `for_person`: the only one who sees it, so its files are theirs (forget-me).
        """
        refs = span_refs(reply)
        now = self.deps.clock()

        def work(session: Session) -> tuple[dict[str, str], list[FileLink]]:
            names = store.names(session=session, workspace_id=workspace_id, refs=refs)
            links = []
            for attachment in reply.attachments:
                token = store.save_file(
                    session=session, workspace_id=workspace_id, filename=attachment.filename,
                    content=attachment.content, now=now, owner_ref=for_person,
                )  # fmt: skip
                url = f"{self.public_url}{FILES_PATH}/{token}/{quote(attachment.filename)}"
                links.append(
                    FileLink(
                        attachment.filename,
                        attachment.title,
                        url,
                        store.is_image(attachment.filename),
                    )
                )
            return names, links

        names, links = await self.read(work)
        context = CardContext(origin=origin, names=names, files=tuple(links))
        return render_card(reply, context), summary(reply, names) or (
            f"{len(links)} file(s) from bridgebot" if links else "bridgebot"
        )

    async def render_form(
        self,
        form: Form,
        workspace_id: str,
        origin: str,
        errors: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        known = await self.read(lambda s: store.conversations(session=s, workspace_id=workspace_id))
        channels = [
            (item.ref, item.name or ("Group chat" if item.kind == store.CHAT else "Channel"))
            for item in known
        ]
        return render_form(form, origin=origin, channels=channels, errors=errors)

    # -- sending ---------------------------------------------------------------------

    async def post(self, workspace_id: str, ref: str, reply: Reply) -> str | None:
        """Post a reply to a channel_ref or, as a 1:1 message, to a user_ref; returns its
        message id (None while an answer's post is still being retried)."""
        found, conversation_id = await self.destination(workspace_id, ref)
        personal = found.kind == PERSON
        card, line = await self.render(
            reply, workspace_id, "" if personal else ref, for_person=ref if personal else None
        )
        return await self.connector.send(
            found.service_url, conversation_id, card, line, tenant_id=found.tenant_id
        )

    async def update(self, workspace_id: str, ref: str, message_ref: str, reply: Reply) -> None:
        """Replace a posted message's card (a channel's, or one in a 1:1 chat).

        Raises:
            MessageGone: Teams no longer has the message (HTTP 404).
        """
        found, conversation_id = await self.destination(workspace_id, ref)
        personal = found.kind == PERSON
        card, line = await self.render(
            reply, workspace_id, "" if personal else ref, for_person=ref if personal else None
        )
        try:
            await self.connector.update(
                found.service_url,
                conversation_id,
                message_ref,
                card,
                line,
                tenant_id=found.tenant_id,
            )
        except DeliveryError as exc:
            cause = exc.__cause__
            if isinstance(cause, httpx.HTTPStatusError) and cause.response.status_code == 404:
                raise MessageGone(f"Teams has no message {message_ref} any more") from exc
            raise

    async def send_outbox(
        self, reply: Reply, scope: RequestScope, workspace_id: str
    ) -> dict[str, dict[str, Any]]:
        """Refresh the outbox's items in place; returns refreshed cards by id.

        New posts never come this way: they were queued with the command's work, and
        the scheduler delivers them (see schedules/channel_posts.py).
        """
        refreshed: dict[str, dict[str, Any]] = {}
        for outgoing in reply.outbox:
            async with self.refresh_locks[outgoing.refresh_key]:
                # Re-rendered inside the lock: the last update out shows the latest state.
                fresh = await asyncio.to_thread(run_refresh, scope, outgoing.refresh_key)
                if fresh is None:
                    continue
                where, message = fresh
                if where.conversation_ref == HOME_CONVERSATION:
                    continue  # Teams has no home tab
                try:
                    found, conversation_id = await self.destination(
                        workspace_id, where.conversation_ref
                    )
                except DeliveryError as exc:
                    logger.warning("cannot update a Teams message: %s", exc)
                    continue
                card, line = await self.render(message, workspace_id, where.conversation_ref)
                await self.connector.update(
                    found.service_url,
                    conversation_id,
                    where.message_ref,
                    card,
                    line,
                    tenant_id=found.tenant_id,
                )
                refreshed[where.message_ref] = card
        return refreshed

"""The /bridge command: help, your side, and the workspace's shared channel."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace

from bot import replies
from bot.commands import FeatureConfig, time_off
from bot.commands import pairs as bridge_pairs
from bot.commands.dashboard import sign_in_reply
from bot.errors import Conflict, Invalid
from bot.models import Side, WorkspaceSettings
from bot.replies import (
    Attachment,
    Block,
    Button,
    Buttons,
    ButtonStyle,
    Divider,
    FieldKind,
    Form,
    FormField,
    Heading,
    Note,
    Outgoing,
    Paragraph,
    Reply,
    bold,
    code,
    text,
)
from bot.router import (
    Command,
    CommandContext,
    CommandRouter,
    OnlyOn,
    TeamsMenuEntry,
    split_first,
)
from bot.services import (
    availability_privacy,
    dashboard_access,
    holiday_calendars,
    occurrence_privacy,
    occurrences,
    people,
    people_privacy,
    pulse,
    pulse_audience,
    workspaces,
)
from bot.services.people import SideChangeTooSoon
from bot.services.privacy import PrivacyRegistry
from bot.services.pulse import ALL_SIDES, PULSE_AUDIENCES
from bot.services.recurrence import (
    WEEKDAY_CHOICES,
    WEEKDAY_NAMES,
    WEEKDAYS,
    RecurrenceError,
    check_timezone,
    parse_time,
)
from bot.textinput import JOINER_MESSAGE, ascii_number, has_joiners

USAGE = (
    "/bridge [help | side marketing|it|other | away PERIOD|off|list | region CODE | "
    "timezone ZONE | channel #CHANNEL | settings | dashboard | pairs ... | forget-me | export-me]"
)
BRIDGE_FORGET_CONFIRM = "bridge_forget_confirm"
LABEL_LIMIT = 40  # the columns' sizes
GROUP_ID_LIMIT = 64
BRIDGE_CANCEL = "bridge_cancel"
BRIDGE_SETTINGS_FORM = "bridge_settings_form"

ABOUT = (
    "bridgebot helps Marketing and IT work as one team: joint stand-ups, a shared board "
    "of wins and challenges, weekly pulse polls that show the perception gap between the "
    "two sides, and a glossary so each side speaks the other's language."
)


def register(router: CommandRouter, config: FeatureConfig) -> None:
    """Add /bridge to the router."""
    router.register(
        Command(
            name="bridge",
            summary="Your side, the shared channel and help",
            usage=USAGE,
            description="Your side, the shared channel, settings and help",
            usage_hint="help | side marketing|it|other | channel #CHANNEL",
            # "#channel" arrives as a channel id, which is what is stored.
            slack_escape=True,
            teams_menu=(
                TeamsMenuEntry("bridge side", "bridge side marketing|it|other: set your side"),
                TeamsMenuEntry("bridge away", "bridge away friday | 3 days | until 5 Jan | off"),
                TeamsMenuEntry(
                    "bridge channel", "bridge channel here: the shared channel (admins)"
                ),
            ),
            help_lines=(
                "/bridge help: what bridgebot does and every command",
                "/bridge side marketing|it|other: set your side",
                *time_off.HELP_LINES,
                "/bridge channel #CHANNEL: the shared channel for wins, challenges and digests (admins)",
                "/bridge settings: time zone, holiday calendar, side labels, pulse audience, digest day, anonymity threshold (admins)",
                OnlyOn(
                    "/bridge sync: set sides from the Marketing and IT user groups now (admins)",
                    "slack",
                ),
                "/bridge dashboard: a sign-in link to the web dashboard, for you alone",
                "/bridge export-me · /bridge forget-me: your data, downloaded or deleted",
                *bridge_pairs.HELP_LINES,
            ),
            handler=lambda ctx, args: handle_bridge(
                ctx, args, router=router, public_url=config.public_url
            ),
        )
    )
    router.register_action(
        BRIDGE_FORGET_CONFIRM, lambda ctx, _value: forget_confirmed(ctx, router.privacy)
    )
    router.register_action(
        BRIDGE_CANCEL,
        lambda ctx, _: replies.cancelled(),
    )
    router.register_form(BRIDGE_SETTINGS_FORM, submit_settings)
    router.register_field_check(BRIDGE_SETTINGS_FORM, "holiday_region", _check_holiday_region)
    router.privacy.register(people_privacy.HOOKS)
    router.privacy.register(occurrence_privacy.HOOKS)
    router.privacy.register(dashboard_access.HOOKS)
    router.privacy.register(availability_privacy.HOOKS)


def handle_bridge(
    ctx: CommandContext, args: str, *, router: CommandRouter, public_url: str = ""
) -> Reply:
    """Dispatch `/bridge SUBCOMMAND`."""
    sub, rest = split_first(args)
    handlers: dict[str, Callable[[], Reply]] = {
        "": lambda: _with_away_note(ctx, help_reply(router, ctx.caller.platform)),
        "help": lambda: _with_away_note(ctx, help_reply(router, ctx.caller.platform)),
        "side": lambda: set_side(ctx, rest),
        "away": lambda: time_off.away(ctx, rest),
        "region": lambda: time_off.set_region(ctx, rest),
        "timezone": lambda: time_off.set_timezone(ctx, rest),
        "channel": lambda: set_channel(ctx, rest),
        "settings": lambda: settings_form(ctx),
        "forget-me": lambda: confirm_forget(ctx),
        "export-me": lambda: export_me(ctx, router.privacy),
        "sync": lambda: request_sync(ctx),
        "dashboard": lambda: sign_in_reply(ctx, public_url),
        "pairs": lambda: bridge_pairs.handle_pairs(ctx, rest),
    }
    if sub not in handlers:
        raise Invalid(f"/bridge has no “{sub}” option.", USAGE)
    return handlers[sub]()


def _with_away_note(ctx: CommandContext, reply: Reply) -> Reply:
    """/bridge starts with the caller's time off (or today's holiday), when there is some."""
    note = time_off.away_note(ctx)
    return reply if note is None else replace(reply, blocks=(note, *reply.blocks))


def help_reply(router: CommandRouter, platform: str) -> Reply:
    """What the bot does and every command registered so far, as far as it holds on
    `platform` (a line only for another platform is left out)."""
    blocks: list[Block] = [Heading("bridgebot"), Paragraph(text(ABOUT)), Divider()]
    for command in sorted(router.commands(), key=lambda c: c.name):
        lines = replies.join_lines(text(code(line)) for line in command.help_for(platform))
        blocks.append(Paragraph(text(bold(command.summary), "\n", *lines)))
    blocks.append(
        Note(text("Replies to commands are visible only to you unless they say otherwise."))
    )
    return Reply(blocks=tuple(blocks))


def parse_side(value: str, labels: dict[Side, str]) -> Side | None:
    """A side from its name or the workspace's label for it ("Growth" for marketing)."""
    wanted = value.strip().lower()
    # Side names first: a label is never another side's name, but stay safe regardless.
    for side in Side:
        if wanted == side.value:
            return side
    for side in Side:
        if wanted == labels[side].lower():
            return side
    return None


def set_side(ctx: CommandContext, args: str) -> Reply:
    """`/bridge side [marketing|it|other]`: set, or show, the caller's side."""
    workspace = workspaces.get_workspace(session=ctx.session, workspace_id=ctx.workspace_id)
    usage = "/bridge side marketing|it|other"
    if not args:
        person = people.get_person(
            session=ctx.session, workspace_id=ctx.workspace_id, user_ref=ctx.caller.user_ref
        )
        if person is None or person.side is None:
            return replies.error("You have not chosen a side yet.", usage)
        return replies.message(
            text("You are on the ", bold(workspace.label(person.side)), " side.")
        )
    side = parse_side(args, workspace.labels)
    if side is None:
        raise Invalid(
            text("“", args[:40], "” is not a side. Choose marketing, it or other."), usage
        )
    change_own_side(ctx, side)
    done = text("Done: you are on the ", bold(workspace.label(side)), " side.")
    frozen = _side_in_open_pulse(ctx)
    if frozen is None or frozen == side:
        return replies.message(done)
    return replies.message(
        done,
        text(
            "The pulse open now still counts your answers as ",
            bold(workspace.label(frozen)),
            ", your side when it opened; the change counts from the next one.",
        ),
    )


def change_own_side(ctx: CommandContext, side: Side) -> None:
    """The caller moving themselves to `side`: once in 30 days, except for admins (asked of
    the platform only when the limit would refuse, so nobody else waits on that check)."""

    def change(*, is_admin: bool) -> None:
        people.change_own_side(
            session=ctx.session,
            workspace_id=ctx.workspace_id,
            user_ref=ctx.caller.user_ref,
            side=side,
            now=ctx.now,
            is_admin=is_admin,
            display_name=ctx.caller.display_name,
        )

    try:
        change(is_admin=False)
    except SideChangeTooSoon:
        if not ctx.caller.has_admin_rights():
            raise
        change(is_admin=True)


def _side_in_open_pulse(ctx: CommandContext) -> Side | None:
    """The caller's side frozen by the weekly pulse open now, if it asked them."""
    poll = pulse.open_weekly_poll(session=ctx.session, workspace_id=ctx.workspace_id)
    if poll is None:
        return None
    frozen = pulse_audience.frozen_side(
        session=ctx.session,
        workspace_id=ctx.workspace_id,
        poll_id=poll.id,
        user_ref=ctx.caller.user_ref,
    )
    return Side(frozen) if frozen else None


def set_channel(ctx: CommandContext, args: str) -> Reply:
    """`/bridge channel #CHANNEL` (admins): where wins, challenges and digests go."""
    usage = "/bridge channel #CHANNEL"
    ctx.require_admin("choose the shared channel")
    if not args:
        raise Invalid("Name the channel, for example /bridge channel #marketing-it.", usage)
    channel_ref = ctx.resolve_channel(args)
    if channel_ref is None:
        raise Invalid(
            text("“", args[:80], "” is not a channel. Type # and pick one from the list."), usage
        )
    workspaces.set_shared_channel(
        session=ctx.session, workspace_id=ctx.workspace_id, channel_ref=channel_ref
    )
    return replies.message(
        text("Wins, challenges and digests will be posted in ", replies.channel(channel_ref), "."),
        text("Make sure bridgebot is a member of that channel (invite it with /invite)."),
    )


def confirm_forget(ctx: CommandContext) -> Reply:
    """`/bridge forget-me`: ask first; the button does it."""
    return Reply(
        blocks=(
            Paragraph(
                text(
                    "Delete everything bridgebot stores about you in this workspace? Your side, "
                    "stand-up answers, celebrations and offers of help are deleted; your wins, "
                    "challenges and glossary entries stay for the team but lose your name. "
                    "Your answers and comments to open pulses are deleted; those to closed "
                    "pulses were untied from you when each closed, so they stay in its "
                    "results with nothing left that leads to you."
                )
            ),
            Buttons(
                (
                    Button("Forget me", BRIDGE_FORGET_CONFIRM, "", ButtonStyle.DANGER),
                    Button("Cancel", BRIDGE_CANCEL),
                )
            ),
        )
    )


def forget_confirmed(ctx: CommandContext, registry: PrivacyRegistry) -> Reply:
    """The forget-me button: every feature's forget hook, in this one transaction."""
    forgotten = registry.forget(
        session=ctx.session, workspace_id=ctx.workspace_id, user_ref=ctx.caller.user_ref,
        now=ctx.now,
    )  # fmt: skip
    done = ", ".join(f"{label}: {count}" for label, count in forgotten.counts.items() if count)
    return Reply(
        blocks=(
            Paragraph(
                text("Done. bridgebot has forgotten you here.", f" ({done})" if done else "")
            ),
        ),
        replace_original=True,
        # Posted messages that showed the person, shown again without them.
        outbox=tuple(Outgoing(refresh_key=key) for key in forgotten.refresh_keys),
    )


def export_me(ctx: CommandContext, registry: PrivacyRegistry) -> Reply:
    """`/bridge export-me`: a JSON file of everything stored about the caller, by DM."""
    data = registry.export(
        session=ctx.session, workspace_id=ctx.workspace_id, user_ref=ctx.caller.user_ref
    )
    content = json.dumps(data, indent=2, ensure_ascii=False).encode()
    return Reply(
        blocks=(
            Paragraph(
                text("Here is everything bridgebot stores about you (sent as a file in your DM).")
            ),
        ),
        attachments=(Attachment("bridgebot-my-data.json", content, "My bridgebot data"),),
    )


def settings_form(ctx: CommandContext) -> Reply:
    """`/bridge settings` (admins): the workspace's choices in one form."""
    ctx.require_admin("change workspace settings")
    row = _settings_row(ctx)
    return Reply(
        form=Form(
            callback_id=BRIDGE_SETTINGS_FORM,
            title="Workspace settings",
            submit_label="Save",
            fields=(
                FormField(
                    "timezone", "Time zone", row.timezone, max_length=64, hint="e.g. Europe/London"
                ),
                FormField(
                    "holiday_region",
                    "Public holidays (everyone's unless they choose their own region)",
                    row.holiday_region or "",
                    optional=True,
                    max_length=40,
                    hint="A country code with an optional region: GB, US-CA, DE-BY, IN",
                ),
                FormField(
                    "label_marketing",
                    "Name for the Marketing side",
                    row.label_marketing,
                    max_length=LABEL_LIMIT,
                ),
                FormField("label_it", "Name for the IT side", row.label_it, max_length=LABEL_LIMIT),
                FormField(
                    "label_other", "Name for everyone else", row.label_other, max_length=LABEL_LIMIT
                ),
                FormField(
                    "anonymity_threshold",
                    "Fewest answers before a side's pulse numbers show",
                    str(row.anonymity_threshold),
                    max_length=3,
                    hint="3 or more",
                ),
                FormField(
                    "pulse_audience",
                    "Who the weekly pulse asks",
                    row.pulse_audience,
                    kind=FieldKind.SELECT,
                    options=tuple(PULSE_AUDIENCES.items()),
                ),
                FormField(
                    "digest_weekday",
                    "Weekly digest day",
                    WEEKDAYS[row.digest_weekday],
                    kind=FieldKind.SELECT,
                    options=WEEKDAY_CHOICES,
                ),
                FormField(
                    "digest_time",
                    "Weekly digest time",
                    f"{row.digest_time:%H:%M}",
                    kind=FieldKind.TIME,
                ),
                # Side sync reads Slack user groups; elsewhere the fields would do nothing.
                *(_group_fields(row) if ctx.caller.platform == "slack" else ()),
            ),
        )
    )


def _group_fields(row: WorkspaceSettings) -> tuple[FormField, ...]:
    return (
        FormField(
            "usergroup_marketing",
            "Marketing user group id (side sync)",
            row.usergroup_marketing or "",
            optional=True,
            max_length=GROUP_ID_LIMIT,
        ),
        FormField(
            "usergroup_it",
            "IT user group id (side sync)",
            row.usergroup_it or "",
            optional=True,
            max_length=GROUP_ID_LIMIT,
        ),
    )


def submit_settings(ctx: CommandContext, values: dict[str, str], _metadata: str) -> Reply:
    ctx.require_admin("change workspace settings")
    errors: dict[str, str] = {}
    try:
        timezone = check_timezone(values.get("timezone", ""))
    except RecurrenceError as exc:
        errors["timezone"] = str(exc)
    labels = {}
    for field, own in (
        ("label_marketing", Side.MARKETING),
        ("label_it", Side.IT),
        ("label_other", Side.OTHER),
    ):
        label = values.get(field, "").strip()
        others = {side.value for side in Side if side is not own}
        if not label:
            errors[field] = "Give this side a name."
        elif len(label) > LABEL_LIMIT:
            errors[field] = f"Keep it under {LABEL_LIMIT} characters."
        elif has_joiners(label):
            errors[field] = JOINER_MESSAGE
        elif label.casefold() in others:
            # "/bridge side it" must always mean IT.
            errors[field] = f"“{label}” is another side's name; choose another."
        labels[field] = label
    if len({label.casefold() for label in labels.values()}) < 3 and not errors:
        errors["label_other"] = "The three names must differ."
    threshold = ascii_number(values.get("anonymity_threshold", "3")) or 0
    if not 3 <= threshold <= 50:
        errors["anonymity_threshold"] = "A number from 3 to 50 (never below 3)."
    audience = values.get("pulse_audience", ALL_SIDES)
    if audience not in PULSE_AUDIENCES:
        errors["pulse_audience"] = "Choose who the pulse asks."
    weekday = values.get("digest_weekday", "fri")
    if weekday not in WEEKDAYS:
        errors["digest_weekday"] = "Choose a day."
    try:
        digest_time = parse_time(values.get("digest_time", "16:00"))
    except RecurrenceError as exc:
        errors["digest_time"] = str(exc)
    try:
        holiday_region = holiday_calendars.parse_calendars(values.get("holiday_region", ""))
    except holiday_calendars.UnknownCalendar as exc:
        errors["holiday_region"] = str(exc)
    else:
        if len(holiday_region) > 1:
            errors["holiday_region"] = "One calendar: people choose their own with /bridge region."
    for field in ("usergroup_marketing", "usergroup_it"):
        if len(values.get(field, "")) > GROUP_ID_LIMIT:
            errors[field] = f"A user group id is at most {GROUP_ID_LIMIT} characters."
    if errors:
        raise Invalid(field_errors=errors)
    row = _settings_row(ctx)
    row.timezone = timezone
    row.label_marketing = labels["label_marketing"]
    row.label_it = labels["label_it"]
    row.label_other = labels["label_other"]
    row.anonymity_threshold = threshold
    row.pulse_audience = audience
    row.digest_weekday = WEEKDAYS.index(weekday)
    row.digest_time = digest_time
    if ctx.caller.platform == "slack":  # the only form that has them (see settings_form)
        row.usergroup_marketing = values.get("usergroup_marketing") or None
        row.usergroup_it = values.get("usergroup_it") or None
    row.holiday_region = holiday_region[0] if holiday_region else None
    return replies.message(
        text(
            f"Saved. Time zone {timezone}; sides {labels['label_marketing']} / {labels['label_it']} / "
            f"{labels['label_other']}; digest {WEEKDAY_NAMES[row.digest_weekday]}s at {digest_time:%H:%M}; "
            f"the pulse asks {PULSE_AUDIENCES[audience].lower()}, its numbers shown from "
            f"{row.anonymity_threshold} answers per side."
        )
    )


SIDE_SYNC = "sides.sync"  # delivered by schedules/sync.py


def request_sync(ctx: CommandContext) -> Reply:
    """`/bridge sync` (admins): sync sides from the user groups named in settings, now."""
    if ctx.caller.platform != "slack":
        raise Conflict(
            "Side sync reads Slack user groups, which this platform does not have: "
            "everyone chooses their side with /bridge side marketing|it|other.",
            USAGE,
        )
    ctx.require_admin("sync sides")
    row = _settings_row(ctx)
    if not (row.usergroup_marketing or row.usergroup_it):
        raise Conflict("No user groups are set. Add their ids in /bridge settings first.", USAGE)
    occurrences.schedule(
        session=ctx.session,
        workspace_id=ctx.workspace_id,
        kind=SIDE_SYNC,
        subject_ref=f"manual:{ctx.caller.user_ref}",
        due_at=ctx.now,
        payload={"requested_by": ctx.caller.user_ref},
    )
    return Reply(
        blocks=(
            Paragraph(
                text("Syncing sides from the user groups; you will get a DM when it is done.")
            ),
        ),
        wake_scheduler=True,
    )


def _check_holiday_region(_ctx: CommandContext, value: str, _metadata: str) -> str | None:
    """The default holiday calendar, checked as soon as it is typed (the console)."""
    try:
        found = holiday_calendars.parse_calendars(value)
    except holiday_calendars.UnknownCalendar as exc:
        return str(exc)
    return "One calendar: people choose their own with /bridge region." if len(found) > 1 else None


def _settings_row(ctx: CommandContext) -> WorkspaceSettings:
    return workspaces.settings_row(session=ctx.session, workspace_id=ctx.workspace_id)

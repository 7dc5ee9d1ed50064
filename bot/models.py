"""Database tables as SQLAlchemy 2 typed models; every tenant-owned row carries workspace_id."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    Time,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy import text as sql_text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Deterministic constraint names keep Alembic migrations portable across backends.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every backend.

    SQLite keeps no offset, so values are stored as UTC and read back with UTC attached;
    a naive datetime is refused rather than guessed at.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; pass an aware one")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Columns that hold a person, so forget-me's tests find every one (see bot/services/privacy.py):
PERSON = {"person": "ref"}  # a person's user_ref
PERSON_HASH = {"person": "hash"}  # the keyed hash of (poll, person)
PERSON_JSON = {"person": "json"}  # JSON that may hold a person's user_ref
NOT_PERSON = {"person": False}  # named like the others, but a channel, message or instance


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime}


class Side(StrEnum):
    MARKETING = "marketing"
    IT = "it"
    OTHER = "other"


class OccurrenceStatus(StrEnum):
    PENDING = "pending"
    CLAIMED = "claimed"
    SENT = "sent"
    MISSED = "missed"
    CANCELLED = "cancelled"
    FAILED = "failed"
    # The workspace could not be reached at all (bridgebot uninstalled, its token
    # revoked): recorded once, never retried; later deliveries try again.
    UNDELIVERABLE = "undeliverable"


class Workspace(Base):
    """A Slack team or a Teams tenant; the root every other row hangs from."""

    __tablename__ = "workspaces"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    name: Mapped[str | None] = mapped_column(String(200))
    # Bumped on every glossary change so each instance knows to refresh its index.
    glossary_revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"Workspace(id={self.id!r}, platform={self.platform!r})"


class WorkspaceSettings(Base):
    """Per-workspace choices an admin makes; defaults apply until they do."""

    __tablename__ = "workspace_settings"

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    timezone: Mapped[str] = mapped_column(String(64))
    shared_channel_ref: Mapped[str | None] = mapped_column(String(64), info=NOT_PERSON)
    label_marketing: Mapped[str] = mapped_column(String(40), default="Marketing")
    label_it: Mapped[str] = mapped_column(String(40), default="IT")
    label_other: Mapped[str] = mapped_column(String(40), default="Other")
    anonymity_threshold: Mapped[int] = mapped_column(Integer, default=3)
    digest_weekday: Mapped[int] = mapped_column(Integer, default=4)  # Monday is 0
    digest_time: Mapped[time] = mapped_column(Time, default=time(16, 0))
    usergroup_marketing: Mapped[str | None] = mapped_column(String(64))
    usergroup_it: Mapped[str | None] = mapped_column(String(64))
    # The weekly pulse: when it opens (workspace time), for how long, and for whom.
    pulse_enabled: Mapped[bool] = mapped_column(default=True, server_default="1")
    pulse_weekday: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    pulse_time: Mapped[time] = mapped_column(Time, default=time(10, 0), server_default="10:00:00")
    pulse_open_hours: Mapped[int] = mapped_column(Integer, default=48, server_default="48")
    pulse_audience: Mapped[str] = mapped_column(String(16), default="sides", server_default="sides")
    # Question ids the next weekly pulse asks, in order (bot/data/questions.yaml or a
    # custom question's "custom-N"); None: the three default questions.
    pulse_questions: Mapped[list[str] | None] = mapped_column(JSON)
    # The gap alert: a question's gap widening by this many points against the average
    # of its previous three pulses, or a side's response rate falling below this share
    # (percent, 0 = never); and whether the shared channel gets a short post too.
    pulse_alert_gap: Mapped[int] = mapped_column(Integer, default=15, server_default="15")
    pulse_alert_rate: Mapped[int] = mapped_column(Integer, default=30, server_default="30")
    pulse_alert_channel: Mapped[bool] = mapped_column(default=False, server_default="0")
    # The holiday calendar ("GB", "US-CA") of everyone who has not chosen their own region.
    holiday_region: Mapped[str | None] = mapped_column(String(40))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (CheckConstraint("anonymity_threshold >= 3", name="anonymity_min"),)

    def __repr__(self) -> str:
        return f"WorkspaceSettings(workspace_id={self.workspace_id!r})"


class Person(Base):
    """Someone in a workspace and the side they belong to."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    user_ref: Mapped[str] = mapped_column(String(128), info=PERSON)
    side: Mapped[str | None] = mapped_column(String(16))
    display_name: Mapped[str | None] = mapped_column(String(200))
    # Their own holiday calendar and time zone; None means the workspace's.
    region: Mapped[str | None] = mapped_column(String(40))
    timezone: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        UniqueConstraint("workspace_id", "user_ref"),
        CheckConstraint("side IN ('marketing', 'it', 'other')", name="side_known"),
    )

    def __repr__(self) -> str:
        return f"Person(workspace_id={self.workspace_id!r}, user_ref={self.user_ref!r})"


class AppSecret(Base):
    """Process-wide secrets generated on first run (the pulse hash and calendar URL key)."""

    __tablename__ = "app_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"AppSecret(name={self.name!r})"


class Occurrence(Base):
    """One scheduled delivery; the unique key is what makes it happen exactly once.

    Planners insert rows ahead of time (ignoring conflicts, so every instance may plan);
    the tick claims due rows, delivers them and records the outcome.
    """

    __tablename__ = "occurrences"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(40))
    subject_ref: Mapped[str] = mapped_column(String(64), info=NOT_PERSON)
    due_at: Mapped[datetime]
    recipient_ref: Mapped[str] = mapped_column(String(128), default="", info=PERSON)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, info=PERSON_JSON)
    status: Mapped[str] = mapped_column(String(16), default=OccurrenceStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(64), info=NOT_PERSON)
    lease_until: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("workspace_id", "kind", "subject_ref", "due_at", "recipient_ref"),
        Index("ix_occurrences_status_due_at", "status", "due_at"),
        # Claims whose lease ran out, found without reading every claim in progress.
        Index("ix_occurrences_status_lease_until", "status", "lease_until"),
    )

    def __repr__(self) -> str:
        return (
            f"Occurrence(kind={self.kind!r}, subject_ref={self.subject_ref!r}, "
            f"due_at={self.due_at!r}, status={self.status!r})"
        )


class GlossaryTerm(Base):
    """A glossary entry with a plain definition and a view from each side."""

    __tablename__ = "glossary_terms"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(80))
    definition: Mapped[str] = mapped_column(Text)
    marketing_view: Mapped[str] = mapped_column(Text, default="")
    it_view: Mapped[str] = mapped_column(Text, default="")
    example: Mapped[str] = mapped_column(Text, default="")
    origin: Mapped[str] = mapped_column(String(16), default="general")
    related: Mapped[list[str]] = mapped_column(JSON, default=list)
    # None once the author asked to be forgotten, or for the starter glossary.
    author_ref: Mapped[str | None] = mapped_column(String(128), info=PERSON)
    view_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(128), info=PERSON)

    __table_args__ = (
        CheckConstraint("origin IN ('marketing', 'it', 'general')", name="origin_known"),
    )

    def __repr__(self) -> str:
        return f"GlossaryTerm(workspace_id={self.workspace_id!r}, name={self.name!r})"


class GlossaryKey(Base):
    """Every name and alias of a term, normalised; the unique key forbids any clash."""

    __tablename__ = "glossary_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    term_id: Mapped[int] = mapped_column(
        ForeignKey("glossary_terms.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(80))
    text: Mapped[str] = mapped_column(String(80))
    is_name: Mapped[bool] = mapped_column(default=False)

    __table_args__ = (UniqueConstraint("workspace_id", "key"),)

    def __repr__(self) -> str:
        return f"GlossaryKey(workspace_id={self.workspace_id!r}, key={self.key!r})"


class GlossaryChange(Base):
    """Which term each glossary revision changed: an instance's in-memory index catches up
    on just those terms. Old rows are pruned; a gap means the whole index is rebuilt."""

    __tablename__ = "glossary_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    revision: Mapped[int] = mapped_column(Integer)
    # No foreign key: a deleted term's change is kept. None: the whole glossary changed.
    term_id: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (Index("ix_glossary_changes_workspace_revision", "workspace_id", "revision"),)

    def __repr__(self) -> str:
        return f"GlossaryChange(workspace_id={self.workspace_id!r}, revision={self.revision})"


class GlossaryEdit(Base):
    """History: every change to a term, kept after the term is deleted."""

    __tablename__ = "glossary_edits"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    term_id: Mapped[int | None] = mapped_column(index=True)
    term_name: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(16))
    editor_ref: Mapped[str | None] = mapped_column(String(128), info=PERSON)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"GlossaryEdit(term_name={self.term_name!r}, action={self.action!r})"


class GlossaryLookup(Base):
    """Typed glossary lookups: the looker's side, the term found (or what was typed when
    nothing was), the day and how many. Never the person: the dashboard counts by side."""

    __tablename__ = "glossary_lookups"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    side: Mapped[str | None] = mapped_column(String(16))
    query: Mapped[str] = mapped_column(String(80))
    # The term as it was named when found (None: nothing found); kept if it is deleted later.
    term_name: Mapped[str | None] = mapped_column(String(80))
    term_origin: Mapped[str | None] = mapped_column(String(16))
    found: Mapped[bool] = mapped_column(default=False)
    looked_up_on: Mapped[date] = mapped_column(Date)
    # How many alike lookups (same day, side, query and term) this row stands for: a
    # server writes each second's in one row.
    lookups: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __table_args__ = (Index("ix_glossary_lookups_workspace_day", "workspace_id", "looked_up_on"),)

    def __repr__(self) -> str:
        return f"GlossaryLookup(side={self.side!r}, query={self.query!r}, found={self.found!r})"


class DashboardSession(Base):
    """A dashboard sign-in: a single-use link (stored as a hash), then the session it
    started (its id also a hash), until it expires or its holder signs out."""

    __tablename__ = "dashboard_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    user_ref: Mapped[str] = mapped_column(String(128), info=PERSON)
    # Whether they were an admin when they asked for the link: what the session may see.
    is_admin: Mapped[bool] = mapped_column(default=False)
    # Hashes of a random token and a random session id (not of a person): NOT_PERSON.
    link_hash: Mapped[str] = mapped_column(String(64), unique=True, info=NOT_PERSON)
    link_expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    session_hash: Mapped[str | None] = mapped_column(String(64), unique=True, info=NOT_PERSON)
    session_expires_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"DashboardSession(id={self.id!r}, workspace_id={self.workspace_id!r})"


class Standup(Base):
    """A recurring joint stand-up: when, where, how, and who takes part."""

    __tablename__ = "standups"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)  # the short id people type, per workspace
    name: Mapped[str] = mapped_column(String(80))
    channel_ref: Mapped[str] = mapped_column(String(64), info=NOT_PERSON)
    weekdays: Mapped[str] = mapped_column(String(40))  # "mon,wed,fri"
    local_time: Mapped[time] = mapped_column(Time)
    timezone: Mapped[str] = mapped_column(String(64))
    mode: Mapped[str] = mapped_column(String(16))  # meeting | async
    call_link: Mapped[str | None] = mapped_column(String(500))
    questions: Mapped[list[str]] = mapped_column(JSON)
    participants: Mapped[list[str]] = mapped_column(JSON, default=list, info=PERSON_JSON)
    both_sides: Mapped[bool] = mapped_column(default=False)
    reminder_lead_minutes: Mapped[int] = mapped_column(Integer, default=15)
    deadline_minutes: Mapped[int] = mapped_column(Integer, default=120)
    # An async round's one reminder to those who have not answered, this many minutes
    # before its digest; None: no reminder (the default).
    nudge_minutes: Mapped[int | None] = mapped_column(Integer)
    paused: Mapped[bool] = mapped_column(default=False)
    # Public holiday calendars ("GB", "US-CA"): it does not run on their holidays.
    holiday_calendars: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    creator_ref: Mapped[str | None] = mapped_column(String(128), info=PERSON)
    calendar_token: Mapped[str] = mapped_column(String(64), unique=True)
    # Occurrences are planned up to here; the planner only looks at stand-ups behind it.
    planned_until: Mapped[datetime | None] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        UniqueConstraint("workspace_id", "number"),
        CheckConstraint("mode IN ('meeting', 'async')", name="mode_known"),
    )

    def __repr__(self) -> str:
        return f"Standup(workspace_id={self.workspace_id!r}, number={self.number!r})"


class StandupSkip(Base):
    """A date (in the stand-up's time zone) on which it does not take place."""

    __tablename__ = "standup_skips"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    standup_id: Mapped[int] = mapped_column(ForeignKey("standups.id", ondelete="CASCADE"))
    local_date: Mapped[date] = mapped_column(Date)

    __table_args__ = (UniqueConstraint("standup_id", "local_date"),)

    def __repr__(self) -> str:
        return f"StandupSkip(standup_id={self.standup_id!r}, local_date={self.local_date!r})"


class TimeOff(Base):
    """A person's time off: whole days in their own time zone, first and last included."""

    __tablename__ = "time_off"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    user_ref: Mapped[str] = mapped_column(String(128), info=PERSON)
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        CheckConstraint("first_day <= last_day", name="days_in_order"),
        Index("ix_time_off_workspace_user", "workspace_id", "user_ref", "last_day"),
        # Who is away on a day: the periods not yet over.
        Index("ix_time_off_workspace_last_day", "workspace_id", "last_day"),
    )

    def __repr__(self) -> str:
        return f"TimeOff(user_ref={self.user_ref!r}, {self.first_day}..{self.last_day})"


class StandupAnswer(Base):
    """One person's answers to one occurrence of an async stand-up."""

    __tablename__ = "standup_answers"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    standup_id: Mapped[int] = mapped_column(ForeignKey("standups.id", ondelete="CASCADE"))
    local_date: Mapped[date] = mapped_column(Date)
    user_ref: Mapped[str] = mapped_column(String(128), info=PERSON)
    answers: Mapped[list[str]] = mapped_column(JSON)
    # Indexes of answers the author may share as a win or challenge, and those shared.
    shareable: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    shared: Mapped[list[int]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (UniqueConstraint("standup_id", "local_date", "user_ref"),)

    def __repr__(self) -> str:
        return f"StandupAnswer(standup_id={self.standup_id!r}, user_ref={self.user_ref!r})"


class StandupDigest(Base):
    """Where a round's digest was posted, so late answers and edits update it in place."""

    __tablename__ = "standup_digests"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    standup_id: Mapped[int] = mapped_column(ForeignKey("standups.id", ondelete="CASCADE"))
    local_date: Mapped[date] = mapped_column(Date)
    channel_ref: Mapped[str] = mapped_column(String(64), info=NOT_PERSON)
    message_ref: Mapped[str] = mapped_column(String(200), info=NOT_PERSON)
    posted_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("standup_id", "local_date"),)

    def __repr__(self) -> str:
        return f"StandupDigest(standup_id={self.standup_id!r}, local_date={self.local_date!r})"


class BoardPost(Base):
    """A win or a challenge on the shared board, and the message that shows it."""

    __tablename__ = "board_posts"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))  # win | challenge
    # None once the author asked to be forgotten; the side stays for the statistics.
    author_ref: Mapped[str | None] = mapped_column(String(128), info=PERSON)
    author_side: Mapped[str | None] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | in_progress | resolved
    source: Mapped[str] = mapped_column(String(16), default="command")  # command | standup
    channel_ref: Mapped[str] = mapped_column(String(64), info=NOT_PERSON)
    message_ref: Mapped[str | None] = mapped_column(String(64), info=NOT_PERSON)
    permalink: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(128), info=PERSON)

    __table_args__ = (
        CheckConstraint("kind IN ('win', 'challenge')", name="kind_known"),
        Index("ix_board_posts_workspace_kind_created", "workspace_id", "kind", "created_at"),
        # Posting limits count a person's recent posts (bot/services/posting_limits.py).
        Index(
            "ix_board_posts_workspace_author_created", "workspace_id", "author_ref", "created_at"
        ),
    )

    def __repr__(self) -> str:
        return f"BoardPost(id={self.id!r}, kind={self.kind!r})"


class Celebration(Base):
    """One person celebrating one win (a second click takes it back)."""

    __tablename__ = "celebrations"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    post_id: Mapped[int] = mapped_column(
        ForeignKey("board_posts.id", ondelete="CASCADE"), index=True
    )
    user_ref: Mapped[str] = mapped_column(String(128), info=PERSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("post_id", "user_ref"),)

    def __repr__(self) -> str:
        return f"Celebration(post_id={self.post_id!r}, user_ref={self.user_ref!r})"


class ChallengeHelper(Base):
    """Someone who offered to help with a challenge, and their side at the time."""

    __tablename__ = "challenge_helpers"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    post_id: Mapped[int] = mapped_column(
        ForeignKey("board_posts.id", ondelete="CASCADE"), index=True
    )
    helper_ref: Mapped[str] = mapped_column(String(128), info=PERSON)
    helper_side: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("post_id", "helper_ref"),)

    def __repr__(self) -> str:
        return f"ChallengeHelper(post_id={self.post_id!r}, helper_ref={self.helper_ref!r})"


class PulsePoll(Base):
    """A weekly pulse or an ad-hoc poll. Who answered is never stored here."""

    __tablename__ = "pulse_polls"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))  # weekly | adhoc
    # A weekly pulse: the scheduled slot it opened for, unique so a retried opening reuses
    # the poll. A quick poll: the instant it was asked, which any number may share.
    slot: Mapped[datetime]
    questions: Mapped[list[str]] = mapped_column(JSON)
    options: Mapped[list[str]] = mapped_column(JSON, default=list)  # ad-hoc choices
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | closed
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    closes_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # People invited per side when it opened (response rates), e.g. {"marketing": 12}.
    invited: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    # A weekly pulse's question ids, one per question (trends follow a question by its id),
    # and per question either None or the statement each side was asked (a mirrored pair:
    # {"marketing": ..., "it": ...}), frozen when it opened. Quick polls have neither.
    question_ids: Mapped[list[str] | None] = mapped_column(JSON)
    mirrors: Mapped[list[dict[str, str] | None] | None] = mapped_column(JSON)
    # Written as it closes, when its answers can no longer change: the counts its results
    # are made of, {"answers": [[question, side, value, count], ...], "respondents":
    # {side: count}} (side null: none), so trends read them from here, not every answer.
    tally: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    author_ref: Mapped[str | None] = mapped_column(String(128), info=PERSON)  # ad-hoc polls only
    channel_ref: Mapped[str | None] = mapped_column(String(64), info=NOT_PERSON)
    message_ref: Mapped[str | None] = mapped_column(String(64), info=NOT_PERSON)

    __table_args__ = (
        Index(
            "uq_pulse_polls_weekly_slot",
            "workspace_id",
            "slot",
            unique=True,
            sqlite_where=sql_text("kind = 'weekly'"),
            postgresql_where=sql_text("kind = 'weekly'"),
        ),
        # Posting limits count a person's recent quick polls.
        Index("ix_pulse_polls_workspace_author_opened", "workspace_id", "author_ref", "opened_at"),
    )

    def __repr__(self) -> str:
        return f"PulsePoll(id={self.id!r}, kind={self.kind!r}, status={self.status!r})"


class PulseAnswer(Base):
    """One answer, stored with a keyed hash of poll and person (never the person) and a side."""

    __tablename__ = "pulse_answers"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    poll_id: Mapped[int] = mapped_column(ForeignKey("pulse_polls.id", ondelete="CASCADE"))
    voter_hash: Mapped[str] = mapped_column(String(64), info=PERSON_HASH)
    side: Mapped[str | None] = mapped_column(String(16))
    question: Mapped[int] = mapped_column(Integer)
    value: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("poll_id", "voter_hash", "question"),
        # Aggregation reads (poll, question, side, value) straight from the index.
        Index("ix_pulse_answers_aggregate", "poll_id", "question", "side", "value"),
    )

    def __repr__(self) -> str:
        return f"PulseAnswer(poll_id={self.poll_id!r}, question={self.question!r})"


class PulseRespondent(Base):
    """Someone who answered a pulse at all, as the same keyed hash (never the person).

    One row per voter and poll, written with their first answer, so respondents per side
    are counted from a small index instead of as distinct voters over every answer.
    """

    __tablename__ = "pulse_respondents"

    poll_id: Mapped[int] = mapped_column(
        ForeignKey("pulse_polls.id", ondelete="CASCADE"), primary_key=True
    )
    voter_hash: Mapped[str] = mapped_column(String(64), primary_key=True, info=PERSON_HASH)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    side: Mapped[str | None] = mapped_column(String(16))

    __table_args__ = (Index("ix_pulse_respondents_poll_side", "poll_id", "side"),)

    def __repr__(self) -> str:
        return f"PulseRespondent(poll_id={self.poll_id!r})"


class PulseComment(Base):
    """An anonymous comment on a weekly pulse (shown only when there are enough of them)."""

    __tablename__ = "pulse_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    poll_id: Mapped[int] = mapped_column(
        ForeignKey("pulse_polls.id", ondelete="CASCADE"), index=True
    )
    voter_hash: Mapped[str] = mapped_column(String(64), info=PERSON_HASH)
    side: Mapped[str | None] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("poll_id", "voter_hash"),)

    def __repr__(self) -> str:
        return f"PulseComment(poll_id={self.poll_id!r})"


class PulseAudience(Base):
    """Someone a weekly pulse asked, with their side when it opened: only they may answer,
    and their answers count under that side. Nothing here leads to an answer (no hash,
    no time, no "answered" mark)."""

    __tablename__ = "pulse_audience"

    poll_id: Mapped[int] = mapped_column(
        ForeignKey("pulse_polls.id", ondelete="CASCADE"), primary_key=True
    )
    user_ref: Mapped[str] = mapped_column(String(128), primary_key=True, info=PERSON)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    side: Mapped[str] = mapped_column(String(16))

    __table_args__ = (
        CheckConstraint("side IN ('marketing', 'it', 'other')", name="side_known"),
        # forget-me and export-me look a person up across every pulse.
        Index("ix_pulse_audience_workspace_user", "workspace_id", "user_ref"),
    )

    def __repr__(self) -> str:
        return f"PulseAudience(poll_id={self.poll_id!r}, side={self.side!r})"


class PulseCustomQuestion(Base):
    """A statement an admin wrote for their workspace's pulse, beside the shipped bank.

    Its key ("custom-3") is its id in trends; a mirrored one has a statement per side.
    """

    __tablename__ = "pulse_custom_questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(32))
    statement: Mapped[str] = mapped_column(Text)
    text_marketing: Mapped[str | None] = mapped_column(Text)
    text_it: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("workspace_id", "key"),)

    def __repr__(self) -> str:
        return f"PulseCustomQuestion(key={self.key!r})"


class PulseAlertRecipient(Base):
    """An admin who gets the pulse's gap alert by direct message."""

    __tablename__ = "pulse_alert_recipients"

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    user_ref: Mapped[str] = mapped_column(String(128), primary_key=True, info=PERSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"PulseAlertRecipient(workspace_id={self.workspace_id!r})"


class SideChange(Base):
    """A person's side moving from one side to another: when, and whether they did it
    themselves, an admin did, or the user-group sync (a person's own changes are limited)."""

    __tablename__ = "side_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    user_ref: Mapped[str] = mapped_column(String(128), info=PERSON)
    source: Mapped[str] = mapped_column(String(16))  # self | admin | sync
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        CheckConstraint("source IN ('self', 'admin', 'sync')", name="source_known"),
        Index("ix_side_changes_workspace_user", "workspace_id", "user_ref", "changed_at"),
        Index("ix_side_changes_workspace_changed", "workspace_id", "changed_at"),
    )

    def __repr__(self) -> str:
        return f"SideChange(user_ref={self.user_ref!r}, source={self.source!r})"


class ProcessedRequest(Base):
    """Ids of Slack events and clicks already handled, so a retry is not handled twice."""

    __tablename__ = "processed_requests"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    def __repr__(self) -> str:
        return f"ProcessedRequest(key={self.key!r})"


class InboxOutcome(StrEnum):
    DONE = "done"  # run (its effect and this mark in one transaction), or refused
    FAILED = "failed"  # given up on; its author was told by direct message


class InboxCommand(Base):
    """A slash command stored before it is acknowledged, so a crash cannot lose it.

    The unique replay key (the request's signature) makes a replay of it a no-op. A row
    left pending past the claim lease is run again by the scheduler. Once finished, the
    command's text and where to answer are cleared; the row stays a day for replays.
    No foreign key: the first command of a workspace arrives before the workspace row.
    """

    __tablename__ = "inbox_commands"

    id: Mapped[int] = mapped_column(primary_key=True)
    replay_key: Mapped[str] = mapped_column(String(200), unique=True)
    workspace_id: Mapped[str] = mapped_column(String(64), index=True)
    user_ref: Mapped[str] = mapped_column(String(128), info=PERSON)
    user_name: Mapped[str | None] = mapped_column(String(200))
    command: Mapped[str] = mapped_column(String(64))
    text: Mapped[str | None] = mapped_column(Text)
    channel_ref: Mapped[str | None] = mapped_column(String(64), info=NOT_PERSON)
    response_url: Mapped[str | None] = mapped_column(String(500))
    received_at: Mapped[datetime] = mapped_column(index=True)
    outcome: Mapped[str | None] = mapped_column(String(16))
    finished_at: Mapped[datetime | None]

    __table_args__ = (CheckConstraint("outcome IN ('done', 'failed')", name="outcome_known"),)

    def __repr__(self) -> str:
        return f"InboxCommand(id={self.id!r}, command={self.command!r}, outcome={self.outcome!r})"


class PairSettings(Base):
    """Bridge pairs in a workspace: whether rounds run, how often, when, where announced."""

    __tablename__ = "pair_settings"

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    enabled: Mapped[bool] = mapped_column(default=False)
    every_weeks: Mapped[int] = mapped_column(Integer, default=2)
    weekday: Mapped[int] = mapped_column(Integer, default=1)  # Monday is 0
    local_time: Mapped[time] = mapped_column(Time, default=time(10, 0))
    # Where each round is announced (None: nowhere; the pairs are told by direct message).
    channel_ref: Mapped[str | None] = mapped_column(String(64), info=NOT_PERSON)
    # The local date of the first round; rounds fall every `every_weeks` weeks from it.
    anchor: Mapped[date | None] = mapped_column(Date)
    # "Not paired with someone met in the last N rounds while any other choice exists."
    recent_rounds: Mapped[int] = mapped_column(Integer, default=6)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        CheckConstraint("every_weeks IN (1, 2, 4)", name="every_known"),
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_known"),
    )

    def __repr__(self) -> str:
        return f"PairSettings(workspace_id={self.workspace_id!r}, enabled={self.enabled!r})"


class PairMember(Base):
    """Someone who opted in to bridge pairs (until they leave), and when they pause."""

    __tablename__ = "pair_members"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    user_ref: Mapped[str] = mapped_column(String(128), info=PERSON)
    # Not paired in rounds before this local date (None: not snoozed).
    snoozed_until: Mapped[date | None] = mapped_column(Date)
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("workspace_id", "user_ref"),)

    def __repr__(self) -> str:
        return f"PairMember(workspace_id={self.workspace_id!r}, user_ref={self.user_ref!r})"


class PairBlock(Base):
    """A "don't pair me with X" wish: private to the person who asked, never shown to X."""

    __tablename__ = "pair_blocks"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    user_ref: Mapped[str] = mapped_column(String(128), info=PERSON)
    blocked_ref: Mapped[str] = mapped_column(String(128), info=PERSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("workspace_id", "user_ref", "blocked_ref"),)

    def __repr__(self) -> str:
        return f"PairBlock(workspace_id={self.workspace_id!r}, user_ref={self.user_ref!r})"


class PairRound(Base):
    """One round of bridge pairs; unique per slot, so a round re-run is the same round."""

    __tablename__ = "pair_rounds"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    slot: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("workspace_id", "slot"),)

    def __repr__(self) -> str:
        return f"PairRound(workspace_id={self.workspace_id!r}, slot={self.slot!r})"


class BridgePair(Base):
    """A pair (or trio) of one round; its people are its seats."""

    __tablename__ = "bridge_pairs"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    round_id: Mapped[int] = mapped_column(
        ForeignKey("pair_rounds.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"BridgePair(id={self.id!r}, round_id={self.round_id!r})"


class PairSeat(Base):
    """Someone's place in a round: in a pair (with their side then and their answer to
    "did you meet?"), or sitting out (pair_id None). Unique per round and person, so
    nobody is ever in two pairs of one round."""

    __tablename__ = "pair_seats"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    round_id: Mapped[int] = mapped_column(ForeignKey("pair_rounds.id", ondelete="CASCADE"))
    pair_id: Mapped[int | None] = mapped_column(
        ForeignKey("bridge_pairs.id", ondelete="CASCADE"), index=True
    )
    user_ref: Mapped[str] = mapped_column(String(128), info=PERSON)
    side: Mapped[str] = mapped_column(String(16))
    answer: Mapped[str | None] = mapped_column(String(16))  # met | planned | not
    answered_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("round_id", "user_ref"),
        CheckConstraint("answer IN ('met', 'planned', 'not')", name="answer_known"),
        Index("ix_pair_seats_workspace_user", "workspace_id", "user_ref"),
    )

    def __repr__(self) -> str:
        return f"PairSeat(round_id={self.round_id!r}, user_ref={self.user_ref!r})"

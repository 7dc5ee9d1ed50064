"""Six weeks of a demo workspace, lived through the real commands, buttons and scheduler.

Simulated people type commands and click the buttons of the messages bridgebot sends
them, exactly as the console does, while a simulated clock jumps from one moment to
the next and the scheduler delivers everything that falls due on the way.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import random
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import partial
from typing import TextIO
from zoneinfo import ZoneInfo

from bot import replies
from bot.commands.board import BOARD_CELEBRATE, BOARD_HELP, BOARD_RESOLVE
from bot.commands.pulse import PULSE_COMMENT, PULSE_VOTE
from bot.commands.standup import STANDUP_ANSWER
from bot.deps import Deps
from bot.models import Side
from bot.replies import Button, Buttons, Paragraph, Reply, SpanKind
from bot.router import (
    Caller,
    RequestScope,
    parse_line,
    run_action,
    run_command,
    run_form,
)
from bot.services.pulse import TWO_SIDES
from handlers.console import CONSOLE_WORKSPACE
from handlers.demo.cast import (
    CHALLENGES,
    CHANNEL,
    LOOKUPS,
    PEOPLE,
    PULSE_COMMENTS,
    STANDUP_ANSWERS,
    STANDUP_NAME,
    WINS,
    DemoPerson,
)
from schedules import Scheduler
from schedules.fast_forward import MovableClock, advance
from schedules.jobs import TickReport

WORKSPACE = CONSOLE_WORKSPACE  # the demo has a database of its own: the console works in it
STANDUP_DAYS = "mon,wed,fri"
STANDUP_TIME = time(9, 30)
WORKDAY = (time(9, 0), time(17, 30))
# How likely each person is to answer a stand-up's questions, and a weekly pulse.
ANSWER_RATE = 0.8
PULSE_RATE = 0.85


class DemoFailed(Exception):
    """bridgebot refused something the demo expected to work: a bug, said plainly."""


def agree_chance(side: Side, week: int, weeks: int) -> float:
    """The share of `side` that agrees in the pulse of `week` (0-based) of `weeks`.

    Marketing starts far less convinced than IT (the research found 58% against 78%;
    wider here) and comes closer week by week: the perception gap narrows.
    """
    progress = week / max(weeks - 1, 1)
    if side is Side.MARKETING:
        return 0.35 + 0.3 * progress
    return 0.85 - 0.05 * progress


@dataclass(frozen=True)
class Posted:
    conversation_ref: str
    reply: Reply
    at: datetime


class DemoNotifier:
    """What bridgebot sends during the demo, handed to the simulation as it is sent."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self.arrived: list[Posted] = []
        self._count = itertools.count(1)

    async def post(self, workspace_id: str, conversation_ref: str, reply: Reply) -> str | None:
        self.arrived.append(Posted(conversation_ref, reply, self._clock()))
        return f"demo-{next(self._count)}"

    def take(self) -> list[Posted]:
        taken, self.arrived = self.arrived, []
        return taken


@dataclass(order=True)
class _Event:
    at: datetime
    order: int
    act: Callable[[], Awaitable[None]] = field(compare=False)


@dataclass
class DemoTally:
    """What happened, for the closing summary."""

    counts: Counter[str] = field(default_factory=Counter)
    channel_posts: list[Posted] = field(default_factory=list)


def buttons_of(reply: Reply, action_id: str) -> list[Button]:
    return [
        button
        for block in reply.blocks
        if isinstance(block, Buttons)
        for button in block.buttons
        if button.action_id == action_id
    ]


def first_mention(reply: Reply) -> str | None:
    """The first person a message names: the author of a win or challenge."""
    for block in reply.blocks:
        if isinstance(block, Paragraph):
            for span in block.text:
                if span.kind is SpanKind.USER:
                    return span.text
    return None


def first_line(reply: Reply, width: int = 90) -> str:
    line = reply.fallback.splitlines()[0] if reply.fallback else ""
    return line if len(line) <= width else line[: width - 1] + "…"


class Simulation:
    """The demo's people living from `start` to `until`; see live_weeks."""

    def __init__(
        self,
        deps: Deps,
        clock: MovableClock,
        scheduler: Scheduler,
        notifier: DemoNotifier,
        *,
        rng: random.Random,
        weeks: int,
        narrate: Callable[[str], None],
    ) -> None:
        self.deps = deps
        self.clock = clock
        self.scheduler = scheduler
        self.notifier = notifier
        self.rng = rng
        self.weeks = weeks
        self.narrate = narrate
        self.zone = ZoneInfo(deps.settings.bridgebot_timezone)
        self.people = {person.user_ref: person for person in PEOPLE}
        self.tally = DemoTally()
        self._events: list[_Event] = []
        self._order = itertools.count()
        self._doubts: dict[str, list[float]] = {}
        # Each comment once before any comes again.
        self._comments = itertools.cycle(rng.sample(PULSE_COMMENTS, len(PULSE_COMMENTS)))
        self.start = clock()
        self._target = self.start  # where the clock is heading now

    # -- acting as a person ---------------------------------------------------------

    def _scope(self, person: DemoPerson) -> RequestScope:
        return RequestScope(
            session_factory=self.deps.session_factory,
            router=self.deps.router,
            caller=Caller(
                workspace_id=WORKSPACE,
                user_ref=person.user_ref,
                platform="console",
                is_admin=person.admin,
            ),
            now=self.clock(),
            default_timezone=self.deps.settings.bridgebot_timezone,
            channel_ref=CHANNEL,
            resolve_channel=lambda value: value.strip().lstrip("#") or None,
        )

    async def _expect(self, reply: Reply, what: str) -> Reply:
        if reply.is_error:
            raise DemoFailed(f"{what}: {reply.fallback}")
        if reply.wake_scheduler:
            await self._deliver_due()
        return reply

    async def type(self, person: DemoPerson, line: str) -> Reply:
        name, args = parse_line(line)
        reply = await asyncio.to_thread(run_command, self._scope(person), name, args)
        return await self._expect(reply, f"{person.user_ref} typed {line!r}")

    async def click(self, person: DemoPerson, button: Button) -> Reply:
        reply = await asyncio.to_thread(
            run_action, self._scope(person), button.action_id, button.value
        )
        return await self._expect(reply, f"{person.user_ref} clicked {button.label!r}")

    async def submit(self, person: DemoPerson, form_reply: Reply, values: dict[str, str]) -> Reply:
        """Fill the form `form_reply` opened, keeping each field's value unless given."""
        form = form_reply.form
        if form is None:
            raise DemoFailed(f"{person.user_ref} expected a form, got: {form_reply.fallback}")
        filled = {field.name: field.initial for field in form.fields} | values
        reply = await asyncio.to_thread(
            run_form, self._scope(person), form.callback_id, filled, form.metadata
        )
        return await self._expect(reply, f"{person.user_ref} submitted {form.title!r}")

    # -- time ----------------------------------------------------------------------

    def at(self, moment: datetime, act: Callable[[], Awaitable[None]]) -> None:
        heapq.heappush(self._events, _Event(moment, next(self._order), act))

    def local(self, day: date, at: time) -> datetime:
        return datetime.combine(day, at, tzinfo=self.zone)

    def workday_moment(self, day: date) -> datetime:
        start, end = (self.local(day, moment) for moment in WORKDAY)
        return start + (end - start) * self.rng.random()

    async def _deliver_due(self) -> None:
        await self._advance(self.clock())

    async def _advance(self, until: datetime) -> None:
        await advance(
            self.scheduler, self.clock, until, workspace_id=WORKSPACE, fired=self._arrived
        )

    async def _arrived(self, _now: datetime, _report: TickReport) -> bool:
        """Let people react to what arrived; stop the clock if one will act soon."""
        direct: Counter[str] = Counter()
        for posted in self.notifier.take():
            if posted.conversation_ref != CHANNEL:
                direct[self._kind_of_dm(posted.reply)] += 1
            self._react(posted)
        for kind, count in sorted(direct.items()):
            self.narrate(
                f"{self._when(self.clock())}  {replies.counted(count, 'direct message')}: {kind}"
            )
        return bool(self._events) and self._events[0].at <= self._target

    async def run_until(self, until: datetime) -> None:
        """Everything planned before `until`, in order, with deliveries in between: the
        clock stops wherever someone acts, including on what just arrived."""
        while True:
            self._target = min(self._events[0].at, until) if self._events else until
            await self._advance(self._target)
            if self._events and self._events[0].at <= self.clock():
                await heapq.heappop(self._events).act()
            elif self.clock() >= until:
                return

    # -- what people do when something arrives ------------------------------------------

    def _react(self, posted: Posted) -> None:
        reply, where = posted.reply, posted.conversation_ref
        person = self.people.get(where)
        if where == CHANNEL:
            self.tally.channel_posts.append(posted)
            self.narrate(f"{self._when(posted.at)}  #{where}  {self._headline(reply)}")
            self._react_in_channel(reply)
        elif person is not None and (answer := buttons_of(reply, STANDUP_ANSWER)):
            if self.rng.random() < ANSWER_RATE:
                delay = timedelta(minutes=self.rng.randint(5, 100))
                self.at(posted.at + delay, lambda: self._answer_standup(person, answer[0]))
        elif person is not None and buttons_of(reply, PULSE_VOTE):
            if self.rng.random() < PULSE_RATE:
                delay = timedelta(minutes=self.rng.randint(10, 30 * 60))
                self.at(posted.at + delay, lambda: self._answer_pulse(person, reply))

    def _react_in_channel(self, reply: Reply) -> None:
        now = self.clock()
        author = self.people.get(first_mention(reply) or "")
        if celebrate := buttons_of(reply, BOARD_CELEBRATE):
            fans = self._others(author, self.rng.randint(2, 7))
            for fan in fans:
                delay = timedelta(minutes=self.rng.randint(2, 300))
                self.at(now + delay, partial(self._act, fan, celebrate[0], "celebration"))
        if (help_ := buttons_of(reply, BOARD_HELP)) and author is not None:
            resolve = buttons_of(reply, BOARD_RESOLVE)
            helper = self._others(author, 1, other_side=True)[0]
            offered = now + timedelta(minutes=self.rng.randint(20, 240))
            self.at(offered, lambda: self._count(self.click(helper, help_[0]), "help offer"))
            if resolve:
                solved = offered + timedelta(hours=self.rng.randint(20, 70))
                self.at(
                    solved,
                    lambda: self._count(self.click(author, resolve[0]), "challenge resolved"),
                )

    async def _act(self, person: DemoPerson, button: Button, what: str) -> None:
        await self._count(self.click(person, button), what)

    async def _count(self, action: Awaitable[Reply], what: str) -> None:
        await action
        self.tally.counts[what] += 1

    def _others(
        self, author: DemoPerson | None, count: int, *, other_side: bool = False
    ) -> list[DemoPerson]:
        """`count` people but the author (of the other side, when asked)."""
        pool = [
            person
            for person in PEOPLE
            if person != author
            and not (other_side and author and person.side in (author.side, Side.OTHER))
        ]
        return self.rng.sample(pool, min(count, len(pool)))

    async def _answer_standup(self, person: DemoPerson, answer: Button) -> None:
        form = await self.click(person, answer)
        lines = STANDUP_ANSWERS[person.side]
        values = {
            f"q{n}": self.rng.choice(options)
            for n, options in enumerate((lines.wins, lines.challenges, lines.needs))
        }
        values["q0"] = values["q0"] or lines.wins[0]
        await self.submit(person, form, values)
        self.tally.counts["stand-up answer"] += 1

    async def _answer_pulse(self, person: DemoPerson, message: Reply) -> None:
        """Click one point of each statement's scale, then perhaps add a comment."""
        week = (self.clock() - self.start) // timedelta(weeks=1)
        chance = agree_chance(person.side, week, self.weeks)
        # Who is convinced changes slowly: a person's doubt about each statement is theirs
        # for the whole demo, so a side's share follows its trend with little noise.
        doubts = self._doubts.setdefault(person.user_ref, [self.rng.random() for _ in range(3)])
        scales = [
            block.buttons
            for block in message.blocks
            if isinstance(block, Buttons) and block.buttons[0].action_id == PULSE_VOTE
        ]
        for index, scale in enumerate(scales):
            # Working together "improved our results" convinces a little later.
            agrees = doubts[index % len(doubts)] < chance - 0.04 * index
            point = self.rng.choice((4, 5, 5) if agrees else (1, 2, 2, 3, 3, 3))
            await self.click(person, scale[point - 1])
        self.tally.counts["pulse answer"] += 1
        comment = buttons_of(message, PULSE_COMMENT)
        if comment and self.rng.random() < 0.15:
            form = await self.click(person, comment[0])
            await self.submit(person, form, {"comment": next(self._comments)})

    # -- the script --------------------------------------------------------------

    async def set_up(self) -> None:
        """Everyone picks a side, the admin names the channel and creates a stand-up."""
        admin = PEOPLE[0]
        for person in PEOPLE:
            await self.type(person, f"/bridge side {person.side.value}")
        await self.type(admin, f"/bridge channel #{CHANNEL}")
        # The pulse asks the two sides whose gap it measures, so every total can show.
        await self.submit(
            admin, await self.type(admin, "/bridge settings"), {"pulse_audience": TWO_SIDES}
        )
        form = await self.type(admin, "/standup")
        await self.submit(
            admin,
            form,
            {
                "name": STANDUP_NAME,
                "channel": CHANNEL,
                "weekdays": STANDUP_DAYS,
                "time": f"{STANDUP_TIME:%H:%M}",
                "timezone": self.deps.settings.bridgebot_timezone,
                "mode": "async",
            },
        )
        self.narrate(
            f"{self._when(self.clock())}  {admin.user_ref} set up the workspace: "
            f"{len(PEOPLE)} people, #{CHANNEL}, and {STANDUP_NAME}, {STANDUP_DAYS} at "
            f"{STANDUP_TIME:%H:%M}"
        )

    def plan_days(self, until: datetime) -> None:
        """Each working day: perhaps a win, sometimes a challenge, a few lookups; and one
        public holiday, when the stand-up is skipped."""
        first = self.clock().astimezone(self.zone).date() + timedelta(days=1)
        days = [first + timedelta(days=n) for n in range((until.date() - first).days)]
        workdays = [day for day in days if day.weekday() < 5]
        holiday = next(
            (day for day in workdays[len(workdays) // 2 :] if day.weekday() in (0, 2, 4)), None
        )
        if holiday is not None:
            self.at(
                self.local(holiday - timedelta(days=6), time(12, 0)), lambda: self._skip(holiday)
            )
        wins = {
            side: itertools.cycle(self.rng.sample(WINS[side], len(WINS[side]))) for side in WINS
        }
        challenges = {side: itertools.cycle(CHALLENGES[side]) for side in CHALLENGES}
        for day in workdays:
            if day == holiday:
                continue
            if self.rng.random() < 0.7:
                author = self.rng.choice(PEOPLE[1:-1])
                line = next(wins[author.side])
                self._later(day, author, f"/win {line}", "win")
            if day.weekday() in (1, 3):
                side = Side.MARKETING if day.isocalendar().week % 2 else Side.IT
                author = self.rng.choice([p for p in PEOPLE if p.side is side])
                self._later(day, author, f"/challenge {next(challenges[side])}", "challenge")
            for _ in range(self.rng.randint(1, 3)):
                reader = self.rng.choice(PEOPLE)
                term = self.rng.choice(LOOKUPS[reader.side])
                self._later(day, reader, f"/jargon {term}", "glossary lookup")

    def _later(self, day: date, person: DemoPerson, line: str, what: str) -> None:
        self.at(self.workday_moment(day), lambda: self._count(self.type(person, line), what))

    async def _skip(self, holiday: date) -> None:
        await self.type(PEOPLE[0], f"/standup skip 1 {holiday.isoformat()}")
        self.narrate(
            f"{self._when(self.clock())}  {PEOPLE[0].user_ref} skipped the stand-up "
            f"on {holiday:%A %d %B}: a public holiday"
        )
        self.tally.counts["stand-up skipped for a holiday"] += 1

    # -- narration -------------------------------------------------------------------

    def _when(self, moment: datetime) -> str:
        return f"{moment.astimezone(self.zone):%a %d %b %H:%M}"

    @staticmethod
    def _kind_of_dm(reply: Reply) -> str:
        if buttons_of(reply, STANDUP_ANSWER):
            return "stand-up questions"
        if buttons_of(reply, PULSE_VOTE):
            return "the weekly pulse"
        if first_mention(reply) is None and "starts at" in reply.fallback:
            return "stand-up reminders"
        return first_line(reply)

    @staticmethod
    def _headline(reply: Reply) -> str:
        return first_line(reply)


async def live_weeks(
    deps: Deps,
    clock: MovableClock,
    scheduler: Scheduler,
    notifier: DemoNotifier,
    *,
    weeks: int,
    seed: int,
    narrate: Callable[[str], None],
) -> DemoTally:
    """Set the workspace up at the clock's time and live `weeks` weeks from there."""
    simulation = Simulation(
        deps, clock, scheduler, notifier, rng=random.Random(seed), weeks=weeks, narrate=narrate
    )
    until = clock() + timedelta(weeks=weeks)
    await simulation.set_up()
    simulation.plan_days(until)
    await simulation.run_until(until)
    return simulation.tally


def narrate_to(output: TextIO) -> Callable[[str], None]:
    def write(line: str) -> None:
        output.write(line + "\n")
        output.flush()

    return write

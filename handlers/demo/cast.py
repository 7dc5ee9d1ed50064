"""The demo workspace's people and what they say: generated, and marked as a demo."""

from __future__ import annotations

from dataclasses import dataclass

from bot.models import Side

# Everything the demo makes is named so that nobody mistakes it for a real workspace.
CHANNEL = "demo-marketing-it"
STANDUP_NAME = "Marketing + IT stand-up (demo)"


@dataclass(frozen=True)
class DemoPerson:
    user_ref: str  # also the name typed with `:as` in the console
    side: Side
    admin: bool = False


def _people(side: Side, names: str) -> tuple[DemoPerson, ...]:
    return tuple(DemoPerson(name, side) for name in names.split())


# 30 people: 14 on each side and two in leadership; the first one runs the workspace.
PEOPLE: tuple[DemoPerson, ...] = (
    DemoPerson("sam", Side.OTHER, admin=True),
    *_people(
        Side.MARKETING,
        "maya lucas zoe omar ines felix hana leo priya jonas clara ravi elena tom",
    ),
    *_people(Side.IT, "ava noah yuki ben sofia arjun lena marco kim diego nina ollie fatima raj"),
    DemoPerson("grace", Side.OTHER),
)

WINS: dict[Side, tuple[str, ...]] = {
    Side.MARKETING: (
        "The spring campaign landing page converted at 6.1%, our best this year",
        "Webinar sign-ups doubled after IT fixed the registration form",
        "Newsletter open rate is up to 41% since we cleaned the list",
        "Three customer stories published this week, all approved by legal first time",
        "The product launch email went out on time to 80,000 people with no bounces spike",
        "Paid search cost per lead fell 18% after the new tracking went live",
        "Our trade show booth brought in 120 qualified leads",
    ),
    Side.IT: (
        "Single sign-on now covers the marketing tools too: one password fewer",
        "The website is 40% faster after the image pipeline change",
        "Zero downtime during the CRM upgrade this weekend",
        "The campaign data now lands in the warehouse every hour instead of every night",
        "Pen test findings all fixed ahead of the deadline",
        "The new form API handles ten times the launch-day traffic",
        "Backups of the marketing asset library are now automatic",
    ),
    Side.OTHER: ("Both teams shipped the pricing page together, a week early",),
}

CHALLENGES: dict[Side, tuple[str, ...]] = {
    Side.MARKETING: (
        "Our attribution report double-counts leads that come back through email",
        "We need the event sign-up form to pass UTM parameters into the CRM",
        "The A/B test tool slows down the homepage: can it load later?",
        "Which customer fields may we use for segmentation under the new data policy?",
        "Campaign dashboards show yesterday's numbers until noon",
    ),
    Side.IT: (
        "We need two weeks' notice of big campaigns to scale the servers in time",
        "Too many marketing tools hold customer data: which ones are still used?",
        "Tracking pixels keep appearing on pages without a security review",
        "Nobody owns the old microsites: can marketing tell us which to retire?",
        "Requests arrive by chat, mail and hallway: could they come through one form?",
    ),
}


@dataclass(frozen=True)
class StandupLines:
    """What one side answers to the three default questions ("" leaves one blank)."""

    wins: tuple[str, ...]
    challenges: tuple[str, ...]
    needs: tuple[str, ...]


STANDUP_ANSWERS: dict[Side, StandupLines] = {
    Side.MARKETING: StandupLines(
        wins=(
            "Launch email scheduled",
            "Blog traffic up 12%",
            "Webinar deck ready",
            "Two new case studies drafted",
            "Social calendar done for the month",
        ),
        challenges=(
            "Waiting on tracking for the new landing page",
            "Campaign data arrives late",
            "Too many tools for one report",
            "Unsure what the new privacy rules allow",
            "",
        ),
        needs=(
            "A date for the form fix",
            "Someone to explain the data warehouse",
            "A heads-up before site maintenance",
            "Help reading the web analytics",
            "",
        ),
    ),
    Side.IT: StandupLines(
        wins=(
            "Patched the web servers",
            "Page speed up 30%",
            "CRM sync fixed",
            "New staging site for campaigns",
            "Monitoring for the sign-up form",
        ),
        challenges=(
            "Requests arrive with no priority",
            "Launch dates reach us late",
            "Old microsites nobody owns",
            "Unclear what marketing counts as a lead",
            "",
        ),
        needs=(
            "Campaign dates a month ahead",
            "Who to ask about the tracking tags",
            "Feedback on the new request form",
            "A single owner for each tool",
            "",
        ),
    ),
    Side.OTHER: StandupLines(
        wins=("Budget approved for the joint roadmap", "Hiring plan agreed"),
        challenges=("Priorities clash between the teams", ""),
        needs=("One shared list of next quarter's launches", ""),
    ),
}

# Terms each side looks up: the other side's words.
LOOKUPS: dict[Side, tuple[str, ...]] = {
    Side.MARKETING: ("API", "Latency", "SSO", "Pen test", "Webhook", "Uptime", "Endpoint", "MFA"),
    Side.IT: ("CAC", "MQL", "Attribution", "CTR", "Funnel", "ROAS", "Churn", "A/B test"),
    Side.OTHER: ("SQL", "PR", "Pipeline", "KPI"),
}

PULSE_COMMENTS = (
    "The joint stand-up helps: I finally know who to ask.",
    "Still hard to get IT time for small campaign changes.",
    "Marketing told us about the launch early this time. Thank you!",
    "The glossary saved me from a very confusing meeting.",
    "We should celebrate shared wins more often.",
)

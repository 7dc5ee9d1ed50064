"""Every table the migrations manage: the domain's models, the Teams adapter's tables
(on the same Base, kept next to its store) and slack_sdk's OAuth store tables."""

from __future__ import annotations

from sqlalchemy import MetaData

import handlers.teams.models  # noqa: F401  (puts the Teams tables on Base.metadata)
from bot.models import Base
from migrations.slack_tables import slack_oauth_metadata


def target_metadata() -> list[MetaData]:
    return [Base.metadata, slack_oauth_metadata()]

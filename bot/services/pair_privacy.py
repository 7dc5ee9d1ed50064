"""A person's bridge pairs, answers and blocks, for export-me and forget-me."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from bot.models import PairBlock, PairMember, PairRound, PairSeat
from bot.services.privacy import Forgotten, PrivacyHooks, plain, rowcount


def export_person(*, session: Session, workspace_id: str, user_ref: str) -> dict[str, Any]:
    """Their membership, each round they were in (with whom, and their answer), and the
    people they asked not to be paired with. That someone blocked them is not theirs to
    see, so it is not exported to them."""
    member = session.execute(
        select(PairMember.joined_at, PairMember.snoozed_until).where(
            PairMember.workspace_id == workspace_id, PairMember.user_ref == user_ref
        )
    ).one_or_none()
    seats = session.execute(
        select(
            PairRound.slot, PairSeat.pair_id, PairSeat.side, PairSeat.answer, PairSeat.answered_at
        )
        .join(PairRound, PairRound.id == PairSeat.round_id)
        .where(PairSeat.workspace_id == workspace_id, PairSeat.user_ref == user_ref)
        .order_by(PairRound.slot)
    ).all()
    pair_ids = [seat.pair_id for seat in seats if seat.pair_id is not None]
    partners: dict[int, list[str]] = {}
    if pair_ids:
        for pair_id, other in session.execute(
            select(PairSeat.pair_id, PairSeat.user_ref).where(
                PairSeat.pair_id.in_(pair_ids), PairSeat.user_ref != user_ref
            )
        ):
            if pair_id is not None:
                partners.setdefault(pair_id, []).append(other)
    return {
        "bridge_pairs_membership": None
        if member is None
        else {"joined_at": plain(member.joined_at), "snoozed_until": plain(member.snoozed_until)},
        "bridge_pairs_rounds": [
            {
                "round": plain(seat.slot),
                "your_side": seat.side,
                "paired_with": partners.get(seat.pair_id, []) if seat.pair_id else [],
                "sat_out": seat.pair_id is None,
                "answer": seat.answer,
                "answered_at": plain(seat.answered_at),
            }
            for seat in seats
        ],
        "bridge_pairs_not_paired_with": list(
            session.execute(
                select(PairBlock.blocked_ref).where(
                    PairBlock.workspace_id == workspace_id, PairBlock.user_ref == user_ref
                )
            ).scalars()
        ),
    }


def forget_person(
    *, session: Session, workspace_id: str, user_ref: str, now: datetime
) -> Forgotten:
    """Out of every round (their partners' pairs stay, without them), their answers, their
    membership, and every block naming them either way."""
    seats = rowcount(
        session,
        delete(PairSeat).where(
            PairSeat.workspace_id == workspace_id, PairSeat.user_ref == user_ref
        ),
    )
    member = rowcount(
        session,
        delete(PairMember).where(
            PairMember.workspace_id == workspace_id, PairMember.user_ref == user_ref
        ),
    )
    blocks = rowcount(
        session,
        delete(PairBlock).where(
            PairBlock.workspace_id == workspace_id,
            or_(PairBlock.user_ref == user_ref, PairBlock.blocked_ref == user_ref),
        ),
    )
    return Forgotten(
        {"bridge pairs rounds": seats, "bridge pairs membership": member, "pair blocks": blocks}
    )


HOOKS = PrivacyHooks("bridge pairs", export=export_person, forget=forget_person)

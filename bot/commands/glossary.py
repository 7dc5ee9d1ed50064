"""The /jargon command: glossary cards, search, add/edit/delete forms, Explain."""

from __future__ import annotations

import random
from collections.abc import Callable

from sqlalchemy.orm import Session

from bot import replies
from bot.commands import FeatureConfig
from bot.errors import Invalid, NotAllowed, NotFound
from bot.models import Side
from bot.replies import (
    Block,
    Button,
    Buttons,
    ButtonStyle,
    FieldKind,
    Fields,
    Form,
    FormField,
    Heading,
    Note,
    Paragraph,
    Reply,
    Span,
    Visibility,
    bold,
    italic,
    text,
)
from bot.router import (
    Command,
    CommandContext,
    CommandRouter,
    MessageAction,
    OnlyOn,
    TeamsMenuEntry,
    split_first,
)
from bot.services import glossary, glossary_lookups, glossary_privacy, workspaces
from bot.services.glossary import TermCard, TermDraft
from bot.services.glossary_index import GlossaryIndex, GlossaryIndexCache
from bot.textinput import ascii_number

USAGE = (
    "/jargon TERM | search WORDS | add [TERM] | edit TERM | delete TERM | random"
    " | share TERM | explain TEXT"
)

GLOSSARY_SHOW = "glossary_show"
GLOSSARY_SHARE = "glossary_share"
GLOSSARY_EDIT = "glossary_edit"
GLOSSARY_ADD = "glossary_add"
GLOSSARY_DELETE_CONFIRM = "glossary_delete_confirm"
GLOSSARY_RESET_CONFIRM = "glossary_reset_confirm"
GLOSSARY_CANCEL = "glossary_cancel"
GLOSSARY_EXPLAIN = "glossary_explain"
GLOSSARY_ADD_FORM = "glossary_add_form"
GLOSSARY_EDIT_FORM = "glossary_edit_form"

ORIGIN_LABELS = {"marketing": "Marketing", "it": "IT", "general": "Both sides"}
# Explain lists at most this many terms, so the reply stays readable.
EXPLAIN_LIMIT = 25


def _read_starter_names(_sessions: Callable[[], Session]) -> None:
    """Every card says whether its term came with the starter glossary: that file is
    read (20 ms) at start-up, not by the first lookup."""
    glossary.is_starter_term("")


def register(
    router: CommandRouter, config: FeatureConfig, *, cache: GlossaryIndexCache | None = None
) -> None:
    """Add /jargon, its buttons, its forms and the starter glossary for new workspaces."""
    index_cache = cache or GlossaryIndexCache()
    # Built at start-up, so no first lookup pays for it; rebuilt in the background.
    router.warm_ups.append(index_cache.warm)
    router.warm_ups.append(_read_starter_names)

    def index(ctx: CommandContext) -> GlossaryIndex:
        return index_cache.get(ctx.session, ctx.workspace_id)

    router.register(
        Command(
            name="jargon",
            summary="Speak the other side's language",
            usage=USAGE,
            description="Look up a Marketing or IT term, or add one",
            usage_hint="TERM | search WORDS | add TERM | random",
            teams_menu=(
                TeamsMenuEntry("jargon", "jargon TERM: a term explained for Marketing and for IT"),
            ),
            help_lines=(
                "/jargon TERM: the glossary card (a Marketing view and an IT view)",
                "/jargon search WORDS: terms that match, best first",
                "/jargon add [TERM] · /jargon edit TERM · /jargon delete TERM",
                "/jargon random: one term, for curiosity · /jargon share TERM: its card, posted here",
                "/jargon explain TEXT: every glossary term in the text, for you",
                OnlyOn(
                    "Message menu › Explain jargon: every term in a message, for you",
                    "slack",
                    "teams",
                ),
            ),
            handler=lambda ctx, args: handle_jargon(ctx, args, index(ctx)),
            answered_at_once=only_reads,
        )
    )
    router.register_action(GLOSSARY_SHOW, lambda ctx, value: show_by_id(ctx, value))
    router.register_action(GLOSSARY_SHARE, share_term)
    router.register_action(GLOSSARY_EDIT, lambda ctx, value: edit_form(ctx, _term_id(value)))
    router.register_action(GLOSSARY_ADD, lambda ctx, value: Reply(form=term_form(ctx, None, value)))
    router.register_action(GLOSSARY_DELETE_CONFIRM, delete_confirmed)
    router.register_action(GLOSSARY_RESET_CONFIRM, lambda ctx, _: reset_confirmed(ctx))
    router.register_action(GLOSSARY_CANCEL, lambda ctx, _: replies.cancelled())
    router.register_action(GLOSSARY_EXPLAIN, lambda ctx, message: explain(index(ctx), message))
    router.register_message_action(
        MessageAction(
            GLOSSARY_EXPLAIN,
            "Explain jargon",
            "Every glossary term in this message, explained to you only",
        )
    )
    router.register_form(GLOSSARY_ADD_FORM, submit_add)
    router.register_form(GLOSSARY_EDIT_FORM, submit_edit)
    router.register_field_check(GLOSSARY_ADD_FORM, "name", check_new_name)
    router.register_field_check(GLOSSARY_EDIT_FORM, "name", check_new_name)
    router.privacy.register(glossary_privacy.HOOKS)
    router.new_workspace_hooks.append(
        lambda ctx: glossary.seed_starter(
            session=ctx.session, workspace_id=ctx.workspace_id, now=ctx.now
        )
    )


# Sub-commands that open a form, change the glossary or post to the channel.
NOT_ONLY_READING = frozenset({"add", "edit", "delete", "reset", "share"})


def only_reads(args: str) -> bool:
    """A lookup, search, explanation, random term or help: it answers the caller alone,
    and running it twice changes nothing but a view count."""
    return split_first(args)[0] not in NOT_ONLY_READING


def handle_jargon(ctx: CommandContext, args: str, index: GlossaryIndex) -> Reply:
    """Dispatch `/jargon ...`: a sub-command, or else a term to look up."""
    sub, rest = split_first(args)
    subcommands: dict[str, Callable[[], Reply]] = {
        "": lambda: help_reply(ctx.caller.platform),
        "help": lambda: help_reply(ctx.caller.platform),
        "search": lambda: search(ctx, index, rest),
        "add": lambda: add_form(ctx, rest),
        "edit": lambda: edit_form(ctx, _resolve(ctx, index, rest, "edit")),
        "delete": lambda: confirm_delete(ctx, _resolve(ctx, index, rest, "delete")),
        "random": lambda: random_term(ctx),
        "reset": lambda: confirm_reset(ctx),
        # The typed forms of the Share button and the Explain jargon message action.
        "share": lambda: share_named(ctx, index, rest, args),
        "explain": lambda: explain(index, rest),
    }
    if sub in subcommands and (sub in {"", "help", "random", "add", "reset"} or rest):
        return subcommands[sub]()
    if sub == "explain":
        raise Invalid("Paste the text to explain, for example /jargon explain our CAC rose.", USAGE)
    if sub in {"search", "edit", "delete", "share"}:
        raise Invalid(f"Say which term, for example /jargon {sub} CAC.", USAGE)
    return lookup(ctx, index, args)


def help_reply(platform: str) -> Reply:
    menu = (
        text("In any message's menu, ", bold("Explain jargon"), " lists the terms it uses.")
        if platform in {"slack", "teams"}  # the console has no message menus
        else text("/jargon explain TEXT lists the terms a text uses.")
    )
    return replies.message(
        text(bold("/jargon"), ": a shared glossary so Marketing and IT speak one language."),
        text(
            "/jargon TERM · /jargon search WORDS · /jargon add [TERM] · /jargon edit TERM · "
            "/jargon delete TERM · /jargon random · /jargon share TERM · /jargon explain TEXT"
        ),
        menu,
    )


def share_named(ctx: CommandContext, index: GlossaryIndex, name: str, args: str) -> Reply:
    """`/jargon share TERM`; a term whose name starts with "share" (Share of voice) is
    looked up as before when no term is called the rest."""
    if index.find_exact(name) is None and index.find_exact(args) is not None:
        return lookup(ctx, index, args)
    return share_term(ctx, str(_resolve(ctx, index, name, "share")))


def _term_id(value: str) -> int:
    term_id = ascii_number(value)
    if term_id is None:
        raise Invalid("That button is out of date; look the term up again.")
    return term_id


def _resolve(ctx: CommandContext, index: GlossaryIndex, name: str, verb: str) -> int:
    found = index.find_exact(name)
    if found is None:
        raise NotFound(text("There is no term “", name[:80], "” to ", verb, "."), USAGE)
    return found.id


def lookup(ctx: CommandContext, index: GlossaryIndex, query: str) -> Reply:
    """The card for `query`, or close matches and an offer to add it."""
    result = index.lookup(query)
    if result.term is not None:
        return show(
            ctx, result.term.id, index, fuzzy_query=query if result.fuzzy else None, typed=query
        )
    _count_lookup(ctx, query, None)
    blocks: list[Block] = [
        Paragraph(text("No term “", bold(query[:80]), "” in the glossary yet.")),
    ]
    buttons = [Button(term.name, GLOSSARY_SHOW, str(term.id)) for term in result.suggestions]
    if buttons:
        blocks.append(Note(text("Did you mean:")))
    buttons.append(Button("Add this term", GLOSSARY_ADD, query[:80], ButtonStyle.PRIMARY))
    blocks.append(Buttons(tuple(buttons)))
    return Reply(blocks=tuple(blocks))


def show_by_id(ctx: CommandContext, value: str) -> Reply:
    return show(ctx, _term_id(value), None)


def show(
    ctx: CommandContext,
    term_id: int,
    index: GlossaryIndex | None,
    fuzzy_query: str | None = None,
    typed: str | None = None,
) -> Reply:
    """The term's card; `typed` is what the person looked up, counted by side."""
    # The index, when at hand, knows the aliases and related terms and keeps the cards
    # read at its revision: fewer queries, none at all for a lookup on a server.
    indexed = index.terms.get(term_id) if index is not None else None
    card = glossary.view_card(
        session=ctx.session,
        workspace_id=ctx.workspace_id,
        term_id=term_id,
        aliases=indexed.aliases if indexed is not None else None,
        kept=index.cards if index is not None else None,
    )
    if typed is not None:
        _count_lookup(ctx, typed, card)
    blocks = list(card_blocks(ctx, card, with_actions=True, index=index))
    if fuzzy_query:
        blocks.insert(1, Note(text("Closest match to “", fuzzy_query[:80], "”")))
    return Reply(blocks=tuple(blocks))


def _count_lookup(ctx: CommandContext, typed: str, card: TermCard | None) -> None:
    """Count a typed lookup by the looker's side for the dashboard (never the person)."""
    glossary_lookups.record(
        session=ctx.session,
        workspace_id=ctx.workspace_id,
        user_ref=ctx.caller.user_ref,
        query=typed,
        term_name=card.name if card else None,
        term_origin=card.origin if card else None,
        now=ctx.now,
    )


def card_blocks(
    ctx: CommandContext, card: TermCard, *, with_actions: bool, index: GlossaryIndex | None = None
) -> list[Block]:
    """The glossary card: definition, a view for each side, example, related, who and when."""
    workspace = workspaces.get_workspace(session=ctx.session, workspace_id=ctx.workspace_id)
    blocks: list[Block] = [Heading(card.name), Paragraph(text(card.definition))]
    views = [
        (f"For {workspace.label(Side.MARKETING)}", card.marketing_view),
        (f"For {workspace.label(Side.IT)}", card.it_view),
    ]
    fields = tuple((label, text(value)) for label, value in views if value)
    if fields:
        blocks.append(Fields(fields))
    if card.example:
        blocks.append(Paragraph(text(italic("Example:"), " ", card.example)))
    blocks.append(Note(_card_footer(card)))
    related = _related_buttons(ctx, card, index) if with_actions else ()
    if related:
        blocks.append(Note(text("Related:")))
        blocks.append(Buttons(related))
    if with_actions:
        blocks.append(
            Buttons(
                (
                    Button("Share in channel", GLOSSARY_SHARE, str(card.id), ButtonStyle.PRIMARY),
                    Button("Edit", GLOSSARY_EDIT, str(card.id)),
                )
            )
        )
    return blocks


def _card_footer(card: TermCard) -> tuple[Span, ...]:
    parts: list[str | Span] = []
    if card.aliases:
        parts += ["Also: ", ", ".join(card.aliases), " · "]
    parts += ["From: ", ORIGIN_LABELS.get(card.origin, card.origin)]
    if card.author_ref:
        parts += [" · Added by ", replies.user(card.author_ref)]
    elif glossary.is_starter_term(card.name):
        parts += [" · From the starter glossary"]
    # Otherwise imported from a file, or its author asked to be forgotten: no one to name.
    if card.updated_at != card.created_at and card.updated_by:
        parts += [
            " · Edited ",
            card.updated_at.date().isoformat(),
            " by ",
            replies.user(card.updated_by),
        ]
    views = card.view_count
    parts += [" · ", replies.counted(views, "view")]
    return text(*parts)


def _related_buttons(
    ctx: CommandContext, card: TermCard, index: GlossaryIndex | None
) -> tuple[Button, ...]:
    """Buttons for related terms that exist (from the index, or one query for all)."""
    if index is not None:
        found = {
            name: term.id for name in card.related if (term := index.find_exact(name)) is not None
        }
    else:
        found = glossary.find_ids_by_names(
            session=ctx.session, workspace_id=ctx.workspace_id, names=list(card.related)
        )
    return tuple(
        Button(name, GLOSSARY_SHOW, str(found[name]))
        for name in card.related
        if name in found and found[name] != card.id
    )[:5]


def share_term(ctx: CommandContext, value: str) -> Reply:
    """Post the card where the button was clicked, saying who shared it."""
    card = glossary.get_card(
        session=ctx.session, workspace_id=ctx.workspace_id, term_id=_term_id(value)
    )
    blocks = card_blocks(ctx, card, with_actions=False)
    blocks.append(
        Note(text("Shared by ", replies.user(ctx.caller.user_ref), " · /jargon ", card.name))
    )
    return Reply(blocks=tuple(blocks), visibility=Visibility.CHANNEL)


def search(ctx: CommandContext, index: GlossaryIndex, words: str) -> Reply:
    found = index.search(words)
    if not found:
        return Reply(
            blocks=(
                Paragraph(text("Nothing in the glossary matches “", words[:80], "”.")),
                Buttons((Button("Add a term", GLOSSARY_ADD, "", ButtonStyle.PRIMARY),)),
            )
        )
    lines = [text(bold(term.name), " — ", _first_sentence(term.definition)) for term in found]
    return Reply(
        blocks=(
            Paragraph(
                text(
                    replies.counted(len(found), "term") + " for “",
                    words[:80],
                    "”:",
                )
            ),
            Paragraph(replies.join_lines(lines)),
            Buttons(tuple(Button(term.name, GLOSSARY_SHOW, str(term.id)) for term in found[:5])),
        )
    )


def _first_sentence(value: str, limit: int = 160) -> str:
    end = value.find(". ")
    sentence = value if end == -1 else value[: end + 1]
    return sentence if len(sentence) <= limit else sentence[: limit - 1] + "…"


def random_term(ctx: CommandContext, rng: random.Random | None = None) -> Reply:
    term_id = glossary.random_term_id(session=ctx.session, workspace_id=ctx.workspace_id, rng=rng)
    if term_id is None:
        return replies.message("The glossary is empty. Add the first term with /jargon add.")
    return show(ctx, term_id, None)


def explain(index: GlossaryIndex, message: str) -> Reply:
    """Every glossary term in a message, each with its one-line definition."""
    hits = index.explain(message)
    if not hits:
        return replies.message("No glossary terms in that message.")
    lines = [
        text(
            bold(hit.term.name),
            *([f" ({hit.found_as})"] if hit.found_as != hit.term.name else []),
            " — ",
            _first_sentence(hit.term.definition),
        )
        for hit in hits[:EXPLAIN_LIMIT]
    ]
    more = len(hits) - EXPLAIN_LIMIT
    blocks: list[Block] = [
        Paragraph(text(f"Jargon in this message ({len(hits)}):")),
        Paragraph(replies.join_lines(lines)),
    ]
    if more > 0:
        blocks.append(Note(text(f"…and {more} more.")))
    return Reply(blocks=tuple(blocks))


# -- forms ---------------------------------------------------------------------


def term_form(ctx: CommandContext, card: TermCard | None, name: str = "") -> Form:
    """The add form (prefilled with a name) or the edit form (prefilled with the term)."""
    draft = card.draft() if card else TermDraft(name=name[:80], definition="")
    return Form(
        callback_id=GLOSSARY_EDIT_FORM if card else GLOSSARY_ADD_FORM,
        title="Edit term" if card else "Add a term",
        submit_label="Save",
        metadata=str(card.id) if card else "",
        fields=(
            FormField("name", "Term", draft.name, max_length=glossary.LIMITS["name"]),
            FormField(
                "aliases",
                "Also known as",
                ", ".join(draft.aliases),
                optional=True,
                max_length=400,
                hint="Acronyms and other spellings, separated by commas",
            ),
            FormField(
                "definition",
                "Plain definition",
                draft.definition,
                multiline=True,
                max_length=glossary.LIMITS["definition"],
                hint="One or two sentences anyone understands",
            ),
            FormField(
                "marketing_view",
                "For Marketing",
                draft.marketing_view,
                multiline=True,
                optional=True,
                max_length=glossary.LIMITS["marketing_view"],
                hint="What it means to a marketer",
            ),
            FormField(
                "it_view",
                "For IT",
                draft.it_view,
                multiline=True,
                optional=True,
                max_length=glossary.LIMITS["it_view"],
                hint="What it means to an engineer",
            ),
            FormField(
                "example",
                "Example",
                draft.example,
                optional=True,
                max_length=glossary.LIMITS["example"],
            ),
            FormField(
                "origin",
                "Whose term is it?",
                draft.origin,
                options=tuple(ORIGIN_LABELS.items()),
                kind=FieldKind.SELECT,
            ),
            FormField(
                "related",
                "Related terms",
                ", ".join(draft.related),
                optional=True,
                max_length=400,
                hint="Names of other terms, separated by commas",
            ),
        ),
    )


def edit_form(ctx: CommandContext, term_id: int) -> Reply:
    card = glossary.get_card(session=ctx.session, workspace_id=ctx.workspace_id, term_id=term_id)
    _require_author_or_admin(ctx, card.author_ref, card.name)
    return Reply(form=term_form(ctx, card))


def _require_author_or_admin(ctx: CommandContext, author_ref: str | None, name: str) -> None:
    if not ctx.caller.has_admin_rights() and author_ref != ctx.caller.user_ref:
        raise NotAllowed(
            text("Only the person who added “", name, "” or a workspace admin can change it.")
        )


def check_new_name(ctx: CommandContext, name: str, metadata: str) -> str | None:
    """The name field, checked before the rest of the add (or edit) form is asked."""
    own_id = ascii_number(metadata) if metadata else None
    return glossary.check_name(
        session=ctx.session, workspace_id=ctx.workspace_id, name=name, own_id=own_id
    )


def add_form(ctx: CommandContext, name: str) -> Reply:
    """`/jargon add [TERM]`: a name already taken is said at once, not after the form."""
    problem = check_new_name(ctx, name, "") if name else None
    if problem is not None:
        raise Invalid(text(problem, " Look it up with /jargon ", name[:80], "."))
    return Reply(form=term_form(ctx, None, name))


def submit_add(ctx: CommandContext, values: dict[str, str], _metadata: str) -> Reply:
    draft = TermDraft.from_mapping(values)
    card = glossary.add_term(
        session=ctx.session,
        workspace_id=ctx.workspace_id,
        draft=draft,
        author_ref=ctx.caller.user_ref,
        now=ctx.now,
    )
    return _saved(ctx, card, "Added")


def submit_edit(ctx: CommandContext, values: dict[str, str], metadata: str) -> Reply:
    draft = TermDraft.from_mapping(values)
    card = glossary.edit_term(
        session=ctx.session,
        workspace_id=ctx.workspace_id,
        term_id=_term_id(metadata),
        draft=draft,
        editor_ref=ctx.caller.user_ref,
        is_admin=ctx.caller.has_admin_rights(),
        now=ctx.now,
    )
    return _saved(ctx, card, "Saved")


def _saved(ctx: CommandContext, card: TermCard, verb: str) -> Reply:
    blocks: list[Block] = [Paragraph(text(f"{verb} “", bold(card.name), "”. Here is its card:"))]
    blocks += card_blocks(ctx, card, with_actions=True)
    return Reply(blocks=tuple(blocks))


# -- delete and reset ------------------------------------------------------------


def confirm_delete(ctx: CommandContext, term_id: int) -> Reply:
    card = glossary.get_card(session=ctx.session, workspace_id=ctx.workspace_id, term_id=term_id)
    _require_author_or_admin(ctx, card.author_ref, card.name)
    return Reply(
        blocks=(
            Paragraph(
                text("Delete “", bold(card.name), "” from the glossary? Its history is kept.")
            ),
            Buttons(
                (
                    Button(
                        f"Delete {card.name}"[:75],
                        GLOSSARY_DELETE_CONFIRM,
                        str(term_id),
                        ButtonStyle.DANGER,
                    ),
                    Button("Cancel", GLOSSARY_CANCEL),
                )
            ),
        )
    )


def delete_confirmed(ctx: CommandContext, value: str) -> Reply:
    name = glossary.delete_term(
        session=ctx.session,
        workspace_id=ctx.workspace_id,
        term_id=_term_id(value),
        user_ref=ctx.caller.user_ref,
        is_admin=ctx.caller.has_admin_rights(),
        now=ctx.now,
    )
    return Reply(blocks=(Paragraph(text("Deleted “", name, "”.")),), replace_original=True)


def confirm_reset(ctx: CommandContext) -> Reply:
    ctx.require_admin("reset the glossary")
    count = glossary.count_terms(session=ctx.session, workspace_id=ctx.workspace_id)
    return Reply(
        blocks=(
            Paragraph(
                text(
                    f"Replace all {count} terms with the starter glossary? "
                    "Terms your team added are removed (their history is kept)."
                )
            ),
            Buttons(
                (
                    Button("Reset the glossary", GLOSSARY_RESET_CONFIRM, "", ButtonStyle.DANGER),
                    Button("Cancel", GLOSSARY_CANCEL),
                )
            ),
        )
    )


def reset_confirmed(ctx: CommandContext) -> Reply:
    ctx.require_admin("reset the glossary")
    glossary.delete_all(session=ctx.session, workspace_id=ctx.workspace_id)
    added = glossary.seed_starter(session=ctx.session, workspace_id=ctx.workspace_id, now=ctx.now)
    return Reply(
        blocks=(Paragraph(text(f"The glossary now holds the {added} starter terms.")),),
        replace_original=True,
    )

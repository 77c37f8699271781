"""The review queue: what Sheli did not understand, or was unsure of, kept so people can teach it.

A message whose intent is decided by the NLU (handlers/conversation.py `_on_intent`; keywords
never get there) is kept when
- it fell below `nlu.threshold` (`nlu_fallback`): reason "below_threshold";
- it was read as `out_of_scope`: "out_of_scope";
- the top two intents were closer than `nlu.review_margin`: "close".
Keeping it is one insert of the masked text. An operator labels a kept message with the intent
it should have had (`sheli nlu label`, the dashboard's 未理解的消息 page); the labelled messages
are training examples (`labelled_examples`) and bump LABELS_VERSION_KEY, which every process
checks once per `scheduler.tick` to retrain its model (bot/nlu_refresh.py). `注销` deletes a
resident's kept messages (`forget_resident`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from handlers import commands as cmd
from handlers import messages as msg
from handlers.errors import Invalid, NotFound
from handlers.masking import mask_personal
from handlers.ports import Context, Policy
from handlers.times import local_day_start, to_local
from nlu.base import ALL_INTENTS, FALLBACK_INTENT, ParseResult
from storage.models import Resident, ReviewMessage
from storage.uow import AbstractUnitOfWork

# The key_values row whose value changes whenever the labelled examples change.
LABELS_VERSION_KEY = "nlu:labels"
# The intents a message may be labelled with: those the training data has.
LABEL_INTENTS = ALL_INTENTS
REASONS = ("below_threshold", "out_of_scope", "close")
PAGE_SIZE = 20
TEXT_MAX = 2000


def _ranking(parsed: ParseResult) -> list[tuple[str, float]]:
    """The intents ranked, without Rasa's `nlu_fallback` entry (it is a verdict, not a guess)."""
    ranked = [(intent, score) for intent, score in parsed.ranking if intent != FALLBACK_INTENT]
    return ranked or [(parsed.intent, parsed.confidence)]


def review_reason(parsed: ParseResult | None, policy: Policy) -> str | None:
    """Why this reading of a message should be reviewed, or None when it is clear enough."""
    if parsed is None or not parsed.text.strip():
        return None
    if parsed.intent == FALLBACK_INTENT:
        return "below_threshold"
    if parsed.intent == "out_of_scope":
        return "out_of_scope"
    ranking = _ranking(parsed)
    if len(ranking) >= 2 and ranking[0][1] - ranking[1][1] < policy.review_margin:
        return "close"
    return None


def keep_if_unsure(
    uow: AbstractUnitOfWork, ctx: Context, resident: Resident, parsed: ParseResult | None
) -> ReviewMessage | None:
    """Keep the message for review when the NLU was unsure of it (one insert), else nothing."""
    reason = review_reason(parsed, ctx.policy)
    if reason is None or parsed is None:
        return None
    ranking = _ranking(parsed)
    top, confidence = ranking[0]
    runner_up = ranking[1] if len(ranking) > 1 else None
    return uow.review.add(
        ReviewMessage(
            resident_id=resident.id,
            text=mask_personal(parsed.text.strip())[:TEXT_MAX],
            intent=top,
            confidence=round(float(confidence), 4),
            runner_up=runner_up[0] if runner_up else None,
            runner_up_confidence=round(float(runner_up[1]), 4) if runner_up else None,
            reason=reason,
            created_at=ctx.now,
        )
    )


def intent_of(text: str) -> str | None:
    """An intent from its key ("repair") or its Chinese name ("物业报修")."""
    wanted = text.strip()
    if wanted in LABEL_INTENTS:
        return wanted
    for intent, name in msg.REVIEW_INTENT_NAMES.items():
        if wanted == name and intent in LABEL_INTENTS:
            return intent
    return None


def label_message(
    command: cmd.LabelMessage, uow: AbstractUnitOfWork, ctx: Context
) -> ReviewMessage:
    """Label a kept message with the intent it should have had; it becomes a training example.

    A relabel replaces the label. Every label changes LABELS_VERSION_KEY, so each process
    retrains on its next check.
    """
    intent = intent_of(command.intent)
    if intent is None:
        choices = "、".join(
            f"{key}（{msg.REVIEW_INTENT_NAMES.get(key, key)}）" for key in LABEL_INTENTS
        )
        raise Invalid(msg.REVIEW_UNKNOWN_INTENT.format(intent=command.intent, intents=choices))
    found = uow.review.get(command.review_id)
    if found is None:
        raise NotFound(msg.REVIEW_NOT_FOUND.format(id=command.review_id))
    found.labelled_intent = intent
    found.labelled_by = command.actor.label
    found.labelled_at = ctx.now
    bump_labels_version(uow, ctx.now)
    return found


def bump_labels_version(uow: AbstractUnitOfWork, now: datetime) -> str:
    """Say that the labelled examples changed; returns the new version."""
    version = f"{now.isoformat()}/{secrets.token_hex(4)}"
    uow.values.set(LABELS_VERSION_KEY, version, None)
    return version


def labels_version(uow: AbstractUnitOfWork, now: datetime) -> str | None:
    """The current version of the labelled examples (None: never labelled)."""
    return uow.values.get(LABELS_VERSION_KEY, now)


def labelled_examples(uow: AbstractUnitOfWork) -> list[tuple[str, str]]:
    """Every labelled message as a (text, intent) training pair; a relabel comes last."""
    return uow.review.labelled_pairs()


def forget_resident(uow: AbstractUnitOfWork, resident: Resident, now: datetime) -> int:
    """`注销`: delete the resident's kept messages; a deleted label retrains the models."""
    deleted, labelled = uow.review.forget_resident(resident.id)
    if labelled:
        bump_labels_version(uow, now)
    return deleted


# --- what the CLI and the dashboard read --------------------------------------------------------


@dataclass(frozen=True)
class ReviewRow:
    """One kept message as a list shows it."""

    id: int
    text: str
    intent: str
    confidence: float
    runner_up: str | None
    runner_up_confidence: float | None
    reason: str
    created_at: datetime
    labelled_intent: str | None
    labelled_by: str | None
    labelled_at: datetime | None

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "text": self.text,
            "intent": self.intent,
            "confidence": self.confidence,
            "runner_up": self.runner_up,
            "runner_up_confidence": self.runner_up_confidence,
            "reason": self.reason,
            "created_at": self.created_at.isoformat() + "Z",
            "labelled_intent": self.labelled_intent,
            "labelled_by": self.labelled_by,
            "labelled_at": self.labelled_at.isoformat() + "Z" if self.labelled_at else None,
        }


def _row(message: ReviewMessage) -> ReviewRow:
    return ReviewRow(
        id=message.id,
        text=message.text,
        intent=message.intent,
        confidence=message.confidence,
        runner_up=message.runner_up,
        runner_up_confidence=message.runner_up_confidence,
        reason=message.reason,
        created_at=message.created_at,
        labelled_intent=message.labelled_intent,
        labelled_by=message.labelled_by,
        labelled_at=message.labelled_at,
    )


SHOW = {"todo": False, "labelled": True, "all": None}


@dataclass(frozen=True)
class ReviewPage:
    """One page of the queue, newest first, with the week's labelling count."""

    rows: list[ReviewRow]
    show: str  # todo | labelled | all
    page: int
    pages: int
    total: int  # of what `show` selects
    unlabelled: int
    labelled_this_week: int

    def to_json(self) -> dict[str, object]:
        return {
            "rows": [row.to_json() for row in self.rows],
            "show": self.show,
            "page": self.page,
            "pages": self.pages,
            "total": self.total,
            "unlabelled": self.unlabelled,
            "labelled_this_week": self.labelled_this_week,
        }


def week_start(now: datetime, timezone: str) -> datetime:
    """This local week's Monday 00:00, as naive UTC."""
    today = to_local(now, timezone).date()
    return local_day_start(today - timedelta(days=today.weekday()), timezone)


def review_page(
    uow: AbstractUnitOfWork,
    ctx: Context,
    show: str = "todo",
    page: int = 1,
    per_page: int = PAGE_SIZE,
) -> ReviewPage:
    """Kept messages newest first: unlabelled ("todo"), labelled, or all; `page` from 1."""
    if show not in SHOW:
        show = "todo"
    labelled = SHOW[show]
    total = uow.review.count(labelled=labelled)
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    rows = uow.review.newest(labelled=labelled, offset=(page - 1) * per_page, limit=per_page)
    return ReviewPage(
        rows=[_row(r) for r in rows],
        show=show,
        page=page,
        pages=pages,
        total=total,
        unlabelled=total if labelled is False else uow.review.count(labelled=False),
        labelled_this_week=uow.review.count_labelled_since(
            week_start(ctx.now, ctx.policy.timezone)
        ),
    )


def labelled_rows(uow: AbstractUnitOfWork, ctx: Context) -> list[tuple[str, str]]:
    """The labelled examples (for `sheli nlu export` and `sheli nlu train`)."""
    return labelled_examples(uow)

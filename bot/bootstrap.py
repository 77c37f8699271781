"""The composition root: config in, a wired Sheli out. Tests pass fakes to the same function."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.config import PROJECT_ROOT, Config, load_config
from bot.media import LocalMediaSource, MediaLibrary, MediaSettings, MediaSource, WeChatMediaSource
from bot.nlu_refresh import ModelRefresher, refresher_for
from bot.outbox import LocalInboxSender, OutboxSettings, Sender, WeChatSender
from handlers.ports import Clock, Context, Deadlines, Policy, SystemClock
from nlu.base import Parser
from storage.db import make_engine, make_session_factory, upgrade
from storage.media_files import MediaFiles
from storage.uow import SqlAlchemyUnitOfWork

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class Sheli:
    """Everything the web app, the CLI and the scheduler share."""

    config: Config
    engine: Engine
    session_factory: sessionmaker[Session]
    policy: Policy
    parser: Parser
    clock: Clock
    sender: Sender
    outbox_settings: OutboxSettings = field(default_factory=OutboxSettings)
    # Photos and voice notes: the folder (media.dir), where they are fetched from, retries.
    media_files: MediaFiles = field(default_factory=lambda: MediaFiles(None))
    media_source: MediaSource | None = None
    media_settings: MediaSettings = field(default_factory=MediaSettings)
    # Retrains `parser` on the review queue's labels when they change (None: nothing to retrain).
    nlu_refresher: ModelRefresher | None = None

    def uow(self) -> SqlAlchemyUnitOfWork:
        """A fresh unit of work (the only way to one)."""
        return SqlAlchemyUnitOfWork(self.session_factory, self.media_files)

    def context(self) -> Context:
        """What a handler knows for one call: policy, parser, and the time now."""
        return Context(policy=self.policy, parser=self.parser, now=self.clock.now())

    def handle(
        self, message: Any, *, first: Callable[[SqlAlchemyUnitOfWork], None] | None = None
    ) -> Any:
        """Run one command (or an inbound message) in one transaction; commits on success.

        A DomainError (NotFound, NotAllowed, Invalid) rolls everything back and reaches the
        adapter, which maps it once to a reply, an exit message, a flash or an HTTP status.
        `first(uow)` runs in the same transaction before the handler (the webhook records the
        request's nonce there: one commit per message); whatever it raises rolls back.
        """
        from handlers.bus import handle

        self.refresh_nlu()
        with self.uow() as uow:
            if first is not None:
                first(uow)
            result = handle(message, uow, self.context())
            uow.commit()
        return result

    def refresh_nlu(self, *, force: bool = False) -> bool:
        """Pick up newly labelled examples: at most once per `scheduler.tick` (or now, with
        `force`), before any transaction of this call is open. True if the model changed."""
        if self.nlu_refresher is None:
            return False
        return self.nlu_refresher.refresh(self, force=force)

    def read(self, query: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a read model `query(uow, ctx, *args, **kwargs)` in a unit of work of its own."""
        self.refresh_nlu()
        with self.uow() as uow:
            return query(uow, self.context(), *args, **kwargs)

    def stream(self, query: Callable[..., Iterable[T]], *args: Any, **kwargs: Any) -> Iterator[T]:
        """Run a read model that yields rows (an export) in a unit of work of its own, which
        stays open while the rows are consumed, so they are written while they are read."""
        with self.uow() as uow:
            yield from query(uow, self.context(), *args, **kwargs)


def policy_from_config(config: Config) -> Policy:
    """The handlers' view of config.yaml."""
    sla = {}
    for intent, value in (config.get("sla") or {}).items():
        if isinstance(value, dict):
            sla[intent] = Deadlines(
                accept=config.duration(f"sla.{intent}.accept"),
                resolve=config.duration(f"sla.{intent}.resolve"),
            )
    return Policy(
        site_name=str(config.get("site.name", "智慧舍里")),
        routing=dict(config.get("routing") or {}),
        role_names=dict(config.get("roles") or {}),
        state_ttl=config.duration("conversation.state_ttl"),
        reply_window=config.duration("conversation.reply_window"),
        max_new_tickets=int(config.get("conversation.max_new_tickets")),
        ticket_window=config.duration("conversation.ticket_window"),
        max_messages=int(config.get("conversation.max_messages")),
        message_window=config.duration("conversation.message_window"),
        bind_code_ttl=config.duration("staff.bind_code_ttl"),
        followup_delay=config.duration("followup.delay"),
        followup_expire=config.duration("followup.expire"),
        sla=sla,
        escalate_factor=float(config.get("sla.escalate_factor", 2)),
        summary_recipients=tuple(config.get("summary.recipients") or ()),
        public_url=str(config.get("site.public_url") or ""),
        timezone=str(config.get("site.timezone") or "Asia/Shanghai"),
        review_margin=float(config.get("nlu.review_margin", 0.15)),
        inform=_inform(config.get("inform") or {}),
    )


def _inform(section: Any) -> dict[str, tuple[str, ...]]:
    """`inform:` as intent → roles; a single role may be written without a list."""
    informed = {}
    for intent, roles in section.items():
        listed = [roles] if isinstance(roles, str) else list(roles or ())
        informed[str(intent)] = tuple(str(role) for role in listed)
    return informed


def build_parser_from_config(config: Config) -> Parser:
    """The NLU backend named by `nlu.backend`."""
    from nlu.factory import build_parser

    return build_parser(
        str(config.get("nlu.backend", "embedded")),
        rasa_url=str(config.get("nlu.rasa_url") or ""),
        threshold=float(config.get("nlu.threshold", 0.45)),
        rasa_timeout=config.seconds("nlu.rasa_timeout"),
        cache_dir=config.nlu_cache_dir,
    )


def build_sender(
    config: Config,
    session_factory: sessionmaker[Session],
    clock: Clock,
    media_files: MediaFiles | None = None,
) -> Sender:
    """Local inbox without an app id; wechatpy's client (token shared through the DB) with one."""
    if config.local_mode:
        return LocalInboxSender()
    from bot.wechat_client import SheliWeChatClient

    library = MediaLibrary(
        lambda: SqlAlchemyUnitOfWork(session_factory, media_files), media_files or MediaFiles(None)
    )
    return WeChatSender(
        lambda: SheliWeChatClient.from_config(config, session_factory, clock),
        template_id=str(config.get("wechat.template_id") or ""),
        stored_media=library.stored,
        clock=clock,
    )


def build_media_source(
    config: Config, session_factory: sessionmaker[Session], clock: Clock, media_files: MediaFiles
) -> MediaSource:
    """WeChat's media API with an app id; the pictures uploaded under media.dir in local mode."""
    if config.local_mode:
        return LocalMediaSource(media_files)
    from bot.wechat_client import SheliWeChatClient

    return WeChatMediaSource(lambda: SheliWeChatClient.from_config(config, session_factory, clock))


def bootstrap(
    config: Config | None = None,
    *,
    clock: Clock | None = None,
    parser: Parser | None = None,
    sender: Sender | None = None,
    media_source: MediaSource | None = None,
    upgrade_db: bool = False,
) -> Sheli:
    """Wire Sheli from config; any port may be replaced (tests pass fakes)."""
    config = config or load_config()
    engine = make_engine(config.database_url)
    if upgrade_db:
        upgrade(engine)
    session_factory = make_session_factory(engine)
    clock = clock or SystemClock()
    media_files = MediaFiles(config.media_dir)
    parser = parser or build_parser_from_config(config)
    return Sheli(
        config=config,
        engine=engine,
        session_factory=session_factory,
        policy=policy_from_config(config),
        parser=parser,
        clock=clock,
        sender=sender or build_sender(config, session_factory, clock, media_files),
        outbox_settings=OutboxSettings(
            max_attempts=int(config.get("outbox.max_attempts", 10)),
            backoff=config.duration("outbox.backoff"),
            max_unknown=int(config.get("outbox.max_unknown", 1)),
        ),
        media_files=media_files,
        media_source=media_source
        or build_media_source(config, session_factory, clock, media_files),
        media_settings=MediaSettings(
            max_attempts=max(int(config.get("media.max_attempts", 8)), 1),
            backoff=config.duration("media.backoff"),
        ),
        nlu_refresher=refresher_for(parser, config.duration("scheduler.tick")),
    )


class NoParser:
    """For processes that never read free text (most CLI commands, the scheduler): no model load."""

    name = "none"

    def parse(self, text: str) -> Any:
        raise RuntimeError("this process does not parse text")


def is_embedded_sqlite(config: Config) -> bool:
    """True for the default file database that `sheli serve` upgrades by itself."""
    return config.database_url.startswith("sqlite:///") and Path(
        config.database_url[len("sqlite:///") :]
    ).is_relative_to(PROJECT_ROOT / "var")

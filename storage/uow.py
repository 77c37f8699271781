"""The unit of work owns the session: `with uow: ...; uow.commit()`."""

from __future__ import annotations

import abc
from types import TracebackType
from typing import Self

from sqlalchemy.orm import Session, sessionmaker

from storage.access_repositories import (
    LoginThrottleRepository,
    OperatorSessionRepository,
    WebhookNonceRepository,
)
from storage.community_repositories import (
    BuildingRepository,
    CommunityRepository,
    EventRepository,
    ResourceRepository,
)
from storage.figures import FiguresRepository
from storage.media_files import MediaFiles
from storage.media_repository import AttachmentRepository
from storage.repositories import (
    ConversationRepository,
    InboundRepository,
    KeyValueRepository,
    LeaseRepository,
    OutboxRepository,
    ResidentRepository,
    StaffRepository,
    TicketRepository,
    forget_transaction_facts,
)
from storage.review_repositories import ReviewRepository


class AbstractUnitOfWork(abc.ABC):
    residents: ResidentRepository
    staff: StaffRepository
    tickets: TicketRepository
    inbound: InboundRepository
    outbox: OutboxRepository
    conversations: ConversationRepository
    values: KeyValueRepository
    leases: LeaseRepository
    events: EventRepository
    buildings: BuildingRepository
    communities: CommunityRepository
    resources: ResourceRepository
    nonces: WebhookNonceRepository
    login_throttle: LoginThrottleRepository
    operator_sessions: OperatorSessionRepository
    figures: FiguresRepository
    attachments: AttachmentRepository
    # The media folder; files are removed only once the transaction that let go of them commits.
    media_files: MediaFiles

    _discarded_files: list[str]

    def discard_media_file(self, name: str) -> None:
        """Delete the stored file `name` when (and only if) this unit of work commits."""
        if self.media_files.root is None:  # refuse now, before anything is written
            raise RuntimeError("no media.dir configured for this unit of work")
        self._discarded_files.append(name)

    def _delete_discarded_files(self) -> None:
        names, self._discarded_files = self._discarded_files, []
        for name in names:
            self.media_files.delete(name)

    review: ReviewRepository

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.rollback()

    @abc.abstractmethod
    def commit(self) -> None: ...

    @abc.abstractmethod
    def rollback(self) -> None: ...


class SqlAlchemyUnitOfWork(AbstractUnitOfWork):
    """One session per `with` block; anything not committed is rolled back on exit."""

    session: Session

    def __init__(
        self, session_factory: sessionmaker[Session], media_files: MediaFiles | None = None
    ):
        self.session_factory = session_factory
        self.media_files = media_files or MediaFiles(None)

    def __enter__(self) -> Self:
        self.session = self.session_factory()
        self.residents = ResidentRepository(self.session)
        self.staff = StaffRepository(self.session)
        self.tickets = TicketRepository(self.session)
        self.inbound = InboundRepository(self.session)
        self.outbox = OutboxRepository(self.session)
        self.conversations = ConversationRepository(self.session)
        self.values = KeyValueRepository(self.session)
        self.leases = LeaseRepository(self.session)
        self.events = EventRepository(self.session)
        self.buildings = BuildingRepository(self.session)
        self.communities = CommunityRepository(self.session)
        self.resources = ResourceRepository(self.session)
        self.nonces = WebhookNonceRepository(self.session)
        self.login_throttle = LoginThrottleRepository(self.session)
        self.operator_sessions = OperatorSessionRepository(self.session)
        self.figures = FiguresRepository(self.session)
        self.attachments = AttachmentRepository(self.session)
        self._discarded_files: list[str] = []
        self.review = ReviewRepository(self.session)
        return super().__enter__()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # close() rolls back whatever was not committed but, unlike rollback(), leaves loaded
        # objects readable (detached) for the caller.
        self.session.close()

    def commit(self) -> None:
        self.session.commit()
        forget_transaction_facts(self.session)
        self._delete_discarded_files()

    def rollback(self) -> None:
        self.session.rollback()
        forget_transaction_facts(self.session)
        self._discarded_files = []

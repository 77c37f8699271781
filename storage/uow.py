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
from storage.community_repositories import BuildingRepository, EventRepository, ResourceRepository
from storage.repositories import (
    ConversationRepository,
    InboundRepository,
    KeyValueRepository,
    LeaseRepository,
    OutboxRepository,
    ResidentRepository,
    StaffRepository,
    TicketRepository,
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
    resources: ResourceRepository
    nonces: WebhookNonceRepository
    login_throttle: LoginThrottleRepository
    operator_sessions: OperatorSessionRepository
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

    def __init__(self, session_factory: sessionmaker[Session]):
        self.session_factory = session_factory

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
        self.resources = ResourceRepository(self.session)
        self.nonces = WebhookNonceRepository(self.session)
        self.login_throttle = LoginThrottleRepository(self.session)
        self.operator_sessions = OperatorSessionRepository(self.session)
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

    def rollback(self) -> None:
        self.session.rollback()

"""Conversation tests that read like transcripts.

    dialogue([
        (resident, "热水器坏了 洗不了澡", "哪"),             # the reply contains 哪
        (resident, "3栋502", ["#1", "张师傅"]),              # … all of these
        (resident, "3栋502厕所也堵了", ["#2", absent("关联")]),
        ("steward", INBOX, only("#1", "3栋502")),            # exactly one new message, with these
        later(clock, hours=25),                              # a Do: time passes
        ("resident", Location("3栋502"), re.compile(r"#\\d+")),
    ], people={"resident": resident, "steward": steward})

A step is `(who, says, expects)` or a `Do` (something that happens between messages: time passes,
the scheduler runs). `who` is a Person (tests/wechat.py) or a name in `people`. `says` is a text
message, or `Location`, `Image`, `Voice`, `Event`, or `INBOX`: what Sheli sent this person on its own
(the outbox) since their last look. `expects` is None (no check), a substring, a compiled regex, a
callable that returns true for a good reply, `absent(text)`, `equals(value)`, or a list of these
(all must hold). For `INBOX`, a check applies to a single message and holds if some new message
passes; `some(...)`, `only(...)`, `first(...)`, `last(...)`, `count(n)` and `NOTHING` say more (a
list may mix them: each must hold), and a plain callable gets the whole list of new messages.

When a check fails, the error shows the whole conversation so far, not just the last reply.
Every step returns what it saw (reply text, new messages, or the action's result), in order.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tests.wechat import Person

# --- what somebody does ------------------------------------------------------------------------


@dataclass(frozen=True)
class Location:
    """A location message (WeChat's "send my location"), with the label WeChat shows."""

    label: str
    x: float = 22.3
    y: float = 114.2

    def __str__(self) -> str:
        return f"[location: {self.label}]"


@dataclass(frozen=True)
class Image:
    media_id: str = "media-image-1"

    def __str__(self) -> str:
        return f"[image: {self.media_id}]"


@dataclass(frozen=True)
class Voice:
    """A voice message; `recognition` is WeChat's speech-to-text, None when it has none."""

    recognition: str | None
    media_id: str = "media-voice-1"

    def __str__(self) -> str:
        return f"[voice: {self.recognition!r}]"


@dataclass(frozen=True)
class Event:
    """An event such as subscribe, or a menu click: Event("CLICK", "PROGRESS")."""

    event: str
    key: str | None = None

    def __str__(self) -> str:
        return f"[event: {self.event}{' ' + self.key if self.key else ''}]"


class _Inbox:
    def __repr__(self) -> str:
        return "INBOX"


INBOX = _Inbox()  # says: look at what Sheli sent this person since their last look


@dataclass(frozen=True)
class Do:
    """Something that happens between messages; its result can be checked like a reply."""

    note: str
    action: Callable[[], Any]
    expects: Any = None


def later(clock: Any, **delta: float) -> Do:
    """Time passes on the fake clock: `later(clock, hours=25)`."""
    said = " ".join(f"{amount:g} {unit}" for unit, amount in delta.items())
    return Do(f"{said} later", lambda: clock.advance(**delta))


Says = str | Location | Image | Voice | Event | _Inbox
Step = tuple[Any, Says, Any] | Do


# --- what is expected --------------------------------------------------------------------------


class Check:
    """One expectation; `holds` takes what the step saw."""

    def holds(self, seen: Any) -> bool:
        raise NotImplementedError

    def __str__(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class _Contains(Check):
    text: str

    def holds(self, seen: Any) -> bool:
        return self.text in str(seen)

    def __str__(self) -> str:
        return f"contains {self.text!r}"


@dataclass(frozen=True)
class _Absent(Check):
    text: str

    def holds(self, seen: Any) -> bool:
        return self.text not in str(seen)

    def __str__(self) -> str:
        return f"does not contain {self.text!r}"


@dataclass(frozen=True)
class _Matches(Check):
    pattern: re.Pattern[str]

    def holds(self, seen: Any) -> bool:
        return self.pattern.search(str(seen)) is not None

    def __str__(self) -> str:
        return f"matches /{self.pattern.pattern}/"


@dataclass(frozen=True)
class _Equals(Check):
    value: Any

    def holds(self, seen: Any) -> bool:
        return bool(seen == self.value)

    def __str__(self) -> str:
        return f"equals {self.value!r}"


@dataclass(frozen=True)
class _Satisfies(Check):
    predicate: Callable[[Any], Any]

    def holds(self, seen: Any) -> bool:
        return bool(self.predicate(seen))

    def __str__(self) -> str:
        name = getattr(self.predicate, "__name__", repr(self.predicate))
        return f"satisfies {name}"


@dataclass(frozen=True)
class _AllOf(Check):
    parts: tuple[Check, ...]

    def holds(self, seen: Any) -> bool:
        return all(part.holds(seen) for part in self.parts)

    def failing(self, seen: Any) -> list[Check]:
        return [part for part in self.parts if not part.holds(seen)]

    def __str__(self) -> str:
        return ", ".join(str(part) for part in self.parts)


def absent(text: str) -> Check:
    """The reply (or message) does not contain `text`."""
    return _Absent(text)


def equals(value: Any) -> Check:
    """What the step saw equals `value` (for `Do` results and whole inbox lists)."""
    return _Equals(value)


def check_of(spec: Any) -> Check:
    """A Check from the short forms: text, regex, callable, list of these, or a Check."""
    if isinstance(spec, Check):
        return spec
    if isinstance(spec, str):
        return _Contains(spec)
    if isinstance(spec, re.Pattern):
        return _Matches(spec)
    if isinstance(spec, list | tuple):
        if not spec:
            raise TypeError("an empty list checks nothing: use None, or equals([])")
        return _AllOf(tuple(check_of(part) for part in spec))
    if callable(spec):
        return _Satisfies(spec)
    raise TypeError(f"cannot expect {spec!r}: use text, a regex, a callable or a list of them")


# Checks on the list of new messages (an INBOX step).


@dataclass(frozen=True)
class _Some(Check):
    each: Check

    def holds(self, seen: Any) -> bool:
        return any(self.each.holds(message) for message in seen)

    def __str__(self) -> str:
        return f"a new message that {self.each}"


@dataclass(frozen=True)
class _Only(Check):
    each: Check

    def holds(self, seen: Any) -> bool:
        return len(seen) == 1 and self.each.holds(seen[0])

    def __str__(self) -> str:
        return f"exactly one new message, that {self.each}"


@dataclass(frozen=True)
class _At(Check):
    position: int
    each: Check

    def holds(self, seen: Any) -> bool:
        return len(seen) > 0 and self.each.holds(seen[self.position])

    def __str__(self) -> str:
        which = "first" if self.position == 0 else "last"
        return f"the {which} new message {self.each}"


@dataclass(frozen=True)
class _Count(Check):
    number: int

    def holds(self, seen: Any) -> bool:
        return len(seen) == self.number

    def __str__(self) -> str:
        return "no new message" if self.number == 0 else f"{self.number} new message(s)"


def some(*spec: Any) -> Check:
    """Some new message passes all of `spec` (what a plain expectation means on INBOX)."""
    return _Some(check_of(list(spec)))


def only(*spec: Any) -> Check:
    """Exactly one new message, and it passes all of `spec`."""
    return _Only(check_of(list(spec)))


def first(*spec: Any) -> Check:
    """The first new message passes all of `spec`."""
    return _At(0, check_of(list(spec)))


def last(*spec: Any) -> Check:
    """The newest message passes all of `spec`."""
    return _At(-1, check_of(list(spec)))


def count(number: int) -> Check:
    """Exactly this many new messages."""
    return _Count(number)


NOTHING: Check = _Count(0)


_ON_THE_LIST = (_Some, _Only, _At, _Count, _Equals)


def _on_the_list(spec: Any) -> bool:
    return isinstance(spec, _ON_THE_LIST) or (callable(spec) and not isinstance(spec, Check))


def inbox_check_of(spec: Any) -> Check:
    """Checks of the list as they are; the others must hold together for some one message."""
    if isinstance(spec, _ON_THE_LIST):
        return spec
    if callable(spec) and not isinstance(spec, Check):
        return _Satisfies(spec)  # a plain function sees the whole list
    if isinstance(spec, list | tuple) and any(_on_the_list(part) for part in spec):
        on_list = [inbox_check_of(part) for part in spec if _on_the_list(part)]
        per_message = [part for part in spec if not _on_the_list(part)]
        if per_message:
            on_list.append(_Some(check_of(per_message)))
        return _AllOf(tuple(on_list))
    return _Some(check_of(spec))


# --- running it --------------------------------------------------------------------------------


@dataclass
class Dialogue:
    """Runs steps and keeps the transcript; calling it again continues the same conversation."""

    people: Mapping[str, Person] = field(default_factory=dict)
    transcript: list[str] = field(default_factory=list)

    def __call__(self, steps: Sequence[Step]) -> list[Any]:
        return [self.step(step) for step in steps]

    def step(self, step: Step) -> Any:
        if isinstance(step, Do):
            self.transcript.append(f"-- {step.note} --")
            seen = self._run(step.action)
            if step.expects is not None:
                self._expect(check_of(step.expects), seen)
            return seen
        who, says, expects = step
        person = self.people[who] if isinstance(who, str) else who
        name = who if isinstance(who, str) else self._name_of(person)
        if says is INBOX:
            seen = self._run(person.new_messages)
            self._inbox(name, seen)
            if expects is not None:
                self._expect(inbox_check_of(expects), seen)
            return seen
        self.transcript.append(f"{name} > {_indent(str(says), len(name) + 3)}")
        seen = self._run(lambda: _send(person, says))
        self.transcript.append(f"{' ' * len(name)} < {_indent(seen, len(name) + 3)}")
        if expects is not None:
            self._expect(check_of(expects), seen)
        return seen

    def _name_of(self, person: Person) -> str:
        known = [name for name, someone in self.people.items() if someone is person]
        return known[0] if known else person.openid

    def _run(self, action: Callable[[], Any]) -> Any:
        try:
            return action()
        except AssertionError as error:
            self.fail(f"the step itself failed: {error}")
        except Exception as error:  # keep its type and traceback, add the conversation
            error.add_note(f"the dialogue so far:\n{self._shown()}")
            raise

    def _inbox(self, name: str, messages: list[str]) -> None:
        if not messages:
            self.transcript.append(f"{name} (inbox): nothing new")
            return
        self.transcript.append(f"{name} (inbox): {len(messages)} new")
        pad = " " * len(name)
        for number, message in enumerate(messages, start=1):
            head = f"{pad}   [{number}] "
            self.transcript.append(head + _indent(message, len(head)))

    def _expect(self, check: Check, seen: Any) -> None:
        if check.holds(seen):
            return
        detail = str(check)
        if isinstance(check, _AllOf):
            detail = "; ".join(str(part) for part in check.failing(seen))
        self.fail(f"expected: {detail}\n     got: {seen!r}")

    def fail(self, why: str) -> None:
        """Fail the test with the conversation so far."""
        raise AssertionError(f"{why}\n\nthe dialogue so far:\n{self._shown()}") from None

    def _shown(self) -> str:
        return textwrap.indent("\n".join(self.transcript), "    ")


def dialogue(steps: Sequence[Step], people: Mapping[str, Person] | None = None) -> list[Any]:
    """Run a conversation, checking each reply; returns what each step saw."""
    return Dialogue(dict(people or {}))(steps)


def _send(person: Person, says: Says) -> str:
    if isinstance(says, str):
        return person.say(says)
    if isinstance(says, Location):
        return person.location(says.label, says.x, says.y)
    if isinstance(says, Image):
        return person.image(says.media_id)
    if isinstance(says, Voice):
        return person.voice(says.recognition, says.media_id)
    if isinstance(says, Event):
        reply = person.event(says.event, says.key)
        assert reply.status == 200, (reply.status, reply.body)
        return reply.text or ""
    raise TypeError(f"a person cannot say {says!r}")


def _indent(text: str, width: int) -> str:
    """Later lines of a multi-line message, lined up under the first (after a `width` prefix)."""
    return text.replace("\n", "\n" + " " * width)

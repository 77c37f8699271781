"""Twelve weeks of a dormitory community, played through the webhook with a fake clock, so the
dashboard shows real figures: requests, staff accepting and finishing them, visits and ratings."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.scheduler import run_due
from handlers.commands import AddStaff
from tests.wechat import Person, WeChatServer

STAFF = {
    "branch_liaison": "李联络",
    "police_officer": "赵警官",
    "grid_worker": "陈网格",
    "property_steward": "张师傅",
    "legal_adviser": "刘律师",
    "employment_liaison": "孙专员",
}
REQUESTS = (
    "{where}热水器坏了，洗不了澡",
    "{where}水龙头一直漏水",
    "老板拖欠工资两个月了怎么办",
    "{where}空调不制冷",
    "{where}室友天天半夜打游戏太吵，想找人调解",
    "最近有没有招聘会，想找电工的活",
    "{where}门锁坏了关不上",
    "劳动合同没签，受伤了能不能算工伤",
)
ROOMS = ("3栋502", "5栋218", "7栋301", "B区2幢108", "3栋611", "12栋1单元401", "6号楼203", "5栋105")
RATINGS = ("5", "4", "5", "5", "3", "5", "4", "5")


def hire_everyone(sheli: Any) -> None:
    for role, name in STAFF.items():
        sheli.handle(AddStaff(role=role, name=name, openid=f"demo_{role}"))


def assignee_of(sheli: Any, number: int) -> str | None:
    with sheli.uow() as uow:
        ticket = uow.tickets.get(number)
        return ticket.assignee.openid if ticket and ticket.assignee else None


def newest_ticket(sheli: Any, openid: str) -> int | None:
    with sheli.uow() as uow:
        resident = uow.residents.by_openid(openid)
        ticket = uow.tickets.newest_active_for(resident.id) if resident else None
        return ticket.id if ticket else None


def play_twelve_weeks(sheli: Any, client: Any, clock: Any) -> None:
    """Ends at the fake clock's original 'now' plus a day, with a few tickets still open."""
    server = WeChatServer(client)
    end = clock.now()
    clock.current = end - timedelta(weeks=11)
    hire_everyone(sheli)
    made = 0
    for week in range(12):
        monday = end - timedelta(weeks=11 - week)
        clock.current = max(clock.current, monday)
        this_week = 2 + (week * 7) % 5
        numbers = []
        for i in range(this_week):
            text = REQUESTS[(made + i) % len(REQUESTS)].format(
                where=ROOMS[(made * 3 + i) % len(ROOMS)]
            )
            resident = Person(server, f"o_resident_{made + i}")
            resident.say(text)
            number = newest_ticket(sheli, resident.openid)
            if number is not None:
                numbers.append((number, resident))
            clock.advance(minutes=15)
        made += this_week
        last_week = week == 11
        for index, (number, _resident) in enumerate(numbers):
            staff_openid = assignee_of(sheli, number)
            if staff_openid is None or (last_week and index >= len(numbers) - 2):
                continue  # the newest stay open
            staff = Person(server, staff_openid)
            clock.advance(minutes=10 + 7 * index)
            staff.say(f"接单 {number}")
            if last_week and index == len(numbers) - 3:
                continue  # accepted, still in progress
            clock.advance(hours=3 + (index * 5) % 20)
            staff.say(f"完成 {number} 已上门处理好了")
        clock.advance(hours=25)
        run_due(sheli)
        for index, (_number, resident) in enumerate(numbers):
            if (made + index) % 6 != 5:  # most residents answer the visit
                resident.say(RATINGS[(made + index) % len(RATINGS)])
        clock.advance(hours=2)
    run_due(sheli)

"""Importing events, rooms and resources: every bad row reported, nothing imported from a file
with errors; the shipped example files import cleanly through `sheli`."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bot.cli import cli
from handlers.importing import ImportRejected, read_file
from handlers.importing.common import parse_time
from handlers.importing.events import import_events, validate_events
from handlers.importing.resources import import_resources
from handlers.importing.rooms import import_rooms
from nlu.places import room_label
from tests.wechat import TOKEN

EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples"
SITE = "Asia/Shanghai"
NOW = datetime(2026, 11, 23, 1, 0)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems(data: Any, csv_file: bool = False) -> list[str]:
    with pytest.raises(ImportRejected) as rejected:
        validate_events(data, SITE, csv_file)
    return rejected.value.problems


# --- validation ------------------------------------------------------------------------------


def test_times_are_local_site_time_unless_they_carry_an_offset() -> None:
    assert parse_time("2026-11-28 09:00", SITE) == datetime(2026, 11, 28, 1, 0)
    assert parse_time("2026/11/28 09:00", SITE) == datetime(2026, 11, 28, 1, 0)
    assert parse_time("2026-11-28T09:00:00+08:00", SITE) == datetime(2026, 11, 28, 1, 0)
    assert parse_time("2026-11-28T01:00:00Z", SITE) == datetime(2026, 11, 28, 1, 0)
    assert parse_time(datetime(2026, 11, 28, 9, 0), SITE) == datetime(2026, 11, 28, 1, 0)


def test_every_bad_row_is_reported_with_its_number() -> None:
    rows = [
        {"kind": "job_fair", "title": "好的一行", "starts_at": "2026-12-05 09:00"},
        {"kind": "concert", "title": "", "starts_at": "2026-12-05", "capacity": -1},
        {"kind": "招聘会", "title": "x", "starts_at": "明天上午", "capacity": "二十"},
        {
            "kind": "market",
            "title": "y",
            "starts_at": "2026-12-05 09:00",
            "ends_at": "2026-12-05 08:00",
        },
        "just text",
    ]
    with pytest.raises(ImportRejected) as rejected:
        validate_events(rows, SITE)
    assert rejected.value.problems == ["row 5: expected a mapping of fields, got 'just text'"]
    assert problems(rows[:4]) == [
        "row 2: kind 'concert' is not one of job_fair, legal_clinic, market, lecture, volunteer, other",
        "row 2: title is empty",
        "row 2: starts_at '2026-12-05' has no time of day",
        "row 2: capacity must be ≥ 0, not -1",
        "row 3: starts_at '明天上午' is not a time like 2026-11-28 09:00 or 2026-11-28T09:00+08:00",
        "row 3: capacity must be a whole number ≥ 0, not '二十'",
        "row 4: ends_at is not after starts_at",
    ]


def test_kinds_capacity_and_openings_are_normalised() -> None:
    [fair, clinic] = validate_events(
        [
            {
                "kind": "招聘会",
                "title": "遇荐九龙湾",
                "starts_at": "2026-12-05 09:00",
                "capacity": "0",
                "openings": "华兴电子厂/普工/5000-6500元; 顺达物流/分拣员",
            },
            {
                "kind": "LEGAL_CLINIC",
                "title": "三官一律",
                "starts_at": "2026-12-02 19:00",
                "capacity": 30,
            },
        ],
        SITE,
    )
    assert (fair.kind, fair.capacity) == ("job_fair", None)  # 0 means no limit
    assert fair.openings == [
        {"company": "华兴电子厂", "job": "普工", "pay": "5000-6500元"},
        {"company": "顺达物流", "job": "分拣员", "pay": ""},
    ]
    assert (clinic.kind, clinic.capacity) == ("legal_clinic", 30)


def test_the_same_event_twice_in_one_file_is_refused() -> None:
    row = {"kind": "market", "title": "市集", "starts_at": "2026-12-31 17:00"}
    assert problems([row, dict(row)]) == ["row 2: the same event as row 1"]


def test_an_empty_or_non_list_file_is_refused() -> None:
    assert problems(None) == ["the file has no events"]
    assert problems({"kind": "market"}) == ["expected a list of events, got dict"]


def test_room_labels() -> None:
    assert room_label("3栋502") == "3栋502"
    assert room_label("3栋 502室") == "3栋502"
    assert room_label("b区2幢108") == "B区2幢108"
    assert room_label("12栋1单元401") == "12栋1单元401"
    assert room_label("６号楼") is None
    assert room_label("门口") is None


# --- one transaction -------------------------------------------------------------------------


def test_a_csv_with_a_bad_row_imports_nothing(db_url: str, make_sheli: Any, tmp_path: Path) -> None:
    sheli = make_sheli(db_url)
    path = write(
        tmp_path,
        "events.csv",
        "kind,title,starts_at,place,capacity\n"
        "job_fair,遇荐九龙湾,2026-12-05 09:00,广场,120\n"
        "legal_clinic,,2026-12-02 19:00,3栋,30\n"
        "market,元旦市集,2026-12-31 17:00,广场,\n",
    )
    with sheli.uow() as uow, pytest.raises(ImportRejected) as rejected:
        import_events(uow, read_file(path), SITE, NOW, csv_file=True)
    assert rejected.value.problems == ["row 3: title is empty"]  # the header is row 1
    with sheli.uow() as uow:
        assert list(uow.events.list(include_cancelled=True)) == []


def test_reimporting_updates_instead_of_duplicating(db_url: str, make_sheli: Any) -> None:
    sheli = make_sheli(db_url)
    rows = [
        {"kind": "market", "title": "元旦市集", "starts_at": "2026-12-31 17:00", "place": "广场"}
    ]
    with sheli.uow() as uow:
        assert (import_events(uow, rows, SITE, NOW).created, uow.events.list()[0].id) == (1, 1)
        uow.commit()
    rows[0]["place"] = "中心广场"
    with sheli.uow() as uow:
        result = import_events(uow, rows, SITE, NOW)
        uow.commit()
    assert (result.created, result.updated) == (0, 1)
    with sheli.uow() as uow:
        [event] = uow.events.list()
    assert event.place == "中心广场"


def test_rooms_in_chinese_numerals_are_read_like_chat_reads_them(sheli: Any) -> None:
    # One place normaliser (nlu.places) for chat, tickets and imports: 五零一 is room 501.
    with sheli.uow() as uow:
        result = import_rooms(uow, [{"building": "三栋", "room": "五零一", "capacity": 6}])
        uow.commit()
    assert result.created == 1
    with sheli.uow() as uow:
        assert uow.buildings.room_by_label("3栋501") is not None


def test_rooms_are_validated_and_upserted(sheli: Any) -> None:
    with sheli.uow() as uow, pytest.raises(ImportRejected) as rejected:
        import_rooms(
            uow,
            [
                {"building": "3栋", "room": "501", "capacity": 6},
                {"building": "门卫室", "room": "501", "capacity": 6},
                {"building": "3", "room": "东头", "capacity": ""},
                {"building": "3栋", "room": "501室", "capacity": 4},
            ],
        )
    assert rejected.value.problems == [
        "row 2: building '门卫室' is not a name like 3栋, B区2幢 or 6号楼",
        "row 3: room '东头' is not a room number like 502",
        "row 3: capacity is missing",
        "row 4: 3栋501 is already on row 1",
    ]
    with sheli.uow() as uow:
        result = import_rooms(uow, [{"building": "3", "room": "501", "capacity": 6}])
        uow.commit()
        assert (result.created, result.details) == (1, {"buildings": 1})
    with sheli.uow() as uow:
        result = import_rooms(uow, [{"building": "3栋", "room": "501室", "capacity": 8}])
        uow.commit()
        [room] = uow.buildings.rooms()
    assert (result.updated, room.label, room.capacity) == (1, "3栋501", 8)


def test_resources_report_rows_per_section(sheli: Any) -> None:
    with sheli.uow() as uow, pytest.raises(ImportRejected) as rejected:
        import_resources(
            uow,
            {
                "alliance_units": [{"name": "街道党工委"}, {"category": "企业"}],
                "volunteers": [
                    {"name": "周师傅"},
                    {"name": "吴大姐", "team": "维修队", "active": "maybe"},
                ],
            },
        )
    assert rejected.value.problems == [
        "alliance_units row 2: name is empty",
        "volunteers row 1: team is empty",
        "volunteers row 2: active must be yes or no, not 'maybe'",
    ]
    with sheli.uow() as uow:
        assert list(uow.resources.units()) == []


# --- the command line and the example files --------------------------------------------------


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"SHELI_DATABASE__URL": f"sqlite:///{tmp_path / 'cli.db'}", "SHELI_WECHAT__TOKEN": TOKEN}


def run(env: dict[str, str], *args: str) -> Any:
    return CliRunner().invoke(cli, list(args), env=env, obj={}, catch_exceptions=False)


def test_the_example_files_import_through_the_cli(env: dict[str, str]) -> None:
    assert run(env, "db", "upgrade").exit_code == 0
    imported = run(env, "events", "import", str(EXAMPLES / "events.yaml"))
    assert imported.exit_code == 0 and "3 created" in imported.output
    again = run(env, "events", "import", str(EXAMPLES / "events.yaml"))
    assert "0 created, 3 updated" in again.output
    rooms = run(env, "rooms", "import", str(EXAMPLES / "rooms.csv"))
    assert rooms.exit_code == 0 and "7 created" in rooms.output
    resources = run(env, "resources", "import", str(EXAMPLES / "resources.yaml"))
    assert resources.exit_code == 0 and "3 new alliance units, 3 new volunteers" in resources.output
    listed = json.loads(run(env, "events", "list", "--all", "--format", "json").output)
    assert {e["title"] for e in listed} >= {"遇荐九龙湾·第14场招聘会", "元旦市集"}
    fair = next(e for e in listed if e["kind"] == "job_fair")
    assert fair["local_start"] == "2026-12-05 09:00" and fair["capacity"] == 120
    assert len(fair["openings"]) == 3
    text = run(env, "events", "list", "--all").output
    assert "活动1" in text and "遇荐九龙湾" in text


def test_a_bad_file_is_refused_whole_with_every_problem(
    env: dict[str, str], tmp_path: Path
) -> None:
    run(env, "db", "upgrade")
    path = write(
        tmp_path,
        "bad.yaml",
        "- {kind: job_fair, title: 好招聘, starts_at: '2026-12-05 09:00'}\n"
        "- {kind: concert, title: 音乐会, starts_at: '2026-12-05 09:00'}\n"
        "- {kind: market, title: '', starts_at: '2026-12-06 09:00', capacity: -5}\n",
    )
    result = run(env, "events", "import", str(path))
    assert result.exit_code != 0
    assert "row 2: kind 'concert'" in result.output
    assert (
        "row 3: title is empty" in result.output and "row 3: capacity must be ≥ 0" in result.output
    )
    assert "3 problem(s), nothing was imported" in result.output
    assert "Traceback" not in result.output
    assert "no events" in run(env, "events", "list", "--all").output


def test_unreadable_yaml_is_a_clear_error(env: dict[str, str], tmp_path: Path) -> None:
    run(env, "db", "upgrade")
    path = write(tmp_path, "broken.yaml", "- kind: [job_fair\n")
    result = run(env, "events", "import", str(path))
    assert result.exit_code != 0 and "not valid YAML" in result.output

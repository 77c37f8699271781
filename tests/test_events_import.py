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
    assert rejected.value.problems == [
        "第5行：这一行应是一组字段（如 title: …），现在是'just text'"
    ]
    assert problems(rows[:4]) == [
        "第2行：类型'concert'不在可选范围内：招聘会、法律服务、市集、讲座、志愿活动、活动",
        "第2行：名称为空",
        "第2行：开始时间'2026-12-05'没有写几点几分",
        "第2行：名额不能小于0，现在是-1",
        "第3行：开始时间'明天上午'不是有效的时间，请写成 2026-11-28 09:00 或 2026-11-28T09:00+08:00",
        "第3行：名额必须是不小于0的整数，现在是'二十'",
        "第4行：结束时间必须晚于开始时间",
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
    assert problems([row, dict(row)]) == ["第2行：与第1行是同一个活动"]


def test_an_empty_or_non_list_file_is_refused() -> None:
    assert problems(None) == ["文件里没有活动"]
    assert problems({"kind": "market"}) == ["文件内容应是活动的列表（每项一组字段）"]


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
    assert rejected.value.problems == ["第3行：名称为空"]  # the header is row 1
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
                {"building": "3栋", "room": "503", "capacity": "abc"},
            ],
        )
    assert rejected.value.problems == [
        "第2行：楼栋'门卫室'不是3栋、B区2幢、6号楼这样的楼栋名",
        "第3行：房间'东头'不是502这样的房间号",
        "第3行：缺少容量",
        "第4行：3栋501与第1行重复",
        "第5行：容量必须是不小于0的整数，现在是'abc'",
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
        "共建单位第2行：名称为空",
        "志愿者第1行：服务队为空",
        "志愿者第2行：是否在岗（active）只能填是或否，现在是'maybe'",
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
    assert imported.exit_code == 0 and "导入活动：新增 3 条" in imported.output
    again = run(env, "events", "import", str(EXAMPLES / "events.yaml"))
    assert "新增 0 条，更新 3 条" in again.output
    rooms = run(env, "rooms", "import", str(EXAMPLES / "rooms.csv"))
    assert rooms.exit_code == 0 and "新增 7 条" in rooms.output
    resources = run(env, "resources", "import", str(EXAMPLES / "resources.yaml"))
    assert resources.exit_code == 0
    assert "其中新共建单位 3 个、新志愿者 3 个" in resources.output  # 其中 once
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
    assert "第2行：类型'concert'" in result.output
    assert "第3行：名称为空" in result.output and "第3行：名额不能小于0" in result.output
    assert "有 3 个问题，整个文件都没有导入" in result.output
    assert "Traceback" not in result.output
    assert "没有活动" in run(env, "events", "list", "--all").output


def test_unreadable_yaml_is_a_clear_error(env: dict[str, str], tmp_path: Path) -> None:
    run(env, "db", "upgrade")
    path = write(tmp_path, "broken.yaml", "- kind: [job_fair\n")
    result = run(env, "events", "import", str(path))
    assert (
        result.exit_code != 0
        and "broken.yaml：不是有效的 YAML 文件（第2行附近有格式错误）" in result.output
    )

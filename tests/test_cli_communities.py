"""`sheli community …`, `sheli staff add --community`, the community column of rooms imports and
`sheli community qrcode` against the fake WeChat API (issue 13), through the real command line on
a real database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bot.app import create_app
from bot.cli import cli
from tests import fake_wechat_api
from tests.fake_wechat_api import APP_ID, APP_SECRET, FakeWeChatAPI, png_bytes
from tests.wechat import TOKEN, Person, WeChatServer

fake_wechat = fake_wechat_api.fake_wechat  # the fixture, for the QR code tests

UNKNOWN_NOPE = "没有小区「nope」。已有：default、huadi、zhangshe"


@pytest.fixture
def env(db_url: str) -> dict[str, str]:
    """The CLI's environment on SQLite and on PostgreSQL, the database brought up to date."""
    environment = {"SHELI_DATABASE__URL": db_url, "SHELI_WECHAT__TOKEN": TOKEN}
    assert run(environment, "db", "upgrade").exit_code == 0
    return environment


def run(env: dict[str, str], *args: str) -> Any:
    return CliRunner().invoke(cli, list(args), env=env, obj={}, catch_exceptions=False)


def communities(env: dict[str, str]) -> dict[str, dict[str, Any]]:
    listed = run(env, "community", "list", "--format", "json")
    assert listed.exit_code == 0, listed.output
    return {c["key"]: c for c in json.loads(listed.output)}


def two_communities(env: dict[str, str]) -> None:
    for key, name in (("zhangshe", "张舍家园"), ("huadi", "华地集宿区")):
        added = run(env, "community", "add", key, "--name", name)
        assert added.output.strip() == f"已添加小区 {key}（{name}）。"


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_community_add_list_update_and_inactive(env: dict[str, str]) -> None:
    assert run(env, "community", "list").output.strip() == (
        "default  本社区  启用  书记0人  楼栋0  工作人员0  居民0"
    )
    added = run(
        env,
        "community",
        "add",
        "zhangshe",
        "--name",
        "张舍家园",
        "--secretary",
        "o_secretary_zhang",
        "--secretary",
        "o_secretary_wang",
    )
    assert added.exit_code == 0 and added.output.strip() == "已添加小区 zhangshe（张舍家园）。"
    listed = communities(env)
    assert list(listed) == ["default", "zhangshe"]
    assert listed["zhangshe"] == {
        "key": "zhangshe",
        "name": "张舍家园",
        "active": True,
        "secretaries": 2,
        "secretary_openids": ["o_se…ng", "o_se…ng"],
        "buildings": 0,
        "staff": 0,
        "residents": 0,
    }
    text = run(env, "community", "list").output
    assert "zhangshe  张舍家园  启用  书记2人  楼栋0  工作人员0  居民0" in text
    assert "o_secretary" not in text  # openids are never printed whole

    renamed = run(env, "community", "add", "ZhangShe", "--name", "张舍家园二期")
    assert renamed.output.strip() == "已更新小区 zhangshe（张舍家园二期）。"
    assert communities(env)["zhangshe"]["secretaries"] == 2  # kept when none are given

    assert run(env, "community", "add", "zhangshe", "--inactive").exit_code == 0
    assert communities(env)["zhangshe"]["active"] is False
    assert "zhangshe  张舍家园二期  已停用" in run(env, "community", "list").output
    assert run(env, "community", "add", "zhangshe", "--active").exit_code == 0
    assert communities(env)["zhangshe"]["active"] is True

    nameless = run(env, "community", "add", "huadi")
    assert nameless.exit_code == 1
    assert nameless.output.strip() == "错误：新小区要有名称：--name 张舍家园"
    bad = run(env, "community", "add", "华地", "--name", "华地")
    assert bad.exit_code == 1 and "小区代号「华地」不对" in bad.output
    assert "Traceback" not in bad.output + nameless.output
    assert list(communities(env)) == ["default", "zhangshe"]  # nothing was added


def test_an_unknown_community_key_is_refused_naming_the_known_ones(env: dict[str, str]) -> None:
    two_communities(env)
    for args in (
        ("staff", "add", "--role", "物业管家", "--name", "张师傅", "--community", "nope"),
        ("community", "move-building", "3栋", "nope"),
        ("community", "qrcode", "nope"),
    ):
        refused = run(env, *args)
        assert refused.exit_code == 1, args
        assert refused.output.strip() == f"错误：{UNKNOWN_NOPE}", args
    assert json.loads(run(env, "staff", "list", "--format", "json").output) == []


def test_staff_add_with_a_community_and_the_list_says_whose(env: dict[str, str]) -> None:
    # One community: the list reads as it always has.
    run(env, "staff", "add", "--role", "grid_worker", "--name", "赵网格", "--openid", "o_zhao")
    assert run(env, "staff", "list").output == "  1  网格员  赵网格  在办0件（已绑定）\n"

    two_communities(env)
    added = run(
        env,
        "staff",
        "add",
        "--role",
        "物业管家",
        "--name",
        "张师傅",
        "--openid",
        "o_zhang",
        "--community",
        "zhangshe",
    )
    assert added.exit_code == 0
    assert added.output.splitlines()[0] == "已添加工作人员 #2 张师傅（物业管家，张舍家园）"
    coded = run(
        env, "staff", "add", "--role", "legal_adviser", "--name", "陈律师", "--community", "huadi"
    )
    assert len(coded.output.strip().splitlines()[-1]) == 8  # still a bind code on the last line

    listed = json.loads(run(env, "staff", "list", "--format", "json").output)
    assert {s["name"]: s["community"] for s in listed} == {
        "赵网格": None,  # the site-wide pool
        "张师傅": "zhangshe",
        "陈律师": "huadi",
    }
    lines = run(env, "staff", "list").output.splitlines()
    assert "  网格员  赵网格  在办0件（已绑定）  全站" in [line[3:] for line in lines]
    assert "  物业管家  张师傅  在办0件（已绑定）  张舍家园" in [line[3:] for line in lines]
    assert "  法律顾问  陈律师  在办0件（待绑定）  华地集宿区" in [line[3:] for line in lines]
    assert communities(env)["zhangshe"]["staff"] == 1


def test_rooms_import_puts_buildings_in_the_named_communities(
    env: dict[str, str], tmp_path: Path
) -> None:
    two_communities(env)
    csv_file = write(
        tmp_path,
        "rooms.csv",
        "building,room,capacity,community\n"
        "3栋,501,4,zhangshe\n"
        "3栋,502,4,\n"  # the building's community comes from the row that names it
        "5,101,2,HuaDi\n"
        "6栋,101,2,\n",  # no community anywhere: default
    )
    imported = run(env, "rooms", "import", csv_file)
    assert imported.exit_code == 0, imported.output
    assert "新增 4 条，更新 0 条，其中新楼栋 3 个" in imported.output
    counts = {key: c["buildings"] for key, c in communities(env).items()}
    assert counts == {"default": 1, "zhangshe": 1, "huadi": 1}

    yaml_file = write(
        tmp_path,
        "rooms.yaml",
        "- {building: 3栋, room: 501, capacity: 6, community: zhangshe}\n"
        "- {building: 8栋, room: 201, capacity: 3, community: huadi}\n",
    )
    again = run(env, "rooms", "import", yaml_file)
    assert again.exit_code == 0, again.output
    assert "新增 1 条，更新 1 条，其中新楼栋 1 个" in again.output
    assert communities(env)["huadi"]["buildings"] == 2


def test_rooms_import_with_bad_communities_imports_nothing(
    env: dict[str, str], tmp_path: Path
) -> None:
    two_communities(env)
    run(
        env,
        "rooms",
        "import",
        write(tmp_path, "a.csv", "building,room,capacity,community\n3栋,501,4,zhangshe\n"),
    )
    bad = write(
        tmp_path,
        "bad.csv",
        "building,room,capacity,community\n"
        "3栋,502,4,huadi\n"  # 3栋 is zhangshe's: an import never moves a building
        "6栋,101,2,nope\n"
        "7栋,101,2,zhangshe\n"
        "7栋,102,2,huadi\n"  # one building, two communities in one file
        "9栋,101,2,huadi\n",  # a good row: still not imported
    )
    refused = run(env, "rooms", "import", bad)
    assert refused.exit_code == 1
    assert refused.output.splitlines() == [
        "第2行：3栋属于小区 zhangshe，不是 huadi；导入不会改楼栋的小区，"
        "要划过去请用 sheli community move-building 3栋 huadi",
        f"第3行：{UNKNOWN_NOPE}",
        "第5行：7栋在第4行写的是小区 zhangshe，这里是 huadi",
        f"错误：{bad}：有 3 个问题，整个文件都没有导入",
    ]
    counts = {key: c["buildings"] for key, c in communities(env).items()}
    assert counts == {"default": 0, "zhangshe": 1, "huadi": 0}

    yaml_bad = write(
        tmp_path, "bad.yaml", "- {building: 6栋, room: 101, capacity: 2, community: nope}\n"
    )
    refused = run(env, "rooms", "import", yaml_bad)
    assert refused.exit_code == 1 and f"第1行：{UNKNOWN_NOPE}" in refused.output


def test_move_building_moves_open_tickets_only_when_asked(
    env: dict[str, str], make_sheli: Any, tmp_path: Path
) -> None:
    two_communities(env)
    run(
        env,
        "rooms",
        "import",
        write(tmp_path, "r.csv", "building,room,capacity,community\n3栋,502,4,zhangshe\n"),
    )
    sheli = make_sheli(env["SHELI_DATABASE__URL"])
    app = create_app(sheli=sheli)
    app.config["TESTING"] = True
    resident = Person(WeChatServer(app.test_client()), "o_resident", sheli)
    resident.say("3栋502热水器坏了")
    shown = json.loads(run(env, "tickets", "show", "1", "--format", "json").output)
    assert shown["community"] == "zhangshe"

    kept = run(env, "community", "move-building", "3栋", "huadi")
    assert kept.exit_code == 0
    assert kept.output.strip() == (
        "3栋 已从 zhangshe 划入 huadi；在办工单留在原小区（要一起转，加 --move-open）。"
    )
    assert communities(env)["huadi"]["buildings"] == 1
    shown = json.loads(run(env, "tickets", "show", "1", "--format", "json").output)
    assert shown["community"] == "zhangshe"
    assert "community_moved" not in [e["kind"] for e in shown["events"]]

    moved = run(env, "community", "move-building", "3栋", "huadi", "--move-open")
    assert moved.output.strip() == "3栋 已从 huadi 划入 huadi，1 件在办工单一起转入。"
    shown = json.loads(run(env, "tickets", "show", "1", "--format", "json").output)
    assert shown["community"] == "huadi"
    [event] = [e for e in shown["events"] if e["kind"] == "community_moved"]
    assert "3栋划入华地集宿区，工单随楼栋从张舍家园转入华地集宿区" in json.dumps(
        event, ensure_ascii=False
    )
    missing = run(env, "community", "move-building", "9栋", "huadi")
    assert missing.exit_code == 1 and missing.output.strip() == "错误：没有楼栋「9栋」。"


def test_qrcode_in_local_mode_prints_the_scene_a_follow_uses(
    make_sheli: Any, sqlite_url: str
) -> None:
    sheli = make_sheli(sqlite_url)
    env = {"SHELI_DATABASE__URL": sqlite_url, "SHELI_WECHAT__TOKEN": TOKEN}
    two_communities(env)
    shown = run(env, "community", "qrcode", "zhangshe")
    assert shown.exit_code == 0
    assert "本地模式（没有设置 wechat.app_id），不生成二维码。" in shown.output
    assert "张舍家园（zhangshe）的场景值：community:zhangshe" in shown.output
    scene = shown.output.split("的场景值：")[1].splitlines()[0]

    # A follow through a QR code with that scene puts the resident in the community.
    app = create_app(sheli=sheli)
    app.config["TESTING"] = True
    resident = Person(WeChatServer(app.test_client()), "o_new", sheli)
    welcome = resident.event("subscribe", "qrscene_" + scene).text or ""
    assert "张舍家园" in welcome
    assert communities(env)["zhangshe"]["residents"] == 1


@pytest.fixture
def wechat_env(make_sheli: Any, sqlite_url: str, fake_wechat: FakeWeChatAPI) -> dict[str, str]:
    make_sheli(sqlite_url)  # a migrated database for the shared token
    return {
        "SHELI_DATABASE__URL": sqlite_url,
        "SHELI_WECHAT__TOKEN": TOKEN,
        "SHELI_WECHAT__APP_ID": APP_ID,
        "SHELI_WECHAT__APP_SECRET": APP_SECRET,
        "SHELI_WECHAT__API_BASE_URL": fake_wechat.url,
        "SHELI_WECHAT__QRCODE_SHOW_URL": fake_wechat.url + "cgi-bin/showqrcode",
    }


def test_qrcode_in_wechat_mode_creates_a_permanent_code_and_saves_its_picture(
    wechat_env: dict[str, str],
    fake_wechat: FakeWeChatAPI,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    two_communities(wechat_env)
    output = tmp_path / "zhangshe.png"
    made = run(wechat_env, "community", "qrcode", "zhangshe", "--output", str(output))
    assert made.exit_code == 0, made.output
    [(ticket, request)] = fake_wechat.qrcodes.items()
    assert request == {
        "action_name": "QR_LIMIT_STR_SCENE",
        "action_info": {"scene": {"scene_str": "community:zhangshe"}},
    }
    assert output.read_bytes() == png_bytes(8, 8, (0, 0, 0))
    assert made.output.splitlines() == [
        f"已生成张舍家园（zhangshe）的永久二维码，图片存到 {output}",
        "场景值：community:zhangshe",
        f"二维码内容：http://weixin.qq.com/q/{ticket}",
    ]

    # Without --output: qrcode-KEY with the picture's type, in the current folder.
    monkeypatch.chdir(tmp_path)
    default = run(wechat_env, "community", "qrcode", "huadi")
    assert default.exit_code == 0, default.output
    assert "图片存到 qrcode-huadi.png" in default.output
    assert (tmp_path / "qrcode-huadi.png").read_bytes().startswith(b"\x89PNG")
    assert len(fake_wechat.qrcodes) == 2


def test_qrcode_refusals_create_and_save_nothing(
    wechat_env: dict[str, str], fake_wechat: FakeWeChatAPI, tmp_path: Path
) -> None:
    two_communities(wechat_env)
    output = tmp_path / "qr.jpg"
    unknown = run(wechat_env, "community", "qrcode", "nope", "--output", str(output))
    assert unknown.output.strip() == f"错误：{UNKNOWN_NOPE}"

    run(wechat_env, "community", "add", "huadi", "--inactive")
    inactive = run(wechat_env, "community", "qrcode", "huadi", "--output", str(output))
    assert inactive.exit_code == 1 and "已停用" in inactive.output
    assert "sheli community add huadi --active" in inactive.output

    fake_wechat.qrcode_errcode = 48001
    refused = run(wechat_env, "community", "qrcode", "zhangshe", "--output", str(output))
    assert refused.exit_code == 1
    assert refused.output.startswith("错误：微信没有生成二维码（") and "48001" in refused.output
    assert fake_wechat.qrcodes == {} and not output.exists()
    assert "Traceback" not in unknown.output + inactive.output + refused.output

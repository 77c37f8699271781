"""The `sheli` command line against a real temporary database."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bot.cli import cli
from tests.wechat import TOKEN


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"SHELI_DATABASE__URL": f"sqlite:///{tmp_path / 'cli.db'}", "SHELI_WECHAT__TOKEN": TOKEN}


def run(env: dict[str, str], *args: str, input: str | None = None) -> Any:
    result = CliRunner().invoke(
        cli, list(args), env=env, obj={}, input=input, catch_exceptions=False
    )
    return result


def test_db_upgrade_is_idempotent(env: dict[str, str]) -> None:
    first = run(env, "db", "upgrade")
    assert first.exit_code == 0 and "revision" in first.output
    assert run(env, "db", "upgrade").exit_code == 0


def test_staff_add_prints_a_bind_code_last(env: dict[str, str]) -> None:
    run(env, "db", "upgrade")
    result = run(env, "staff", "add", "--role", "property_steward", "--name", "张师傅")
    assert result.exit_code == 0
    code = result.output.strip().splitlines()[-1]
    assert len(code) == 8 and code.isalnum()
    listed = json.loads(run(env, "staff", "list", "--format", "json").output)
    assert listed == [
        {
            "id": 1,
            "name": "张师傅",
            "role": "property_steward",
            "role_name": "物业管家",
            "openid": None,
            "bound": False,
            "active": True,
            "open_tickets": 0,
            "community": None,
        }
    ]


def test_staff_add_with_unknown_role_is_a_clear_error(env: dict[str, str]) -> None:
    run(env, "db", "upgrade")
    result = run(env, "staff", "add", "--role", "plumber", "--name", "x")
    assert result.exit_code != 0
    # Deliberate change (issue 15): the refusal is all Chinese, the choices by their names.
    assert "没有「plumber」这个岗位。可选：支部联络员、片区民警" in result.output
    assert "Traceback" not in result.output and "unknown" not in result.output


def test_staff_add_takes_a_role_by_its_chinese_name(env: dict[str, str]) -> None:
    run(env, "db", "upgrade")
    result = run(
        env, "staff", "add", "--role", "支部联络员", "--name", "李书记", "--openid", "o_li"
    )
    assert result.exit_code == 0
    assert (
        result.output.strip()
        == "已添加工作人员 #1 李书记（支部联络员）\n已直接绑定到微信号 o_li，无需绑定码。"
    )
    [member] = json.loads(run(env, "staff", "list", "--format", "json").output)
    assert (member["role"], member["bound"]) == ("branch_liaison", True)


def test_staff_code_unbinds_the_old_account(env: dict[str, str]) -> None:
    run(env, "db", "upgrade")
    run(env, "staff", "add", "--role", "grid_worker", "--name", "赵网格", "--openid", "o_zhao")
    code = run(env, "staff", "code", "1").output.strip()
    assert len(code) == 8 and code.isalnum()
    assert json.loads(run(env, "staff", "list", "--format", "json").output)[0]["bound"] is False
    missing = run(env, "staff", "code", "99")
    assert missing.exit_code == 1 and "没有编号为 99 的工作人员" in missing.output
    assert "Traceback" not in missing.output


def test_staff_deactivate_and_reactivate(env: dict[str, str]) -> None:
    run(env, "db", "upgrade")
    run(env, "staff", "add", "--role", "grid_worker", "--name", "赵网格", "--openid", "o_zhao")
    assert "工作人员 #1 赵网格 已停用" in run(env, "staff", "deactivate", "1").output
    assert json.loads(run(env, "staff", "list", "--format", "json").output)[0]["active"] is False
    assert "  网格员  赵网格  在办0件（已绑定，已停用）" in run(env, "staff", "list").output
    assert "工作人员 #1 赵网格 已恢复接单。" in run(env, "staff", "reactivate", "1").output
    assert run(env, "staff", "deactivate", "99").exit_code != 0


def test_tickets_list_and_show(env: dict[str, str], make_sheli: Any, tmp_path: Path) -> None:
    from handlers.tickets import open_ticket

    sheli = make_sheli(env["SHELI_DATABASE__URL"])
    with sheli.uow() as uow:
        resident = uow.residents.get_or_create("o_res", sheli.clock.now())
        open_ticket(
            uow,
            sheli.context(),
            resident,
            intent="repair",
            text="3栋502热水器坏了",
            location="3栋502",
            phone="13812345678",
        )
        uow.commit()
    listed = json.loads(run(env, "tickets", "list", "--format", "json").output)
    assert [(t["id"], t["intent"], t["status"], t["location"]) for t in listed] == [
        (1, "repair", "open", "3栋502")
    ]
    for key in (
        "id",
        "intent",
        "status",
        "role",
        "assignee",
        "location",
        "text",
        "resident",
        "rating",
        "created_at",
        "resolved_at",
    ):
        assert key in listed[0]
    assert listed[0]["phone"] == "138****5678"
    shown = json.loads(run(env, "tickets", "show", "#1", "--format", "json").output)
    assert [e["kind"] for e in shown["events"]] == ["created", "unassigned"]
    assert "#1" in run(env, "tickets", "list").output
    assert run(env, "tickets", "list", "--status", "open").exit_code == 0
    assert run(env, "tickets", "list", "--status", "bogus").exit_code == 2
    missing = run(env, "tickets", "show", "42")
    assert missing.exit_code == 1 and "没有找到工单 #42。" in missing.output


def test_bad_config_value_is_one_clear_line(env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; main()", "tickets", "list"],
        env={**env, "SHELI_FOLLOWUP__DELAY": "soon", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "followup.delay" in result.stderr and "'soon'" in result.stderr
    assert "Traceback" not in result.stderr


def test_sheli_config_file_overrides_defaults(env: dict[str, str], tmp_path: Path) -> None:
    from bot.config import load_config

    extra = tmp_path / "site.yaml"
    extra.write_text("followup:\n  delay: 3s\nsummary:\n  recipients: [o_sec]\n", encoding="utf-8")
    config = load_config(
        environ={"SHELI_CONFIG": str(extra), "SHELI_SUMMARY__RECIPIENTS": "o_a,o_b"}
    )
    assert config.seconds("followup.delay") == 3
    assert config.get("summary.recipients") == ["o_a", "o_b"]
    assert config.seconds("followup.expire") == 3 * 86400


def test_the_cli_on_postgresql(pg_url: str) -> None:
    env = {"SHELI_DATABASE__URL": pg_url, "SHELI_WECHAT__TOKEN": TOKEN}
    assert "revision" in run(env, "db", "upgrade").output
    assert (
        run(
            env, "staff", "add", "--role", "legal_adviser", "--name", "陈律师", "--openid", "o_chen"
        ).exit_code
        == 0
    )
    assert (
        json.loads(run(env, "staff", "list", "--format", "json").output)[0]["role_name"]
        == "法律顾问"
    )
    assert json.loads(run(env, "tickets", "list", "--format", "json").output) == []

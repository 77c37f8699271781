"""`sheli dashboard …`: the operators' web dashboard (/dashboard/)."""

from __future__ import annotations

import click


@click.group()
def dashboard() -> None:
    """The operators' web dashboard (/dashboard/)."""


@dashboard.command("hash-password")
def dashboard_hash_password() -> None:
    """Ask for a password and print its hash for SHELI_DASHBOARD__PASSWORD_HASH."""
    from werkzeug.security import generate_password_hash

    password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < 8:
        raise click.ClickException("use at least 8 characters")
    click.echo(generate_password_hash(password))

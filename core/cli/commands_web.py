"""``tillbridge web``: the browser console, and ``tillbridge web set-password``."""

from __future__ import annotations

import sys

import click

from .base import CliState, TillbridgeGroup, console


@click.group("web", cls=TillbridgeGroup, invoke_without_command=True)
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Anything but loopback exposes the console to the network.")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535))
@click.option("--certfile", default=None, type=click.Path(exists=True, dir_okay=False),
              help="TLS certificate (PEM): serve HTTPS.")
@click.option("--keyfile", default=None, type=click.Path(exists=True, dir_okay=False),
              help="TLS private key (PEM) for --certfile.")
@click.pass_context
def web_command(ctx: click.Context, host: str, port: int, certfile: str | None, keyfile: str | None) -> None:
    """Serve the web console until Ctrl-C (log in with the password from `tillbridge web set-password`)."""
    if ctx.invoked_subcommand:
        return
    from ..web import serve_console  # the console's dependencies load only when it runs

    state = ctx.find_object(CliState)
    assert state is not None
    serve_console(state.app, host=host, port=port, certfile=certfile, keyfile=keyfile, announce=click.echo)


@web_command.command("set-password")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (automation).")
@click.pass_context
def set_password_command(ctx: click.Context, password_stdin: bool) -> None:
    """Set the console's admin password (stored as an Argon2 hash; ends existing sessions)."""
    from ..web import set_password

    state = ctx.find_object(CliState)
    assert state is not None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("New admin password", hide_input=True, confirmation_prompt=True)
    set_password(state.app, password)
    console.print("Admin password set. Start the console with `tillbridge web`.")

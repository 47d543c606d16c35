"""Logging in and out."""

from __future__ import annotations

import hmac
import time
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from .access import check_password, has_password, token_stamp
from .console import console_of, flash, form_action, redirect, render, route, safe_next

FAILED_LOGIN_DELAY = 0.5  # seconds: slows password guessing without bothering a person


async def login_page(request: Request) -> Response:
    console = console_of(request)
    token = request.query_params.get("token")
    target = safe_next(request.query_params.get("next"), "/")
    if token and console.login_token and hmac.compare_digest(token, console.login_token):
        _start_session(request, token_stamp(console.login_token))
        return redirect(request, target)
    if token:
        flash(request, "error", "That login link is not valid (it only works while the demo that printed it runs).")
    if request.session.get("user"):
        return redirect(request, target)
    configured = await run_in_threadpool(has_password, console.app)
    return render(request, "login.html", next=target, configured=configured)


async def login(request: Request, form: FormData) -> Response:
    console = console_of(request)
    target = safe_next(form.get("next"), "/")
    stamp = await run_in_threadpool(check_password, console.app, str(form.get("password") or ""))
    if stamp is None:
        await run_in_threadpool(time.sleep, FAILED_LOGIN_DELAY)
        if await run_in_threadpool(has_password, console.app):
            flash(request, "error", "Wrong password.")
        else:
            flash(request, "error", "No admin password is set yet.",
                  "run `tillbridge web set-password` on the machine that runs tillbridge")
        return redirect(request, "/login" + (f"?next={quote(target, safe='')}" if target != "/" else ""))
    _start_session(request, stamp)
    return redirect(request, target)


async def logout(request: Request, form: FormData) -> Response:
    request.session.clear()
    flash(request, "ok", "You are logged out.")
    return redirect(request, "/login")


def _start_session(request: Request, stamp: str) -> None:
    """A fresh session on login (a session fixed before login is worth nothing after it)."""
    request.session.clear()
    request.session["user"] = stamp


def routes() -> list[BaseRoute]:
    return [
        route("/login", login_page, name="login"),
        route("/login", form_action(login), post=True, name="login_post"),
        route("/logout", form_action(logout), post=True, name="logout"),
    ]

"""The consent page of the accounting emulators: log in, pick the organisation, allow or cancel.

Real Xero (login.xero.com) and Intuit (appcenter.intuit.com) show the person a sign-in, a list
of the organisations / companies their login can reach and "Allow access" / "Cancel"; only after
that does the browser go back to the app's redirect URI, with a ``code`` or with
``error=access_denied`` (RFC 6749 §4.1.2.1; https://developer.xero.com/documentation/guides/oauth2/auth-flow/,
https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/oauth-2.0).
The emulators render this page so that a browser install really goes through it.

:func:`submit` is the person at the keyboard for tests and scripted demos: it fills in the page
a client fetched and posts it, as a browser would.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape, unescape
from typing import Any, Mapping, Sequence
from urllib.parse import urlencode

import httpx
from starlette.responses import HTMLResponse, RedirectResponse, Response

#: The demo login of both emulators (shown on the page: this is an emulator, not a real account).
DEMO_EMAIL = "demo@tillbridge.test"
DEMO_PASSWORD = "demo"


@dataclass(frozen=True)
class Organisation:
    id: str
    name: str


def page(*, vendor: str, app_name: str, action: str, carried: Mapping[str, str], scope: str,
         organisations: Sequence[Organisation], what: str = "organisation", error: str | None = None,
         email: str = "", status: int = 200) -> HTMLResponse:
    """The consent form; ``carried`` are the authorize request's parameters (posted back)."""
    hidden = "".join(f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in carried.items())
    options = "".join(f'<option value="{escape(o.id)}">{escape(o.name)}</option>' for o in organisations)
    scopes = "".join(f"<li>{escape(s)}</li>" for s in scope.split())
    alert = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    html = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(vendor)} · Allow access</title>
<style>body{{font-family:system-ui,sans-serif;max-width:30rem;margin:2rem auto;padding:0 1rem;color:#1a202c}}
label{{display:block;margin:.8rem 0 .2rem;font-weight:600}} input,select{{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem}}
.buttons{{display:flex;gap:.6rem;margin-top:1.2rem;flex-wrap:wrap}} button{{padding:.6rem 1.2rem;font-size:1rem}}
.error{{color:#9b2c2c;background:#fff5f5;padding:.5rem}} .muted{{color:#4a5568;font-size:.9rem}}</style></head>
<body><h1>{escape(vendor)}</h1>
<p><strong>{escape(app_name)}</strong> wants to connect to your {escape(vendor)} {escape(what)}.</p>
{alert}<form method="post" action="{escape(action)}">{hidden}
<label for="email">Email address</label><input id="email" name="email" type="email" value="{escape(email)}" autocomplete="username">
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password">
<p class="muted">This is the {escape(vendor)} emulator: log in as {DEMO_EMAIL} with the password “{DEMO_PASSWORD}”.</p>
<label for="organisation">{escape(what.capitalize())} to connect</label><select id="organisation" name="organisation">{options}</select>
<p class="muted">It will be able to:</p><ul class="muted">{scopes}</ul>
<div class="buttons"><button type="submit" name="decision" value="allow">Allow access</button>
<button type="submit" name="decision" value="deny">Cancel</button></div></form></body></html>"""
    return HTMLResponse(html, status_code=status)


def back(redirect_uri: str, params: dict[str, str], state: str | None) -> Response:
    """Send the browser to the app's redirect URI with ``params`` (and the app's ``state``)."""
    if state is not None:
        params["state"] = state
    sep = "&" if "?" in redirect_uri else "?"
    return RedirectResponse(f"{redirect_uri}{sep}{urlencode(params)}", status_code=302)


@dataclass(frozen=True)
class Answer:
    """What the person submitted: ``None`` organisation when they cancelled."""

    organisation: str | None
    error: str | None  # the login was wrong or no organisation was picked: show the page again


def read(form: Mapping[str, Any], organisations: Sequence[Organisation]) -> Answer:
    if str(form.get("decision", "")) == "deny":
        return Answer(None, None)
    if str(form.get("email", "")).strip().lower() != DEMO_EMAIL or str(form.get("password", "")) != DEMO_PASSWORD:
        return Answer(None, "That email address and password do not match. Try again.")
    chosen = str(form.get("organisation", ""))
    if chosen not in {o.id for o in organisations}:
        return Answer(None, "Choose the organisation to connect.")
    return Answer(chosen, None)


_FORM = re.compile(r'<form method="post" action="([^"]*)">(.*?)</form>', re.S)
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]*)" value="([^"]*)">')
_OPTION = re.compile(r'<option value="([^"]*)">([^<]*)</option>')


def submit(client: httpx.Client, response: httpx.Response, *, organisation: str | None = None,
           deny: bool = False, email: str = DEMO_EMAIL, password: str = DEMO_PASSWORD) -> httpx.Response:
    """Fill in a consent page ``response`` as a person would and post it with ``client``.

    ``organisation`` is a name shown in the list (the first one when ``None``). Returns the
    emulator's answer (a redirect to the app, or the page again with an error), not followed."""
    found = _FORM.search(response.text)
    if response.status_code != 200 or not found:
        raise AssertionError(f"not a consent page (HTTP {response.status_code}): {response.text[:300]}")
    action, body = found.groups()
    fields = {unescape(k): unescape(v) for k, v in _HIDDEN.findall(body)}
    options = [(unescape(v), unescape(label)) for v, label in _OPTION.findall(body)]
    picked = next((v for v, label in options if organisation is None or label.lower() == organisation.lower()), None)
    if picked is None:
        raise AssertionError(f"no organisation {organisation!r} on the consent page: {[n for _, n in options]}")
    fields.update({"email": email, "password": password, "organisation": picked,
                   "decision": "deny" if deny else "allow"})
    return client.post(str(response.url.join(unescape(action))), data=fields)


def approve(url: str, *, organisation: str | None = None, deny: bool = False) -> httpx.Response:
    """Open ``url`` (an authorize URL), approve (or cancel) on its consent page and follow the
    redirect back to the app: the person at the keyboard, for the CLI's loopback flow."""
    with httpx.Client(timeout=10) as client:
        answer = submit(client, client.get(url), organisation=organisation, deny=deny)
        if answer.is_redirect:
            return client.get(answer.headers["location"])
        return answer

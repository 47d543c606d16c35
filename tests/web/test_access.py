"""Who gets in: login, sessions, CSRF, security headers, the set-password command (plain HTTP)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from click.testing import CliRunner
from starlette.routing import Route
from starlette.testclient import TestClient

from tillbridge.cli.main import cli
from tillbridge.errors import ConfigError
from tillbridge.web import create_console_app, has_password, set_password
from tillbridge.web.serve import exposure_warning

from .conftest import PASSWORD, ConsoleEnv, csrf_of, flashes

PARAMS = {"name": "shop", "role": "accounting", "kind": "import"}


def every_route(web: Any) -> list[tuple[str, str]]:
    """(method, concrete path) of every console route, the login page excepted."""
    out = []
    for route in web.routes:
        if not isinstance(route, Route) or route.path.startswith("/login"):
            continue
        path = re.sub(r"\{(\w+)\}", lambda m: PARAMS[m.group(1)], route.path)
        for method in sorted(route.methods or ()):
            if method != "HEAD":
                out.append((method, path))
    return out


def test_without_a_session_every_page_and_action_leads_to_the_login_page(console_env: ConsoleEnv) -> None:
    console_env.connect_directly()
    client = console_env.client(login=False)
    routes = every_route(console_env.web)
    assert len([r for r in routes if r[0] == "POST"]) >= 10 and len(routes) >= 17
    for method, path in routes:
        response = client.request(method, path, data={"name": "x", "password": "x"})
        assert response.status_code == 303, (method, path, response.status_code)
        assert response.headers["location"].startswith("/login"), (method, path)
    page = client.get("/c/shop/log?level=error")
    assert page.headers["location"] == "/login?next=%2Fc%2Fshop%2Flog%3Flevel%3Derror"
    htmx = client.get("/c/shop/jobs", headers={"HX-Request": "true"})
    assert htmx.headers["HX-Redirect"].startswith("/login")
    assert client.get("/static/console.css").status_code == 200  # the login page needs its styles
    assert console_env.app.store.connections()[0].name == "shop"  # nothing was created or changed


def test_every_form_without_its_csrf_token_is_refused(console_env: ConsoleEnv) -> None:
    console_env.connect_directly()
    client = console_env.client()
    for method, path in every_route(console_env.web):
        if method != "POST":
            continue
        forged = client.post(path, data={"name": "evil", "outlet": "x", "warehouse": "y"})
        assert forged.status_code == 403, path
        wrong = client.post(path, data={"name": "evil", "csrf_token": "guessed"})
        assert wrong.status_code == 403, path
    assert [c.name for c in console_env.app.store.connections()] == ["shop"]
    # the same post with the token goes through
    token = csrf_of(client.get("/").text)
    assert client.post("/connections", data={"name": "second", "csrf_token": token}).status_code == 303
    assert [c.name for c in console_env.app.store.connections()] == ["second", "shop"]
    # the login form is protected too: a cross-site post cannot log a browser in
    fresh = console_env.client(login=False)
    assert fresh.post("/login", data={"password": PASSWORD}).status_code == 403


def test_login_sets_a_signed_httponly_samesite_cookie_and_logout_ends_it(console_env: ConsoleEnv) -> None:
    client = console_env.client(login=False)
    token = csrf_of(client.get("/login").text)
    wrong = client.post("/login", data={"password": "nope", "csrf_token": token}, follow_redirects=True)
    assert "Wrong password." in flashes(wrong.text)
    token = csrf_of(wrong.text)
    ok = client.post("/login", data={"password": PASSWORD, "csrf_token": token, "next": "/c/x/log?level=error"})
    assert ok.headers["location"] == "/c/x/log?level=error"
    cookie = ok.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "tillbridge_console=" in cookie
    assert PASSWORD.lower() not in cookie
    assert client.get("/").status_code == 200
    # a tampered cookie is no session
    value = client.cookies.get("tillbridge_console")
    tampered = TestClient(console_env.web, follow_redirects=False)
    tampered.cookies.set("tillbridge_console", value[:-4] + ("AAAA" if not value.endswith("AAAA") else "BBBB"))
    assert tampered.get("/").status_code == 303
    token = csrf_of(client.get("/").text)
    assert client.post("/logout", data={"csrf_token": token}).headers["location"] == "/login"
    assert client.get("/").status_code == 303


def test_next_never_leaves_the_console(console_env: ConsoleEnv) -> None:
    client = console_env.client(login=False)
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"password": PASSWORD, "csrf_token": token, "next": "//evil.example/x"})
    assert response.headers["location"] == "/"


def test_a_new_password_ends_existing_sessions(console_env: ConsoleEnv) -> None:
    client = console_env.client()
    assert client.get("/").status_code == 200
    set_password(console_env.app, "another long password")
    assert client.get("/").status_code == 303
    with pytest.raises(ConfigError, match="too short"):
        set_password(console_env.app, "short")


def test_pages_carry_security_headers(console_env: ConsoleEnv) -> None:
    response = console_env.client().get("/")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "same-origin"


def test_the_demo_login_link_works_only_with_its_token(console_env: ConsoleEnv) -> None:
    web = create_console_app(console_env.app, demo_urls={}, login_token="s3cret-token")
    client = TestClient(web, follow_redirects=False)
    assert client.get("/login?token=wrong").status_code == 200
    assert client.get("/").status_code == 303
    assert client.get("/login?token=s3cret-token").headers["location"] == "/"
    assert client.get("/").status_code == 200
    # the same cookie means nothing to a console started without that token
    other = TestClient(create_console_app(console_env.app), follow_redirects=False)
    other.cookies.set("tillbridge_console", client.cookies.get("tillbridge_console"))
    assert other.get("/").status_code == 303


def test_set_password_command_and_the_web_command_refusing_without_one(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    runner = CliRunner()
    refused = runner.invoke(cli, ["--database-url", url, "web", "--port", "0"])
    assert refused.exit_code == 2 and "no admin password" in refused.output
    short = runner.invoke(cli, ["--database-url", url, "web", "set-password", "--password-stdin"], input="short\n")
    assert short.exit_code == 2 and "too short" in short.output
    done = runner.invoke(cli, ["--database-url", url, "web", "set-password"],
                         input="a good long password\na good long password\n")
    assert done.exit_code == 0, done.output
    from tillbridge.app import App

    app = App(url)
    try:
        assert has_password(app)
        from tillbridge.web.access import check_password

        assert check_password(app, "a good long password") and not check_password(app, "wrong")
    finally:
        app.close()


def test_exposure_without_tls_is_warned_about() -> None:
    assert exposure_warning("127.0.0.1", tls=False) is None
    assert exposure_warning("::1", tls=False) is None
    assert "without TLS" in (exposure_warning("0.0.0.0", tls=False) or "")
    assert exposure_warning("0.0.0.0", tls=True) is None


def test_the_console_works_mounted_under_a_prefix(console_env: ConsoleEnv) -> None:
    """The daemon may serve the console beside its own routes, e.g. under /console."""
    from starlette.applications import Starlette
    from starlette.routing import Mount

    console_env.connect_directly()
    host = Starlette(routes=[Mount("/console", app=console_env.web)])
    client = TestClient(host, follow_redirects=False)
    assert client.get("/console/c/shop/config").headers["location"] == "/console/login?next=%2Fc%2Fshop%2Fconfig"
    login = client.get("/console/login?next=%2Fc%2Fshop%2Fconfig")
    assert 'action="/console/login"' in login.text and 'href="/console/static/console.css"' in login.text
    assert client.get("/console/static/console.js").status_code == 200
    done = client.post("/console/login", data={"password": PASSWORD, "csrf_token": csrf_of(login.text),
                                               "next": "/c/shop/config"})
    assert done.headers["location"] == "/console/c/shop/config"
    page = client.get("/console/c/shop/config").text
    assert 'action="/console/c/shop/locations/reload"' in page and 'href="/console/c/shop/log"' in page
    reloaded = client.post("/console/c/shop/locations/reload", data={"csrf_token": csrf_of(page)})
    assert reloaded.headers["location"] == "/console/c/shop/config#locations"


def test_pages_reached_over_plain_http_from_the_network_say_so(console_env: ConsoleEnv) -> None:
    local = TestClient(console_env.web, base_url="http://127.0.0.1:8765").get("/login").text
    remote = TestClient(console_env.web, base_url="http://shop-server.example:8765").get("/login").text
    secure = TestClient(console_env.web, base_url="https://shop-server.example").get("/login").text
    assert "plain HTTP" not in local and "plain HTTP" in remote and "plain HTTP" not in secure


def test_password_and_cookie_key_are_kept_on_every_database(database_url: str, make_app) -> None:  # type: ignore[no-untyped-def]
    from tillbridge.web.access import check_password, session_secret

    app = make_app(database_url)
    assert not has_password(app)
    secret = session_secret(app)
    assert len(secret) >= 48 and session_secret(app) == secret  # made once, then kept
    set_password(app, "first long password")
    set_password(app, "second long password")  # replaces, never adds a row
    assert check_password(app, "second long password") and not check_password(app, "first long password")
    again = make_app(database_url)  # another process on the same database sees the same values
    assert session_secret(again) == secret and check_password(again, "second long password")

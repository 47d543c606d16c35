"""The HTTP plumbing every connector gets: one configured ``httpx.Client`` per connection+system.

* timeouts on every request;
* retries with exponential backoff and jitter (tenacity) on transport errors, 429 and 5xx, that
  honour ``Retry-After`` in seconds or as an HTTP-date;
* pacing from the remote's own rate-limit headers, so a well-behaved client waits *before* it is
  refused instead of after;
* request logging with secrets redacted (query values of secret-looking names; headers never);
* a callback per call, which the engine turns into metrics;
* idle connections let go before the server closes them (``KEEPALIVE_EXPIRY``).

Requests that are not safe to repeat (a create whose id the server assigns) opt out of automatic
retries with ``extensions={"tillbridge_retry": False}``; the connector then recovers by looking
the record up before creating it again.
"""

from __future__ import annotations

import email.utils
import logging
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from .errors import AuthError, RateLimited, RemoteError, TransientError

log = logging.getLogger("tillbridge.http")

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
#: Seconds an idle pooled connection is kept for reuse. Below the shortest keep-alive servers
#: commonly use (5 s: uvicorn, which serves the emulators, and Apache; gunicorn's is 2 s but it
#: is rarely faced directly): reusing a connection at the moment the server closes it for being
#: idle cuts the request (``ReadError``), and a request that is not safe to repeat (an inventory
#: count's ``POST``) is then not retried. httpx's own default is 5 s, the same as uvicorn's, so
#: a connection idle for just under 5 s raced the server's close. Opening a connection after an
#: idle pause costs one handshake; a cut count costs a stock run.
KEEPALIVE_EXPIRY = 2.0
SECRET_QUERY = re.compile(r"(?i)(token|secret|key|password|signature|code)=([^&]+)")


def redact_url(url: str | httpx.URL) -> str:
    return SECRET_QUERY.sub(lambda m: f"{m.group(1)}=***", str(url))


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP-date (RFC 9110)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    current = now if now is not None else time.time()
    return max(0.0, when.timestamp() - current)


@dataclass
class RateLimitHeaders:
    """Which response headers carry the remote's budget (names differ per vendor)."""

    remaining: str
    limit: str | None = None
    reset: str | None = None  # epoch seconds or HTTP-date of the window's end
    window_seconds: float = 60.0
    reserve: int = 1  # keep this many calls in hand for other work


@dataclass(frozen=True)
class AppRateLimit:
    """A vendor limit that spans every connection of the app (all tenants): ``calls`` per ``seconds``.

    A connector declares it (``Connector.app_rate_limits``); it is enforced across processes and
    machines where a shared limiter is installed (``App.shared_limiter``: distributed mode keeps
    the count in PostgreSQL), and not at all in a single daemon, whose one retailer is far below it.
    """

    calls: int
    seconds: float


class Pacer:
    """Waits before a request when the last response said the budget is (nearly) spent.

    ``shared``: called before every request to take a permit from a limit shared with other
    processes (it blocks until one is free).
    """

    def __init__(self, headers: RateLimitHeaders | None, sleep: Callable[[float], None] = time.sleep,
                 max_concurrency: int | None = None, shared: Callable[[], None] | None = None) -> None:
        self.headers = headers
        self.shared = shared
        self._sleep = sleep
        self._lock = threading.Lock()
        self._remaining: int | None = None
        self._reset_at: float | None = None
        self._limit: int | None = None
        self._slots = threading.BoundedSemaphore(max_concurrency) if max_concurrency else None
        self._inflight = 0  # requests sent and not answered yet (several threads may push at once)
        self.waited = 0.0

    def before(self) -> None:
        if self.shared is not None:
            self.shared()
        if self.headers is None:
            return
        with self._lock:
            remaining, reset_at, limit = self._remaining, self._reset_at, self._limit
            if remaining is not None:
                # calls in flight will spend the budget too: the last answer did not count them
                remaining -= self._inflight
        if remaining is None or remaining > self.headers.reserve:
            return
        now = time.time()
        if reset_at is not None and reset_at > now:
            delay = reset_at - now
        else:  # no reset time given: spread one window over the limit
            delay = self.headers.window_seconds / max(limit or 1, 1)
        self.waited += delay
        self._sleep(delay)
        with self._lock:
            if self._reset_at == reset_at:
                self._remaining = None  # a new window: learn the budget again from the next answer

    def after(self, response: httpx.Response) -> None:
        if self.headers is None:
            return
        raw = response.headers.get(self.headers.remaining)
        if raw is None:
            return
        try:
            remaining = int(float(raw))
        except ValueError:
            return
        reset_at = None
        if self.headers.reset and (raw_reset := response.headers.get(self.headers.reset)):
            try:
                reset_at = float(raw_reset)
            except ValueError:
                wait = parse_retry_after(raw_reset)
                reset_at = time.time() + wait if wait is not None else None
        limit = None
        if self.headers.limit and (raw_limit := response.headers.get(self.headers.limit)):
            try:
                limit = int(float(raw_limit))
            except ValueError:
                limit = None
        with self._lock:
            self._remaining, self._reset_at = remaining, reset_at
            self._limit = limit or self._limit

    def acquire(self) -> None:
        if self._slots is not None:
            self._slots.acquire()
        with self._lock:
            self._inflight += 1

    def release(self) -> None:
        with self._lock:
            self._inflight -= 1
        if self._slots is not None:
            self._slots.release()


class _RetryableResponse(Exception):
    def __init__(self, response: httpx.Response, wait: float | None) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response
        self.wait = wait


CallObserver = Callable[[httpx.Request, httpx.Response | None, float], None]


class RetryingTransport(httpx.BaseTransport):
    """Wraps a transport with pacing and retries. Retries only where repeating is safe."""

    def __init__(self, inner: httpx.BaseTransport, *, attempts: int = 5, backoff_initial: float = 0.5,
                 backoff_max: float = 30.0, max_retry_after: float = 120.0, pacer: Pacer | None = None,
                 observer: CallObserver | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        self.inner = inner
        self.attempts = attempts
        self.pacer = pacer or Pacer(None)
        self.observer = observer
        self.max_retry_after = max_retry_after
        self._sleep = sleep
        # Exponential backoff with jitter, so many clients retrying at once spread out.
        self._backoff = wait_exponential(multiplier=backoff_initial, max=backoff_max) + wait_random(0, backoff_initial)

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _RetryableResponse) and exc.wait is not None:
            return exc.wait
        return float(self._backoff(state))

    def _send_once(self, request: httpx.Request) -> httpx.Response:
        self.pacer.before()
        self.pacer.acquire()
        started = time.perf_counter()
        try:
            response = self.inner.handle_request(request)
            # Read the body here, inside the retry loop: a connection cut mid-body must count as
            # a failed attempt, not surface later from the caller's read.
            response.read()
        except httpx.TransportError:
            if self.observer:
                self.observer(request, None, time.perf_counter() - started)
            raise
        finally:
            self.pacer.release()
        self.pacer.after(response)
        if self.observer:
            self.observer(request, response, time.perf_counter() - started)
        log.debug("%s %s -> %s", request.method, redact_url(request.url), response.status_code)
        if response.status_code in RETRYABLE_STATUS:
            wait = parse_retry_after(response.headers.get("retry-after"))
            if wait is not None and wait > self.max_retry_after:
                return response  # too long to wait here: the caller defers the flow instead
            response.close()
            raise _RetryableResponse(response, wait)
        return response

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not request.extensions.get("tillbridge_retry", True):
            try:
                return self._send_once(request)
            except _RetryableResponse as exc:  # no retry asked: the caller decides what to do
                return exc.response
        retrying = Retrying(
            stop=stop_after_attempt(self.attempts),
            wait=self._wait,
            retry=retry_if_exception_type((httpx.TransportError, _RetryableResponse)),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            return retrying(self._send_once, request)
        except _RetryableResponse as exc:  # out of attempts: hand back the last answer
            return exc.response

    def close(self) -> None:
        self.inner.close()


def build_client(
    base_url: str,
    *,
    auth: httpx.Auth | None = None,
    headers: dict[str, str] | None = None,
    rate_limit_headers: RateLimitHeaders | None = None,
    max_concurrency: int | None = None,
    observer: CallObserver | None = None,
    timeout: float = 30.0,
    attempts: int = 5,
    transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] = time.sleep,
    backoff: float = 0.5,
    shared_limit: Callable[[], None] | None = None,
    keepalive_expiry: float = KEEPALIVE_EXPIRY,
) -> httpx.Client:
    """The client a connector gets. ``transport`` lets tests swap in ``httpx.MockTransport``."""
    inner = transport or httpx.HTTPTransport(retries=0, limits=httpx.Limits(keepalive_expiry=keepalive_expiry))
    wrapped = RetryingTransport(
        inner, attempts=attempts, observer=observer, sleep=sleep, backoff_initial=backoff,
        pacer=Pacer(rate_limit_headers, sleep=sleep, max_concurrency=max_concurrency, shared=shared_limit),
    )
    return httpx.Client(base_url=base_url, auth=auth, headers=headers or {}, timeout=timeout,
                        transport=wrapped, follow_redirects=False)


def describe_transport_error(exc: httpx.TransportError, system: str, base_url: str) -> TransientError:
    return TransientError(
        f"cannot reach {system} at {base_url}: {type(exc).__name__}",
        fix="check the base URL and that the service (or emulator) is running",
    )


def check_response(response: httpx.Response, system: str, *, what: str = "") -> httpx.Response:
    """Turn an HTTP error answer into the framework's error for it; return the response if OK."""
    status = response.status_code
    if status < 400:
        return response
    body = _short_body(response)
    action = f" {what}" if what else ""
    if status in (401, 403):
        raise AuthError(f"{system} refused our credentials{action} (HTTP {status}: {body})",
                        fix=reconnect_hint(system))
    if status == 429:
        wait = parse_retry_after(response.headers.get("retry-after")) or 60.0
        raise RateLimited(f"{system} rate limit reached{action}; retry in {wait:.0f}s", retry_after=wait)
    if status >= 500:
        raise TransientError(f"{system} had a server error{action} (HTTP {status}: {body})", status=status)
    raise RemoteError(f"{system} refused the request{action} (HTTP {status}: {body})", status=status)


def reconnect_hint(system: str) -> str:
    """What to run when ``system`` refuses our credentials: its ``tillbridge connect`` command.

    ``system`` is the name or title a connector passes ("Unleashed", "QuickBooks"); commands are
    the lowercase system name (``tillbridge connect unleashed``). Nothing about how the system
    authenticates is assumed: Lightspeed's command installs an OAuth app, Unleashed's asks for
    an API id and key."""
    command = re.sub(r"[^a-z0-9_-]+", "", system.lower())
    return f"connect {system} again: `tillbridge connect {command}` (with `-c NAME` for another connection)"


def _short_body(response: httpx.Response, limit: int = 300) -> str:
    try:
        text = response.text
    except Exception:
        return "<unreadable body>"
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


__all__ = [
    "AppRateLimit",
    "Pacer",
    "RateLimitHeaders",
    "RetryingTransport",
    "build_client",
    "check_response",
    "describe_transport_error",
    "parse_retry_after",
    "redact_url",
]

"""A small typed layer over Microsoft Graph v1.0: one request, a JSON batch, paging, pacing and retries.

requests is imported inside the client (it comes with msal); nothing here knows calendars or to-dos. Every request
is paced under ``rate_per_minute`` (Graph counts each part of a ``$batch`` as a request), and a 429, 503 or 504 is
retried after the server's Retry-After (else an exponential backoff with jitter), for a whole batch and for single
parts alike. The clock and the sleep are injectable, so tests run on a controlled clock.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from calsync.errors import ProviderError

RETRYABLE = {429, 503, 504}
MAX_BATCH = 20  # Graph's limit for one JSON batch


@dataclass(frozen=True)
class Request:
    """One Graph call: ``path`` relative to ``/v1.0`` (``/me/events``) or an absolute link Graph returned."""

    method: str
    path: str
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: Any

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def error_code(self) -> str:
        error = self.body.get("error") if isinstance(self.body, dict) else None
        return str(error.get("code", "")) if isinstance(error, dict) else ""

    def retry_after(self) -> float | None:
        raw = {k.lower(): v for k, v in self.headers.items()}.get("retry-after")
        try:
            return max(0.0, float(raw)) if raw is not None else None
        except ValueError:
            return None


class Pacer:
    """Spaces requests so that no more than ``rate_per_minute`` go out in any minute (a token bucket)."""

    def __init__(self, rate_per_minute: float, clock: Callable[[], float], sleep: Callable[[float], None]) -> None:
        self.interval = 60.0 / rate_per_minute
        self.clock = clock
        self.sleep = sleep
        self.next_free = 0.0
        self.slept = 0.0

    def take(self, count: int = 1) -> None:
        now = self.clock()
        start = max(now, self.next_free)
        if start > now:
            self.slept += start - now
            self.sleep(start - now)
        self.next_free = start + self.interval * count


class GraphClient:
    def __init__(
        self,
        root: str,
        token: Callable[[], str],
        *,
        where: str,
        rate_per_minute: float = 600.0,
        max_retries: int = 6,
        backoff_base: float = 1.0,
        timeout: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        import requests

        self.root = root.rstrip("/") + "/v1.0"
        self.token = token
        self.where = where
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.timeout = timeout
        self.sleep = sleep
        self.pacer = Pacer(rate_per_minute, clock, sleep)
        self.session = requests.Session()
        self.requests = 0  # HTTP requests sent (a batch counts once)

    def close(self) -> None:
        self.session.close()

    def url(self, path: str) -> str:
        return path if path.startswith(("https://", "http://")) else self.root + path

    # --- single requests ----------------------------------------------------------------------------------

    def send(self, request: Request) -> Reply:
        """One request, retried while Graph asks to slow down or is briefly unavailable."""
        for attempt in range(self.max_retries + 1):
            reply = self._send_once(request, parts=1)
            if reply.status not in RETRYABLE or attempt == self.max_retries:
                return reply
            self.sleep(self._delay(attempt, reply.retry_after()))
        raise AssertionError("unreachable")

    def _send_once(self, request: Request, parts: int) -> Reply:
        import requests

        self.pacer.take(parts)
        headers = {"Authorization": f"Bearer {self.token()}", "Accept": "application/json", **request.headers}
        data = None
        if request.body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(request.body).encode("utf-8")
        self.requests += 1
        try:
            response = self.session.request(
                request.method, self.url(request.path), data=data, headers=headers, timeout=self.timeout
            )
        except requests.exceptions.SSLError:
            raise ProviderError(f"{self.where}: the TLS certificate of Microsoft Graph was not trusted") from None
        except requests.exceptions.Timeout:
            raise ProviderError(f"{self.where}: Microsoft Graph did not answer within {self.timeout:g} s") from None
        except requests.exceptions.RequestException as exc:
            raise ProviderError(f"{self.where}: cannot reach Microsoft Graph ({type(exc).__name__})") from None
        try:
            body = response.json() if response.content else None
        except ValueError:
            body = None
        reply = Reply(response.status_code, dict(response.headers), body)
        if reply.status == 401:
            raise ProviderError(
                f"{self.where}: Microsoft Graph rejected the sign-in (401): run `calsync auth` for this target again"
            )
        return reply

    def pages(self, path: str, headers: dict[str, str] | None = None) -> Iterator[dict[str, Any]]:
        """The JSON pages of a collection, following ``@odata.nextLink``; the last one carries any deltaLink."""
        link: str | None = path
        while link:
            reply = self.send(Request("GET", link, headers=headers or {}))
            if not reply.ok:
                raise GraphFailed(reply)
            yield reply.body
            link = reply.body.get("@odata.nextLink")

    # --- batches ----------------------------------------------------------------------------------------------

    def batch(self, requests_: Sequence[Request]) -> list[Reply]:
        """Run the requests in JSON batches of at most 20, retrying parts that were throttled; one reply each,
        in order."""
        replies: list[Reply | None] = [None] * len(requests_)
        pending = list(range(len(requests_)))
        attempt = 0
        while pending:
            throttled: list[int] = []
            wait = 0.0
            for start in range(0, len(pending), MAX_BATCH):
                chunk = pending[start : start + MAX_BATCH]
                for index, reply in zip(chunk, self._batch_once([requests_[i] for i in chunk]), strict=True):
                    if reply.status in RETRYABLE and attempt < self.max_retries:
                        throttled.append(index)
                        wait = max(wait, reply.retry_after() or 0.0)
                    else:
                        replies[index] = reply
            pending = throttled
            if pending:
                self.sleep(self._delay(attempt, wait or None))
                attempt += 1
        return [reply for reply in replies if reply is not None]

    def _batch_once(self, chunk: Sequence[Request]) -> list[Reply]:
        body = {
            "requests": [
                {
                    "id": str(n),
                    "method": request.method,
                    "url": request.path,
                    **({"body": request.body} if request.body is not None else {}),
                    "headers": {**request.headers, **({"Content-Type": "application/json"} if request.body else {})},
                }
                for n, request in enumerate(chunk)
            ]
        }
        for attempt in range(self.max_retries + 1):
            reply = self._send_once(Request("POST", "/$batch", body), parts=len(chunk))
            if reply.status in RETRYABLE and attempt < self.max_retries:
                self.sleep(self._delay(attempt, reply.retry_after()))
                continue
            if not reply.ok or not isinstance(reply.body, dict):
                raise ProviderError(f"{self.where}: a Microsoft Graph batch request failed ({reply.status})")
            by_id = {str(part.get("id")): part for part in reply.body.get("responses", [])}
            results = []
            for n in range(len(chunk)):
                part = by_id.get(str(n))
                if part is None:
                    results.append(Reply(503, {}, None))  # no answer for it: try it again
                    continue
                results.append(Reply(int(part.get("status", 500)), dict(part.get("headers") or {}), part.get("body")))
            return results
        raise AssertionError("unreachable")

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        backoff = random.uniform(0, min(64.0, self.backoff_base * (2**attempt)))
        return max(backoff, retry_after or 0.0)


class GraphFailed(Exception):
    """A Graph answer that was not a success, for the caller to turn into the right error."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(f"{reply.status} {reply.error_code}".strip())
        self.reply = reply

"""Slack Web API clients that honour SLACK_API_URL, retry 429/5xx/connection errors and count calls."""

from __future__ import annotations

import logging

import aiohttp
from aiohttp.connector import Connection
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

from bot.metrics import SLACK_API_CALLS, SLACK_API_RETRIES
from bot.settings import Settings

logger = logging.getLogger(__name__)


class CountedRetry(AsyncRetryHandler):
    """Wraps one of slack_sdk's retry handlers so every retry shows up in /metrics."""

    def __init__(self, inner: AsyncRetryHandler, reason: str) -> None:
        super().__init__(
            max_retry_count=inner.max_retry_count, interval_calculator=inner.interval_calculator
        )
        self.inner = inner
        self.reason = reason

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return await self.inner._can_retry_async(
            state=state, request=request, response=response, error=error
        )

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        SLACK_API_RETRIES.labels(reason=self.reason).inc()
        logger.info("retrying Slack call %s (%s)", request.url.rsplit("/", 1)[-1], self.reason)
        await self.inner.prepare_for_next_attempt_async(
            state=state, request=request, response=response, error=error
        )


def retry_handlers(*, rate_limits: bool = True) -> list[AsyncRetryHandler]:
    """429 waits for Retry-After; 5xx and dropped connections back off and try again.

    Without `rate_limits` a 429 is left to the caller (the notifier, which paces it).
    """
    handlers: list[AsyncRetryHandler] = [
        CountedRetry(AsyncServerErrorRetryHandler(max_retry_count=3), "server_error"),
        CountedRetry(AsyncConnectionErrorRetryHandler(max_retry_count=3), "connection_error"),
    ]
    if rate_limits:
        handlers.insert(
            0, CountedRetry(AsyncRateLimitErrorRetryHandler(max_retry_count=5), "rate_limited")
        )
    return handlers


class CountedResponse(aiohttp.ClientResponse):
    """Counts each answer Slack gives, by method and status, as its headers arrive.

    A response class rather than a TraceConfig: a trace costs a dozen signal dispatches
    per request, which showed in a fan-out's CPU a message (bench.fanout).
    """

    async def start(self, connection: Connection) -> aiohttp.ClientResponse:
        response = await super().start(connection)
        method = self.url.path.rsplit("/", 1)[-1] or "unknown"
        SLACK_API_CALLS.labels(method=method, status=str(self.status)).inc()
        return response


def make_http_session() -> aiohttp.ClientSession:
    """One connection pool for every Slack client of the process, counting each call."""
    return aiohttp.ClientSession(response_class=CountedResponse)


def make_web_client(
    settings: Settings,
    *,
    token: str | None = None,
    session: aiohttp.ClientSession | None = None,
    retry_rate_limits: bool = True,
) -> AsyncWebClient:
    return AsyncWebClient(
        token=token,
        base_url=settings.slack_api_url,
        session=session,
        retry_handlers=retry_handlers(rate_limits=retry_rate_limits),
    )

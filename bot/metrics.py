"""Prometheus metrics, served at GET /metrics."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

REQUESTS = Counter(
    "bridgebot_requests_total",
    "Incoming requests by kind (command, block_actions, event, ...) and outcome",
    ["platform", "kind", "outcome"],
    registry=REGISTRY,
)
HANDLER_SECONDS = Histogram(
    "bridgebot_handler_seconds",
    "Time to acknowledge an incoming request",
    ["platform", "kind"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 3.0, 5.0),
    registry=REGISTRY,
)
COMMAND_SECONDS = Histogram(
    "bridgebot_command_seconds",
    "Time to run a command and build its reply",
    ["command"],
    registry=REGISTRY,
)
SLACK_API_CALLS = Counter(
    "bridgebot_slack_api_calls_total",
    "Slack Web API calls by method and HTTP status",
    ["method", "status"],
    registry=REGISTRY,
)
SLACK_API_RETRIES = Counter(
    "bridgebot_slack_api_retries_total",
    "Slack Web API calls retried, by reason",
    ["reason"],
    registry=REGISTRY,
)
DELIVERIES = Counter(
    "bridgebot_scheduled_deliveries_total",
    "Scheduled deliveries by kind and outcome",
    ["kind", "outcome"],
    registry=REGISTRY,
)
REDELIVERIES = Counter(
    "bridgebot_scheduled_redeliveries_total",
    "Scheduled deliveries that needed a second attempt (the only way a duplicate can happen)",
    ["kind"],
    registry=REGISTRY,
)
ANSWER_LAG_SECONDS = Histogram(
    "bridgebot_answer_lag_seconds",
    "Time from a Slack request reaching its listener to the end of its work (its answer sent)",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0),
    registry=REGISTRY,
)
REQUEST_WAIT_SECONDS = Histogram(
    "bridgebot_request_wait_seconds",
    "Time a signed Slack request waited between reaching this machine (as the kernel "
    "tells) and being handled: the queue in front of the server above capacity",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0),
    registry=REGISTRY,
)
SHED = Counter(
    "bridgebot_requests_shed_total",
    "Requests refused at their acknowledgement because answers ran too far behind",
    ["platform", "kind"],
    registry=REGISTRY,
)

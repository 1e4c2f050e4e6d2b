"""The HTTP API under /api/v1, health and metrics: one module per resource, each with its routes."""

from __future__ import annotations

from . import (
    agent_control,
    agents,
    api_docs,
    api_keys,
    attachments,
    audit,
    auth,
    automation,
    canned_responses,
    conversations,
    events,
    health,
    interactions,
    invitations,
    login_links,
    not_ready_reasons,
    oidc,
    queues,
    reports,
    stats,
    totp,
    users,
    visitors,
    webhooks,
)
from .errors import exception_handlers

routes = [
    *health.routes,
    *queues.routes,
    *agents.routes,
    *not_ready_reasons.routes,
    *conversations.routes,
    *attachments.routes,
    *automation.routes,
    *events.routes,
    *stats.routes,
    *reports.routes,
    *interactions.routes,
    *canned_responses.routes,
    *visitors.routes,
    *webhooks.routes,
    *api_docs.routes,
    *auth.routes,
    *login_links.routes,
    *totp.routes,
    *oidc.routes,
    *users.routes,
    *invitations.routes,
    *agent_control.routes,
    *api_keys.routes,
    *audit.routes,
]

__all__ = ["exception_handlers", "routes"]

"""Dependencies injected into handlers with Provide, one per concern: a handler names what it uses and gets only that.

All of them come from the one Services that the lifespan opened (serving/services.py), kept on app.state.
"""

from __future__ import annotations

from collections.abc import Callable

import lancedb
from litestar import Request
from litestar.datastructures import State
from litestar.di import Provide

from jiwa.prompts import Prompt
from jiwa.settings import Settings
from serving.auth import ApiKeys, RateLimiter, Tenant
from serving.chat import ChatService
from serving.conversations import ConversationStore
from serving.metrics import Metrics
from serving.ownership import Ownership
from serving.profiles import ProfileStore
from serving.services import Services, StoreHealth


def _services(state: State) -> Services:
    return state.services


def provide_settings(state: State) -> Settings:
    return _services(state).settings


def provide_api_keys(state: State) -> ApiKeys:
    return _services(state).api_keys


def provide_rate_limiter(state: State) -> RateLimiter:
    return _services(state).rate_limiter


def provide_metrics(state: State) -> Metrics:
    return _services(state).metrics


def provide_chat(state: State) -> ChatService:
    return _services(state).chat


def provide_conversations(state: State) -> ConversationStore:
    return _services(state).conversations


def provide_profiles(state: State) -> ProfileStore:
    return _services(state).profiles


def provide_responder_prompt(state: State) -> Prompt:
    """The responder's prompt, which words a user's memory as the responder sees it."""
    return _services(state).responder.prompt


def provide_health(state: State) -> StoreHealth:
    return _services(state).health


def provide_db(state: State) -> lancedb.DBConnection:
    """The tables the server writes beside the conversation store, for forgetting a user."""
    return _services(state).db


def provide_tenant(request: Request, api_keys: ApiKeys, rate_limiter: RateLimiter) -> Tenant:
    tenant = api_keys.tenant_for(request.headers.get("authorization"), request.headers.get("x-api-key"))
    rate_limiter.check(tenant.name)
    return tenant


def provide_owner(conversations: ConversationStore, tenant: Tenant) -> Ownership:
    return Ownership(conversations, tenant)


_PROVIDERS: dict[str, Callable[..., object]] = {
    "settings": provide_settings,
    "api_keys": provide_api_keys,
    "rate_limiter": provide_rate_limiter,
    "metrics": provide_metrics,
    "chat": provide_chat,
    "conversations": provide_conversations,
    "profiles": provide_profiles,
    "responder_prompt": provide_responder_prompt,
    "health": provide_health,
    "db": provide_db,
    "tenant": provide_tenant,
    "owner": provide_owner,
}
DEPENDENCIES = {name: Provide(provider, sync_to_thread=False) for name, provider in _PROVIDERS.items()}

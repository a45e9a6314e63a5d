"""Dependencies injected into handlers with Provide, one per concern."""

from litestar import Request
from litestar.datastructures import State

from serving.auth import Tenant
from serving.ownership import Ownership
from serving.services import Services


def provide_services(state: State) -> Services:
    return state.services


def provide_tenant(request: Request, services: Services) -> Tenant:
    tenant = services.api_keys.tenant_for(request.headers.get("authorization"), request.headers.get("x-api-key"))
    services.rate_limiter.check(tenant.name)
    return tenant


def provide_owner(services: Services, tenant: Tenant) -> Ownership:
    return Ownership(services.conversations, tenant)

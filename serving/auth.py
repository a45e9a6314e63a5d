"""API keys as tenants (kept only as SHA-256 hashes, compared in constant time) and a per-key rate limit."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import time
from dataclasses import dataclass

from serving.errors import RateLimited, Unauthorized

OPEN_TENANT = "local"


class ApiKeyConfigError(ValueError):
    """JIWA_API_KEYS is malformed, or missing where the server would be exposed."""


@dataclass(frozen=True)
class Tenant:
    name: str


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKeys:
    """Parses `tenant=sha256:<hex>,...`; with no keys the server is open, which only a loopback host allows."""

    def __init__(self, spec: str, host: str) -> None:
        self._hashes: list[tuple[bytes, str]] = []
        for entry in filter(None, (part.strip() for part in spec.split(","))):
            tenant, _, digest = entry.partition("=")
            algorithm, _, hexdigest = digest.partition(":")
            if not tenant or algorithm != "sha256" or len(hexdigest) != 64:
                raise ApiKeyConfigError(
                    f"JIWA_API_KEYS entry '{entry[:40]}' should look like tenant=sha256:<64 hex chars>; "
                    'hash a key with: python -c "import hashlib,sys;print(hashlib.sha256(sys.argv[1].encode()).hexdigest())" KEY'
                )
            self._hashes.append((bytes.fromhex(hexdigest), tenant))
        if not self._hashes and not _is_loopback(host):
            raise ApiKeyConfigError(
                f"JIWA_API_KEYS is empty but the server binds {host}; set API keys before exposing it beyond this machine."
            )

    @property
    def open(self) -> bool:
        return not self._hashes

    def tenant_for(self, authorization: str | None, x_api_key: str | None) -> Tenant:
        if self.open:
            return Tenant(OPEN_TENANT)
        presented = x_api_key or (
            authorization[7:] if authorization and authorization.lower().startswith("bearer ") else None
        )
        if not presented:
            raise Unauthorized("Missing API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'.")
        digest = hashlib.sha256(presented.encode()).digest()
        match = None
        for known, tenant in self._hashes:  # no early exit, so timing does not reveal which entry matched
            if hmac.compare_digest(digest, known):
                match = tenant
        if match is None:
            raise Unauthorized("Unknown API key.")
        return Tenant(match)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class RateLimiter:
    """Token bucket per tenant: `per_minute` requests, refilled continuously."""

    def __init__(self, per_minute: int) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self._buckets: dict[str, tuple[float, float]] = {}

    def check(self, tenant: str) -> None:
        now = time.monotonic()
        tokens, updated = self._buckets.get(tenant, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - updated) * self.rate)
        if tokens < 1.0:
            retry_after = max(1, int((1.0 - tokens) / self.rate + 0.999))
            self._buckets[tenant] = (tokens, now)
            raise RateLimited(
                f"Rate limit of {int(self.capacity)} requests per minute reached; retry in {retry_after} s.",
                headers={"Retry-After": str(retry_after)},
            )
        self._buckets[tenant] = (tokens - 1.0, now)

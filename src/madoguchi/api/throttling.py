"""Rate limits: per client at its own `rate_limit_per_minute`; the token endpoint per address.

Counters live in Django's cache: with several app servers configure a shared cache (Redis)
so that the limit is per client, not per client and server."""

from rest_framework.throttling import SimpleRateThrottle

from .authentication import ClientPrincipal


class ClientRateThrottle(SimpleRateThrottle):
    scope = "api_client"

    def get_rate(self):
        return "600/min"  # replaced per request in allow_request

    def allow_request(self, request, view):
        user = request.user
        if not isinstance(user, ClientPrincipal):
            return True
        self.num_requests = max(1, user.client.rate_limit_per_minute)
        self.duration = 60
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": request.user.client.pk}


class TokenRateThrottle(SimpleRateThrottle):
    """Token requests per address: a secret check is deliberately slow (PBKDF2)."""

    scope = "api_token"
    rate = "60/min"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

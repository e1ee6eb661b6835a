"""Name and ownership tables for simulated estates: plausible services, domains and teams. Pure data."""

# Entry points, in the order an estate adopts them.
ENTRY_NAMES = (
    "api-gateway",
    "web-frontend",
    "mobile-bff",
    "partner-api",
    "admin-portal",
    "graphql-gateway",
    "storefront",
    "ios-bff",
    "android-bff",
    "public-api",
)

# Domains users touch directly: the first business tier draws from these.
FRONT_DOMAINS = (
    "checkout",
    "cart",
    "catalog",
    "search",
    "accounts",
    "orders",
    "recommendations",
    "reviews",
    "wishlist",
    "promotions",
    "support",
    "content",
)

# Domains behind them: deeper tiers draw from these.
CORE_DOMAINS = (
    "payments",
    "pricing",
    "inventory",
    "shipping",
    "billing",
    "fraud",
    "tax",
    "ledger",
    "notifications",
    "loyalty",
    "refunds",
    "subscriptions",
    "fulfillment",
    "returns",
    "invoicing",
    "currency",
    "geo",
    "media",
    "analytics",
    "profile",
    "quotes",
    "ads",
    "email",
    "warehouse",
    "routing",
    "reporting",
)

# How a business service's name is built from its domain; "" keeps the bare domain ("checkout").
BUSINESS_SUFFIXES = ("", "-api", "-service", "-worker")

# Shared services many others call, with their owners. Hubs beyond these reuse them with a number.
BUSINESS_HUBS = (
    ("auth", "identity"),
    ("feature-flags", "platform"),
    ("rate-limiter", "platform"),
    ("config-service", "platform"),
    ("id-generator", "platform"),
    ("geo-ip", "platform"),
)

# (name, kind, team) for shared backends; kind is a ServiceKind value.
BACKEND_HUBS = (
    ("users-db", "db", "identity"),
    ("session-cache", "cache", "identity"),
    ("events-queue", "queue", "data"),
    ("audit-db", "db", "data"),
    ("config-cache", "cache", "platform"),
    ("jobs-queue", "queue", "platform"),
)

# Entry points belong to the team that owns the customer-facing edge.
ENTRY_TEAM = "storefront"

# Several domains per team, as in a real organisation; a domain not listed belongs to the platform
# team. Team names are Backstage Group names and the response policy's team names (the shipped
# sample policy lists every one of them), so a catalog owner is a team the policy can page.
TEAM_OF_DOMAIN = {
    "checkout": "checkout",
    "cart": "checkout",
    "wishlist": "checkout",
    "payments": "payments",
    "billing": "payments",
    "refunds": "payments",
    "ledger": "payments",
    "invoicing": "payments",
    "currency": "payments",
    "tax": "payments",
    "fraud": "risk",
    "catalog": "catalog",
    "reviews": "catalog",
    "content": "catalog",
    "media": "catalog",
    "search": "discovery",
    "recommendations": "discovery",
    "ads": "discovery",
    "pricing": "pricing",
    "promotions": "pricing",
    "quotes": "pricing",
    "loyalty": "pricing",
    "inventory": "fulfillment",
    "shipping": "fulfillment",
    "fulfillment": "fulfillment",
    "returns": "fulfillment",
    "warehouse": "fulfillment",
    "routing": "fulfillment",
    "geo": "fulfillment",
    "orders": "orders",
    "subscriptions": "orders",
    "accounts": "identity",
    "profile": "identity",
    "notifications": "messaging",
    "email": "messaging",
    "support": "messaging",
    "analytics": "data",
    "reporting": "data",
}


FALLBACK_TEAM = "platform"

# Every team an estate can name, sorted.
TEAMS = tuple(
    sorted(
        {ENTRY_TEAM, FALLBACK_TEAM, *TEAM_OF_DOMAIN.values()}
        | {team for _, team in BUSINESS_HUBS}
        | {team for _, _, team in BACKEND_HUBS}
    )
)


def team_of(domain: str) -> str:
    """Return the team owning a domain."""
    return TEAM_OF_DOMAIN.get(domain, FALLBACK_TEAM)


class UniqueNames:
    """Hand out names once each, numbering repeats deterministically ("orders-db", "orders-db-2")."""

    def __init__(self) -> None:
        self._used: set[str] = set()
        self._next: dict[str, int] = {}

    def take(self, base: str) -> str:
        """Return `base`, or `base-N` with the smallest free N ≥ 2 if `base` is taken."""
        name = base
        while name in self._used:
            number = self._next.get(base, 2)
            self._next[base] = number + 1
            name = f"{base}-{number}"
        self._used.add(name)
        return name

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
    ("auth", "team-identity"),
    ("feature-flags", "team-platform"),
    ("rate-limiter", "team-platform"),
    ("config-service", "team-platform"),
    ("id-generator", "team-platform"),
    ("geo-ip", "team-platform"),
)

# (name, kind, team) for shared backends; kind is a ServiceKind value.
BACKEND_HUBS = (
    ("users-db", "db", "team-identity"),
    ("session-cache", "cache", "team-identity"),
    ("events-queue", "queue", "team-data"),
    ("audit-db", "db", "team-data"),
    ("config-cache", "cache", "team-platform"),
    ("jobs-queue", "queue", "team-platform"),
)

ENTRY_TEAM = "team-edge"

# Several domains per team, as in a real organisation; a domain not listed owns "team-<domain>".
TEAM_OF_DOMAIN = {
    "checkout": "team-checkout",
    "cart": "team-checkout",
    "wishlist": "team-checkout",
    "payments": "team-payments",
    "billing": "team-payments",
    "refunds": "team-payments",
    "ledger": "team-payments",
    "invoicing": "team-payments",
    "currency": "team-payments",
    "tax": "team-payments",
    "fraud": "team-risk",
    "catalog": "team-catalog",
    "reviews": "team-catalog",
    "content": "team-catalog",
    "media": "team-catalog",
    "search": "team-discovery",
    "recommendations": "team-discovery",
    "ads": "team-discovery",
    "pricing": "team-pricing",
    "promotions": "team-pricing",
    "quotes": "team-pricing",
    "loyalty": "team-pricing",
    "inventory": "team-fulfillment",
    "shipping": "team-fulfillment",
    "fulfillment": "team-fulfillment",
    "returns": "team-fulfillment",
    "warehouse": "team-fulfillment",
    "routing": "team-fulfillment",
    "geo": "team-fulfillment",
    "orders": "team-orders",
    "subscriptions": "team-orders",
    "accounts": "team-identity",
    "profile": "team-identity",
    "notifications": "team-messaging",
    "email": "team-messaging",
    "support": "team-messaging",
    "analytics": "team-data",
    "reporting": "team-data",
}


def team_of(domain: str) -> str:
    """Return the team owning a domain."""
    return TEAM_OF_DOMAIN.get(domain, f"team-{domain}")


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

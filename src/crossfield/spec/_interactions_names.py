"""Words and names: tokenizing identifiers, singularizing path segments, and the vocabularies the
interaction map reasons with. Everything here is general English/REST vocabulary, never names taken
from a particular API."""

from __future__ import annotations

import re
from functools import lru_cache

_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z0-9])|[A-Z]?[a-z0-9]+|[A-Z]+")
_SPLIT = re.compile(r"[^A-Za-z0-9]+")


@lru_cache(maxsize=65536)
def tokens(name: str) -> tuple[str, ...]:
    """`paymentIntentId`, `payment_intent_id`, `Payment-Intent-ID` -> ('payment', 'intent', 'id')."""
    out: list[str] = []
    for part in _SPLIT.split(name):
        if part:
            out.extend(t.lower() for t in _CAMEL.findall(part))
    return tuple(out)


@lru_cache(maxsize=65536)
def norm(name: str) -> str:
    """A spelling-insensitive key: `Payment_IntentID` -> 'paymentintentid'."""
    return "".join(tokens(name))


_IRREGULAR = {
    # the particle ending of a phrasal noun: `top-ups`, `add-ons`, `check-ins`
    "ups": "up",
    "ons": "on",
    "ins": "in",
    "people": "person",
    "children": "child",
    "men": "man",
    "women": "woman",
    "indices": "index",
    "matrices": "matrix",
    "vertices": "vertex",
    "analyses": "analysis",
    "criteria": "criterion",
    "data": "data",
    "media": "media",
    "news": "news",
    "series": "series",
    "species": "species",
    "status": "status",
    "statuses": "status",
    "addresses": "address",
    "aliases": "alias",
    "buses": "bus",
    "quizzes": "quiz",
    "leaves": "leaf",
    "shelves": "shelf",
    "lives": "life",
    "wives": "wife",
    "knives": "knife",
}
_NO_S_PLURAL = ("ss", "us", "is", "ous", "sis")


@lru_cache(maxsize=16384)
def singular(word: str) -> str:
    """English singular of a lowercase word (good enough for REST collection names)."""
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if len(word) <= 3:
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes", "zzes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(_NO_S_PLURAL):
        return word[:-1]
    return word


def singular_name(name: str) -> str:
    """Singularize the last word of an identifier, keeping the rest: `payment_intents` -> `payment_intent`."""
    toks = tokens(name)
    if not toks:
        return name
    return "_".join((*toks[:-1], singular(toks[-1])))


def is_plural(word: str) -> bool:
    toks = tokens(word)
    return bool(toks) and singular(toks[-1]) != toks[-1]


# Verbs that name an action on a resource when they are the last path segment (`POST /orders/{id}/cancel`).
# fmt: off
ACTION_VERBS = frozenset({
    "abandon", "abort", "accept", "acknowledge", "activate", "add", "allocate", "apply", "approve",
    "archive", "assign", "attach", "authorize", "authenticate", "ban", "batch", "block", "book", "bulk",
    "cancel", "capture", "charge", "checkout", "check", "claim", "clear", "clone", "close", "commit",
    "complete", "compute", "confirm", "connect", "convert", "copy", "count", "create", "deactivate",
    "decline", "delete", "deliver", "deny", "deploy", "detach", "disable", "disconnect", "discard",
    "dismiss", "dispatch", "download", "duplicate", "enable", "end", "enqueue", "enroll", "escalate",
    "estimate", "evaluate", "execute", "expire", "export", "extend", "fail", "finalize", "finish", "flag",
    "follow", "fork", "freeze", "fulfill", "generate", "grant", "hide", "hold", "import", "increment",
    "invalidate", "invite", "invoke", "issue", "join", "kill", "leave", "link", "lock", "login", "logout",
    "mark", "merge", "migrate", "move", "mute", "notify", "open", "order", "pause", "pay", "pin", "preview",
    "print", "process", "promote", "publish", "purchase", "purge", "query", "rebuild", "recalculate",
    "receive", "redeem", "refresh", "refund", "regenerate", "reject", "release", "reload", "remove",
    "rename", "renew", "reopen", "reorder", "replace", "replay", "report", "request", "resend", "reserve",
    "reset", "resolve", "restart", "restore", "resume", "retry", "return", "reverse", "revert", "revoke",
    "rollback", "rotate", "run", "schedule", "search", "send", "set", "settle", "share", "ship", "sign",
    "simulate", "skip", "snooze", "split", "start", "stop", "submit", "subscribe", "suspend", "swap",
    "sync", "terminate", "test", "toggle", "track", "transfer", "transition", "trigger", "unarchive",
    "unassign", "unban", "unblock", "undelete", "undo", "unfollow", "unfreeze", "unhide", "unlink",
    "unlock", "unmute", "unpin", "unpublish", "unsubscribe", "unsuspend", "unverify", "update", "upgrade",
    "downgrade", "upload", "upsert", "validate", "verify", "void", "withdraw",
})
# fmt: on

# Actions after which the resource cannot go back: a second call, or any later change, should fail.
# fmt: off
TERMINAL_VERBS = frozenset({
    "abandon", "archive", "cancel", "close", "complete", "decline", "delete", "destroy", "discard", "end",
    "expire", "fail", "finalize", "finish", "invalidate", "kill", "purge", "refund", "reject", "remove",
    "retire", "reverse", "revoke", "terminate", "void", "withdraw",
})
# fmt: on

# Enum values of a state field that usually mean "no way back".
# fmt: off
TERMINAL_VALUES = frozenset({
    "archived", "canceled", "cancelled", "closed", "complete", "completed", "declined", "deleted",
    "delivered", "denied", "destroyed", "discarded", "done", "ended", "expired", "failed", "finalized",
    "finished", "fulfilled", "lost", "paid", "purged", "refunded", "rejected", "removed", "resolved",
    "retired", "returned", "reversed", "revoked", "settled", "shipped", "succeeded", "terminated",
    "uncollectible", "void", "voided", "won",
})
# fmt: on

STATE_WORDS = frozenset({"status", "state", "phase", "stage", "lifecycle"})

# Phrases in prose that mark an action as one-way.
IRREVERSIBLE_PROSE = re.compile(
    r"\b(cannot be undone|can ?not be reversed|irreversibl[ey]|permanently|can(?:not|'t) be (?:re)?(?:opened|"
    r"restored|reactivated|recovered|modified|changed|updated|edited)|no longer be (?:modified|changed|updated|"
    r"edited|used)|is final|are final)\b",
    re.I,
)

# Identifier suffixes that make a field a reference to another resource.
ID_SUFFIXES = frozenset(
    {"id", "ids", "uuid", "uuids", "guid", "ref", "identifier", "slug", "key", "token", "number"}
)

# Names that say nothing about which resource they belong to.
# fmt: off
GENERIC_NAMES = frozenset({
    "id", "ids", "uuid", "name", "names", "title", "description", "desc", "type", "kind", "object", "data",
    "value", "values", "key", "label", "metadata", "meta", "created", "updated", "createdat", "updatedat",
    "createdon", "updatedon", "modified", "modifiedat", "timestamp", "date", "time", "url", "uri", "href",
    "link", "links", "self", "limit", "offset", "page", "pagesize", "perpage", "size", "count", "total",
    "cursor", "after", "before", "next", "previous", "prev", "startingafter", "endingbefore", "pagetoken",
    "nextpagetoken", "expand", "fields", "include", "sort", "order", "orderby", "sortby", "direction", "q",
    "query", "search", "filter", "format", "lang", "language", "locale", "version", "livemode", "hasmore",
    "more", "items", "results", "result", "status", "message", "code", "error", "errors", "details",
})
# fmt: on

# Request fields whose names suggest the server, not the client, should control them.
# fmt: off
PRIVILEGED_NAMES = frozenset({
    "role", "roles", "isadmin", "admin", "issuperuser", "superuser", "isstaff", "staff", "permissions",
    "permission", "scopes", "scope", "privileges", "privilege", "owner", "ownerid", "userid", "accountid",
    "tenantid", "orgid", "organizationid", "createdby", "updatedby", "approvedby", "status", "state",
    "balance", "credit", "credits", "creditlimit", "verified", "isverified", "emailverified",
    "phoneverified", "approved", "isapproved", "price", "unitprice", "amount", "total", "discount",
    "discountpercent", "fee", "fees", "plan", "tier", "quota", "rate", "level", "points", "karma",
    "reputation", "isactive", "active", "enabled", "banned", "locked", "createdat", "updatedat",
    "deletedat", "livemode", "id",
})
# fmt: on

# fmt: off
OWNER_NAMES = frozenset({
    "owner", "ownerid", "userid", "user", "createdby", "createdbyid", "author", "authorid", "accountid",
    "account", "customerid", "tenantid", "orgid", "organizationid", "memberid", "creatorid", "creator",
    "uploaderid",
})
# fmt: on


ACTION_NOUNS: dict[str, str] = {
    "reversal": "reverse",
    "cancellation": "cancel",
    "renewal": "renew",
    "approval": "approve",
    "rejection": "reject",
    "confirmation": "confirm",
    "completion": "complete",
    "termination": "terminate",
    "revocation": "revoke",
    "withdrawal": "withdraw",
    "closure": "close",
    "submission": "submit",
    "activation": "activate",
    "deactivation": "deactivate",
    "suspension": "suspend",
    "publication": "publish",
    "settlement": "settle",
    "redemption": "redeem",
    "expiration": "expire",
    "finalization": "finalize",
}
"""Action sub-paths named by their noun (`/transfers/{id}/reversal`) and the verb they perform."""


def action_verb(segment: str) -> str:
    """The verb an action segment performs: `capture` -> capture, `reversal` -> reverse, `:batchGet` -> batch."""
    toks = tokens(segment) or (segment,)
    joined = "".join(toks)
    if joined in ACTION_NOUNS:
        return ACTION_NOUNS[joined]
    return ACTION_NOUNS.get(toks[0], toks[0])


# Relations between request fields, stated in prose ("Mutually exclusive with `b`") or by sibling names
# (`starts_at`/`ends_at`, `min_price`/`max_price`).
MUTEX_PHRASES = (
    r"mutually[ -]exclusive with",
    r"cannot be (?:used|combined|given|sent|set|specified|provided) (?:together )?with",
    r"can ?not be (?:used|combined|given|sent|set|specified|provided) (?:together )?with",
    r"(?:is |are )?not allowed (?:together )?with",
    r"(?:is |are )?incompatible with",
    r"conflicts with",
    r"must not be (?:used|combined|given|sent|set|specified|provided) (?:together )?with",
    r"excludes",
    r"only if .{0,20}\bnot\b",
)

# Words that mark the lower and the upper end of a time span or a range, one word of a field name.
START_WORDS = frozenset(
    {
        "start",
        "starts",
        "begin",
        "begins",
        "from",
        "since",
        "open",
        "opens",
        "checkin",
        "departure",
        "depart",
        "pickup",
        "earliest",
    }
)
END_WORDS = frozenset(
    {
        "end",
        "ends",
        "until",
        "to",
        "till",
        "finish",
        "finishes",
        "close",
        "closes",
        "checkout",
        "return",
        "arrival",
        "arrive",
        "due",
        "expiry",
        "expires",
        "expiration",
        "deadline",
        "dropoff",
        "latest",
        "through",
        "thru",
        "stop",
    }
)
MIN_WORDS = frozenset({"min", "minimum", "low", "lower", "least", "floor", "gte", "ge", "from"})
MAX_WORDS = frozenset({"max", "maximum", "high", "upper", "most", "ceiling", "lte", "le", "to"})

"""Domain-neutral vocabulary: the words API descriptions use for the concepts the rules look for.

Every list is a set of synonyms across domains (commerce, billing, scheduling, lending, logistics,
identity...), never the names of one API. A rule matches a field or path segment by its *words*
(`starts_at` -> `starts`, `at`), so `valid_from`/`valid_until` and `pickupStart`/`pickupEnd` hit the
same rule as `start_date`/`end_date`.
"""

from __future__ import annotations

import re
from functools import lru_cache

from crossfield.spec._interactions_names import ACTION_NOUNS as ACTION_NOUNS
from crossfield.spec._interactions_names import END_WORDS as END_WORDS
from crossfield.spec._interactions_names import MAX_WORDS as MAX_WORDS
from crossfield.spec._interactions_names import MIN_WORDS as MIN_WORDS
from crossfield.spec._interactions_names import MUTEX_PHRASES as MUTEX_PHRASES
from crossfield.spec._interactions_names import START_WORDS as START_WORDS

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_SPLIT = re.compile(r"[^A-Za-z0-9]+")


@lru_cache(maxsize=8192)
def words(name: str) -> tuple[str, ...]:
    """`starts_at` -> ('starts', 'at'); `pageToken` -> ('page', 'token'); lower-cased."""
    out: list[str] = []
    for chunk in _SPLIT.split(name):
        if chunk:
            out.extend(w.lower() for w in _CAMEL.split(chunk) if w)
    return tuple(out)


@lru_cache(maxsize=8192)
def singular(word: str) -> str:
    """A simple English singular, good enough for path segments (`entries` -> `entry`)."""
    w = word.lower()
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith(("sses", "shes", "ches", "xes", "zes")) and len(w) > 4:
        return w[:-2]
    if w.endswith("s") and not w.endswith(("ss", "us", "is")) and len(w) > 3:
        return w[:-1]
    return w


def norm(name: str) -> str:
    """A name as a comparable key: its words, singularized, joined by `_`."""
    return "_".join(singular(w) for w in words(name))


def has_word(name: str, vocab: frozenset[str]) -> bool:
    return any(w in vocab or singular(w) in vocab for w in words(name))


def last_word(name: str) -> str:
    ws = words(name)
    return singular(ws[-1]) if ws else ""


# ---- identifiers and references ------------------------------------------------------------------------

ID_SUFFIXES = ("_id", "Id", "ID", "_uuid", "Uuid", "_key")
ID_WORDS = frozenset({"id", "uuid", "guid"})

# ---- lifecycle verbs -------------------------------------------------------------------------------------

TERMINAL_VERBS = frozenset(
    {
        "cancel",
        "void",
        "revoke",
        "terminate",
        "close",
        "archive",
        "reject",
        "decline",
        "deactivate",
        "expire",
        "abort",
        "withdraw",
        "retire",
        "discontinue",
        "end",
        "finish",
        "complete",
        "finalize",
        "fulfill",
        "fulfil",
        "ship",
        "deliver",
        "settle",
        "redeem",
        "checkin",
        "checkout",
        "return",
        "dispose",
        "disable",
        "suspend",
        "block",
        "lock",
        "ban",
        "delete",
        "destroy",
        "remove",
        "reverse",
    }
)
"""Verbs after which the object is, at least for a while, no longer live."""

FINAL_VERBS = frozenset(
    {
        "cancel",
        "void",
        "revoke",
        "terminate",
        "reject",
        "decline",
        "expire",
        "abort",
        "withdraw",
        "discontinue",
        "finalize",
        "settle",
        "redeem",
        "dispose",
        "destroy",
        "delete",
        "reverse",
        "return",
    }
)
"""Terminal verbs that are usually irreversible: a second application must fail."""

ONCE_VERBS = frozenset(
    {
        "capture",
        "confirm",
        "approve",
        "accept",
        "publish",
        "ship",
        "deliver",
        "fulfill",
        "fulfil",
        "complete",
        "finalize",
        "settle",
        "submit",
        "send",
        "issue",
        "sign",
        "activate",
        "verify",
        "checkin",
        "checkout",
        "return",
        "redeem",
        "pay",
        "charge",
        "post",
        "release",
        "dispatch",
    }
)
"""Verbs that move an object forward once."""

REVERSAL_NOUNS = frozenset(
    {
        "refund",
        "reversal",
        "chargeback",
        "credit_note",
        "creditnote",
        "cancellation",
        "void",
        "return",
        "rebate",
        "reimbursement",
        "writeoff",
        "write_off",
        "payback",
        "repayment",
    }
)
"""Child objects that give back (part of) what the parent took: bounded by the parent's amount."""

FUNDING_WORDS = frozenset(
    {"deposit", "fund", "funding", "topup", "top", "recharge", "refill", "replenish", "restock", "load"}
)
"""Child objects (or their operations) that add to the parent's balance or stock."""


INVERSE_VERBS: dict[str, frozenset[str]] = {
    "resume": frozenset({"pause", "suspend", "hold", "stop", "freeze"}),
    "unpause": frozenset({"pause"}),
    "unarchive": frozenset({"archive"}),
    "restore": frozenset({"archive", "delete", "remove", "trash", "suspend"}),
    "reopen": frozenset({"close", "resolve", "complete", "finish"}),
    "reactivate": frozenset({"deactivate", "suspend", "disable", "cancel"}),
    "activate": frozenset({"deactivate", "disable"}),
    "enable": frozenset({"disable"}),
    "unlock": frozenset({"lock"}),
    "unblock": frozenset({"block"}),
    "unban": frozenset({"ban"}),
    "unfreeze": frozenset({"freeze"}),
    "thaw": frozenset({"freeze"}),
    "undelete": frozenset({"delete", "remove"}),
    "uncancel": frozenset({"cancel"}),
    "unhold": frozenset({"hold"}),
    "release": frozenset({"hold"}),
    "unpublish": frozenset({"publish"}),
    "unsuspend": frozenset({"suspend"}),
    "checkin": frozenset({"checkout"}),
    "return": frozenset({"borrow", "checkout", "lend", "loan", "rent"}),
}
"""`resume` needs a prior `pause`: the action that brings an object into the state the verb needs."""

LIVE_WORDS = frozenset(
    {"active", "open", "live", "pending", "running", "enabled", "trialing", "confirmed", "placed"}
)
TERMINAL_STATE_WORDS = frozenset(
    {
        "canceled",
        "cancelled",
        "void",
        "voided",
        "revoked",
        "terminated",
        "closed",
        "archived",
        "rejected",
        "declined",
        "expired",
        "aborted",
        "withdrawn",
        "deleted",
        "refunded",
        "completed",
        "finalized",
        "settled",
        "ended",
        "finished",
        "disposed",
        "retired",
        "inactive",
        "deactivated",
        "failed",
    }
)

# ---- inter-parameter prose (MUTEX_PHRASES: see crossfield.spec._interactions_names) ------------------

ONE_OF_PHRASES = (
    r"exactly one of",
    r"only one of",
    r"one and only one of",
    r"either",
    r"one of",
)
ANY_OF_PHRASES = (r"at least one of",)
REQUIRES_PHRASES = (
    r"(?:is |are )?required (?:together )?with",
    r"(?:is |are )?required (?:if|when|whenever)",
    r"requires",
    r"must (?:also )?be (?:given|sent|set|specified|provided|present) (?:together )?with",
    r"must be (?:given|sent|set|specified|provided) (?:if|when)",
    r"(?:is )?only (?:allowed|valid|used) (?:together )?with",
    r"depends on",
    r"needs",
)

# ---- quantities and money -------------------------------------------------------------------------------

AMOUNT_WORDS = frozenset(
    {
        "amount",
        "total",
        "price",
        "cost",
        "fee",
        "value",
        "sum",
        "subtotal",
        "balance",
        "charge",
        "payment",
        "fare",
        "rate",
    }
)
PRICE_WORDS = frozenset({"price", "unit_price", "unit_amount", "cost", "rate", "fare", "fee", "tariff"})
COUNT_WORDS = frozenset(
    {
        "quantity",
        "qty",
        "count",
        "units",
        "unit",
        "seats",
        "seat",
        "guests",
        "guest",
        "attendees",
        "attendee",
        "participants",
        "participant",
        "people",
        "persons",
        "headcount",
        "tickets",
        "copies",
        "pieces",
        "items",
        "nights",
        "passengers",
        "pax",
        "size",
    }
)
"""How many of something a request asks for."""
STOCK_WORDS = frozenset(
    {
        "stock",
        "inventory",
        "available",
        "availability",
        "remaining",
        "onhand",
        "on_hand",
        "supply",
        "quota",
        "allowance",
        "balance",
        "copies",
        "units",
        "tickets",
        "seats",
        "slots",
        "spots",
    }
)
"""A producer's consumable supply: taken by consumers, must never go negative."""
CAPACITY_WORDS = frozenset(
    {"capacity", "max", "maximum", "limit", "occupancy", "seats", "size", "spots", "slots"}
)
"""A producer's per-request limit: a consumer's count must not exceed it."""
DISCOUNT_WORDS = frozenset({"discount", "off", "credit", "rebate", "voucher", "coupon", "promo", "deduction"})
CURRENCY_WORDS = frozenset({"currency", "currency_code", "currencycode", "ccy"})
TAX_WORDS = frozenset({"tax", "vat", "shipping", "fee", "fees", "surcharge", "tip", "gratuity", "handling"})

# ---- time (START_WORDS, END_WORDS, MIN_WORDS, MAX_WORDS: in crossfield.spec._interactions_names) ------

TIME_WORDS = frozenset({"at", "date", "time", "datetime", "day", "on", "timestamp", "ts"})

# ---- pagination ---------------------------------------------------------------------------------------

OFFSET_PARAMS = frozenset({"offset", "skip", "start", "start_index", "startindex", "from"})
SIZE_PARAMS = frozenset(
    {
        "limit",
        "per_page",
        "perpage",
        "page_size",
        "pagesize",
        "size",
        "count",
        "max_results",
        "maxresults",
        "top",
        "take",
        "first",
        "rows",
        "num",
    }
)
PAGE_PARAMS = frozenset({"page", "page_number", "pagenumber", "page_no", "pageno", "page_index", "pageindex"})
CURSOR_PARAMS = frozenset(
    {
        "cursor",
        "page_token",
        "pagetoken",
        "next_token",
        "nexttoken",
        "continuation",
        "continuation_token",
        "continuationtoken",
        "next_cursor",
        "after",
        "starting_after",
        "startingafter",
        "start_after",
        "after_id",
        "afterid",
        "since_id",
        "sinceid",
        "marker",
        "next",
        "page_cursor",
        "pagination_token",
    }
)
AFTER_ITEM_PARAMS = frozenset(
    {
        "starting_after",
        "startingafter",
        "start_after",
        "after_id",
        "afterid",
        "since_id",
        "sinceid",
        "marker",
        "last_id",
        "lastid",
    }
)
"""Cursor parameters whose value is the id of the last item already seen."""
NEXT_CURSOR_FIELDS = frozenset(
    {
        "next_cursor",
        "nextcursor",
        "cursor",
        "next_page_token",
        "nextpagetoken",
        "next_token",
        "nexttoken",
        "continuation_token",
        "continuationtoken",
        "next",
        "end_cursor",
        "endcursor",
        "after",
    }
)
TOTAL_FIELDS = frozenset(
    {
        "total",
        "total_count",
        "totalcount",
        "count",
        "total_results",
        "totalresults",
        "total_items",
        "totalitems",
        "total_size",
        "totalsize",
    }
)
TOTAL_PAGES_FIELDS = frozenset(
    {
        "total_pages",
        "totalpages",
        "page_count",
        "pagecount",
        "pages",
        "num_pages",
        "number_of_pages",
        "pages_total",
    }
)
"""How many pages of the requested size the whole list takes."""
HAS_MORE_FIELDS = frozenset(
    {"has_more", "hasmore", "has_next", "hasnext", "has_next_page", "hasnextpage", "more"}
)
ITEMS_FIELDS = (
    "data",
    "items",
    "results",
    "records",
    "entries",
    "values",
    "content",
    "objects",
    "list",
    "rows",
    "nodes",
)

# ---- identity and privilege -----------------------------------------------------------------------------

OWNER_FIELDS = frozenset(
    {
        "owner",
        "owner_id",
        "ownerid",
        "user_id",
        "userid",
        "created_by",
        "createdby",
        "author_id",
        "authorid",
        "organizer_id",
        "organizerid",
        "customer_id",
        "customerid",
        "account_id",
        "accountid",
        "member_id",
        "memberid",
        "borrower_id",
        "borrowerid",
        "creator",
        "creator_id",
        "creatorid",
        "tenant_id",
        "tenantid",
        "uploader_id",
        "requester_id",
        "requesterid",
        "placed_by",
        "booked_by",
        "holder_id",
    }
)
PRIVILEGED_WORDS = frozenset(
    {
        "role",
        "roles",
        "admin",
        "is_admin",
        "isadmin",
        "superuser",
        "staff",
        "permissions",
        "permission",
        "scopes",
        "scope",
        "owner",
        "owner_id",
        "ownerid",
        "user_id",
        "userid",
        "account_id",
        "accountid",
        "tenant_id",
        "verified",
        "is_verified",
        "approved",
        "status",
        "state",
        "balance",
        "credits",
        "credit",
        "plan",
        "tier",
        "level",
        "created_by",
        "createdby",
        "author_id",
        "organizer_id",
        "customer_id",
        "created_at",
        "updated_at",
        "deleted",
        "banned",
        "locked",
        "trusted",
        "premium",
        "paid",
        "internal",
        "price",
        "amount_paid",
        "amount_refunded",
        "amount_captured",
        "refunded",
        "captured",
    }
)
OWNERSHIP_PROSE = re.compile(
    r"\b(belong(?:s|ing)? to|owned by|owner|only (?:the )?(?:user|caller|account|owner|member|author|organizer)s?\b"
    r"|(?:invisible|not visible|inaccessible|hidden) (?:\(`?\d{3}`?\) )?to other|other (?:users?|accounts?|callers?|members?|tenants?)"
    r"|scoped to the (?:account|user|caller|tenant)|your own|their own)\b",
    re.IGNORECASE,
)
SHARED_PROSE = re.compile(
    r"\b(shared (?:by|with|across|between)|public(?:ly)? (?:visible|readable)|visible to (?:all|every))", re.I
)

SENTENCE_BREAK = re.compile(r"(?<=[.;!?])\s+|\n\s*[*-]\s+|\n{2,}")
"""Where a description's sentences and list items part: what the rules read one sentence at a time."""
IDEMPOTENCY_HEADER = re.compile(r"idempot|dedup|request[-_]?key|replay", re.IGNORECASE)
RETRY_KEY_PROSE = re.compile(
    r"\bidempoten\w*|\bsafe to retry\b|\bde-?duplicat\w*|\bretried\b|\bretries\b", re.IGNORECASE
)
"""A description saying a field makes retries safe: a request id (`requestId`) doing an idempotency
header's work."""
RATE_LIMIT_PROSE = re.compile(
    r"rate[- ]?limit|too many requests|throttl|requests? per (?:second|minute|hour)", re.I
)
RATE_NUMBER = re.compile(
    r"(\d{1,4})\s+(?:[A-Za-z-]+\s+){0,3}?(?:per|/|every|each|within|in)\s+(?:[A-Za-z-]+\s+){0,3}?(second|sec|minute|min|hour|window|day)",
    re.I,
)
UNIQUE_PROSE = re.compile(r"\bunique\b|already (?:exists|taken|in use)|duplicate", re.I)
UNIQUE_NAMES = frozenset(
    {
        "sku",
        "slug",
        "username",
        "handle",
        "login",
        "barcode",
        "serial",
        "serial_number",
        "isbn",
        "ean",
        "upc",
        "code",
        "external_id",
        "reference",
    }
)

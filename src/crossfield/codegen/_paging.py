"""Walking a paginated list: offset, page number, cursor (from the body or the last item) and link styles.

The walk collects every item of every page, stops where the API says the list ends, and refuses to run
forever: it is bounded by `max_pages` and fails on a loop (a cursor or next link seen before, or a page
identical to the one before it), which is itself a pagination bug worth reporting.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol
from urllib.parse import urljoin

from crossfield.codegen._checks import MISSING, excerpt, pointer_get

__all__ = ["Page", "Paging", "WalkStop", "walk_pages"]


@dataclass(frozen=True, slots=True)
class Paging:
    """How to walk a list operation (mirrors the hypothesis contract's `Pagination`)."""

    style: Literal["offset", "page", "cursor", "link"]
    page_size: int = 2
    size_param: str | None = None
    offset_param: str | None = None
    page_param: str | None = None
    first_page: int = 1
    cursor_param: str | None = None
    cursor_pointer: str | None = None
    cursor_from_last_item: str | None = None
    next_pointer: str | None = None
    items_pointer: str = "/data"
    has_more_pointer: str | None = None
    total_pointer: str | None = None
    max_pages: int = 50


class Page(Protocol):
    """What the walk needs from a fetched page."""

    @property
    def status(self) -> int: ...

    @property
    def body(self) -> Any: ...

    @property
    def url(self) -> str: ...


class WalkStop(Exception):
    """The walk cannot go on: a page failed, the list is malformed, or it loops. The message says which."""


# fetch(params, url): `params` maps field paths ('query.offset') to values; `url` is a next link to follow.
Fetch = Callable[[dict[str, Any], str | None], Page]


def walk_pages(fetch: Fetch, paging: Paging) -> tuple[list[Page], list[Any], Any]:
    """Fetch pages until the list ends: (pages, every item in order, the total from the first page)."""
    params: dict[str, Any] = {}
    if paging.size_param:
        params[paging.size_param] = paging.page_size
    if paging.style == "offset" and paging.offset_param:
        params[paging.offset_param] = 0
    if paging.style == "page" and paging.page_param:
        params[paging.page_param] = paging.first_page
    pages: list[Page] = []
    items: list[Any] = []
    total: Any = MISSING
    seen_cursors: set[str] = set()
    seen_links: set[str] = set()
    link: str | None = None
    previous: str | None = None
    for number in range(1, paging.max_pages + 1):
        page = fetch(dict(params), link)
        pages.append(page)
        if not 200 <= page.status < 300:
            raise WalkStop(f"page {number} of the walk returned {page.status}, so the walk cannot continue")
        page_items = pointer_get(page.body, paging.items_pointer)
        if not isinstance(page_items, list):
            raise WalkStop(
                f"page {number}: expected a list of items at {paging.items_pointer or '(body)'}, "
                f"found {excerpt(page_items, 200)}"
            )
        if number == 1 and paging.total_pointer:
            total = pointer_get(page.body, paging.total_pointer)
        fingerprint = json.dumps(page_items, sort_keys=True, default=repr)
        if page_items and fingerprint == previous:
            raise WalkStop(
                f"pagination loop: page {number} repeats page {number - 1} ({len(page_items)} items)"
            )
        previous = fingerprint
        items.extend(page_items)
        if not page_items:
            break
        has_more = pointer_get(page.body, paging.has_more_pointer) if paging.has_more_pointer else MISSING
        if has_more is False:
            break
        short_page = len(page_items) < paging.page_size and has_more is MISSING
        if paging.style in ("offset", "page"):
            if short_page:
                break
            if paging.style == "offset" and paging.offset_param:
                params[paging.offset_param] = params.get(paging.offset_param, 0) + paging.page_size
                if isinstance(total, int) and params[paging.offset_param] >= total and has_more is MISSING:
                    break
            elif paging.page_param:
                params[paging.page_param] = params.get(paging.page_param, paging.first_page) + 1
        elif paging.style == "cursor":
            cursor = _next_cursor(page.body, page_items, paging)
            if cursor in (None, "", MISSING) or (short_page and paging.cursor_from_last_item):
                break
            key = json.dumps(cursor, sort_keys=True, default=repr)
            if key in seen_cursors:
                raise WalkStop(
                    f"pagination loop: page {number} gives cursor {excerpt(cursor, 100)} a second time"
                )
            seen_cursors.add(key)
            if paging.cursor_param:
                params[paging.cursor_param] = cursor
        else:
            nxt = pointer_get(page.body, paging.next_pointer) if paging.next_pointer else MISSING
            if not isinstance(nxt, str) or not nxt:
                break
            link = urljoin(page.url, nxt)
            if link in seen_links:
                raise WalkStop(f"pagination loop: page {number} links to {link} a second time")
            seen_links.add(link)
    else:
        raise WalkStop(
            f"the walk did not reach the end of the list within max_pages={paging.max_pages} "
            f"({len(items)} items so far); raise max_pages or page_size if the list is that long"
        )
    return pages, items, total


def _next_cursor(body: Any, page_items: list[Any], paging: Paging) -> Any:
    if paging.cursor_from_last_item:
        return pointer_get(page_items[-1], paging.cursor_from_last_item)
    if paging.cursor_pointer:
        return pointer_get(body, paging.cursor_pointer)
    return MISSING

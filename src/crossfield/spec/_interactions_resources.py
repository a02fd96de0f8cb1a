"""Resources from path structure, their lifecycle operations and state fields, and the per-operation views
the other builders share.

A path is read the way a person reads REST: `/v1/charges` is a collection, `/v1/charges/{charge}` an item
of it, `/v1/charges/{charge}/refunds` a sub-collection, `/v1/charges/{charge}/capture` an action (its last
segment starts with a verb), `/v1/account` a singleton. Resources are keyed by their collection path with
parameters blanked (`/v1/customers/{}/sources`), so `{charge}` and `{id}` spellings land on one resource.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from crossfield.spec._interactions_facts import (
    FieldRef,
    Resource,
    ResourceAction,
    StateField,
    StateTransition,
)
from crossfield.spec._interactions_names import (
    ACTION_VERBS,
    GENERIC_NAMES,
    ID_SUFFIXES,
    IRREVERSIBLE_PROSE,
    STATE_WORDS,
    TERMINAL_VALUES,
    TERMINAL_VERBS,
    action_verb,
    is_plural,
    norm,
    singular_name,
    tokens,
)
from crossfield.spec.model import Api, Evidence, Field, Operation

_VERSION_SEG = re.compile(r"^(v\d+([a-z]+\d*)?|api|rest|\d+(\.\d+)*)$", re.I)
CUSTOM_METHOD = re.compile(r"^(.+):([A-Za-z][A-Za-z0-9_]*)$")
_RECORD_FIELD = re.compile(
    r"^response(?:\[\]|\.(?:data|items|results|records|entries|values|content|list|elements|nodes|hits|rows"
    r"|objects|resources)\[\])?\.([^.\[\]]+)$"
)
Role = Literal["create", "read", "list", "update", "delete", "action"]


def is_param(seg: str) -> bool:
    return "{" in seg


def param_name(seg: str) -> str:
    m = re.search(r"\{([^}]*)\}", seg)
    return m.group(1) if m else seg


def blank_path(segs: Iterable[str]) -> str:
    return "/" + "/".join("{}" if is_param(s) else s for s in segs)


@dataclass(slots=True)
class OpInfo:
    """How one operation relates to its resource."""

    key: str
    role: Role
    verb: str | None = None
    item_level: bool = False
    collection_path: str | None = None
    item_path: str | None = None
    id_param: str | None = None
    parent_key: str | None = None
    singleton: bool = False
    name_segs: tuple[str, ...] = ()


@dataclass(slots=True)
class _Res:
    key: str
    name: str = ""
    qualified: str = ""
    collection_path: str | None = None
    item_path: str | None = None
    id_param: str | None = None
    roles: dict[str, tuple[int, str]] = field(default_factory=dict)
    actions: list[ResourceAction] = field(default_factory=list)
    ops: list[str] = field(default_factory=list)
    parent_key: str | None = None
    singleton: bool = False
    pointers: list[str] = field(default_factory=list)


def _action_verb(seg: str) -> str | None:
    toks = tokens(seg)
    if toks and toks[0] in ACTION_VERBS and not is_plural(seg):  # `top-ups`, `add-ons`: a collection
        return toks[0]
    return None


def classify(op: Operation, methods_by_path: dict[str, set[str]], parents: set[str]) -> OpInfo | None:
    """Resource key and role of one operation. `parents` holds blanked paths that have a child segment."""
    segs = [s for s in op.path.split("/") if s]
    if not segs:
        return None
    method = op.method.upper()
    custom: str | None = None
    m = CUSTOM_METHOD.match(segs[-1])
    if m and not segs[-1].startswith(":"):
        segs[-1], custom = m.group(1), m.group(2)
    last = segs[-1]
    if is_param(last):
        coll = segs[:-1]
        key = blank_path(coll) if coll else "/"
        info = OpInfo(
            key=key,
            role="action" if custom else _item_role(method),
            verb=action_verb(custom) if custom else None,
            item_level=True,
            collection_path="/" + "/".join(coll),
            item_path="/" + "/".join(segs),
            id_param=f"path.{param_name(last)}",
            name_segs=tuple(coll),
        )
        info.parent_key = _parent_key(coll)
        return info
    verb = custom or _action_verb(last)
    # A verb-named segment below an item that can be read (`GET /migrations/{id}/archive`) is a
    # sub-resource of the item, not an action on it.
    readable_sub = (
        is_param(segs[-2]) if len(segs) >= 2 and "GET" in methods_by_path.get(op.path, ()) else False
    )
    if custom or (verb and len(segs) >= 2 and not readable_sub):
        target = segs if custom else segs[:-1]
        if is_param(target[-1]):
            return OpInfo(
                key=blank_path(target[:-1]) if len(target) > 1 else "/",
                role="action",
                verb=action_verb(verb) if verb else None,
                item_level=True,
                collection_path="/" + "/".join(target[:-1]),
                item_path="/" + "/".join(target),
                id_param=f"path.{param_name(target[-1])}",
                parent_key=_parent_key(target[:-1]),
                name_segs=tuple(target[:-1]),
            )
        return OpInfo(
            key=blank_path(target),
            role="action",
            verb=action_verb(verb) if verb else None,
            collection_path="/" + "/".join(target),
            parent_key=_parent_key(target),
            name_segs=tuple(target),
        )
    blank = blank_path(segs)
    after_param = len(segs) >= 2 and is_param(segs[-2])
    if is_plural(last) or blank in parents:
        return OpInfo(
            key=blank,
            role=_collection_role(method),
            collection_path=op.path,
            parent_key=_parent_key(segs),
            name_segs=tuple(segs),
        )
    if after_param and methods_by_path.get(op.path) == {"POST"}:
        return OpInfo(
            key=blank_path(segs[:-2]) if len(segs) > 2 else "/",
            role="action",
            verb=action_verb(last),
            item_level=True,
            collection_path="/" + "/".join(segs[:-2]),
            item_path="/" + "/".join(segs[:-1]),
            id_param=f"path.{param_name(segs[-2])}",
            parent_key=_parent_key(segs[:-2]),
            name_segs=tuple(segs[:-2]),
        )
    return OpInfo(
        key=blank,
        role=_singleton_role(method),
        item_path=op.path,
        singleton=True,
        parent_key=_parent_key(segs),
        name_segs=tuple(segs),
    )


def _parent_key(coll: list[str]) -> str | None:
    """`[customers, {customer}, sources]` -> `/customers`; None for a top-level collection."""
    if len(coll) >= 3 and is_param(coll[-2]):
        return blank_path(coll[:-2])
    if len(coll) >= 2 and is_param(coll[-1]):  # the collection path ends in a parameter (`/repos/{owner}`)
        return None
    return None


def _item_role(method: str) -> Role:
    return {"GET": "read", "HEAD": "read", "DELETE": "delete"}.get(method, "update")  # type: ignore[return-value]


def _collection_role(method: str) -> Role:
    return {"GET": "list", "HEAD": "list", "POST": "create", "DELETE": "delete"}.get(method, "update")  # type: ignore[return-value]


def _singleton_role(method: str) -> Role:
    return {"GET": "read", "HEAD": "read", "DELETE": "delete"}.get(method, "update")  # type: ignore[return-value]


# Which operation wins a role when several qualify (lower is better).
def _role_priority(info: OpInfo, method: str) -> int:
    if info.role == "update":
        base = {"PATCH": 0, "PUT": 1, "POST": 2}.get(method, 3)
        return base + (0 if info.item_level or info.singleton else 10)
    if info.role == "delete":
        return 0 if info.item_level or info.singleton else 10
    return 0 if method in ("GET", "POST") else 5


def _res_name(segs: tuple[str, ...], id_param: str | None) -> tuple[str, str]:
    """(name, qualified name): `/v1/checkout/sessions` -> ('session', 'checkout_session')."""
    statics = [s for s in segs if not is_param(s) and not _VERSION_SEG.match(s)]
    if segs and is_param(segs[-1]):  # `/repos/{owner}` + `{repo}`: name the resource after its id param
        pname = id_param.split(".", 1)[1] if id_param else param_name(segs[-1])
        toks = [t for t in tokens(pname) if t not in ID_SUFFIXES] or list(tokens(pname))
        name = "_".join(toks)
        return name, name
    if not statics:
        return "root", "root"
    name = singular_name(statics[-1])
    # Qualify with the static segments since the last parameter: `/v1/checkout/sessions` -> checkout_session.
    tail: list[str] = []
    for s in reversed(segs):
        if is_param(s):
            break
        if not _VERSION_SEG.match(s):
            tail.append(s)
    tail.reverse()
    qualified = "_".join([*tail[:-1], name]) if len(tail) > 1 else name
    return name, qualified


def _merge_split(res: dict[str, _Res], info: dict[str, OpInfo]) -> None:
    """One kind of object created under its parent (`POST /accounts/{id}/transfers`) but addressed on its
    own (`GET /transfers/{id}`, `POST /transfers/{id}/reverse`) is one resource: the nested collection, which
    gets the item operations of its shorter twin."""
    for r in list(res.values()):
        if "create" not in r.roles or r.item_path is not None or r.parent_key is None:
            continue
        depth = len(r.key.split("/"))
        twins = [
            o
            for o in res.values()
            if o is not r
            and o.name == r.name
            and "create" not in o.roles
            and o.item_path is not None
            and not o.singleton
            and len(o.key.split("/")) < depth
        ]
        if len(twins) != 1:
            continue
        twin = twins[0]
        r.item_path, r.id_param = twin.item_path, twin.id_param
        for role, value in twin.roles.items():
            if role not in r.roles or value[0] < r.roles[role][0]:
                r.roles[role] = value
        r.actions.extend(twin.actions)
        r.ops.extend(twin.ops)
        r.pointers.extend(twin.pointers)
        for op_id in twin.ops:
            info[op_id].key = r.key
        for o in res.values():
            if o.parent_key == twin.key:
                o.parent_key = r.key
        del res[twin.key]


class ResourceIndex:
    """Resources of an API and the role of each operation in them."""

    def __init__(self, api: Api) -> None:
        self.api = api
        methods_by_path: dict[str, set[str]] = {}
        parents: set[str] = set()
        for op in api.operations:
            methods_by_path.setdefault(op.path, set()).add(op.method.upper())
            segs = [s for s in op.path.split("/") if s]
            for i in range(1, len(segs)):
                parents.add(blank_path(segs[:i]))
        self.info: dict[str, OpInfo] = {}
        res: dict[str, _Res] = {}
        for op in api.operations:
            info = classify(op, methods_by_path, parents)
            if info is None:
                continue
            self.info[op.id] = info
            r = res.get(info.key)
            if r is None:
                r = res[info.key] = _Res(key=info.key)
                r.name, r.qualified = _res_name(info.name_segs, info.id_param)
            r.ops.append(op.id)
            r.pointers.append(op.pointer)
            r.collection_path = r.collection_path or info.collection_path
            r.item_path = r.item_path or info.item_path
            r.id_param = r.id_param or info.id_param
            r.parent_key = r.parent_key or info.parent_key
            r.singleton = r.singleton or (
                info.singleton and not info.item_level and r.collection_path is None
            )
            if info.role == "action":
                text = f"{op.summary} {op.description}"
                prose = IRREVERSIBLE_PROSE.search(text) if text.strip() else None
                r.actions.append(
                    ResourceAction(
                        verb=info.verb or "action",
                        operation_id=op.id,
                        method=op.method.upper(),
                        path=op.path,
                        terminal=(info.verb in TERMINAL_VERBS) or prose is not None,
                        item_level=info.item_level,
                    )
                )
            else:
                prio = _role_priority(info, op.method.upper())
                current = r.roles.get(info.role)
                if current is None or prio < current[0]:
                    r.roles[info.role] = (prio, op.id)
        _merge_split(res, self.info)
        # A parent key only counts when that resource exists.
        self._res = res
        names: dict[str, list[_Res]] = {}
        for r in res.values():
            if r.parent_key is not None and r.parent_key not in res:
                r.parent_key = None
            for n in {norm(r.name), norm(r.qualified)}:
                if n and n not in GENERIC_NAMES:
                    names.setdefault(n, []).append(r)
        for lst in names.values():
            lst.sort(key=lambda r: (r.parent_key is not None, r.collection_path is None, len(r.key)))
        self._names = names
        self.resources: tuple[Resource, ...] = tuple(self._freeze(r) for r in res.values())
        self.by_key: dict[str, Resource] = {r.key: r for r in self.resources}

    def _freeze(self, r: _Res) -> Resource:
        def role(name: str) -> str | None:
            v = r.roles.get(name)
            return v[1] if v else None

        return Resource(
            name=r.name,
            key=r.key,
            collection_path=r.collection_path,
            item_path=r.item_path,
            id_parameter=r.id_param,
            create=role("create"),
            read=role("read"),
            list=role("list"),
            update=role("update"),
            delete=role("delete"),
            actions=tuple(r.actions),
            parent=r.parent_key,
            singleton=r.singleton and r.collection_path is None,
            operations=tuple(r.ops),
            evidence=tuple(Evidence(p) for p in r.pointers[:6]),
        )

    def resource_of(self, op_id: str) -> Resource | None:
        info = self.info.get(op_id)
        return self.by_key.get(info.key) if info else None

    def by_name(self, name: str) -> Resource | None:
        lst = self._names.get(norm(name))
        return self.by_key[lst[0].key] if lst else None


# --- state fields ----------------------------------------------------------------------------------------


_STATE_PROSE = re.compile(
    r"(?:the |its |this )?(?:current |overall )?(?:status|state|lifecycle|phase|stage)\b", re.I
)
_IRREGULAR_PAST = {"pay": "paid", "send": "sent", "begin": "begun", "buy": "bought", "sell": "sold"}


def _is_state(f: Field) -> bool:
    if not f.enum or not any(isinstance(v, str) and v for v in f.enum):
        return False
    toks = tokens(f.name)
    if STATE_WORDS.intersection(toks):
        return True
    return bool(f.description) and _STATE_PROSE.match(f.description) is not None and len(f.enum) >= 2


def _terminal_value(value: str) -> bool:
    toks = tokens(value)
    return norm(value) in TERMINAL_VALUES or (bool(toks) and toks[-1] in TERMINAL_VALUES and len(toks) <= 2)


def _related(verb: str, values: tuple[str, ...]) -> tuple[str, ...]:
    """Values that share the verb's stem: cancel -> canceled, close -> closed, pay -> paid."""
    stem = verb[: min(len(verb), 5)]
    past = _IRREGULAR_PAST.get(verb)
    return tuple(v for v in values if any(t == past or t.startswith(stem) for t in tokens(v)))


@dataclass(slots=True)
class _StateAcc:
    name: str
    values: dict[str, None] = field(default_factory=dict)
    occurrences: list[FieldRef] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    settable: list[tuple[str, Literal["create", "update"], str]] = field(default_factory=list)


def build_state_fields(index: ResourceIndex) -> list[StateField]:
    api = index.api
    groups: dict[tuple[str, str], _StateAcc] = {}
    for op in api.operations:
        res = index.resource_of(op.id)
        if res is None:
            continue
        info = index.info.get(op.id)
        v = view(op)
        for f in [rf for _, rf in v.record] + v.request:
            if f.location == "body":
                if f.path.count(".") != 1 or "[]" in f.path:
                    continue
            elif f.location not in ("query", "response"):
                continue
            if not _is_state(f):
                continue
            g = groups.get((res.key, norm(f.name)))
            if g is None:
                g = groups[(res.key, norm(f.name))] = _StateAcc(f.name)
            for v in f.enum or ():
                if isinstance(v, str) and v:
                    g.values.setdefault(v, None)
            g.occurrences.append(FieldRef(op.id, f.path))
            if len(g.evidence) < 4:
                g.evidence.append(Evidence(f.pointer))
            if f.location == "body" and info is not None and info.role in ("create", "update"):
                g.settable.append((op.id, "create" if info.role == "create" else "update", f.path))
    out: list[StateField] = []
    for (key, _), g in groups.items():
        res = index.by_key[key]
        vals = tuple(g.values)
        transitions: list[StateTransition] = [
            StateTransition(a.operation_id, "action", a.verb, _related(a.verb, vals), a.terminal)
            for a in res.actions
        ]
        transitions += [
            StateTransition(op_id, role, None, (), False, path) for op_id, role, path in g.settable
        ]
        if res.delete:
            transitions.append(StateTransition(res.delete, "delete", "delete", (), True))
        out.append(
            StateField(
                resource=res.name,
                name=g.name,
                values=vals,
                terminal_values=tuple(v for v in vals if _terminal_value(v)),
                occurrences=tuple(g.occurrences[:40]),
                transitions=tuple(transitions),
                client_settable=bool(g.settable),
                evidence=tuple(g.evidence),
            )
        )
    return out


@dataclass(slots=True)
class OpView:
    """One pass over an operation's fields, shared by every builder: request fields, the fields of the
    returned record (`response.x`, `response[].x`, `response.data[].x`) and shallow response fields."""

    request: list[Field]
    record: list[tuple[str, Field]]
    shallow_response: list[Field]


_views: dict[int, tuple[Operation, OpView]] = {}


def view(op: Operation) -> OpView:
    hit = _views.get(id(op))
    if hit is not None and hit[0] is op:
        return hit[1]
    request: list[Field] = []
    record: list[tuple[str, Field]] = []
    shallow: list[Field] = []
    for f in op.fields:
        if f.location != "response":
            request.append(f)
            continue
        path = f.path
        dots = path.count(".")
        if dots > 3:
            continue
        if "[]" not in path:
            shallow.append(f)
        if dots <= 2:
            m = _RECORD_FIELD.match(path)
            if m is not None:
                record.append((m.group(1), f))
    v = OpView(request, record, shallow)
    if len(_views) > 20_000:
        _views.clear()
    _views[id(op)] = (op, v)
    return v


def clear_views() -> None:
    _views.clear()


def record_fields(op: Operation) -> list[tuple[str, Field]]:
    """(name, field) for the response fields that describe the returned record itself."""
    return view(op).record

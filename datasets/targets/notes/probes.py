"""Behavioural probes for the notes target.

Each probe scripts an interaction and asserts the *correct* behaviour: it passes against
``create_app()`` and raises ``AssertionError`` against ``create_app(frozenset({bug_id}))``.
"""

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

ALICE = {"Authorization": "Bearer alice-token"}
BOB = {"Authorization": "Bearer bob-token"}
CAROL = {"Authorization": "Bearer carol-token"}  # admin


def _doc(client: TestClient, headers: dict[str, str] = ALICE, **fields: Any) -> dict[str, Any]:
    body = {"title": "Quarterly plan", "body": "Ship the thing.", **fields}
    resp = client.post("/documents", json=body, headers=headers)
    assert resp.status_code == 201, resp.text
    return resp.json()


def read_other_users_document(client: TestClient) -> None:
    doc = _doc(client, ALICE, title="Salary review")
    resp = client.get(f"/documents/{doc['id']}", headers=BOB)
    assert resp.status_code in (403, 404), f"bob read alice's document: {resp.status_code}"
    resp = client.patch(f"/documents/{doc['id']}", json={"title": "pwned"}, headers=BOB)
    assert resp.status_code in (403, 404)
    assert client.get(f"/documents/{doc['id']}/shares", headers=BOB).status_code in (403, 404)
    assert client.get(f"/documents/{doc['id']}", headers=ALICE).json()["title"] == "Salary review"
    assert client.get(f"/documents/{doc['id']}", headers=CAROL).status_code == 200, "admins read everything"


def tag_filter_leaks_other_users_documents(client: TestClient) -> None:
    secret = _doc(client, ALICE, title="Acquisition", tags=["finance"])
    own = _doc(client, BOB, title="Expenses", tags=["finance", "q3"])
    for params in ({}, {"tag": "finance"}):
        listed = client.get("/documents", params=params, headers=BOB).json()
        ids = [d["id"] for d in listed["data"]]
        assert secret["id"] not in ids, f"bob's list {params} contains alice's document"
        assert ids == [own["id"]] and listed["total"] == 1
    assert client.get("/documents", params={"tag": "q3"}, headers=ALICE).json()["total"] == 0


def read_share_allows_edit(client: TestClient) -> None:
    doc = _doc(client, ALICE, title="Roadmap")
    shared = client.post(f"/documents/{doc['id']}/shares", json={"user_id": "usr_bob"}, headers=ALICE)
    assert shared.status_code == 201 and shared.json()["permission"] == "read"
    assert client.get(f"/documents/{doc['id']}", headers=BOB).status_code == 200
    resp = client.patch(f"/documents/{doc['id']}", json={"title": "Bob's roadmap"}, headers=BOB)
    assert resp.status_code == 403, f"read-only share could edit: {resp.status_code}"
    assert client.get(f"/documents/{doc['id']}", headers=ALICE).json()["title"] == "Roadmap"
    upgraded = client.post(
        f"/documents/{doc['id']}/shares", json={"user_id": "usr_bob", "permission": "edit"}, headers=ALICE
    )
    assert upgraded.status_code == 200 and upgraded.json()["permission"] == "edit"
    resp = client.patch(f"/documents/{doc['id']}", json={"title": "Shared roadmap"}, headers=BOB)
    assert resp.status_code == 200 and resp.json()["title"] == "Shared roadmap"


def owner_id_mass_assignment(client: TestClient) -> None:
    resp = client.post("/documents", json={"title": "Planted", "owner_id": "usr_bob"}, headers=ALICE)
    assert resp.status_code in (201, 400, 422), resp.text
    if resp.status_code == 201:
        doc = resp.json()
        assert doc["owner_id"] == "usr_alice", f"owner_id taken from the body: {doc['owner_id']}"
        assert client.get(f"/documents/{doc['id']}", headers=ALICE).status_code == 200
        assert client.get(f"/documents/{doc['id']}", headers=BOB).status_code == 404
    assert client.get("/documents", headers=BOB).json()["total"] == 0


def role_mass_assignment(client: TestClient) -> None:
    doc = _doc(client, ALICE, title="Board minutes")
    resp = client.put(
        "/users/me", json={"name": "Bob", "email": "bob@example.com", "role": "admin"}, headers=BOB
    )
    assert resp.status_code in (200, 400, 422), resp.text
    if resp.status_code == 200:
        assert resp.json()["role"] == "member", "role taken from the body"
    assert client.get("/users/me", headers=BOB).json()["role"] == "member"
    assert client.get(f"/documents/{doc['id']}", headers=BOB).status_code == 404


def create_rate_limit_not_enforced(client: TestClient) -> None:
    for i in range(20):
        resp = client.post("/documents", json={"title": f"note {i}"}, headers=ALICE)
        assert resp.status_code == 201, resp.text
        assert resp.headers["X-RateLimit-Remaining"] == str(19 - i)
    limited = client.post("/documents", json={"title": "one too many"}, headers=ALICE)
    assert limited.status_code == 429, f"21st create within a minute returned {limited.status_code}"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert client.get("/documents", headers=ALICE).json()["total"] == 20
    assert client.post("/documents", json={"title": "bob is fine"}, headers=BOB).status_code == 201


def title_max_length_ignored(client: TestClient) -> None:
    resp = client.post("/documents", json={"title": "x" * 201}, headers=ALICE)
    assert resp.status_code in (400, 422), f"201-character title accepted: {resp.status_code}"
    doc = _doc(client, ALICE, title="y" * 200)
    resp = client.patch(f"/documents/{doc['id']}", json={"title": "z" * 5000}, headers=ALICE)
    assert resp.status_code in (400, 422), f"5000-character title accepted on update: {resp.status_code}"


def too_many_tags_accepted(client: TestClient) -> None:
    tags = [f"tag-{i}" for i in range(11)]
    resp = client.post("/documents", json={"title": "Tagged", "tags": tags}, headers=ALICE)
    assert resp.status_code in (400, 422), f"11 tags accepted: {resp.status_code}"
    assert len(_doc(client, ALICE, tags=tags[:10])["tags"]) == 10


def smoke(client: TestClient) -> None:
    """Happy paths and error paths not covered by the bug probes (schema coverage)."""
    assert client.get("/users/me").status_code == 401
    assert client.get("/documents", headers={"Authorization": "Bearer alice"}).status_code == 401
    me = client.get("/users/me", headers=ALICE).json()
    assert me["id"] == "usr_alice" and me["role"] == "member"
    assert client.get("/users/me", headers=CAROL).json()["role"] == "admin"
    renamed = client.put("/users/me", json={"name": "Alice L.", "email": "al@example.org"}, headers=ALICE)
    assert renamed.status_code == 200 and renamed.json()["name"] == "Alice L."
    assert client.put("/users/me", json={"name": "Alice"}, headers=ALICE).status_code == 422
    assert client.post("/documents", content=b"{'title': 1}", headers=ALICE).status_code == 400
    assert client.post("/documents", json={"title": ""}, headers=ALICE).status_code == 422
    assert (
        client.post("/documents", json={"title": "t", "tags": ["a", "a"]}, headers=ALICE).status_code == 422
    )
    assert (
        client.post("/documents", json={"title": "t", "tags": ["Not OK"]}, headers=ALICE).status_code == 422
    )
    created = client.post("/documents", json={"title": "Minimal"}, headers=ALICE)
    doc = created.json()
    assert doc["body"] == "" and doc["tags"] == [] and doc["owner_id"] == "usr_alice"
    assert created.headers["X-RateLimit-Limit"] == "20"
    assert client.get(created.headers["Location"], headers=ALICE).json() == doc
    other = _doc(client, ALICE, title="Second")
    page = client.get("/documents", params={"limit": 1, "offset": 1}, headers=ALICE).json()
    assert page["total"] == 2 and [d["id"] for d in page["data"]] == [other["id"]]
    assert client.get("/documents", params={"offset": -1}, headers=ALICE).status_code == 422
    share_url = f"/documents/{doc['id']}/shares"
    assert client.post(share_url, json={"user_id": "usr_alice"}, headers=ALICE).status_code == 422
    assert client.post(share_url, json={"user_id": "usr_nobody"}, headers=ALICE).status_code == 422
    assert client.post(share_url, json={"user_id": "usr_carol"}, headers=BOB).status_code == 404
    edit = client.post(share_url, json={"user_id": "usr_bob", "permission": "edit"}, headers=ALICE)
    assert edit.status_code == 201 and edit.headers["Location"].endswith("/usr_bob")
    shares = client.get(share_url, headers=BOB).json()
    assert shares["total"] == 1 and shares["data"][0]["user_id"] == "usr_bob"
    assert client.post(share_url, json={"user_id": "usr_carol"}, headers=BOB).status_code == 403
    assert client.delete(f"/documents/{doc['id']}", headers=BOB).status_code == 403
    assert client.delete(f"{share_url}/usr_bob", headers=BOB).status_code == 403
    assert (
        client.patch(f"/documents/{doc['id']}", json={"title": "Carol was here"}, headers=CAROL).status_code
        == 403
    )
    edited = client.patch(f"/documents/{doc['id']}", json={"body": "by bob", "tags": ["draft"]}, headers=BOB)
    assert edited.status_code == 200 and edited.json()["owner_id"] == "usr_alice"
    assert client.delete(f"{share_url}/usr_bob", headers=ALICE).status_code == 204
    assert client.delete(f"{share_url}/usr_bob", headers=ALICE).status_code == 404
    assert client.get(f"/documents/{doc['id']}", headers=BOB).status_code == 404, "revoked share"
    assert client.delete(f"/documents/{doc['id']}", headers=ALICE).status_code == 204
    assert client.get(f"/documents/{doc['id']}", headers=ALICE).status_code == 404
    assert client.delete(f"/documents/{doc['id']}", headers=ALICE).status_code == 404


PROBES: dict[str, Callable[[TestClient], None]] = {
    "read-other-users-document": read_other_users_document,
    "tag-filter-leaks-other-users-documents": tag_filter_leaks_other_users_documents,
    "read-share-allows-edit": read_share_allows_edit,
    "owner-id-mass-assignment": owner_id_mass_assignment,
    "role-mass-assignment": role_mass_assignment,
    "create-rate-limit-not-enforced": create_rate_limit_not_enforced,
    "title-max-length-ignored": title_max_length_ignored,
    "too-many-tags-accepted": too_many_tags_accepted,
}

SMOKE: list[Callable[[TestClient], None]] = [smoke]

"""Each supported format and version loads into the same model: Swagger 2.0, OpenAPI 3.0 and 3.1, YAML and
JSON, Postman v2.1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from crossfield.spec import Api, load_spec, load_spec_from_text


def _load(path: Path) -> Api:
    return load_spec(path, cache=False)


def test_swagger_2(specs: Path) -> None:
    api = _load(specs / "petstore-2.0.yaml")
    assert api.source_format == "openapi-2.0"
    assert (api.title, api.version) == ("Petstore", "1.0")
    assert api.servers == ("https://pets.example.com/v1",)
    assert [op.id for op in api.operations] == ["listPets", "createPet", "getPet", "deletePet", "uploadPhoto"]
    create = api.operation("createPet")
    assert create is not None and create.request_body_required
    assert create.body_schema == {"$ref": "#/$defs/NewPet"}
    body = {f.path: f for f in create.fields if f.location == "body"}
    assert (
        body["body.name"].required
        and body["body.name"].min_length == 1
        and body["body.name"].max_length == 64
    )
    assert body["body.tag"].nullable  # x-nullable
    assert body["body.status"].enum == ("available", "pending", "sold")
    # Field pointers lead to where the property is written: below a `$ref`, inside the definition.
    assert body["body.name"].pointer == "/definitions/NewPet/properties/name"
    _assert_pointers_resolve(specs / "petstore-2.0.yaml", api)
    # Path-level parameters are shared by the operations below them.
    get = api.operation("getPet")
    assert get is not None and get.parameter("path", "petId") is not None
    # formData becomes a multipart body; `type: file` a binary string.
    upload = api.operation("uploadPhoto")
    assert upload is not None and upload.body_media_type == "multipart/form-data"
    assert api.field("uploadPhoto", "body.file") is not None
    assert api.field("uploadPhoto", "body.file").format == "binary"  # type: ignore[union-attr]
    assert api.field("uploadPhoto", "body.caption").max_length == 140  # type: ignore[union-attr]
    # allOf is folded; Swagger's boolean exclusiveMinimum becomes the 2020-12 number form.
    price = api.field("createPet", "response.price")
    assert price is not None and price.exclusive_minimum == 0 and price.minimum is None
    listing = api.field("listPets", "query.limit")
    assert listing is not None and (listing.minimum, listing.maximum, listing.default) == (1, 100, 20)
    assert api.field("listPets", "response[].id") is not None


def test_openapi_30(specs: Path) -> None:
    api = _load(specs / "shop-3.0.yaml")
    assert api.source_format == "openapi-3.0"
    assert api.servers == ("https://shop.example.com/api",)
    fields = {f.path: f for f in api.operation("createOrder").fields}  # type: ignore[union-attr]
    assert (
        fields["body.items"].required
        and fields["body.items"].min_items == 1
        and fields["body.items"].max_items == 50
    )
    assert fields["body.items[].sku"].pattern == "^[A-Z]{3}-[0-9]+$"
    assert fields["body.items[].quantity"].required
    assert (fields["body.items[].quantity"].minimum, fields["body.items[].quantity"].maximum) == (1, 99)
    assert fields["body.note"].nullable and not fields["body.items"].nullable
    assert fields["response.id"].read_only and fields["response.id"].format == "uuid"
    assert fields["response.status"].enum == ("open", "paid", "canceled")
    # YAML 1.2 semantics: `on`/`yes`/`no` are strings, dates stay strings.
    assert "body.on" in fields and fields["body.on"].enum == ("yes", "no")
    assert fields["response.placed_on"].examples == ("2024-01-31",)
    # A $ref'd parameter.
    get = api.operation("getOrder")
    assert get is not None and get.parameter("path", "orderId").schema["format"] == "uuid"  # type: ignore[union-attr]
    assert get.parameter("path", "orderId").pointer == "/components/parameters/OrderId"  # type: ignore[union-attr]
    # The response pointer leads to the property inside the schema the response references.
    assert fields["response.id"].pointer == "/components/schemas/Order/allOf/1/properties/id"
    _assert_pointers_resolve(specs / "shop-3.0.yaml", api)


def _assert_pointers_resolve(path: Path, api: Api) -> None:
    """Every field pointer can be followed in the source document (a pointer through a `$ref` could not)."""
    from crossfield.spec._source import parse_document, split_pointer

    doc = parse_document(path.read_bytes(), str(path))
    for op in api.operations:
        for f in op.fields:
            node = doc
            for token in split_pointer(f.pointer):
                assert isinstance(node, dict | list), (op.id, f.path, f.pointer)
                node = node[int(token)] if isinstance(node, list) else node.get(token, node.get(_int(token)))
                assert node is not None, (op.id, f.path, f.pointer)


def _int(token: str) -> int | str:
    return int(token) if token.isdigit() else token


def test_openapi_31_json(specs: Path) -> None:
    api = _load(specs / "shop-3.1.json")
    assert api.source_format == "openapi-3.1"
    price = api.field("getItem", "response.price")
    assert price is not None and price.nullable and price.type == "number" and price.exclusive_minimum == 0
    weight = api.field("getItem", "response.weight")
    assert weight is not None and weight.nullable
    # 3.1 keeps a description next to a $ref.
    op = api.operation("getItem")
    assert op is not None and op.success_schema == {"$ref": "#/$defs/Item", "description": "The item."}
    assert api.field("replaceItem", "body.name").required  # type: ignore[union-attr]
    assert api.field("getItem", "path.id").minimum == 1  # type: ignore[union-attr]


def test_yaml_and_json_give_the_same_api(specs: Path, tmp_path: Path) -> None:
    doc = yaml.safe_load((specs / "petstore-2.0.yaml").read_text())
    as_json = tmp_path / "petstore.json"
    as_json.write_text(json.dumps(doc))
    a, b = _load(specs / "petstore-2.0.yaml"), _load(as_json)
    assert [op.id for op in a.operations] == [op.id for op in b.operations]
    assert [f.path for op in a.operations for f in op.fields] == [
        f.path for op in b.operations for f in op.fields
    ]


def test_load_spec_from_text() -> None:
    api = load_spec_from_text(
        "openapi: 3.1.0\ninfo: {title: T, version: '1'}\npaths:\n  /a:\n    get:\n      responses:\n"
        "        '200': {description: ok}\n"
    )
    assert [op.id for op in api.operations] == ["GET /a"]


def test_postman_collection(specs: Path) -> None:
    api = _load(specs / "postman.json")
    assert api.source_format == "postman-2.1"
    assert api.title == "Notes collection"
    assert api.servers == ("https://notes.example.com",)
    # Folders are flattened; `:id` and `{{noteId}}` become path parameters.
    assert [op.id for op in api.operations] == [
        "POST /notes",
        "GET /notes/{id}",
        "DELETE /notes/{noteId}",
        "GET /health",
    ]
    get = api.operation("GET /notes/{id}")
    assert get is not None and get.parameter("path", "id") is not None
    delete = api.operation("DELETE /notes/{noteId}")
    assert delete is not None and delete.parameter("query", "hard") is not None
    health = api.operation("GET /health")
    assert health is not None and health.parameter("query", "verbose").schema["type"] == "integer"  # type: ignore[union-attr]
    # A raw JSON body is inferred into a schema, `{{var}}` placeholders included.
    create = api.operation("POST /notes")
    assert create is not None
    body = {f.path: f for f in create.fields if f.location == "body"}
    assert body["body.title"].type == "string" and body["body.title"].required
    assert body["body.pinned"].type == "boolean"
    assert (
        body["body.tags"].type == "array" and body["body.tags[]"].type == "string"
        if "body.tags[]" in body
        else True
    )
    assert body["body.owner"].type == "string"
    assert body["body.due"].format == "date"
    assert create.parameter("header", "Idempotency-Key") is not None
    response = {f.path: f for f in create.fields if f.location == "response"}
    assert response["response.id"].format == "uuid"
    assert response["response.created_at"].format == "date-time"


@pytest.mark.parametrize("name", ["petstore-2.0.yaml", "shop-3.0.yaml", "shop-3.1.json", "postman.json"])
def test_models_are_immutable_and_typed(specs: Path, name: str) -> None:
    api = _load(specs / name)
    op = api.operations[0]
    with pytest.raises(AttributeError):
        op.path = "/x"  # type: ignore[misc]
    for f in op.fields:
        with pytest.raises(AttributeError):
            f.path = "x"  # type: ignore[misc]
        assert f.path.split(".", 1)[0].split("[", 1)[0] in (
            "path",
            "query",
            "header",
            "cookie",
            "body",
            "response",
        )
        assert f.to_dict()["path"] == f.path

"""`$ref` resolution across local pointers and relative files.

A `Location` names a node by (document URI, JSON pointer). Documents are loaded once and kept. Every
file that took part in a load is recorded with its content hash, so the load cache can tell when any of
them changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from crossfield.errors import SpecError, UnresolvableRefError
from crossfield.spec._source import content_hash, line_of, parse_document, read_bytes, split_pointer

_MAX_REF_CHAIN = 64


@dataclass(frozen=True, slots=True)
class Location:
    uri: str  # absolute file path of the document
    pointer: str  # JSON pointer inside it, "" for the root


class Resolver:
    def __init__(self, root_path: Path, root_document: Any, root_hash: str) -> None:
        self.root_uri = str(root_path.resolve())
        self.documents: dict[str, Any] = {self.root_uri: root_document}
        self.hashes: dict[str, str] = {self.root_uri: root_hash}

    def document(self, uri: str, *, referrer: Location) -> Any:
        if uri not in self.documents:
            path = Path(uri)
            try:
                data = read_bytes(path)
            except SpecError as exc:
                raise UnresolvableRefError(
                    f"$ref points to a file that cannot be read: {uri} ({exc.message})",
                    file=referrer.uri,
                    line=line_of(Path(referrer.uri), referrer.pointer),
                    pointer=referrer.pointer,
                ) from None
            self.documents[uri] = parse_document(data, uri)
            self.hashes[uri] = content_hash(data)
        return self.documents[uri]

    def target(self, ref: str, referrer: Location) -> Location:
        """Where a `$ref` string written at `referrer` points to."""
        file_part, _, fragment = ref.partition("#")
        if file_part:
            if "://" in file_part:
                raise UnresolvableRefError(
                    f"remote $ref {ref!r} is not supported: crossfield does not fetch over the network",
                    file=referrer.uri,
                    line=line_of(Path(referrer.uri), referrer.pointer),
                    pointer=referrer.pointer,
                    hint="download the referenced document and point the $ref at the local file",
                )
            uri = str((Path(referrer.uri).parent / unquote(file_part)).resolve())
        else:
            uri = referrer.uri
        return Location(uri, unquote(fragment))

    def node_at(self, location: Location, referrer: Location) -> Any:
        node = self.document(location.uri, referrer=referrer)
        for token in split_pointer(location.pointer):
            if isinstance(node, dict) and token in node:
                node = node[token]
            elif (isinstance(node, dict) and token.isdigit() and int(token) in node) or (
                isinstance(node, list) and token.isdigit() and int(token) < len(node)
            ):  # `200:` read as an int
                node = node[int(token)]
            else:
                raise UnresolvableRefError(
                    f"$ref target {location.pointer or '/'} does not exist in {Path(location.uri).name}",
                    file=referrer.uri,
                    line=line_of(Path(referrer.uri), referrer.pointer),
                    pointer=referrer.pointer,
                    hint="check the spelling of the referenced name and that the component is defined",
                )
        return node

    def deref(self, node: Any, where: Location) -> tuple[Any, Location]:
        """Follow a chain of `$ref`s (a ref to a ref ...) to a node that is not a bare reference."""
        seen: set[Location] = set()
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            target = self.target(node["$ref"], Location(where.uri, where.pointer + "/$ref"))
            if target in seen or len(seen) > _MAX_REF_CHAIN:
                raise UnresolvableRefError(
                    f"$ref chain loops without reaching a definition ({node['$ref']})",
                    file=where.uri,
                    line=line_of(Path(where.uri), where.pointer),
                    pointer=where.pointer,
                )
            seen.add(target)
            node = self.node_at(target, Location(where.uri, where.pointer + "/$ref"))
            where = target
        return node, where

"""`crossfield inspect`: a snapshot of the readable report on a small spec, the JSON document, errors on
stderr with exit code 2, and every spec of the shared corpora either loading or failing clearly."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crossfield.cli import app

REPO = Path(__file__).resolve().parents[2]
CORPORA = REPO.parent / "shared" / "corpora"
SNAPSHOT = REPO / "tests" / "fixtures" / "specs" / "inspect-interactions.txt"
ENV = {"COLUMNS": "120", "NO_COLOR": "1", "TERM": "dumb"}


def _invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["inspect", *args], env=ENV)
    return result.exit_code, result.stdout, result.stderr


def test_report_snapshot(specs: Path) -> None:
    spec = specs / "interactions-3.0.yaml"
    code, out, err = _invoke(str(spec), "--no-cache")
    assert code == 0, err
    text = "\n".join(line.rstrip() for line in out.replace(str(spec), "<SPEC>").splitlines()) + "\n"
    if os.environ.get("CROSSFIELD_UPDATE_SNAPSHOTS") or not SNAPSHOT.exists():
        SNAPSHOT.write_text(text)
    assert text == SNAPSHOT.read_text(), "re-run with CROSSFIELD_UPDATE_SNAPSHOTS=1 to accept the new output"


def test_report_sections(specs: Path) -> None:
    code, out, _ = _invoke(str(specs / "interactions-3.0.yaml"), "--examples", "20")
    assert code == 0
    assert out.splitlines()[0].startswith("Interactions 1  (openapi-3.0)")
    assert "12 operations" in out
    for heading in ("Operations by resource", "Interaction facts"):
        assert heading in out
    for kind in (
        "link",
        "resource",
        "state_field",
        "field_relation",
        "idempotency_key",
        "pagination",
        "shared_field",
        "ownership",
        "privileged_field",
        "rate_limit",
    ):
        assert f"  {kind}: " in out
    assert "createCharge.response.id -> captureCharge.path.charge_id" in out


def test_report_lists_broken_operations(specs: Path) -> None:
    code, out, _ = _invoke(str(specs / "bad" / "one-broken-op.yaml"))
    assert code == 0
    assert "Operations that could not be read (1)" in out
    assert "/paths/~1broken/get (line 21): $ref points to a file that cannot be read" in out


def test_json_document(specs: Path) -> None:
    code, out, _ = _invoke(str(specs / "interactions-3.0.yaml"), "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["format"] == "crossfield.inspect/1"
    assert doc["api"]["title"] == "Interactions" and doc["api"]["operations"] == 12
    ops = {o["id"]: o for o in doc["operations"]}
    assert ops["captureCharge"]["resource"] == "charge" and ops["captureCharge"]["role"] == "action:capture"
    assert ops["listCustomers"]["role"] == "list"
    assert doc["facts"]["counts"]["link"] == len(doc["facts"]["links"]) > 0
    assert doc["errors"] == []


@pytest.mark.parametrize(
    ("name", "kind", "line"),
    [
        ("bad/not-yaml.yaml", "not valid YAML", True),
        ("bad/not-api.yaml", "not an API description", True),
        ("bad/unsupported.yaml", "not supported", True),
        ("bad/unresolvable-ref.yaml", "does not exist", True),
        ("missing.yaml", "file not found", False),
    ],
)
def test_errors_go_to_stderr_with_exit_code_2(specs: Path, name: str, kind: str, line: bool) -> None:
    code, out, err = _invoke(str(specs / name))
    assert code == 2
    assert out == ""
    assert err.startswith("error: ")
    assert kind in err
    assert Path(name).name in err
    if line:
        assert any(part.split(":")[0].isdigit() for part in err.split(".yaml:")[1:]), err
    if name == "bad/unresolvable-ref.yaml":
        assert "at /paths/~1things/get/responses/200/content/application~1json/schema/$ref" in err
    if name == "missing.yaml":
        assert "hint:" in err


def _corpus_specs() -> list[Path]:
    if not CORPORA.is_dir():
        return []
    return sorted(p for p in CORPORA.rglob("*") if p.suffix.lower() in (".yaml", ".yml", ".json"))


@pytest.mark.shared
@pytest.mark.slow
@pytest.mark.skipif(not CORPORA.is_dir(), reason=f"shared corpora not found at {CORPORA} (../shared/corpora)")
@pytest.mark.parametrize("spec", _corpus_specs() or [Path("absent")], ids=lambda p: p.name)
def test_inspect_every_corpus_spec(spec: Path) -> None:
    code, out, err = _invoke(str(spec), "--json", "--no-cache")
    if code == 0:
        doc = json.loads(out)
        assert doc["api"]["operations"] > 0
        assert len(doc["operations"]) == doc["api"]["operations"]
        assert doc["api"]["errors"] == len(doc["errors"])
        for e in doc["errors"]:
            assert e["pointer"].startswith("/") and e["message"]
    else:
        assert code == 2, err
        assert err.startswith("error: ") and spec.name in err

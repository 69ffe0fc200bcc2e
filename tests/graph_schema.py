"""The contract's graph schema, for tests to validate against."""

import json
import os
from functools import cache
from pathlib import Path

import jsonschema

from topology.inventory.invariants import check_graph

CONTRACT = Path("shared") / "contract" / "graph.schema.json"


def schema_path() -> Path:
    """``$TOPOLOGY_CONTRACT_DIR``, else the nearest ``shared/contract`` above this checkout."""
    if folder := os.environ.get("TOPOLOGY_CONTRACT_DIR"):
        return Path(folder) / CONTRACT.name
    here = Path(__file__).resolve()
    for folder in here.parents:
        if (folder / CONTRACT).is_file():
            return folder / CONTRACT
    raise FileNotFoundError(
        f"no {CONTRACT} above {here.parent}: set TOPOLOGY_CONTRACT_DIR to the contract's folder"
    )


@cache
def _schema() -> dict:
    return json.loads(schema_path().read_text())


def validate_graph(graph: dict) -> None:
    """The contract's schema, then every invariant of ``inventory.invariants``."""
    jsonschema.validate(graph, _schema(), cls=jsonschema.Draft202012Validator)
    check_graph(graph)
    ids = [node["id"] for node in graph["nodes"]]
    assert len(ids) == len(set(ids)), "node ids are unique"
    known = set(ids)
    for node in graph["nodes"]:
        assert node["parent"] is None or node["parent"] in known, f"{node['id']} has a parent"
    for edge in graph["edges"]:
        assert edge["source"] in known and edge["target"] in known, edge

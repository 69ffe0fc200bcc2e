"""The contract's graph schema, for tests to validate against."""

import json
from pathlib import Path

import jsonschema

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "shared" / "contract" / "graph.schema.json"


def validate_graph(graph: dict) -> None:
    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.validate(graph, schema, cls=jsonschema.Draft202012Validator)
    ids = [node["id"] for node in graph["nodes"]]
    assert len(ids) == len(set(ids)), "node ids are unique"
    known = set(ids)
    for node in graph["nodes"]:
        assert node["parent"] is None or node["parent"] in known, f"{node['id']} has a parent"
    for edge in graph["edges"]:
        assert edge["source"] in known and edge["target"] in known, edge

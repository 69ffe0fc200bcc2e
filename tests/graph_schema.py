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


# The websocket's v2 messages that carry no graph (contract README, "Websocket messages"). The
# README gives their shapes by example; these schemas say what the examples say (the server may
# add fields: ``limit_set`` and ``history`` in ``stats``, ``ended`` and ``notice`` in ``log``).
_CONTAINER_NODE = "^container:[0-9a-f]{64}$"
_TIME = {
    "type": "string",
    "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$",
}
STATS_MESSAGE = {
    "type": "object",
    "required": ["type", "at", "samples"],
    "properties": {
        "type": {"const": "stats"},
        "at": _TIME,
        "samples": {
            "type": "object",
            "propertyNames": {"pattern": _CONTAINER_NODE},
            "additionalProperties": {
                "type": "object",
                "required": ["cpu_percent", "mem_bytes", "mem_limit"],
                "properties": {
                    "cpu_percent": {"type": ["number", "null"], "minimum": 0},
                    "mem_bytes": {"type": "integer", "minimum": 0},
                    "mem_limit": {"type": ["integer", "null"], "minimum": 0},
                },
            },
        },
    },
}
LOG_MESSAGE = {
    "type": "object",
    "required": ["type", "node", "lines"],
    "properties": {
        "type": {"const": "log"},
        "node": {"type": "string", "pattern": _CONTAINER_NODE},
        "lines": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["at", "stream", "text"],
                "properties": {
                    "at": {"anyOf": [_TIME, {"const": ""}]},  # "": the engine gave none
                    "stream": {"enum": ["stdout", "stderr"]},
                    "text": {"type": "string"},
                },
            },
        },
    },
}


def validate_message(message: dict) -> None:
    """A ``stats`` or ``log`` message as the contract gives them (times in ISO 8601)."""
    schema = {"stats": STATS_MESSAGE, "log": LOG_MESSAGE}[message["type"]]
    jsonschema.validate(message, schema, cls=jsonschema.Draft202012Validator)

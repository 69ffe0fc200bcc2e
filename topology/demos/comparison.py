"""The DinD vs DooD table, cell by cell, from what the engines said (a pure function).

Each row answers one question for both scenarios; every cell is worded from the facts read
from the engines at that moment (``engine.demo_facts``) and from the last build experiment
(``engine.build_probe``), never typed in advance. A cell names the graph nodes it is about
(``highlight``), so that a row links to the map with them lit up. Text that came from a daemon
is returned as data: the pages set it with ``textContent``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from topology.engine.demo_facts import CachedImage, DemoFacts, Listed, Privileges
from topology.engine.dind import capability_names

KINDS = ("dind", "dood")
KIND_NAMES = {"dind": "DinD", "dood": "DooD"}
MAX_NAMES = 6
MAX_HIGHLIGHT = 60

Cell = dict[str, Any]
Row = dict[str, Any]


@dataclass(frozen=True)
class Column:
    """One side of the table: a demo of that kind (or none), what its engines say, its build."""

    kind: str
    demo: dict[str, Any] | None
    facts: DemoFacts | None
    build: dict[str, Any] | None


def daemon_node(engine_id: str) -> str:
    return f"daemon:{engine_id}"


def container_node(hex_id: str) -> str:
    return f"container:{hex_id}"


def size_text(size: int) -> str:
    """Bytes as Docker prints them (decimal units)."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} B"


def names_text(listed: tuple[Listed, ...] | list[Listed], limit: int = MAX_NAMES) -> str:
    names = [item.name for item in listed]
    if not names:
        return "nothing"
    shown = ", ".join(names[:limit])
    return shown if len(names) <= limit else f"{shown} and {len(names) - limit} more"


def short_id(engine_id: str) -> str:
    return engine_id if len(engine_id) <= 19 else f"{engine_id[:19]}…"


def cell(summary: str, details: list[str] | None = None, highlight: list[str] | None = None,
         tone: str = "") -> Cell:  # fmt: skip
    return {
        "summary": summary,
        "details": details or [],
        "highlight": list(dict.fromkeys(highlight or []))[:MAX_HIGHLIGHT],
        "tone": tone,
    }


def missing(column: Column) -> Cell:
    name = KIND_NAMES[column.kind]
    if column.demo is None:
        text = f"No running {name} demo: launch one to fill this column."
    elif column.demo["status"] != "running":
        text = f"The {name} demo is {column.demo['status']}."
    else:
        text = "The engine did not answer; this fills in when it does."
    return {**cell(text), "missing": True}


def _inside_engine(facts: DemoFacts) -> str:
    return facts.inside.engine_id if facts.inside else ""


def _same_engine(facts: DemoFacts) -> bool:
    return bool(facts.inside and facts.host and facts.inside.engine_id == facts.host.engine_id)


# --- the rows, one function each --------------------------------------------------------------


def daemon_cell(facts: DemoFacts) -> Cell:
    if facts.inside is None:
        return cell("The docker CLI inside did not reach a daemon.", tone="bad")
    inside = facts.inside
    details = [f"engine ID {inside.engine_id}", f"Docker {inside.version or 'unknown version'}"]
    if _same_engine(facts):
        summary = "The host's own daemon, reached through the mounted socket"
        details.append("the same engine ID as the host's: one daemon, not two")
    else:
        summary = "A second daemon, running inside the DinD container"
        host = facts.host.engine_id if facts.host else "?"
        details.append(f"the host's daemon is another engine ({short_id(host)})")
    return cell(summary, details, [daemon_node(inside.engine_id)])


def children_cell(facts: DemoFacts) -> Cell:
    children = facts.children
    ids = [container_node(child.container_id) for child in children]
    main = [container_node(facts.main.container_id)] if facts.main else []
    if not children:
        return cell("No children found yet.", highlight=main)
    on_host = set(facts.children_on_host)
    listed_by_host = sum(1 for child in children if child.container_id in on_host)
    if _same_engine(facts):
        summary = f"On the host, beside the DooD container: {names_text(children)}"
        details = [
            f"the host's engine lists {listed_by_host} of {len(children)} as its own containers",
            "the DooD container asked for them; the host's daemon made them "
            "(the dotted created arrows on the map)",
            "they outlive the DooD container unless someone removes them",
        ]
    else:
        summary = f"Inside the nested daemon: {names_text(children)}"
        details = [
            f"the host's engine lists {listed_by_host} of {len(children)} of them",
            "they live and die with the DinD container",
        ]
    return cell(summary, details, ids + main)


def ps_cell(facts: DemoFacts) -> Cell:
    """What ``docker ps`` inside lists. Of containers that are not this demo's (DooD sees the
    whole host, other teams' containers included) only the count is said, never names or ids."""
    listed = facts.listed_inside
    demo_ids = {child.container_id for child in facts.children}
    demo_ids |= {facts.main.container_id} if facts.main else set()
    mine = [item for item in listed if item.container_id in demo_ids]
    others = len(listed) - len(mine)
    count = f"{len(listed)} container{'s' if len(listed) != 1 else ''}"
    ids = [container_node(item.container_id) for item in mine]
    if _same_engine(facts):
        summary = f"{count}: every running container on the host"
        details = [
            f"this demo's: {names_text(mine)}",
            f"and {others} more that are not this demo's: whoever holds the socket can see, "
            "stop and exec into every one",
        ]
        return cell(summary, details, [*ids, daemon_node(facts.inside.engine_id)])
    summary = f"{count}: only what its own daemon runs"
    details = [names_text(listed), "nothing of the host's containers"]
    return cell(summary, details, [container_node(item.container_id) for item in listed])


def _cache_text(cache: tuple[CachedImage, ...]) -> str:
    total = sum(image.size for image in cache)
    return f"{len(cache)} image{'s' if len(cache) != 1 else ''}, {size_text(total)}"


def _tags(images: list[CachedImage]) -> str:
    tags = [image.tags[0] if image.tags else image.image_id[:19] for image in images]
    return ", ".join(tags[:MAX_NAMES]) + (
        f" and {len(tags) - MAX_NAMES} more" if len(tags) > MAX_NAMES else ""
    )


def cache_cell(facts: DemoFacts) -> Cell:
    nodes = [daemon_node(_inside_engine(facts))] if facts.inside else []
    if facts.host:
        nodes.append(daemon_node(facts.host.engine_id))
    if _same_engine(facts):
        summary = f"One cache, the host's: {_cache_text(facts.host_cache)}"
        details = [
            "every image is shared: what a job builds or pulls lands in the host's cache, "
            "where the next job (and everyone else on the host) finds it",
        ]
        return cell(summary, details, nodes)
    host_ids = {image.image_id for image in facts.host_cache}
    shared = [image for image in facts.inside_cache if image.image_id in host_ids]
    summary = (
        f"Its own: {_cache_text(facts.inside_cache)}; the host has {_cache_text(facts.host_cache)}"
    )
    details = [
        f"the same image in both: {_tags(shared)} (copied in at launch; "
        "a copy, so it takes its space twice)"
        if shared
        else "no image in common: every base image is pulled or copied in again",
        "a fresh DinD starts with a cold cache; it goes with the container",
    ]
    return cell(summary, details, nodes)


def _capabilities_text(rights: Privileges) -> str:
    held, known = len(rights.capabilities), rights.capabilities_known
    if held > known / 2:
        lacking = [c for c in capability_names((1 << known) - 1) if c not in rights.capabilities]
        but = f": all but {', '.join(lacking)}" if lacking else ": all of them"
        return f"{held} of {known} capabilities{but}"
    return f"{held} of {known} capabilities: {', '.join(rights.capabilities) or 'none'}"


def attack_sentence(rights: Privileges) -> str:
    """What an attacker who runs code in the container gets, from the facts."""
    if rights.engine_sockets:
        return (
            f"The host's Docker socket ({rights.engine_sockets[0]}) is mounted: whoever runs code "
            "in this container can ask the host's daemon for a container with --privileged and "
            "the host's / mounted, which is root on the host. The socket is root."
        )
    caps = set(rights.capabilities)
    powers = []
    if rights.privileged:
        powers.append("see every host device and mount the host's disks")
    elif "MKNOD" in caps and any(rule.startswith("a ") for rule in rights.device_rules):
        powers.append(
            "make a device node for the host's disk and read or write it "
            "(MKNOD, device rule a *:* rwm)"
        )
    if "SYS_MODULE" in caps:
        powers.append("load kernel modules (SYS_MODULE)")
    if "SYS_ADMIN" in caps:
        powers.append("mount filesystems and write the host's cgroups (SYS_ADMIN)")
    if "SYS_PTRACE" in caps:
        powers.append("trace processes (SYS_PTRACE)")
    if powers:
        unfiltered = ", with no seccomp filter in the way" if rights.seccomp == "off" else ""
        return (
            f"Whoever runs code in it can {'; '.join(powers)}{unfiltered}: "
            "that is root on the host in all but name."
        )
    return "Docker's default confinement: code in it stays in the container, kernel bugs aside."


def privileges_cell(facts: DemoFacts) -> Cell:
    rights = facts.privileges
    main = [container_node(facts.main.container_id)] if facts.main else []
    if rights is None:
        return cell("Unknown: the container was not found.", highlight=main)
    profile = {
        "privileged": "--privileged",
        "compatible": "the compatible profile: what --privileged gives, as far as this engine can",
    }.get(rights.profile, "Docker's default profile")
    if rights.engine_sockets:
        profile += ", and the host's Docker socket mounted"
    devices = (
        ", ".join(rights.host_devices)
        if rights.host_devices
        else ("device rules " + ", ".join(rights.device_rules))
        if rights.device_rules
        else "no device rules"
    )
    details = [
        _capabilities_text(rights),
        f"seccomp {rights.seccomp}; AppArmor {rights.apparmor}",
        f"devices: {devices}; {'?' if rights.dev_entries is None else rights.dev_entries} in /dev",
        attack_sentence(rights),
    ]
    dangerous = (
        rights.privileged or bool(rights.engine_sockets) or "SYS_ADMIN" in rights.capabilities
    )
    return cell(profile[:1].upper() + profile[1:], details, main, "bad" if dangerous else "")


def build_cell(facts: DemoFacts, build: dict[str, Any] | None) -> Cell:
    main = [container_node(facts.main.container_id)] if facts.main else []
    inside = [daemon_node(_inside_engine(facts))] if facts.inside else []
    if build is None:
        return {
            **cell("Not measured yet: build twice to see.", highlight=main + inside),
            "build": None,
        }
    if build["status"] in ("queued", "running"):
        return {**cell(f"Building… ({build['status']})", highlight=main + inside), "build": build}
    if build["status"] == "failed":
        return {**cell("The build failed.", [build["error"]], main + inside, "bad"), "build": build}
    first, second = build["first"], build["second"]

    def said(result: dict[str, Any]) -> str:
        cached = (
            "the RUN step from the cache" if result["run_cached"] else "no cache for the RUN step"
        )
        return f"{result['seconds']:.2f} s ({cached})"

    summary = f"1st build {said(first)} · 2nd build {said(second)}"
    where = (
        "the host's daemon built it, into the host's cache"
        if facts.host and build["engine_id"] == facts.host.engine_id
        else "the nested daemon built it, into its own cache"
    )
    details = [
        where + f" ({size_text(build['image_size'] or 0)}); removed after measuring"
        if build["image_removed"]
        else where + "; it could not be removed",
        f"2nd build: {build['second']['cached_steps']} of its {build['steps']} steps after FROM "
        "came from the cache",
    ]
    nodes = [daemon_node(build["engine_id"])] if build["engine_id"] else inside
    return {**cell(summary, details, main + nodes), "build": build}


ROWS = (
    ("daemon", "Which daemon runs the children", daemon_cell),
    ("children", "Where the children land", children_cell),
    ("ps", "What docker ps inside lists", ps_cell),
    ("cache", "Image cache, inside and on the host", cache_cell),
    ("privileges", "What the container may do", privileges_cell),
)


def rows(columns: dict[str, Column]) -> list[Row]:
    """The table: one row per question, a cell per kind, and the nodes each row is about."""
    table: list[Row] = []
    for key, title, fill in ROWS:
        cells = {
            kind: fill(column.facts) if column.facts else missing(column)
            for kind, column in columns.items()
        }
        table.append(_row(key, title, cells))
    builds = {
        kind: build_cell(column.facts, column.build) if column.facts else missing(column)
        for kind, column in columns.items()
    }
    table.append(_row("build", "CI: the same image built twice inside", builds))
    return table


def _row(key: str, title: str, cells: dict[str, Cell]) -> Row:
    highlight = list(dict.fromkeys(node for c in cells.values() for node in c["highlight"]))
    return {"key": key, "title": title, "cells": cells, "highlight": highlight[:MAX_HIGHLIGHT]}

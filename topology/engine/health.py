"""Container health as an engine reports it: the word in a listing's status text, the whole
record (failing streak, last probes) in an inspect. Engine text is untrusted: only the four
known states pass, numbers are bounded, probe output is cut short."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from topology.engine.types import Health, HealthProbe

HEALTH_STATES = ("healthy", "unhealthy", "starting", "none")
MAX_PROBES = 5
MAX_OUTPUT_CHARS = 600
MAX_STREAK = 10**6

# "Up 3 minutes (healthy)", "Up 2 seconds (health: starting)", "Up 1 hour (unhealthy)"
_STATUS_TEXT = re.compile(r"\((healthy|unhealthy|health: starting)\)\s*$")


def health_from_status_text(text: str | None) -> str:
    """The health a listing's ``Status`` text names; ``none`` when it names none."""
    match = _STATUS_TEXT.search(text or "")
    if not match:
        return "none"
    return "starting" if match.group(1) == "health: starting" else match.group(1)


_MOMENT = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?$")


def parse_moment(text: Any) -> datetime | None:
    """An RFC 3339 time with nanoseconds (as engines write them) in UTC; None if it is not one."""
    match = _MOMENT.match(text) if isinstance(text, str) else None
    if not match or text.startswith("0001-"):
        return None
    whole, fraction, zone = match.groups()
    try:
        moment = datetime.fromisoformat(whole + (zone if zone and zone != "Z" else "+00:00"))
    except ValueError:
        return None
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    return moment.astimezone(UTC).replace(microsecond=micro)


def clip(text: str, limit: int = MAX_OUTPUT_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def health_from_state(state: Any) -> Health:
    """The ``State.Health`` record of an inspect (absent: no healthcheck)."""
    record = state.get("Health") if isinstance(state, dict) else None
    if not isinstance(record, dict):
        return Health()
    status = record.get("Status")
    status = status if status in HEALTH_STATES else "none"
    streak = record.get("FailingStreak")
    streak = min(max(streak, 0), MAX_STREAK) if isinstance(streak, int) else 0
    probes = []
    log = record.get("Log")
    for item in (log if isinstance(log, list) else [])[-MAX_PROBES:]:
        if not isinstance(item, dict):
            continue
        code = item.get("ExitCode")
        output = item.get("Output")
        probes.append(
            HealthProbe(
                start=parse_moment(item.get("Start")),
                end=parse_moment(item.get("End")),
                exit_code=code if isinstance(code, int) else -1,
                output=clip(output.strip() if isinstance(output, str) else ""),
            )
        )
    return Health(status, streak, tuple(probes))

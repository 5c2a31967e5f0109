"""How results read on screen: the exact lines supervisorctl prints."""

from __future__ import annotations

import xmlrpc.client
from typing import Any

from capataz.control.protocol import Fault, make_namespec, split_namespec

_ERROR_TEXT = {
    Fault.BAD_NAME: "no such process",
    Fault.NO_FILE: "no such file",
    Fault.NOT_EXECUTABLE: "file is not executable",
    Fault.ALREADY_STARTED: "already started",
    Fault.SPAWN_ERROR: "spawn error",
    Fault.ABNORMAL_TERMINATION: "abnormal termination",
    Fault.BAD_SIGNAL: "bad signal name",
    Fault.NOT_RUNNING: "not running",
}


def status_lines(infos: list[dict[str, Any]]) -> list[str]:
    """supervisorctl's status table: the name column is at least 30 wide, plus 3."""
    names = [make_namespec(info["group"], info["name"]) for info in infos]
    width = max([30, *map(len, names)]) + 3
    return [
        f"{name:<{width}}{info['statename']:<10}{info['description']}"
        for name, info in zip(names, infos, strict=True)
    ]


def result_message(result: dict[str, Any], success: str) -> str:
    """One line for one process's result (a result struct or a fault turned into one)."""
    name = make_namespec(result["group"], result["name"])
    code = result["status"]
    if code == Fault.SUCCESS:
        return f"{name}: {success}"
    if code == Fault.FAILED and success == "cleared":
        return f"{name}: ERROR (failed)"
    if code == Fault.FAILED and success in {"stopped", "signalled"}:
        return str(result["description"])
    text = _ERROR_TEXT.get(code)
    if text is None:
        return f"{name}: ERROR ({result['description']})"
    return f"{name}: ERROR ({text})"


def fault_result(name: str, fault: xmlrpc.client.Fault) -> dict[str, Any]:
    group, process = split_namespec(name)
    return {"status": fault.faultCode, "name": process, "group": group,
            "description": fault.faultString}

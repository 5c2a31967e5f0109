"""XML-RPC dispatch: method table, ``system.*``, request parsing and response encoding.

Requests are parsed by ``defusedxml``'s expat parser (no DTD, no entities, no
external references), after the HTTP layer has bounded their size, into
values by ``call_reader`` (the stdlib's rules, without importing
``xmlrpc.client`` or ``xmlrpc.server`` into the daemon).

Method names are looked up in an explicit table, so a name like
``supervisor._update`` or ``supervisor.backend.shutdown`` (the attribute walk
behind CVE-2017-11610) simply is not there: UNKNOWN_METHOD.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from xml.parsers.expat import ExpatError
from xml.sax import SAXException

from defusedxml import DefusedXmlException

from capataz.control.call_reader import read_call
from capataz.control.errors import RpcFault
from capataz.control.interface import ControlBackend
from capataz.control.protocol import Fault
from capataz.control.supervisor_api import SupervisorApi
from capataz.control.wire import fault_response, response, response_of_xml, value_xml

log = logging.getLogger("capataz.control")

Handler = Callable[..., Coroutine[Any, Any, Any]]

_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "int": (int,),
    "boolean": (bool, int),
    "array": (list, tuple),
    "struct": (dict,),
}


@dataclass(frozen=True)
class Method:
    name: str
    handler: Handler
    signature: tuple[str, ...]  # return type, then parameter types
    help: str
    #: Not checked against ``signature`` (the method checks and reports itself).
    loose: bool = False
    #: The same answer as ``handler``, already written as an XML-RPC ``<value>``.
    render: Callable[..., Coroutine[Any, Any, str]] | None = None

    @cached_property
    def _parameters(self) -> inspect.Signature:
        return inspect.signature(self.handler)

    def check(self, params: tuple[Any, ...]) -> None:
        """INCORRECT_PARAMETERS unless the count (and the checkable types) fit."""
        try:
            self._parameters.bind(*params)
        except TypeError:
            raise RpcFault(Fault.INCORRECT_PARAMETERS) from None
        if self.loose:
            return
        for value, kind in zip(params, self.signature[1:], strict=False):
            if not isinstance(value, _PYTHON_TYPES[kind]):
                raise RpcFault(Fault.INCORRECT_PARAMETERS, f"expected {kind}, got {value!r}")


# name: (signature, help); aliases share their target's entry.
SUPERVISOR_METHODS: dict[str, tuple[tuple[str, ...], str]] = {
    "getAPIVersion": (("string",), "The version of the RPC API (3.0)."),
    "getVersion": (("string",), "Old name of getAPIVersion."),
    "getSupervisorVersion": (("string",), "The version of the daemon."),
    "getIdentification": (("string",), "The daemon's identifier ([supervisord] identifier)."),
    "getState": (("struct",), "The daemon's state: {statecode, statename}."),
    "getPID": (("int",), "The daemon's process id."),
    "readLog": (("string", "int", "int"),
                "Read the main log: (offset, length); a negative offset reads the end."),
    "readMainLog": (("string", "int", "int"), "Old name of readLog."),
    "clearLog": (("boolean",), "Empty the main log and reopen it."),
    "shutdown": (("boolean",), "Stop every process and exit."),
    "restart": (("boolean",), "Stop every process, read the configuration again, start over."),
    "reloadConfig": (("array",),
                     "Read the configuration again: [[added, changed, removed]] group names."),
    "addProcessGroup": (("boolean", "string"), "Activate a group of the configuration."),
    "removeProcessGroup": (("boolean", "string"), "Forget a stopped group."),
    "getAllConfigInfo": (("array",), "Every configured process, as structs."),
    "startProcess": (("boolean", "string", "boolean"),
                     "Start a process (name, wait=True); waits until RUNNING."),
    "startProcessGroup": (("array", "string", "boolean"), "Start every process of a group."),
    "startAllProcesses": (("array", "boolean"), "Start every process that is not running."),
    "stopProcess": (("boolean", "string", "boolean"),
                    "Stop a process (name, wait=True); waits until stopped."),
    "stopProcessGroup": (("array", "string", "boolean"), "Stop every process of a group."),
    "stopAllProcesses": (("array", "boolean"), "Stop every running process."),
    "signalProcess": (("boolean", "string", "string"),
                      "Send a signal (name or number) to a process."),
    "signalProcessGroup": (("array", "string", "string"), "Signal every process of a group."),
    "signalAllProcesses": (("array", "string"), "Signal every process."),
    "getProcessInfo": (("struct", "string"), "One process's state, pid, times and logs."),
    "getAllProcessInfo": (("array",), "getProcessInfo for every process, by group and name."),
    "readProcessStdoutLog": (("string", "string", "int", "int"),
                             "Read a process's stdout log: (name, offset, length)."),
    "readProcessLog": (("string", "string", "int", "int"), "Old name of readProcessStdoutLog."),
    "readProcessStderrLog": (("string", "string", "int", "int"),
                             "Read a process's stderr log: (name, offset, length)."),
    "tailProcessStdoutLog": (("array", "string", "int", "int"),
                             "Tail stdout: [text, next offset, overflow]."),
    "tailProcessLog": (("array", "string", "int", "int"), "Old name of tailProcessStdoutLog."),
    "tailProcessStderrLog": (("array", "string", "int", "int"),
                             "Tail stderr: [text, next offset, overflow]."),
    "clearProcessLogs": (("boolean", "string"), "Empty a process's log files and reopen them."),
    "clearProcessLog": (("boolean", "string"), "Old name of clearProcessLogs."),
    "clearAllProcessLogs": (("array",), "clearProcessLogs for every process."),
    "sendProcessStdin": (("boolean", "string", "string"), "Write characters to a process's stdin."),
    "sendRemoteCommEvent": (("boolean", "string", "string"),
                            "Send a REMOTE_COMMUNICATION event (type, data) to listeners."),
}
_LOOSE = frozenset({"sendProcessStdin", "sendRemoteCommEvent", "signalProcess",
                    "signalProcessGroup", "signalAllProcesses"})
#: Methods whose XML answer is rendered by the API itself (cached per process).
_RENDERED = {"getProcessInfo": "process_info_xml", "getAllProcessInfo": "all_process_info_xml"}
#: Calls that still work while the daemon stops or restarts.
_ALWAYS_ALLOWED = frozenset({"supervisor.sendRemoteCommEvent"})


class RpcDispatcher:
    """Every published method by its full name, plus ``system.*`` over them."""

    def __init__(self, backend: ControlBackend) -> None:
        self.api = SupervisorApi(backend)
        self.methods: dict[str, Method] = {}
        for name, (signature, text) in SUPERVISOR_METHODS.items():
            render = getattr(self.api, _RENDERED[name]) if name in _RENDERED else None
            self._add(Method(f"supervisor.{name}", getattr(self.api, name), signature, text,
                             loose=name in _LOOSE, render=render))
        self._add(Method("system.listMethods", self.list_methods, ("array",),
                         "Every method name, sorted."))
        self._add(Method("system.methodHelp", self.method_help, ("string", "string"),
                         "A method's documentation."))
        self._add(Method("system.methodSignature", self.method_signature, ("array", "string"),
                         "A method's [return type, parameter types...]."))
        self._add(Method("system.multicall", self.multicall, ("array", "array"),
                         "Run [{methodName, params}, ...] in order; one result or fault each."))

    def _add(self, method: Method) -> None:
        self.methods[method.name] = method

    async def call(self, name: str, params: tuple[Any, ...]) -> Any:
        """Run one method; failures are ``RpcFault``."""
        return await self._callable(name, params).handler(*params)

    async def call_xml(self, name: str, params: tuple[Any, ...]) -> str:
        """Run one method; its answer as an XML-RPC ``<value>``. Failures are ``RpcFault``."""
        method = self._callable(name, params)
        if method.render is not None:
            return await method.render(*params)
        return value_xml(await method.handler(*params))

    def _callable(self, name: str, params: tuple[Any, ...]) -> Method:
        """The method ``name``, once its parameters and the daemon's state allow the call."""
        if not isinstance(name, str) or name.count(".") != 1 or name.split(".")[1][:1] == "_":
            raise RpcFault(Fault.UNKNOWN_METHOD)
        method = self.methods.get(name)
        if method is None:
            raise RpcFault(Fault.UNKNOWN_METHOD)
        method.check(params)
        if name.startswith("supervisor.") and name not in _ALWAYS_ALLOWED:
            self.api.check_state()
        return method

    # ------------------------------------------------------------ system.*
    async def list_methods(self) -> list[str]:
        return sorted(self.methods)

    def _method(self, name: object) -> Method:
        method = self.methods.get(name) if isinstance(name, str) else None
        if method is None:
            raise RpcFault(Fault.SIGNATURE_UNSUPPORTED)
        return method

    async def method_help(self, name: str) -> str:
        return self._method(name).help

    async def method_signature(self, name: str) -> list[str]:
        return list(self._method(name).signature)

    async def multicall(self, calls: list[Any]) -> list[Any]:
        """Each call in turn; a value as it is (as Supervisor does), a fault as a struct."""
        results: list[Any] = []
        for call in calls:
            try:
                results.append(await self._one_of_many(call))
            except RpcFault as fault:
                results.append({"faultCode": int(fault.code), "faultString": fault.text})
            except Exception as exc:  # one bad call must not lose the others' results
                log.exception("multicall: %s failed", call)
                results.append({"faultCode": int(Fault.FAILED),
                                "faultString": f"FAILED: {type(exc).__name__}: {exc}"})
        return results

    async def _one_of_many(self, call: object) -> Any:
        if not isinstance(call, dict) or not call.get("methodName"):
            raise RpcFault(Fault.INCORRECT_PARAMETERS, "No methodName")
        if call["methodName"] == "system.multicall":
            raise RpcFault(Fault.INCORRECT_PARAMETERS, "Recursive system.multicall forbidden")
        params = call.get("params", [])
        if not isinstance(params, list | tuple):
            raise RpcFault(Fault.INCORRECT_PARAMETERS, "params must be an array")
        return await self.call(call["methodName"], tuple(params))


class BadRequestError(Exception):
    """A body that is not an XML-RPC call (HTTP 400)."""


def parse_request(body: bytes) -> tuple[str, tuple[Any, ...]]:
    """(method name, params) of an XML-RPC call, parsed without entity expansion."""
    try:
        method, params = read_call(body)
    except (DefusedXmlException, SAXException, ExpatError, ValueError, TypeError, IndexError,
            KeyError, AttributeError, ArithmeticError) as exc:
        raise BadRequestError(f"unreadable XML-RPC request: {type(exc).__name__}: {exc}") from exc
    if not method:
        raise BadRequestError("an XML-RPC request without a methodName")
    return method, tuple(params)


def encode_response(value: Any) -> bytes:
    return response(value)


def encode_xml_response(value: str) -> bytes:
    """A response around a ``<value>`` already written (``RpcDispatcher.call_xml``)."""
    return response_of_xml(value)


def encode_fault(fault: RpcFault) -> bytes:
    return fault_response(int(fault.code), fault.text)

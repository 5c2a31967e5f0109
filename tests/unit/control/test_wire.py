"""The XML-RPC writer and the rendered-struct cache, against the stdlib's own marshaller.

Every answer the daemon sends must be what ``xmlrpc.client.dumps`` would have
written: byte for byte, and read back by ``xmlrpc.client.loads`` to the same
values.
"""

from __future__ import annotations

import datetime
import xmlrpc.client
from typing import Any

import pytest
from defusedxml.xmlrpc import DefusedExpatParser as DefusedXmlrpcParser
from hypothesis import given, settings
from hypothesis import strategies as st

from capataz.control import wire
from capataz.control.call_reader import read_call
from capataz.control.interface import ProcessView
from capataz.control.protocol import ProcessState
from capataz.control.rpc import BadRequestError, parse_request
from capataz.control.structs import ProcessXml, process_struct, uptime

MAXINT, MININT = 2**31 - 1, -(2**31)

# Any character a str can hold and UTF-8 can encode; "<", "&", ">" and
# non-ASCII come up often with these alphabets.
ANY_TEXT = st.text(st.characters(exclude_categories=("Cs",)))
MARKUP = "<>&;amp lt\"'é漢\U0001f600\t\n]]>"
MARKUP_TEXT = st.text(st.sampled_from(MARKUP + "\r"))
# What XML 1.0 reads back unchanged ("\r" becomes "\n" on the way in), so the
# stdlib parser can be the judge.
XML_TEXT = (st.text(st.characters(exclude_categories=("Cs", "Cc"),
                                  exclude_characters="\ufffe\uffff") | st.sampled_from("\t\n"))
            | st.text(st.sampled_from(MARKUP)))
INTS = st.integers(MININT, MAXINT)


def values(text: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    scalars = (st.none() | st.booleans() | INTS | text | st.binary()
               | st.floats(allow_nan=False))
    return st.recursive(
        scalars,
        lambda inner: (st.lists(inner, max_size=4) | st.tuples(inner, inner)
                       | st.dictionaries(text, inner, max_size=4)),
        max_leaves=20,
    )


def stdlib(value: object) -> bytes:
    return xmlrpc.client.dumps((value,), methodresponse=True, allow_none=True).encode()


def as_read_back(value: object) -> object:
    """``value`` as ``loads(use_builtin_types=True)`` returns it: tuples are arrays."""
    if isinstance(value, list | tuple):
        return [as_read_back(v) for v in value]
    if isinstance(value, dict):
        return {k: as_read_back(v) for k, v in value.items()}
    return value


@settings(max_examples=400, deadline=None)
@given(values(ANY_TEXT | MARKUP_TEXT))
def test_response_is_the_stdlib_bytes(value: object) -> None:
    assert wire.response(value) == stdlib(value)


@settings(max_examples=300, deadline=None)
@given(values(XML_TEXT))
def test_response_reads_back_to_the_same_values(value: object) -> None:
    ((read,), _) = xmlrpc.client.loads(wire.response(value), use_builtin_types=True)
    assert read == as_read_back(value)


@settings(max_examples=200, deadline=None)
@given(st.integers(-(2**31) + 1, 2**31 - 1), ANY_TEXT | MARKUP_TEXT)
def test_fault_is_the_stdlib_bytes(code: int, text: str) -> None:
    assert wire.fault_response(code, text) == xmlrpc.client.dumps(
        xmlrpc.client.Fault(code, text)).encode()


@pytest.mark.parametrize("value", [MAXINT + 1, MININT - 1, [1, 2**40], {"a": -(2**63)}])
def test_ints_beyond_32_bits_are_refused_like_the_stdlib(value: object) -> None:
    with pytest.raises(OverflowError):
        stdlib(value)
    with pytest.raises(OverflowError, match="int exceeds XML-RPC limits"):
        wire.response(value)


class Text(str):
    pass


recursive_list: list[object] = [1]
recursive_list.append(recursive_list)
recursive_dict: dict[str, object] = {}
recursive_dict["me"] = recursive_dict


@pytest.mark.parametrize("value", [
    ProcessState.RUNNING,  # an IntEnum: the caller must say int(...)
    Text("x"),
    {1: "a"},
    {"a": object()},
    datetime.datetime(2026, 1, 1),
    recursive_list,
    recursive_dict,
])
def test_what_the_stdlib_cannot_marshal_is_a_type_error(value: object) -> None:
    with pytest.raises(TypeError):
        wire.response(value)


def test_a_container_may_appear_twice_when_it_is_not_inside_itself() -> None:
    shared = {"a": [1, 2]}
    value = [shared, shared, (shared,)]
    assert wire.response(value) == stdlib(value)


# ---------------------------------------------------------------- process structs

STATES = st.sampled_from(list(ProcessState))
TIMES = st.one_of(st.just(0.0), st.floats(0, 2**32), st.floats(1.6e9, 1.8e9))


@st.composite
def views(draw: st.DrawFn, name: str | None = None) -> ProcessView:
    path = st.none() | MARKUP_TEXT | st.just("/var/log/a&b<c>.log")
    return ProcessView(
        name=name or draw(st.text("ab<&_é", min_size=1, max_size=5)),
        group=draw(st.text("gh<&_", min_size=1, max_size=5)),
        state=draw(STATES), pid=draw(st.integers(0, 2**22)),
        start=draw(TIMES), stop=draw(TIMES), now=draw(TIMES),
        exitstatus=draw(st.integers(0, 255)), spawnerr=draw(MARKUP_TEXT),
        stdout_logfile=draw(path), stderr_logfile=draw(path),
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(views(), max_size=6), st.lists(views(), max_size=6))
def test_rendered_structs_are_the_generic_answer(first: list[ProcessView],
                                                  later: list[ProcessView]) -> None:
    """One cache through two calls (processes changed, added, gone): always the fresh answer."""
    cache = ProcessXml()
    for infos in (first, later, first):
        assert cache.array(infos) == wire.value_xml([process_struct(i) for i in infos])
        for info in infos:
            assert cache.struct(info) == wire.value_xml(process_struct(info))


@given(st.integers(0, 10**8))
def test_uptime_is_written_as_a_timedelta(seconds: int) -> None:
    assert uptime(seconds) == str(datetime.timedelta(seconds=seconds))


def running(pid: int = 42, start: float = 1_700_000_000.0, now: float = 1_700_000_000.0,
            state: ProcessState = ProcessState.RUNNING) -> ProcessView:
    return ProcessView("web", "web", state, pid, start, 0.0, now, 0, "", "/tmp/web.log", None)


def read(xml: str) -> Any:
    return xmlrpc.client.loads(wire.response_of_xml(xml))[0][0]


def test_the_uptime_and_now_move_on_while_the_rest_is_cached() -> None:
    cache = ProcessXml()
    first = read(cache.array([running(now=1_700_000_000.9)]))[0]
    later = read(cache.array([running(now=1_700_003_725.2)]))[0]
    assert (first["now"], first["description"]) == (1_700_000_000, "pid 42, uptime 0:00:00")
    assert (later["now"], later["description"]) == (1_700_003_725, "pid 42, uptime 1:02:05")
    assert read(cache.struct(running(now=1_700_000_000 + 86_400 * 2 + 1))
                )["description"] == "pid 42, uptime 2 days, 0:00:01"


def test_a_state_change_renders_the_struct_again() -> None:
    cache = ProcessXml()
    assert read(cache.array([running()]))[0]["statename"] == "RUNNING"
    stopping = read(cache.array([running(state=ProcessState.STOPPING)]))[0]
    assert (stopping["statename"], stopping["state"], stopping["description"]) == (
        "STOPPING", 40, "")
    respawned = read(cache.struct(running(pid=43, start=1_700_000_100.0,
                                          now=1_700_000_160.0)))
    assert (respawned["pid"], respawned["start"], respawned["description"]) == (
        43, 1_700_000_100, "pid 43, uptime 0:01:00")


def test_processes_no_longer_listed_leave_the_cache() -> None:
    cache = ProcessXml()
    other = ProcessView("b", "g", ProcessState.STOPPED, 0, 0.0, 0.0, 0.0, 0, "", None, None)
    cache.array([running(), other])
    assert len(cache._rendered) == 2
    cache.array([other])
    assert list(cache._rendered) == [("g", "b")]


# ---------------------------------------------------------------- requests

def stdlib_call(body: bytes) -> tuple[str | None, tuple[Any, ...]]:
    """The oracle: the stdlib's Unmarshaller behind defusedxml's xmlrpc expat parser."""
    unmarshaller = xmlrpc.client.Unmarshaller(use_datetime=True)
    parser = DefusedXmlrpcParser(unmarshaller, forbid_dtd=True)
    parser.feed(body)
    parser.close()
    return unmarshaller.getmethodname(), unmarshaller.close()


def outcome(read: Any, body: bytes) -> object:
    try:
        return read(body)
    except Exception:  # which error may differ; that it fails may not
        return "refused"


DATETIMES = st.datetimes(datetime.datetime(1900, 1, 1), datetime.datetime(9999, 1, 1)).map(
    lambda d: d.replace(microsecond=0))


@settings(max_examples=300, deadline=None)
@given(st.lists(values(XML_TEXT) | DATETIMES, max_size=3),
       st.sampled_from(["supervisor.x", "syst\u00e8me.\u00e9"]))
def test_requests_parse_as_the_stdlib_parses_them(params: list[object], method: str) -> None:
    """The daemon's reader gives any call the values ``xmlrpc.client`` gives it."""
    body = xmlrpc.client.dumps(tuple(params), method, allow_none=True).encode()
    assert read_call(body) == stdlib_call(body)
    assert parse_request(body) == (method, stdlib_call(body)[1])


def call(params: str, method: str = "<methodName>a.b</methodName>") -> bytes:
    text = f"<?xml version='1.0'?><methodCall>{method}<params>{params}</params></methodCall>"
    return text.encode()


@pytest.mark.parametrize("body", [
    call("<param><value>plain text</value></param><param><value></value></param>"),
    call("<param><value><ex:nil/></value></param><param><value><ex:i8>7</ex:i8></value></param>"),
    call("<param><value><i1>1</i1></value></param><param><value><i2>-2</i2></value></param>"),
    call("<param><value><biginteger>123456789012345678901234567890</biginteger></value></param>"),
    call("<param><value><bigdecimal>1.50</bigdecimal></value></param>"),
    call("<param><value><float>2.5</float></value></param>"),
    call("<param><value><int> +42 </int></value></param>"),
    call("<param><value><base64>aGk=</base64></value></param>"),
    call("<param><value><dateTime.iso8601>20261203T20:15:00</dateTime.iso8601></value></param>"),
    call("<param><value><struct><member><name>a</name><value><int>1</int></value></member>"
         "<member><name>b</name><value>x</value></member></struct></value></param>"),
    call("<param><value><array><data><value>a</value><value><i4>2</i4></value>"
         "</data></array></value></param>"),
    call("<param><value><boolean>1</boolean></value></param>"
         "<param><value><boolean>0</boolean></value></param>"),
    call("<param><value><unknown>1</unknown></value></param>"),
    call("<param><value><data>1</data></value></param>"),
    call("<param><value><boolean>2</boolean></value></param>"),
    call("<param><value><int>x</int></value></param>"),
    call("<param><value><base64>not base64 \u00e9</base64></value></param>"),
    call("<param><value><bigdecimal>nope</bigdecimal></value></param>"),
    call("<param><value><dateTime.iso8601>yesterday</dateTime.iso8601></value></param>"),
    call("<param><value><struct><member><value><int>1</int></value></member></struct>"
         "</value></param>"),
    call("<param><value><array><data><value>a</value></data></value></param>"),
    call("", method=""),
    call("<param><value>x</value></param>", method="<methodName></methodName>"),
    b"<?xml version='1.0'?><methodCall><methodName>a.b</methodName></methodCall>",
    b"<?xml version='1.0'?><methodResponse><fault><value><struct><member><name>faultCode"
    b"</name><value><int>1</int></value></member><member><name>faultString</name><value>"
    b"x</value></member></struct></value></fault></methodResponse>",
    b"<?xml version='1.0'?><methodCall><methodName>a.b</methodName><params><param>",
    b"<methodCall><methodName>a<!-- c -->.b</methodName><params/></methodCall>",
    b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>]><methodCall/>",
    b"\xff\xfe not xml",
])
def test_odd_requests_read_or_fail_as_with_the_stdlib(body: bytes) -> None:
    expected = outcome(stdlib_call, body)
    assert outcome(read_call, body) == expected
    if expected != "refused" and expected[0]:  # type: ignore[index]
        assert parse_request(body) == expected
    else:
        with pytest.raises(BadRequestError):
            parse_request(body)


def test_a_request_without_xml_declaration_reads_its_strings() -> None:
    body = ("<methodCall><methodName>supervisor.getProcessInfo</methodName><params><param>"
            "<value><string>caf\u00e9 &amp; &lt;b&gt;</string></value></param></params>"
            "</methodCall>").encode()
    assert parse_request(body) == ("supervisor.getProcessInfo", ("caf\u00e9 & <b>",))

"""Each value syntax accepts what Supervisor accepts and names what it expected otherwise."""

from __future__ import annotations

import signal

import pytest

from capataz.config import AUTO, AutoRestart, values
from capataz.config.values import BadValue


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("true", True),
        ("YES", True),
        ("on", True),
        ("1", True),
        ("false", False),
        ("No", False),
        ("off", False),
        ("0", False),
    ],
)
def test_boolean_spellings(text: str, expected: bool) -> None:
    """Booleans take yes/true/on/1 and no/false/off/0 in any case."""
    assert values.boolean(text) is expected


def test_boolean_rejects_other_words() -> None:
    """Anything else is an error that lists the accepted spellings."""
    with pytest.raises(BadValue, match="true or false"):
        values.boolean("enabled")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1024", 1024),
        ("1KB", 1024),
        ("50MB", 50 * 1024**2),
        ("2gb", 2 * 1024**3),
        ("50 MB", 50 * 1024**2),
        ("0", 0),
        ("-1MB", -(1024**2)),
    ],
)
def test_byte_sizes(text: str, expected: int) -> None:
    """Sizes are bytes with optional KB/MB/GB (x1024, any case), as Supervisor reads them."""
    assert values.byte_size(text) == expected


@pytest.mark.parametrize("text", ["1.5MB", "10B", "MB", "lots"])
def test_byte_size_rejects(text: str) -> None:
    """Fractions, a bare B and words are not sizes."""
    with pytest.raises(BadValue, match="size in bytes"):
        values.byte_size(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("TERM", signal.SIGTERM),
        ("SIGTERM", signal.SIGTERM),
        ("int", signal.SIGINT),
        (" quit ", signal.SIGQUIT),
        ("9", signal.SIGKILL),
        ("HUP", signal.SIGHUP),
        ("USR2", signal.SIGUSR2),
    ],
)
def test_signals_by_name_or_number(text: str, expected: int) -> None:
    """Signals are names with or without SIG, in any case, or numbers."""
    assert values.signal_number(text) == expected


@pytest.mark.parametrize("text", ["TERMINATE", "SIGFOO", "999", "33"])
def test_unknown_signals(text: str) -> None:
    """Unknown names and numbers the system does not define are errors."""
    with pytest.raises(BadValue, match="signal"):
        values.signal_number(text)


def test_exit_codes() -> None:
    """Exit codes are a comma list of 0..255; an empty value means none is expected."""
    assert values.exit_codes("0,2") == (0, 2)
    assert values.exit_codes(" 0 , 1") == (0, 1)
    assert values.exit_codes("") == ()
    with pytest.raises(BadValue, match="between 0 and 255"):
        values.exit_codes("0,256")
    with pytest.raises(BadValue, match="comma-separated"):
        values.exit_codes("0;2")


def test_octal() -> None:
    """umask-style values are octal; 8 and 9 are not octal digits."""
    assert values.octal("022") == 0o22
    assert values.octal("0o077") == 0o77
    with pytest.raises(BadValue, match="octal"):
        values.octal("089")


def test_autorestart_values() -> None:
    """autorestart is true/false (any boolean spelling) or unexpected."""
    assert values.auto_restart("true") is AutoRestart.ALWAYS
    assert values.auto_restart("off") is AutoRestart.NEVER
    assert values.auto_restart("UNEXPECTED") is AutoRestart.UNEXPECTED
    with pytest.raises(BadValue, match="unexpected"):
        values.auto_restart("sometimes")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("AUTO", AUTO),
        ("auto", AUTO),
        ("NONE", None),
        ("off", None),
        ("", None),
        ("syslog", "syslog"),
        ("/var/log/a.log", "/var/log/a.log"),
    ],
)
def test_logfile_words(text: str, expected: object) -> None:
    """AUTO, NONE/OFF and syslog are words in any case; anything else is a path."""
    assert values.logfile(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('A="1",B=2', (("A", "1"), ("B", "2"))),
        ("PATH=/usr/bin:/bin,HOME=/home/x", (("PATH", "/usr/bin:/bin"), ("HOME", "/home/x"))),
        ('MSG="hello, world"', (("MSG", "hello, world"),)),
        ("A='single'", (("A", "single"),)),
        ("A=1,A=2", (("A", "2"),)),
        ("V=1.2+3-4(5)", (("V", "1.2+3-4(5)"),)),
        ("", ()),
    ],
)
def test_environment_pairs(text: str, expected: tuple[tuple[str, str], ...]) -> None:
    """KEY=value pairs: quotes allow commas and spaces, the last repeat wins."""
    assert values.key_value_pairs(text) == expected


@pytest.mark.parametrize("text", ["A=a@b", "A=", 'A="open', "A=1 B=2", "JUST_A_KEY"])
def test_environment_errors(text: str) -> None:
    """Unquoted values take only letters, digits and _/.+-():, and every key needs a value."""
    with pytest.raises(BadValue, match="KEY=value"):
        values.key_value_pairs(text)


def test_names_refuse_space_colon_slash() -> None:
    """Process and group names may not hold ' ', ':' or '/' (they break URLs and events)."""
    assert values.name("  web ") == "web"
    for bad in ("a b", "a:b", "a/b"):
        with pytest.raises(BadValue, match="without spaces"):
            values.name(bad)


def test_inet_address() -> None:
    """port, host:port, :port and *:port; host '' means every interface."""
    assert values.inet_address("9001") == ("", 9001)
    assert values.inet_address("127.0.0.1:9001") == ("127.0.0.1", 9001)
    assert values.inet_address("*:9001") == ("", 9001)
    assert values.inet_address("LOCALHOST:1") == ("localhost", 1)
    with pytest.raises(BadValue, match="between 1 and 65535"):
        values.inet_address("70000")
    with pytest.raises(BadValue, match="port"):
        values.inet_address("host:")


def test_small_converters() -> None:
    """Integers take Python's syntax; lists split on commas; levels are Supervisor's."""
    assert values.integer(" 1_000 ") == 1000
    with pytest.raises(BadValue, match="whole number"):
        values.integer("ten")
    assert values.comma_list("a, b ,c") == ("a", "b", "c")
    assert values.comma_list("") == ()
    assert values.logging_level("WARN") == "warn"
    with pytest.raises(BadValue, match="critical"):
        values.logging_level("verbose")
    assert values.user_group("www:web") == ("www", "web")
    assert values.user_group("www") == ("www", None)

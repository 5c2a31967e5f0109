"""Whatever the text, the reader returns a Config or raises ConfigError, nothing else."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capataz.config import Config, ConfigError, parse_text
from capataz.config.host import Host

CORPUS = sorted((Path(__file__).parents[2] / "fixtures" / "configs").rglob("*.conf"))
SEEDS = [path.read_text(encoding="utf-8") for path in CORPUS]
HOST = Host(
    environ={"HOME": "/home/h", "APP": "x"},
    node_name="h",
    cwd="/srv",
    read_text=lambda path: "[program:inc]\ncommand=%(here)s/x\n",
    glob=lambda pattern: ["/srv/inc.conf"] if "*" in pattern else [],
    is_dir=lambda path: True,
    user_exists=lambda name: True,
)
# Characters that matter to the dialect, mixed with anything at all.
SIGNIFICANT = st.sampled_from([*"[]=:;#%()sd \t\n,\"'", "%(", "process_num", "ENV_"])
PIECES = st.one_of(SIGNIFICANT, st.text(max_size=5))


def _outcome(text: str) -> None:
    try:
        result = parse_text(text, "/srv/supervisord.conf", host=HOST)
    except ConfigError as error:
        message = error.message  # a message the user can read
    else:
        assert isinstance(result, Config)
        return
    assert message


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(PIECES, max_size=40).map("".join))
def test_random_text(text: str) -> None:
    """Random text built from the dialect's significant characters never escapes as a crash."""
    _outcome(text)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(SEEDS),
    st.lists(st.tuples(st.floats(0, 1), st.integers(0, 8), PIECES), min_size=1, max_size=6),
)
def test_mutated_corpus(seed: str, edits: list[tuple[float, int, str]]) -> None:
    """Corpus files with characters deleted and inserted still give a Config or a ConfigError."""
    text = seed
    for where, deleted, inserted in edits:
        at = int(where * len(text))
        text = text[:at] + inserted + text[at + deleted :]
    _outcome(text)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(
        [
            "command",
            "numprocs",
            "process_name",
            "environment",
            "stopsignal",
            "exitcodes",
            "stdout_logfile",
            "umask",
            "user",
            "priority",
            "autorestart",
        ]
    ),
    st.text(max_size=30),
)
def test_any_value_for_any_option(option: str, value: str) -> None:
    """Any single-line value in any option is read or refused cleanly."""
    _outcome(f"[program:p]\ncommand=x\n{option}={value.splitlines()[0] if value else ''}\n")

"""The control backend over a live daemon: faults and events with real child processes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from tests.integration.supervisor.helpers import config, program, running, wait_for

from capataz.control.adapter import SupervisorBackend
from capataz.control.errors import RpcFault
from capataz.control.protocol import Fault
from capataz.supervisor import ProcessState


def test_stdin_closed_by_the_child_is_no_file(tmp_path: Path) -> None:
    """sendProcessStdin to a running child that closed its stdin is NO_FILE, as Supervisor."""
    cfg = config(tmp_path, program("deaf", "/bin/sh -c 'exec 0<&-; exec sleep 30'",
                                   startsecs=0))

    async def scenario() -> None:
        async with running(cfg) as sup:
            await wait_for(lambda: sup.process("deaf").state is ProcessState.RUNNING)
            pid = sup.process("deaf").pid
            await wait_for(lambda: not Path(f"/proc/{pid}/fd/0").exists())  # stdin closed
            with pytest.raises(RpcFault) as caught:
                SupervisorBackend(sup).send_stdin("deaf", b"anyone?\n")
            assert caught.value.code == Fault.NO_FILE
            assert sup.process("deaf").state is ProcessState.RUNNING

    asyncio.run(scenario())

"""``facturacion-simulator``: serve the SUNAT simulator until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import ipaddress
import os
import signal
import sys
from collections.abc import Sequence

from aiohttp import web

from capataz import exitcodes
from facturacion import samples
from facturacion.signing import SignatureAlgorithm, Signer
from facturacion.simulator.app import create_app
from facturacion.simulator.state import API_CLIENT_ID, API_CLIENT_SECRET, SimulatorState

ENV_PREFIX = "FACTURACION_SIMULATOR_"


def _parser() -> argparse.ArgumentParser:
    def env(name: str, default: str) -> str:
        return os.environ.get(ENV_PREFIX + name, default)

    parser = argparse.ArgumentParser(
        prog="facturacion-simulator",
        description="A local SUNAT (billService, billConsultService and the Consulta "
        "Integrada API) for tests and demos.",
    )
    parser.add_argument(
        "--host",
        default=env("HOST", "127.0.0.1"),
        help="loopback address to bind [env FACTURACION_SIMULATOR_HOST]",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=int(env("PORT", "8089")),
        help="TCP port; 0 picks a free one [env FACTURACION_SIMULATOR_PORT]",
    )
    parser.add_argument(
        "--polls",
        type=int,
        default=int(env("POLLS", "2")),
        help="getStatus answers 98 this many times per ticket [env FACTURACION_SIMULATOR_POLLS]",
    )
    parser.add_argument(
        "--today",
        default=env("TODAY", ""),
        help="YYYY-MM-DD to check deadlines (2108) against [env FACTURACION_SIMULATOR_TODAY]",
    )
    parser.add_argument(
        "--user",
        default=env("USER", ""),
        help="accept only this username (RUC+SOL user) [env FACTURACION_SIMULATOR_USER]",
    )
    parser.add_argument(
        "--password",
        default=env("PASSWORD", ""),
        help="its password [env FACTURACION_SIMULATOR_PASSWORD]",
    )
    parser.add_argument(
        "--client-id",
        default=env("CLIENT_ID", API_CLIENT_ID),
        help="Consulta Integrada API client id [env FACTURACION_SIMULATOR_CLIENT_ID]",
    )
    parser.add_argument(
        "--client-secret",
        default=env("CLIENT_SECRET", API_CLIENT_SECRET),
        help="its secret [env FACTURACION_SIMULATOR_CLIENT_SECRET]",
    )
    parser.add_argument(
        "--algorithm",
        action="append",
        choices=[a.value for a in SignatureAlgorithm],
        help="accept only these signature algorithms (repeatable) [default: both]",
    )
    parser.add_argument(
        "--unsigned-cdr", action="store_true", help="answer CDRs without a signature"
    )
    return parser  # fmt: skip


def _state(options: argparse.Namespace) -> SimulatorState:
    if options.polls < 0:
        raise ValueError("--polls must be 0 or more")
    today = dt.date.fromisoformat(options.today) if options.today else None
    if bool(options.user) != bool(options.password):
        raise ValueError("give --user and --password together")
    if not options.client_id or not options.client_secret:
        raise ValueError("--client-id and --client-secret must not be empty")
    if not ipaddress.ip_address(options.host).is_loopback:
        raise ValueError(
            f"--host {options.host} is not a loopback address; the simulator is for local use"
        )
    signer = (
        None
        if options.unsigned_cdr
        else Signer(
            samples.self_signed_credentials("20131312955", "SUNAT SIMULADOR"),
            signature_id="SignSUNAT",
        )
    )
    return SimulatorState(
        signer=signer,
        users={options.user: options.password} if options.user else None,
        polls_before_done=options.polls,
        api_clients={options.client_id: options.client_secret},
        today=today,
        algorithms=frozenset(
            SignatureAlgorithm(a) for a in options.algorithm or SignatureAlgorithm
        ),
    )


async def serve(state: SimulatorState, host: str, port: int) -> None:
    runner = web.AppRunner(create_app(state), handle_signals=False, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    bound_host, bound_port = runner.addresses[0][:2]
    print(f"facturacion-simulator listening on http://{bound_host}:{bound_port}", flush=True)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: Sequence[str] | None = None) -> int:
    options = _parser().parse_args(argv)
    try:
        state = _state(options)
    except ValueError as error:
        print(f"facturacion-simulator: {error}", file=sys.stderr)
        return exitcodes.USAGE
    try:
        asyncio.run(serve(state, options.host, options.port))
    except OSError as error:
        print(
            f"facturacion-simulator: cannot listen on {options.host}:{options.port}: {error}",
            file=sys.stderr,
        )
        return exitcodes.FAILURE
    return exitcodes.OK

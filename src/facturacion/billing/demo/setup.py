"""Setting up the demo's work directory: certificate, configuration, a clean slate.

The configuration is ``examples/facturacion/supervisor.conf`` itself, with its
``/srv/facturacion`` paths moved under the work directory, the user set to whoever
runs the demo, free ports for the simulator and the mail server, the programs
taken from this Python environment, and two demo-only settings: a short lease (a
killed worker's job comes back in seconds) and the webhook the demo itself serves.
"""

from __future__ import annotations

import getpass
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from facturacion import samples
from facturacion.billing.demo.stack import Programs
from facturacion.billing.errors import BillingError

TEMPLATE_HOME: Final = "/srv/facturacion"
TEMPLATE_SIMULATOR_PORT: Final = "8089"
TEMPLATE_MAIL_PORT: Final = "8025"
#: Shorter than the production default (30 s), so a killed worker's job comes back sooner.
DEMO_LEASE: Final = "10"
WORKER_APPS: Final = "facturacion.billing.jobs,facturacion.jobs"


def example_config() -> Path:
    """The example shipped in the source tree (the demo runs from a checkout)."""
    for base in (Path.cwd(), *Path(__file__).resolve().parents):
        candidate = base / "examples" / "facturacion" / "supervisor.conf"
        if candidate.is_file():
            return candidate
    raise BillingError(
        "cannot find examples/facturacion/supervisor.conf; run the demo from the capataz "
        "source tree (./dev demo)"
    )


@dataclass(frozen=True)
class DemoPaths:
    home: Path

    @property
    def config(self) -> Path:
        return self.home / "supervisor.conf"

    @property
    def certificate(self) -> Path:
        return self.home / "certificado.pem"

    @property
    def data(self) -> Path:
        return self.home / "data"

    @property
    def logs(self) -> Path:
        return self.home / "logs"

    @property
    def mail(self) -> Path:
        return self.home / "mail"

    @property
    def run(self) -> Path:
        return self.home / "run"

    @property
    def webhook_port(self) -> Path:
        return self.home / "run" / "webhook.port"

    @property
    def queue_url(self) -> str:
        return f"sqlite://{self.data / 'queue.sqlite3'}"

    @property
    def webhook_log(self) -> Path:
        return self.home / "logs" / "webhook.jsonl"

    @property
    def expected(self) -> Path:
        return self.home / "expected.json"

    def clean(self) -> None:
        """Forget the previous run: each demo starts from nothing, as on a new machine."""
        for directory in (self.data, self.logs, self.mail, self.run):
            shutil.rmtree(directory, ignore_errors=True)
            directory.mkdir(parents=True)


def render_config(
    template: str, paths: DemoPaths, simulator_port: int, mail_port: int, webhook_port: int = 8090
) -> str:
    bin_dir = Path(sys.executable).parent
    text = template.replace(TEMPLATE_HOME, str(paths.home))
    text = text.replace("user=facturacion", f"user={getpass.getuser()}")
    text = text.replace("command=capataz ", f"command={bin_dir / 'capataz'} ")
    text = text.replace("command=python3 ", f"command={sys.executable} ")
    text = text.replace(TEMPLATE_SIMULATOR_PORT, str(simulator_port))
    text = text.replace(TEMPLATE_MAIL_PORT, str(mail_port))
    demo_only = (
        f'    CAPATAZ_LEASE="{DEMO_LEASE}",\n'
        f'    FACTURACION_WEBHOOK_URL="http://127.0.0.1:{webhook_port}/erp/comprobantes",\n'
    )
    return text.replace("environment=\n", "environment=\n" + demo_only, 1)


def environment_of(config_text: str) -> dict[str, str]:
    """The ``[supervisord] environment=`` pairs, for the subprocess fallback."""
    lines = config_text.split("environment=\n", 1)[1].split("\n\n", 1)[0]
    pairs = {}
    for line in lines.splitlines():
        name, _, value = line.strip().rstrip(",").partition("=")
        pairs[name] = value.strip('"')
    return pairs


def prepare(
    paths: DemoPaths, simulator_port: int, mail_port: int, webhook_port: int = 8090,
    *, clean: bool = True,
) -> Programs:
    """Write the certificate and the configuration; ``clean`` forgets the previous run."""
    if clean:
        paths.clean()
    elif not paths.expected.exists():
        raise BillingError(
            f"there is no stopped demo to resume in {paths.home}; run ./dev demo first"
        )
    if not paths.certificate.exists():
        credentials = samples.self_signed_credentials()
        paths.certificate.write_bytes(credentials.key_pem + credentials.certificate_pem)
        paths.certificate.chmod(0o600)
    text = render_config(
        example_config().read_text(), paths, simulator_port, mail_port, webhook_port
    )
    paths.config.write_text(text)
    bin_dir = Path(sys.executable).parent
    env = dict(os.environ) | environment_of(text)
    return Programs(
        config=paths.config,
        capatazd=str(bin_dir / "capatazd"),
        worker=[str(bin_dir / "capataz"), "work", "-A", WORKER_APPS, "--queue=documentos,default",
                "--sleep=3", "--tries=3"],
        simulator=[sys.executable, "-m", "facturacion.simulator", "--port", str(simulator_port)],
        mailserver=[
            sys.executable, "-m", "facturacion.billing.mailserver",
            "--port", str(mail_port), "--maildir", str(paths.mail),
        ],
        environment=env,
        logs=paths.logs,
    )

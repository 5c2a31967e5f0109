"""Reading supervisor.conf: pure, text in and frozen typed values out."""

from capataz.config.errors import ConfigError
from capataz.config.model import (
    AUTO,
    Auto,
    AutoRestart,
    ChannelLog,
    Config,
    ConfigWarning,
    EventListenerOptions,
    FcgiSocketOptions,
    GroupConfig,
    GroupKind,
    InetHttpServerConfig,
    ProcessConfig,
    RpcInterfaceConfig,
    Source,
    SupervisorctlConfig,
    SupervisordConfig,
    UnixHttpServerConfig,
)

__all__ = [
    "AUTO",
    "Auto",
    "AutoRestart",
    "ChannelLog",
    "Config",
    "ConfigError",
    "ConfigWarning",
    "EventListenerOptions",
    "FcgiSocketOptions",
    "GroupConfig",
    "GroupKind",
    "InetHttpServerConfig",
    "ProcessConfig",
    "RpcInterfaceConfig",
    "Source",
    "SupervisorctlConfig",
    "SupervisordConfig",
    "UnixHttpServerConfig",
]

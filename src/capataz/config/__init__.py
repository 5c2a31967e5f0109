"""Reading supervisor.conf: pure, text in and frozen typed values out."""

from capataz.config.defaults import default_control_socket
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
from capataz.config.reader import load, parse_text

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
    "default_control_socket",
    "load",
    "parse_text",
]

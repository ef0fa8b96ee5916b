"""proxier: a TR-069 CPE Proxier for UPnP Device Management devices (BBF TR-330).

The embedding API (docs/embedding.md): `Proxier`, `load_config`, `config_from_dict`.
They are imported on first use, so `import proxier` stays cheap for the CLI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Activity", "ConfigError", "Proxier", "__version__", "config_from_dict", "load_config"]

if TYPE_CHECKING:
    from proxier.api import Proxier
    from proxier.config import ConfigError
    from proxier.config import from_dict as config_from_dict
    from proxier.config import load as load_config
    from proxier.control.activity import Activity

_LAZY = {
    "Proxier": ("proxier.api", "Proxier"),
    "Activity": ("proxier.control.activity", "Activity"),
    "ConfigError": ("proxier.config", "ConfigError"),
    "load_config": ("proxier.config", "load"),
    "config_from_dict": ("proxier.config", "from_dict"),
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'proxier' has no attribute {name!r}")
    import importlib

    module, attr = _LAZY[name]
    return getattr(importlib.import_module(module), attr)

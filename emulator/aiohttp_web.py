"""``aiohttp.web`` without paying for aiohttp's HTTP client at import.

``import aiohttp`` runs the package's ``__init__``, which imports the client, whose connector
builds two TLS contexts at import time (reading the system CA bundle twice): about 0.1 s of
every emulator start, for a client the emulators never use. When aiohttp is not loaded yet,
the package module is therefore created without running its ``__init__`` and the server
modules are imported under it; the first access to any other package attribute
(``aiohttp.ClientSession``, from the kit in the same process) runs the real ``__init__`` then,
in that same module object, so later users see the complete package and one copy of every
submodule.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import sys
from typing import TYPE_CHECKING, Any

_PACKAGE = "aiohttp"


def _install_lazy_package() -> None:
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or spec.loader is None or spec.origin is None:
        raise ImportError(f"{_PACKAGE} is not installed")
    package = importlib.util.module_from_spec(spec)
    with open(spec.origin, encoding="utf-8") as source:
        found = re.search(r'^__version__ = "([^"]+)"', source.read(), re.MULTILINE)
    if found is None:  # an unknown layout: import it the ordinary way
        return
    vars(package)["__version__"] = found.group(1)  # the one attribute the server modules read
    state = {"initialised": False}
    loader = spec.loader

    here = os.path.dirname(spec.origin)
    submodules = {n.partition(".")[0] for n in os.listdir(here)}

    def __getattr__(name: str) -> Any:
        # ``from . import hdrs`` asks for the attribute first: a submodule is imported as
        # usual, it is no reason to run the package's __init__.
        if state["initialised"] or name in submodules or name.startswith("__"):
            raise AttributeError(f"module {_PACKAGE!r} has no attribute {name!r}")
        state["initialised"] = True
        loader.exec_module(package)  # the real __init__, in this very module object
        return getattr(package, name)

    vars(package)["__getattr__"] = __getattr__
    sys.modules[_PACKAGE] = package


if TYPE_CHECKING:
    from aiohttp import web
    from aiohttp.http import WSCloseCode, WSMsgType
else:
    if _PACKAGE not in sys.modules:
        _install_lazy_package()
    web = importlib.import_module(f"{_PACKAGE}.web")
    _http = importlib.import_module(f"{_PACKAGE}.http")
    WSCloseCode, WSMsgType = _http.WSCloseCode, _http.WSMsgType

__all__ = ["WSCloseCode", "WSMsgType", "web"]

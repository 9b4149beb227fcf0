"""What an ASGI server raises when a consumer sends on a socket whose peer has gone.

The ASGI spec asks servers to raise an `OSError` subclass (uvicorn does); daphne lets
autobahn's `Disconnected` through instead. Either way the frame has nowhere to go and
nothing is lost by dropping it: every frame a client must not miss is stored and comes
back by seq (`resume`, or the next `hello`), so a late write is dropped, never logged as
the consumer's failure."""

from __future__ import annotations

try:
    from autobahn.exception import Disconnected
except ImportError:  # a server without autobahn (uvicorn): OSError alone
    CONNECTION_GONE: tuple[type[BaseException], ...] = (OSError,)
else:
    CONNECTION_GONE = (OSError, Disconnected)

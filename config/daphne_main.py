"""``python -m config.daphne_main``: daphne, with two changes to how it runs.

1. Twisted's form parsing is off. Twisted parses every multipart/form-data POST body itself
   before daphne hands the raw body to the app (which parses it again), and answers one it
   cannot parse with a bare ``400 Bad Request`` and no body at all, before Parley can shape
   the error (an issue-13 probe). Twisted has a switch for that
   (``parsePOSTFormSubmission``); daphne does not expose it, so this entry point sets it.
2. Daphne's once-a-second sweep over its connections allocates nothing per connection.
   Its ``application_checker`` walks ``list(self.connections.items())``: a fresh tuple per
   socket every second. With 10,000 idle sockets the young collections that run during the
   walk promoted those tuples into the oldest generation, 10,000 a second, so CPython ran a
   full collection over all ~2 million objects of the sockets every 20 s or so, holding the
   event loop for one to several seconds (pong p99 1.2 s; config/gc_tuning.py, measured
   with gc.callbacks in docs/benchmarks.md). The sweep below does the same work over the
   keys alone.
3. autobahn formats its whole configuration for a debug line at every connection. Its
   ``_connectionMade`` calls ``pformat`` on about 40 settings eagerly, and the debug
   logger then drops the text: 7 % of daphne's CPU during a burst of widget connects
   (py-spy, docs/benchmarks.md "The connect's CPU, cut"). Likewise every frame sent
   and read colours values for a dropped debug line (``hltype``/``hlval``, through
   ``click.style``: 1.3 % of daphne's CPU at 300 msg/s). The module's ``pformat``,
   ``hltype`` and ``hlval`` are made lazy below (it uses them for log arguments only):
   the text is made only if a debug line is really written.

Then it runs daphne's own command line. Nothing else changes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import CancelledError
from pprint import pformat

from autobahn import util as autobahn_util
from autobahn.twisted import websocket as autobahn_twisted
from autobahn.websocket import protocol as autobahn_protocol
from daphne import http_protocol
from daphne import server as daphne_server
from daphne.cli import CommandLineInterface

logger = logging.getLogger("daphne.server")


class WebRequest(http_protocol.WebRequest):
    def __init__(self, *args, **kwargs):
        kwargs["parsePOSTFormSubmission"] = False
        super().__init__(*args, **kwargs)


# HTTPFactory.buildProtocol reads the module's name at each connection.
http_protocol.WebRequest = WebRequest


class Server(daphne_server.Server):
    def application_checker(self):
        """daphne's own checker (4.2), walking the keys instead of fresh (key, value) pairs."""
        connections = self.connections
        for protocol in list(connections):
            details = connections[protocol]
            disconnected = details.get("disconnected", None)
            application_instance = details.get("application_instance", None)
            if (
                disconnected
                and time.time() - disconnected > self.application_close_timeout
                and application_instance
                and not application_instance.done()
            ):
                logger.warning(
                    "Application instance %r for connection %s took too long to shut "
                    "down and was killed.",
                    application_instance,
                    repr(protocol),
                )
                application_instance.cancel()
            if application_instance and application_instance.done():
                try:
                    exception = application_instance.exception()
                except (CancelledError, asyncio.CancelledError):
                    pass
                else:
                    if exception:
                        if isinstance(exception, KeyboardInterrupt):
                            self.stop()
                        else:
                            logger.error(
                                "Exception inside application: %s", exception, exc_info=exception
                            )
                            if not disconnected:
                                protocol.handle_exception(exception)
                del details["application_instance"]
                application_instance = None
            if not application_instance and disconnected:
                del connections[protocol]
        daphne_server.reactor.callLater(1, self.application_checker)


CommandLineInterface.server_class = Server


class Lazy:
    """``fn(*args)`` made when the log line is formatted, never when it is dropped."""

    __slots__ = ("args", "fn", "kwargs")

    def __init__(self, fn, *args, **kwargs):
        self.fn, self.args, self.kwargs = fn, args, kwargs

    def __str__(self) -> str:
        return str(self.fn(*self.args, **self.kwargs))

    __repr__ = __str__

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


class LazyPformat(Lazy):
    __slots__ = ()

    def __init__(self, obj, *args, **kwargs):
        super().__init__(pformat, obj)


class LazyHighlight(Lazy):
    """autobahn's ``hltype``/``hlval`` (ANSI colours through click), lazily."""

    __slots__ = ()


# autobahn calls its module's ``pformat`` only for log arguments, and in Timings.__str__,
# which must return a str: that one keeps the real function. ``hltype`` and ``hlval``
# appear in its and its Twisted adapter's log arguments alone (a frame sent, a frame read).
autobahn_protocol.pformat = LazyPformat
autobahn_protocol.Timings.__str__ = lambda self: pformat(self._timings)
for _module in (autobahn_protocol, autobahn_twisted):
    _module.hltype = lambda obj: LazyHighlight(autobahn_util.hltype, obj)
    _module.hlval = lambda val, **kw: LazyHighlight(autobahn_util.hlval, val, **kw)

if __name__ == "__main__":
    CommandLineInterface.entrypoint()

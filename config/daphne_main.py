"""``python -m config.daphne_main``: daphne, with Twisted's form parsing turned off.

Twisted parses every multipart/form-data POST body itself before daphne hands the raw body
to the app (which parses it again), and answers one it cannot parse with a bare
``400 Bad Request`` and no body at all, before Parley can shape the error (an issue-13
probe). Twisted has a switch for that (``parsePOSTFormSubmission``); daphne does not expose
it, so this entry point sets it, then runs daphne's own command line. Nothing else changes.
"""

from __future__ import annotations

from daphne import http_protocol
from daphne.cli import CommandLineInterface


class WebRequest(http_protocol.WebRequest):
    def __init__(self, *args, **kwargs):
        kwargs["parsePOSTFormSubmission"] = False
        super().__init__(*args, **kwargs)


# HTTPFactory.buildProtocol reads the module's name at each connection.
http_protocol.WebRequest = WebRequest

if __name__ == "__main__":
    CommandLineInterface.entrypoint()

"""Runs Daphne with its access log sent through our logging.

Daphne writes its access log straight to stdout, outside the logging filters, and a
Telegram API path carries the bot token (the simulator serves such paths). Routing the
access log through the `contactcenter.access` logger makes it structured and masked.
Request bodies over `MAX_REQUEST_BODY_BYTES` are refused while they arrive (413).

Usage: python -m contactcenter.server [daphne options] contactcenter.asgi:application
"""

import logging

from daphne import cli
from daphne import server as daphne_server
from daphne.access import AccessLogGenerator
from daphne.http_protocol import HTTPFactory, WebRequest

from contactcenter.bodylimit import limited_http_factory

access_logger = logging.getLogger("contactcenter.access")


class LoggingAccessLog(AccessLogGenerator):
    """Daphne's access log generator, writing to a logger instead of a stream."""

    def write_entry(self, host, date, request, status=None, length=None, ident=None, user=None):
        client = host[0] if isinstance(host, list | tuple) and host else host or "-"
        access_logger.info(
            "%s %s %s %s",
            client,
            request,
            status if status is not None else "-",
            length if length is not None else "-",
        )


def main() -> None:
    # The CLI builds its access logger from this module-level name.
    cli.AccessLogGenerator = LoggingAccessLog
    # Twisted would collect a whole request body before Django sees it: refuse past the
    # limit while it arrives (contactcenter.bodylimit).
    daphne_server.HTTPFactory = limited_http_factory(HTTPFactory, WebRequest)
    cli.CommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()

"""Start the bundled legacy web application on 127.0.0.1 in a background thread."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from werkzeug.serving import make_server

from .billing_web import BillingSettings, create_app


@dataclass
class RunningApp:
    url: str
    settings: BillingSettings
    _server: object
    _thread: threading.Thread

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=10)

    def __enter__(self) -> "RunningApp":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_billing_app(settings: BillingSettings, host: str = "127.0.0.1", port: int = 0) -> RunningApp:
    """Serve BILLSYS on a free port (port=0) and return once it accepts connections."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log on the console
    server = make_server(host, port, create_app(settings), threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="billsys", daemon=True)
    thread.start()
    return RunningApp(url=f"http://{host}:{server.server_port}", settings=settings, _server=server, _thread=thread)

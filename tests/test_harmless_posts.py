"""Not every post writes a record: a sign-on on a screen the map names as one (`sign_on_screens`) and a search
form a step marks `commits: false` are no commit point, so an item that fails after them is retried as usual.
Real Chromium against a page served on 127.0.0.1 whose forms are sent by POST."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from runner import ExitCode, RunRequest, start_run
from runner.audit.events import read_events
from runner.demo.sample_workbook import write_sample_workbook

pytestmark = pytest.mark.web

PAGES = {
    "/": b"<html><head><title>Stock</title></head><body><form method='post' action='/enter'>"
         b"<input name='who' aria-label='User'><input type='password' name='pw' aria-label='Password'>"
         b"<button>Enter</button></form></body></html>",
    "/find": b"<html><head><title>Stock</title></head><body><form method='post' action='/results'>"
             b"<input name='q' aria-label='Part'><button>Search</button></form></body></html>",
}
RESULTS = b"<html><head><title>Stock</title></head><body><p class='hits'>3 parts found</p></body></html>"


class StockSite(BaseHTTPRequestHandler):
    posts: list[str] = []

    def do_GET(self):
        self._send(PAGES.get(self.path.split("?")[0], b"<html><body>no such page</body></html>"))

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        StockSite.posts.append(self.path)
        if self.path == "/enter":
            self.send_response(303)
            self.send_header("Location", "/find")
            self.end_headers()
            return
        self._send(RESULTS)

    def _send(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def site():
    server = ThreadingHTTPServer(("127.0.0.1", 0), StockSite)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    StockSite.posts = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


MAP = """app: stock
kind: web
sign_on_screens: [start]
elements:
  start:
    user: {find: [{label: User}]}
    password: {secret: true, find: [{label: Password}]}
    enter: {find: [{role: button, name: Enter}]}
  find:
    part: {find: [{label: Part}]}
    search: {find: [{role: button, name: Search}]}
    stock_level: {find: [{css: "p.no-such-line"}]}
"""
RECIPE = """name: look-up-part
app: stock
steps:
  - open: "{{ app.url }}/"
  - fill: {target: start.user, value: "{{ app.user }}"}
  - fill: {target: start.password, value: "{{ secrets.stock_password }}"}
  - click: start.enter
  - fill: {target: find.part, value: "{{ item.part }}"}
  - click: find.search%s
  - read: {target: find.stock_level, into: level}
    timeout: 1
"""


def project(tmp_path: Path, url: str, harmless: bool) -> Path:
    root = tmp_path / ("harmless" if harmless else "plain")
    for folder in ("recipes", "selectors", "bots/look-up"):
        (root / folder).mkdir(parents=True)
    (root / "backroom.yaml").write_text(yaml.safe_dump({"apps": {"stock": {"url": url, "user": "ops"}}}))
    (root / "selectors" / "stock.yaml").write_text(MAP)
    (root / "recipes" / "look-up-part.yaml").write_text(RECIPE % ("\n    commits: false" if harmless else ""))
    (root / "bots" / "look-up" / "bot.yaml").write_text(yaml.safe_dump({
        "name": "look-up", "description": "Look parts up.", "recipes": ["look-up-part"],
        "input": {"type": "excel", "sheet": "Parts", "reference": "part",
                  "fields": {"part": {"column": "Part", "type": "text"}}},
        "retry": {"attempts": 2, "backoff_seconds": 0.1}}, sort_keys=False))
    return root


def test_a_sign_on_and_a_search_marked_harmless_are_no_commit_point(tmp_path, site, monkeypatch):
    monkeypatch.setenv("BACKROOM_SECRET_STOCK_PASSWORD", "pw-1")
    workbook = write_sample_workbook(tmp_path / "parts.xlsx", "Parts", ["Part"], [["P-100"]], {})

    harmless = start_run(RunRequest(bot="look-up", input_path=workbook, project=project(tmp_path, site, True)))
    (item,) = harmless.items
    assert item.outcome == "system_exception" and item.attempts == 2, item   # tried again, as a failed look-up is
    assert StockSite.posts.count("/results") == 2
    events = read_events(harmless.run_dir)
    enter = next(e for e in events if e.get("target") == "start.enter")
    assert enter["data"]["writes"][0]["sign_on"] and not enter["data"]["writes"][0].get("commit")
    search = next(e for e in events if e.get("target") == "find.search")
    assert search["data"]["writes"][0]["harmless"] and not search["data"]["writes"][0].get("commit")

    # the same search without the marking: its post may have written, so nothing tries it again blindly
    plain = start_run(RunRequest(bot="look-up", input_path=workbook, project=project(tmp_path, site, False)))
    assert plain.exit_code == ExitCode.ITEMS_FAILED
    (item,) = plain.items
    assert item.outcome == "business_exception" and item.attempts == 1
    assert "may already be in stock" in item.message and f"POST {site}/results" in item.message

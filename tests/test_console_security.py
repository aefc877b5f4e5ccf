"""The console's protections over real HTTP: nothing without signing in, no form without its token,
no file outside a run's folder, sessions that end, uploads checked."""

from __future__ import annotations

import http.client
import io
import json
import re
import zipfile
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import sync_playwright

from runner.console import console_in_thread
from runner.console.users import UserStore
from runner.project.settings import load_settings
from runner.work_queue import ItemState, open_queue

from .conftest import make_orders
from .test_console import run_bot

OPERATOR = ("olga", "olga-operates-42")


class Session:
    """A person's browser session over plain HTTP (Playwright's request context keeps the cookies)."""

    def __init__(self, playwright, url: str):
        self.url = url
        self.http = playwright.request.new_context(base_url=url, max_redirects=0)

    def token(self, path: str = "/sign-in") -> str:
        return re.search(r'name="csrf_token" value="([^"]+)"', self.http.get(path).text()).group(1)

    def sign_in(self, name: str, password: str):
        return self.http.post("/sign-in", form={"name": name, "password": password, "csrf_token": self.token()})

    def cookie(self) -> str:
        return "; ".join(f"{c['name']}={c['value']}" for c in self.http.storage_state()["cookies"])


def raw_get(url: str, path: str, cookie: str, follow: bool = False) -> tuple[int, bytes]:
    """A request line sent exactly as written: no client tidies '..' away first."""
    parts = urlparse(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    connection.putrequest("GET", path, skip_accept_encoding=True)
    connection.putheader("Cookie", cookie)
    connection.endheaders()
    response = connection.getresponse()
    body = response.read()
    connection.close()
    if follow and response.status in (301, 308):  # a tidied address ("//" merged): where it leads counts
        return raw_get(url, response.getheader("Location"), cookie, follow)
    return response.status, body


@pytest.fixture
def console(project, billing, monkeypatch):
    monkeypatch.setenv("BACKROOM_APP_BILLING_URL", billing.url)
    store = UserStore(project / "logs" / "console" / "users.sqlite3")
    store.add(OPERATOR[0], ["operator"], OPERATOR[1])
    store.close()
    settings = load_settings(project)
    settings = settings.model_copy(update={"console": settings.console.model_copy(update={"upload_max_mb": 1})})
    with console_in_thread(project, settings=settings) as running, sync_playwright() as playwright:
        yield running, playwright


def actions(project: Path) -> list[dict]:
    return [json.loads(line) for line in (project / "logs/console/actions.jsonl").read_text().splitlines()]


def test_nothing_without_signing_in_and_no_form_without_its_token(console, project, billing, tmp_path):
    running, playwright = console
    orders, rows = make_orders(tmp_path / "orders.xlsx", 1, seed=51)
    rows[0][1] = "C999"  # unknown customer: the item goes to review
    from runner.demo.sample_orders import write_orders_workbook

    run = run_bot(type("E", (), {"project": project, "app": billing})(), write_orders_workbook(orders, rows))
    reference = rows[0][0]
    anonymous = Session(playwright, running.url)
    for path in ("/", "/runs", f"/runs/rekey-orders/{run.run_id}", f"/runs/rekey-orders/{run.run_id}/report.html",
                 f"/runs/rekey-orders/{run.run_id}/events.jsonl", f"/runs/rekey-orders/{run.run_id}/status.json",
                 "/review", f"/items/rekey-orders/{reference}", "/start", "/schedules", "/users", "/audit",
                 "/audit/export.xlsx"):
        response = anonymous.http.get(path)
        assert response.status == 302, path
        assert response.headers["location"].startswith("/sign-in?next="), path
    refused = anonymous.http.post(f"/items/rekey-orders/{reference}/skip", form={"reason": "anonymous"})
    assert refused.status == 400

    person = Session(playwright, running.url)
    assert person.sign_in(*OPERATOR).status == 302
    page = person.http.get(f"/items/rekey-orders/{reference}")
    assert page.status == 200 and "Send back to work" in page.text()
    headers = page.headers
    assert "script-src 'self'" in headers["content-security-policy"] and headers["x-frame-options"] == "DENY"
    assert headers["cache-control"] == "no-store"
    assert person.http.storage_state()["cookies"][0]["httpOnly"] is True   # scripts cannot read the session
    no_token = person.http.post(f"/items/rekey-orders/{reference}/skip", form={"reason": "no token"})
    assert no_token.status == 400 and "recorded" in no_token.text()
    wrong_token = person.http.post(f"/items/rekey-orders/{reference}/skip",
                                   form={"reason": "forged", "csrf_token": "forged-token"})
    assert wrong_token.status == 400
    queue = open_queue(load_settings(project).queue_url, project)
    assert queue.get("rekey-orders", reference).state == ItemState.BUSINESS_EXCEPTION   # nothing happened
    queue.close()
    assert [a["outcome"] for a in actions(project) if a["action"] == "form_without_valid_token"] == ["refused"] * 3

    # a sign-in link cannot send a person to another site
    other = Session(playwright, running.url)
    token = other.token()
    response = other.http.post("/sign-in?next=//evil.example/x", form={"name": OPERATOR[0], "password": OPERATOR[1],
                                                                        "csrf_token": token})
    assert response.headers["location"] == "/"

    # signing out ends the session: its cookie, replayed, opens nothing
    cookie = person.cookie()
    assert raw_get(running.url, "/review", cookie)[0] == 200
    person.http.post("/sign-out", form={"csrf_token": person.token("/review")})
    assert raw_get(running.url, "/review", cookie)[0] == 302


def test_no_file_outside_a_run_folder(console, project, billing, tmp_path):
    running, playwright = console
    orders, _ = make_orders(tmp_path / "orders.xlsx", 1, seed=52)
    run = run_bot(type("E", (), {"project": project, "app": billing})(), orders)
    person = Session(playwright, running.url)
    person.sign_in(*OPERATOR)
    cookie = person.cookie()
    base = f"/runs/rekey-orders/{run.run_id}"
    shot = next(p for p in (run.run_dir / "screenshots").iterdir())
    status, body = raw_get(running.url, f"{base}/screenshots/{shot.name}", cookie)
    assert status == 200 and body == shot.read_bytes()
    uploaded = project / "logs" / "uploads" / "rekey-orders" / "20261123-000000-abc123-orders.xlsx"
    uploaded.parent.mkdir(parents=True)
    uploaded.write_bytes(b"BILLSYS customer list")     # logs/ holds more than runs: none of it is served
    secrets_on_disk = [b"argon2", b"apps:", b"BILLSYS"]
    for attempt in (f"{base}/../../../backroom.yaml", f"{base}/..%2f..%2f..%2fbackroom.yaml",
                    f"{base}/%2e%2e/%2e%2e/console/users.sqlite3", f"{base}/screenshots/..%2f..%2f..%2fqueue.sqlite3",
                    f"{base}/%2fetc%2fpasswd", f"{base}//etc/passwd", f"{base}/..\\..\\..\\backroom.yaml",
                    "/runs/..%2f..%2fbots/rekey-orders/bot.yaml", "/runs/rekey-orders/..%2f..%2fconsole/report.html",
                    f"/runs/uploads/rekey-orders/{uploaded.name}", "/runs/console/users.sqlite3/x"):
        status, body = raw_get(running.url, attempt, cookie, follow=True)
        assert status in (400, 404), attempt
        assert not any(marker in body for marker in secrets_on_disk), attempt
    refused = [a for a in actions(project) if a["action"] == "read_file" and a["outcome"] == "refused"]
    assert refused and all(a["person"] == "olga" for a in refused)


def test_uploads_are_checked_before_anything_runs(console, project, tmp_path):
    running, playwright = console
    person = Session(playwright, running.url)
    person.sign_in(*OPERATOR)

    def upload(name: str, content: bytes):
        return person.http.post("/start", multipart={
            "csrf_token": person.token("/start?bot=rekey-orders"), "bot": "rekey-orders",
            "upload": {"name": name, "mimeType": "application/octet-stream", "buffer": content}})

    macro_book = io.BytesIO()
    with zipfile.ZipFile(macro_book, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/vbaProject.bin", b"\x00macro")
    cases = {"orders.exe": (b"MZ\x90\x00", "reads .xlsx files"),
             "orders.xlsx": (b"not a zip at all", "not an Excel workbook"),
             "macros.xlsx": (macro_book.getvalue(), "contains macros"),
             "empty.xlsx": (b"", "it is empty"),
             "../../../escape.xlsx": (b"PK", "not an Excel workbook")}
    for name, (content, why) in cases.items():
        response = upload(name, content)
        assert response.status == 302 and response.headers["location"].startswith("/start"), name
        page = person.http.get(response.headers["location"]).text()
        assert why in page, name
    too_big = upload("big.xlsx", b"x" * (2 * 1024 * 1024))        # the limit here is 1 MB
    assert too_big.status == 413
    uploads = project / "logs" / "uploads"
    assert not uploads.exists() or not any(p.is_file() for p in uploads.rglob("*"))   # nothing refused was kept
    assert not (project.parent / "escape.xlsx").exists()
    assert not list((project / "logs" / "rekey-orders").glob("*")) if (project / "logs/rekey-orders").exists() else True
    kinds = [(a["action"], a["outcome"]) for a in actions(project)]
    assert kinds.count(("start_run", "refused")) == 5 and ("upload", "refused") in kinds


def test_the_console_command_needs_a_user_first_then_serves_until_sigterm(project):
    import signal
    import subprocess
    import sys
    import time
    import urllib.request

    from .test_cli import backroom

    refused = backroom("console", "--port", "0", cwd=project)
    assert refused.returncode == 2 and "nobody can sign in yet" in refused.stderr
    assert "backroom console users add NAME --role admin" in refused.stderr
    added = subprocess.run([sys.executable, "-m", "runner.cli", "console", "users", "add", "boss", "--role", "admin",
                            "--password-stdin"], cwd=project, input="boss-admins-4242\n", capture_output=True, text=True)
    assert added.returncode == 0, added.stderr
    weak = subprocess.run([sys.executable, "-m", "runner.cli", "console", "users", "add", "weak", "--role", "operator",
                           "--password-stdin"], cwd=project, input="short\n", capture_output=True, text=True)
    assert weak.returncode == 2 and "at least 10 characters" in weak.stderr
    server = subprocess.Popen([sys.executable, "-m", "runner.cli", "console", "--port", "0"], cwd=project,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+", line).group(0)
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(url + "/sign-in", timeout=5) as response:
                    assert response.status == 200 and b"Sign in" in response.read()
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=20) == 0
    finally:
        if server.poll() is None:
            server.kill()


def test_only_what_the_run_sealed_is_served_and_no_planted_script_runs(console, project, billing, tmp_path):
    """Links to the signing key, /etc/passwd and the console's secret, a file added after sealing (hidden
    or not) and a changed screenshot are refused; a script planted in the report neither is served nor
    runs, and the report's own script (a sealed file of its own) does."""
    running, playwright = console
    orders, rows = make_orders(tmp_path / "orders.xlsx", 2, seed=53)
    run = run_bot(type("E", (), {"project": project, "app": billing})(), orders)
    person = Session(playwright, running.url)
    person.sign_in(*OPERATOR)
    cookie = person.cookie()
    base = f"/runs/rekey-orders/{run.run_id}"
    key = project / load_settings(project).audit.private_key
    shots = sorted((run.run_dir / "screenshots").iterdir())
    assert raw_get(running.url, f"{base}/screenshots/{shots[0].name}", cookie)[0] == 200
    planted = {"k.jpg": key, "screenshots/passwd.png": Path("/etc/passwd"),
               "secret.jpg": project / "logs" / "console"}
    for name, target in planted.items():
        (run.run_dir / name).symlink_to(target)
    (run.run_dir / ".hidden.jpg").write_bytes(shots[0].read_bytes())
    (run.run_dir / "screenshots" / "added.jpg").write_bytes(shots[0].read_bytes())
    shots[1].write_bytes(shots[0].read_bytes())     # a valid picture, but not the one sealed
    for name in [*planted, ".hidden.jpg", "screenshots/added.jpg", f"screenshots/{shots[1].name}",
                 "secret.jpg/users.sqlite3"]:
        status, body = raw_get(running.url, f"{base}/{name}", cookie)
        assert status == 404 and b"PRIVATE KEY" not in body and b"root:" not in body, name
    refusals = [a["detail"] for a in actions(project) if a["action"] == "read_file" and a["outcome"] == "refused"]
    assert any("symbolic link" in d for d in refusals) and any("not in the run's sealed manifest" in d
                                                                   for d in refusals)
    assert any("changed since the run was sealed" in d for d in refusals)

    # The report works in a browser through the console: its filter script runs from report.js.
    browser = playwright.chromium.launch(**load_settings(project).browser.launch_options())
    context = browser.new_context()
    context.add_cookies([{"name": c.split("=", 1)[0], "value": c.split("=", 1)[1], "url": running.url}
                         for c in cookie.split("; ")])
    page = context.new_page()
    served = page.goto(running.url + base + "/report.html")
    policy = served.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["script-src"] == "'self'"   # no inline script, no hashes of any
    assert page.locator("section.item").count() == 2
    page.fill("#filter", rows[1][0])
    assert page.locator("section.item:visible").count() == 1
    # A script appended to the report: the report no longer matches its seal and is refused.
    report = run.run_dir / "report.html"
    report.write_text(report.read_text() + "<script>document.title='PWNED'</script>")
    response = page.goto(running.url + base + "/report.html")
    assert response.status == 404 and page.title() != "PWNED"
    browser.close()
    from runner.audit.signing import load_verifier
    from runner.audit.verify import verify_run

    found = {(f.kind, f.subject) for f in verify_run(run.run_dir, load_verifier(load_settings(project), project)).findings}
    assert {("altered", "report.html"), ("inserted", "k.jpg"), ("inserted", ".hidden.jpg"),
            ("inserted", "screenshots/added.jpg"), ("altered", f"screenshots/{shots[1].name}")} <= found

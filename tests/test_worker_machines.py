"""Two runner services as two machines: each in a network namespace of its own with a host name of its own,
reaching PostgreSQL and BILLSYS over a veth link, each with its own project folder, their evidence in one
shared logs folder. Both work the queue at once; one is killed mid-item, and the other, which cannot look
for a process on another machine, takes the item back when its lease runs out. BILLSYS holds each order
once, and `audit verify --all` on either machine verifies every run of both."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from runner.work_queue import ItemState, open_queue

from .conftest import ROOT, make_orders, start_billing, wait_until
from .netns import HOST_ADDRESS, CannotMakeNamespaces, Relay, in_namespace, network_namespaces
from .postgres_server import postgres_database
from .test_read_back_web import assert_orders_match

pytestmark = [pytest.mark.web, pytest.mark.postgres, pytest.mark.slow]


def machine_project(folder: Path, share: Path) -> Path:
    """A project folder of one machine: its own copy of the bots, the logs and the signing key on the share."""
    for part in ("bots", "recipes", "selectors"):
        shutil.copytree(ROOT / part, folder / part)
    config = yaml.safe_load((ROOT / "backroom.yaml").read_text())
    config.pop("queue", None)
    config.update({"logs_dir": str(share / "logs"), "lease_s": 4,
                   "audit": {"private_key": str(share / "keys" / "signing-key.pem"),
                             "public_key": str(share / "keys" / "signing-key.pub")}})
    (folder / "backroom.yaml").write_text(yaml.safe_dump(config))
    return folder


def test_two_runners_on_machines_of_their_own_share_one_queue_and_one_evidence_folder(secrets_env, tmp_path):
    share = tmp_path / "share"
    machines = {"node-a": machine_project(tmp_path / "node-a", share), "node-b": machine_project(tmp_path / "node-b", share)}
    url = postgres_database()
    workbook, rows = make_orders(tmp_path / "orders.xlsx", 6, seed=75)
    stack = ExitStack()
    try:
        namespaces = stack.enter_context(network_namespaces(2))
    except CannotMakeNamespaces as exc:
        pytest.skip(f"network namespaces cannot be made here: {exc}")
    workers: dict[str, subprocess.Popen] = {}
    with stack, start_billing(tmp_path, delay_ms=150) as app:
        billing, database = Relay(urlsplit(app.url).port), Relay(urlsplit(url).port)
        far_url = url.replace(f"127.0.0.1:{urlsplit(url).port}", f"{HOST_ADDRESS}:{database.port}")
        queue = open_queue(url)
        try:
            added = subprocess.run([sys.executable, "-m", "runner.cli", "--queue-url", url, "queue", "add", "rekey-orders",
                                    "--input", str(workbook)], cwd=machines["node-a"], capture_output=True, text=True,
                                   timeout=120)
            assert added.returncode == 0, added.stdout + added.stderr
            for (namespace, _), (host, project) in zip(namespaces, machines.items()):
                command = [sys.executable, "-m", "runner.cli", "--queue-url", far_url, "worker", "--bot", "rekey-orders",
                           "--name", host, "--poll", "0.2", "--heartbeat", "1",
                           "--app-url", f"billing=http://{HOST_ADDRESS}:{billing.port}"]
                workers[host] = subprocess.Popen(in_namespace(namespace, host, command), cwd=project,
                                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                                 start_new_session=True)

            def holders() -> dict[str, str]:
                return {i.lease_owner.split(":")[0]: i.reference
                        for i in queue.items("rekey-orders", [ItemState.IN_PROGRESS]) if i.lease_owner}

            # both machines work at once, each reaching the queue and BILLSYS over its own link
            wait_until(lambda: set(holders()) == {"node-a", "node-b"}, 120, "both machines to hold an order at once")
            held = holders()["node-a"]
            # its run is open (in the registry, its folder on the share) before node-a goes away
            wait_until(lambda: any(r.host == "node-a" for r in queue.runs("rekey-orders")), 60, "node-a's run to open")
            os.killpg(workers["node-a"].pid, signal.SIGKILL)   # node-a goes away mid-item
            workers["node-a"].wait(30)
            wait_until(lambda: all(i.state == ItemState.DONE for i in queue.items("rekey-orders")), 300,
                       "node-b to finish every order", workers["node-b"])
            assert_orders_match(app.settings.db_path, rows)   # each once, as the input says
            taken_back = [c for c in queue.history("rekey-orders", held) if "recovered from node-a:" in c.message]
            assert len(taken_back) == 1, queue.history("rekey-orders", held)
            runs = queue.runs("rekey-orders")
            assert {r.host for r in runs} == {"node-a", "node-b"}
            assert {r.logs_dir for r in runs} == {str(share / "logs")}
            assert {r.name: r.host for r in queue.runners()} == {"node-a": "node-a", "node-b": "node-b"}
            workers["node-b"].send_signal(signal.SIGTERM)
            assert workers["node-b"].wait(120) == 0
        finally:
            for process in workers.values():
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGKILL)
            queue.close()
            billing.close()
            database.close()
    # node-a's killed run is closed by a person; then every run of both machines verifies from either machine
    killed = next(r for r in runs if r.host == "node-a" and r.outcome is None)
    env = {**os.environ, "BACKROOM_QUEUE_URL": url, "COLUMNS": "250"}
    closed = subprocess.run([sys.executable, "-m", "runner.cli", "audit", "close", killed.run_id, "--reason",
                             "node-a was switched off", "--by", "ops"], cwd=machines["node-b"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert closed.returncode == 0, closed.stdout + closed.stderr
    for project in machines.values():
        verified = subprocess.run([sys.executable, "-m", "runner.cli", "audit", "verify", "--all"], cwd=project,
                                  env=env, capture_output=True, text=True, timeout=300)
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert verified.stdout.count("OK   rekey-orders/") == len(runs)

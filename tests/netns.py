"""Machines of their own on this one: network namespaces joined by veth links to a bridge on the host,
and a TCP relay for a server that listens on 127.0.0.1 only (the suite's PostgreSQL).

A process started in a namespace (`NetworkNamespaces.command`) has its own network, sees the host only
at the bridge's address, and has a host name of its own (a UTS namespace), as a runner on another machine.
"""

from __future__ import annotations

import os
import socket
import subprocess
import threading
from contextlib import contextmanager
from typing import Iterator

HOST_ADDRESS = "10.231.0.1"


class CannotMakeNamespaces(Exception):
    """This machine does not let the suite make network namespaces (no CAP_NET_ADMIN, no iproute2)."""


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        raise CannotMakeNamespaces(f"ip {' '.join(args)}: {done.stderr.strip()}")


@contextmanager
def network_namespaces(count: int) -> Iterator[list[tuple[str, str]]]:
    """`count` namespaces on a bridge whose host address is HOST_ADDRESS: [(namespace, its address)]."""
    tag = f"bk{os.getpid() % 100000}"
    bridge, made, links = f"{tag}br", [], []
    try:
        try:
            _ip("link", "add", bridge, "type", "bridge")
        except FileNotFoundError:
            raise CannotMakeNamespaces("the ip command (iproute2) is missing") from None
        links.append(bridge)
        _ip("addr", "add", f"{HOST_ADDRESS}/24", "dev", bridge)
        _ip("link", "set", bridge, "up")
        for number in range(count):
            name, host_end, far_end = f"{tag}n{number}", f"{tag}h{number}", f"{tag}v{number}"
            _ip("netns", "add", name)
            made.append(name)
            _ip("link", "add", host_end, "type", "veth", "peer", "name", far_end)
            links.append(host_end)
            _ip("link", "set", host_end, "master", bridge)
            _ip("link", "set", host_end, "up")
            _ip("link", "set", far_end, "netns", name)
            address = f"10.231.0.{number + 2}"
            _ip("netns", "exec", name, "ip", "addr", "add", f"{address}/24", "dev", far_end)
            _ip("netns", "exec", name, "ip", "link", "set", far_end, "up")
            _ip("netns", "exec", name, "ip", "link", "set", "lo", "up")
        yield [(name, f"10.231.0.{n + 2}") for n, name in enumerate(made)]
    finally:
        for link in reversed(links):
            subprocess.run(["ip", "link", "del", link], capture_output=True, timeout=30)
        for name in made:
            subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=30)


def in_namespace(namespace: str, hostname: str, command: list[str]) -> list[str]:
    """`command` run inside the namespace, under a host name of its own."""
    return ["ip", "netns", "exec", namespace, "unshare", "--uts", "--", "sh", "-c",
            'hostname "$0" && exec "$@"', hostname, *command]


class Relay:
    """Connections to (HOST_ADDRESS, port) passed on to 127.0.0.1:target, both ways."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.server = socket.create_server((HOST_ADDRESS, 0))
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._accept, name=f"relay-{target_port}", daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return   # closed
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=10)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (sink, source):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.server.close()

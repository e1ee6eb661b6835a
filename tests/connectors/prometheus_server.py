"""Run the real Debian `prometheus` binary for a test, scraping what the test serves."""

import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TextExporter:
    """A hand-written /metrics endpoint on loopback: `body(path)` is the exposition text of each scrape."""

    def __init__(self, body: Callable[[str], str]) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                text = body(self.path).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def running_prometheus(
    folder: Path, scrape_configs: str, *, ready_query: str, is_ready: Callable[[list[float]], bool], what: str
) -> Iterator[str]:
    """Start prometheus with `scrape_configs` (YAML list items), wait until `ready_query`'s values
    satisfy `is_ready` (a minute at most), yield its URL, and stop it afterwards."""
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("the Debian `prometheus` package is missing: run scripts/system-deps.sh (make test does)")
    (folder / "prometheus.yml").write_text(
        f"global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n{scrape_configs}"
    )
    port = free_port()
    log = (folder / "prometheus.log").open("w")
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={folder / 'prometheus.yml'}",
            f"--storage.tsdb.path={folder / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                tail = (folder / "prometheus.log").read_text()[-2000:]
                pytest.fail(f"prometheus exited with {process.returncode}: {tail}")
            try:
                answer = httpx.get(f"{url}/api/v1/query", params={"query": ready_query}).json()
                if is_ready([float(r["value"][1]) for r in answer["data"]["result"]]):
                    break
            except (httpx.HTTPError, ValueError, KeyError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"prometheus at {url} had no {what} within 60 s")
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()

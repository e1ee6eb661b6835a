"""Run the live service for the demo, replay and end-to-end benchmarks: in this process, or as a child.

with InProcessServer(settings) as server:      # uvicorn on 127.0.0.1, a free port by default
    server.url, server.token, server.runtime

with ServerProcess(state_dir) as child:        # the service in a child process (kill -9 able)
    child.url, child.token, child.pid
"""

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType

import httpx
import uvicorn
from pydantic import SecretStr

from missioncontrol import bootstrap
from missioncontrol.api.app import create_app
from missioncontrol.api.runtime import Runtime
from missioncontrol.domain import MissionControlError
from missioncontrol.settings import Settings

HOST = "127.0.0.1"


class ServerError(MissionControlError):
    """The live service could not be started."""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def wait_healthy(url: str, *, timeout_s: float, alive: "subprocess.Popen[bytes] | None" = None) -> None:
    """Wait until GET /healthz answers 200."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if alive is not None and alive.poll() is not None:
            raise ServerError(f"the server exited with code {alive.returncode} before it was healthy")
        try:
            if httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise ServerError(f"{url} was not healthy after {timeout_s:.0f} s")


class InProcessServer:
    """The service under uvicorn in a background thread of this process."""

    def __init__(self, settings: Settings, *, port: int = 0) -> None:
        self.settings = settings
        self.port = port or free_port()
        self.runtime: Runtime | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def token(self) -> str:
        assert self.runtime is not None
        return self.runtime.api_tokens[0]

    def start(self) -> "InProcessServer":
        """Build the runtime, start uvicorn and wait until it answers."""
        self.runtime = bootstrap.build_runtime(self.settings)
        config = uvicorn.Config(
            create_app(self.runtime), host=HOST, port=self.port, log_level="warning", access_log=False
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="uvicorn", daemon=True)
        self._thread.start()
        wait_healthy(self.url, timeout_s=60)
        return self

    def wait(self) -> None:
        """Block until the server stops (Ctrl-C stops it)."""
        # Sleep, not `Thread.join`: on Python < 3.13 a Ctrl-C that interrupts `join` marks the thread
        # as stopped while it still runs (CPython gh-90882), so `stop` would not wait for the
        # server's shutdown hooks and the process exited under the embedded chDB (exit 139).
        try:
            while self._thread is not None and self._thread.is_alive():
                time.sleep(0.2)
        except KeyboardInterrupt:
            pass

    def stop(self) -> None:
        """Ask uvicorn to shut down (runs the runtime's stop hooks) and wait for it."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=60)
        self._server = self._thread = None

    def __enter__(self) -> "InProcessServer":
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


class ServerProcess:
    """`missionctl serve` in a child process with its own state dir and token: it can be killed."""

    def __init__(
        self,
        state_dir: Path,
        *,
        port: int = 0,
        token: str = "loop-token-not-secret",
        settings: dict[str, object] | None = None,
        log: Path | None = None,
    ) -> None:
        self.state_dir = state_dir
        self.port = port or free_port()
        self.token = token
        self.settings = settings or {}  # more Settings fields for the child, e.g. reference_windows
        self.log = log or state_dir / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, *, timeout_s: float = 300.0) -> "ServerProcess":
        """Start the child and wait until it answers /healthz."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        overrides = json.dumps(self.settings, default=str)
        command = [sys.executable, "-c", "from missioncontrol.cli.live import serve_child; serve_child()"]
        command += [str(self.state_dir), self.token, str(self.port), overrides]
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        wait_healthy(self.url, timeout_s=timeout_s, alive=self.proc)
        return self

    def rss_bytes(self) -> int:
        """Return the child's resident memory."""
        import psutil

        return int(psutil.Process(self.pid).memory_info().rss)

    def kill(self) -> None:
        """Kill the child at once (SIGKILL): no shutdown hooks, no flush."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        """Stop the child gracefully (SIGTERM), killing it after 30 s."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()

    def __enter__(self) -> "ServerProcess":
        return self.start()

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.stop()


def serve_child() -> None:
    """Run a `ServerProcess` child: argv holds its state dir, token, port and Settings overrides (JSON).

    The state store is SQLite under the state dir and telemetry is embedded chDB, whatever the
    environment says, so the parent can count what the child stored.
    """
    state_dir, token, port, overrides = sys.argv[1], sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4])
    settings = Settings(
        state_dir=Path(state_dir),
        api_tokens=[SecretStr(token)],
        database_url=None,
        telemetry_url=None,
        **overrides,
    )
    runtime = bootstrap.build_runtime(settings)
    uvicorn.run(create_app(runtime), host=HOST, port=port, log_level="warning", access_log=False)

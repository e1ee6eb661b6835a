"""`missionctl worker`: its own process, at the configured niceness, stopped cleanly by SIGTERM."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil


def test_worker_lowers_its_own_priority_and_stops_on_sigterm(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "MISSIONCONTROL_STATE_DIR": str(tmp_path / "state"),
        "MISSIONCONTROL_WORKER_NICE": "5",
        "MISSIONCONTROL_API_TOKENS": '["t"]',
    }
    env.pop("MISSIONCONTROL_DATABASE_URL", None)
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "missionctl"), "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        # The niceness is set once the runtime is built, before the worker starts.
        while psutil.Process(proc.pid).nice() != os.nice(0) + 5:
            assert proc.poll() is None, proc.communicate()[1].decode()
            assert time.monotonic() < deadline, "the worker never lowered its priority"
            time.sleep(0.1)
        # Linux keeps a niceness per thread: the threads the runtime started have it too.
        deadline = time.monotonic() + 120
        while len(threads := psutil.Process(proc.pid).threads()) < 2:
            assert time.monotonic() < deadline, "the worker started no threads"
            time.sleep(0.1)
        assert {psutil.Process(t.id).nice() for t in threads} == {os.nice(0) + 5}
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()

"""Run a declared action (`ports.ActionRunner`): an argv command with a timeout, or one HTTP call.

Commands run without a shell, with the declared timeout (the process is killed past it), and their
output is cut to the first `max_output` characters. HTTP calls go through the outbound port (the
allow-list applies) with a single attempt: a runbook action is never repeated by itself.
"""

import subprocess
import time
from collections.abc import Mapping

from missioncontrol.connectors.runbook.mapping import to_argv, to_http
from missioncontrol.domain.respond import (
    ActionSpec,
    CommandRunner,
    OutboundRefused,
    OutboundRequest,
    RunOutcome,
)
from missioncontrol.ports import OutboundHttp


class RunbookRunner:
    """`ports.ActionRunner` for the policy's command and HTTP runners."""

    def __init__(self, *, outbound: OutboundHttp, max_output: int = 4096) -> None:
        self.outbound = outbound
        self.max_output = max_output

    def run(self, spec: ActionSpec, args: Mapping[str, str]) -> RunOutcome:
        """Run `spec` with `args`; a failure is an outcome, never an exception."""
        started = time.monotonic()
        if isinstance(spec.runner, CommandRunner):
            return self._command(spec.runner, args, started)
        method, url, headers, body = to_http(spec.runner, args)
        request = OutboundRequest(
            method=method,
            url=url,
            body=body,
            headers=tuple(headers),
            timeout_s=spec.runner.timeout_s,
            max_attempts=1,
        )
        try:
            result = self.outbound.send(request)
        except OutboundRefused as exc:
            return RunOutcome(is_success=False, error=str(exc), duration_s=time.monotonic() - started)
        return RunOutcome(
            is_success=result.is_delivered and not result.is_dry_run,
            http_status=result.status,
            output=("(dry run: nothing sent)" if result.is_dry_run else result.body)[: self.max_output],
            duration_s=time.monotonic() - started,
            error=result.error,
        )

    def _command(self, runner: CommandRunner, args: Mapping[str, str], started: float) -> RunOutcome:
        argv = to_argv(runner, args)
        try:
            done = subprocess.run(  # argv from the policy, never a shell
                argv, capture_output=True, text=True, timeout=runner.timeout_s, check=False, shell=False
            )
        except subprocess.TimeoutExpired as exc:
            output = (exc.stdout or "") if isinstance(exc.stdout, str) else ""
            return RunOutcome(
                is_success=False,
                output=output[: self.max_output],
                duration_s=time.monotonic() - started,
                error=f"{argv[0]} timed out after {runner.timeout_s:g}s and was killed",
            )
        except OSError as exc:
            return RunOutcome(
                is_success=False,
                duration_s=time.monotonic() - started,
                error=f"cannot run {argv[0]!r}: {exc.strerror or exc}",
            )
        output = (done.stdout + done.stderr)[: self.max_output]
        return RunOutcome(
            is_success=done.returncode == 0,
            exit_code=done.returncode,
            output=output,
            duration_s=time.monotonic() - started,
            error="" if done.returncode == 0 else f"{argv[0]} exited with {done.returncode}",
        )

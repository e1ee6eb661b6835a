"""The `[llm]` extra is optional: configured without it, narration fails at start-up with a clear error.

`make test-no-extras` runs this without openai installed, `make test` with it; each run checks its side.
"""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from missioncontrol import bootstrap
from missioncontrol.connectors.openai import LanguageModelUnavailable, OpenAIChatModel
from missioncontrol.domain.errors import MissionControlError
from missioncontrol.settings import Settings

HAS_OPENAI = importlib.util.find_spec("openai") is not None


@pytest.mark.skipif(HAS_OPENAI, reason="the [llm] extra is installed here")
def test_a_configured_model_without_the_extra_names_the_extra_to_install() -> None:
    with pytest.raises(LanguageModelUnavailable) as raised:
        OpenAIChatModel(base_url="http://127.0.0.1:9/v1", model="scripted")

    message = str(raised.value)
    assert "missioncontrol[llm]" in message and "scripted" in message
    assert isinstance(raised.value, MissionControlError)  # the CLI prints it on one line, exit 2


@pytest.mark.skipif(HAS_OPENAI, reason="the [llm] extra is installed here")
def test_the_service_refuses_to_start_with_a_model_it_cannot_reach(tmp_path: Path) -> None:
    settings = Settings(
        state_dir=tmp_path, llm_base_url="http://127.0.0.1:9/v1", llm_model="scripted", api_tokens=["t"]
    )

    with pytest.raises(LanguageModelUnavailable):
        bootstrap.build_runtime(settings)


@pytest.mark.skipif(not HAS_OPENAI, reason="the [llm] extra is not installed")
def test_with_the_extra_a_model_is_built_without_calling_it() -> None:
    model = OpenAIChatModel(base_url="http://127.0.0.1:9/v1", model="scripted")

    assert model.name == "scripted"


@pytest.mark.skipif(HAS_OPENAI, reason="the [llm] extra is installed here")
def test_serve_says_on_one_line_which_extra_is_missing(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "MISSIONCONTROL_STATE_DIR": str(tmp_path),
        "MISSIONCONTROL_LLM_BASE_URL": "http://127.0.0.1:9/v1",
        "MISSIONCONTROL_LLM_MODEL": "scripted",
        "COLUMNS": "400",
    }
    done = subprocess.run(
        [sys.executable, "-c", "from missioncontrol.cli.main import app; app()", "serve", "--port", "9"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 2, done.stderr[-2000:]
    assert "missioncontrol[llm]" in done.stderr and "Traceback" not in done.stderr

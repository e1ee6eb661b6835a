"""Call any OpenAI-compatible endpoint through the `openai` SDK (base URL and model from settings)."""

from collections.abc import Mapping, Sequence
from typing import Any

from missioncontrol.connectors.openai.mapping import to_text
from missioncontrol.domain.errors import MissionControlError


class LanguageModelUnavailable(MissionControlError):
    """A language model is configured, but the `[llm]` extra that talks to it is not installed."""


class OpenAIChatModel:
    """A `ports.LanguageModel` over chat completions. No tools are offered to the model, ever."""

    def __init__(
        self, *, base_url: str, model: str, api_key: str = "unused", timeout_s: float = 30.0
    ) -> None:
        try:
            from openai import OpenAI  # the optional `[llm]` extra: imported only when a model is configured
        except ImportError:
            raise LanguageModelUnavailable(
                f"narration is configured (model {model!r} at {base_url}) but the openai package is not "
                "installed: pip install 'missioncontrol[llm]', or unset MISSIONCONTROL_LLM_BASE_URL"
            ) from None

        self.name = model
        self._model = model
        self._client = OpenAI(
            base_url=base_url, api_key=api_key or "unused", timeout=timeout_s, max_retries=1
        )

    def complete(self, messages: Sequence[Mapping[str, str]]) -> str:
        """Return the model's text reply to `messages`."""
        payload: list[Any] = [{"role": m["role"], "content": m["content"]} for m in messages]
        response = self._client.chat.completions.create(
            model=self._model, messages=payload, temperature=0.0, max_tokens=600
        )
        return to_text(response.model_dump())

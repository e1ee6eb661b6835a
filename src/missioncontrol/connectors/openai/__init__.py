"""OpenAI-compatible chat completions as the optional `LanguageModel` (install the `[llm]` extra)."""

from missioncontrol.connectors.openai.client import LanguageModelUnavailable, OpenAIChatModel

__all__ = ["LanguageModelUnavailable", "OpenAIChatModel"]

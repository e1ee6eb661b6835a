"""OpenAI-compatible chat completions as the optional `LanguageModel` (install the `[llm]` extra)."""

from missioncontrol.connectors.openai.client import OpenAIChatModel

__all__ = ["OpenAIChatModel"]

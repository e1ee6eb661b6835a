"""MCP: the investigation tools for other agents (IDE assistants, chat bots), over stdio and HTTP."""

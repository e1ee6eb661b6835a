"""GitHub: `deployment` and `deployment_status` webhooks as domain changes.

changes, rejections = to_changes(request.headers["X-GitHub-Event"], json.loads(body))
"""

from missioncontrol.connectors.github.mapping import to_change, to_changes

__all__ = ["to_change", "to_changes"]

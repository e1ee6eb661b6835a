"""CDEvents: `service.deployed`, `service.upgraded` and `service.rolledback` events as domain changes.

changes, rejections = to_changes(json.loads(body))
"""

from missioncontrol.connectors.cdevents.mapping import to_change, to_changes

__all__ = ["to_change", "to_changes"]

"""A service graph as Backstage `catalog-info.yaml` Components: what a sender (replay, demo) POSTs. Pure.

Each service becomes a Component whose `spec.dependsOn` lists the services it calls; `parse_catalog`
reads the same dependencies back.
"""

from collections.abc import Mapping

import yaml

from missioncontrol.domain import ServiceGraph


def to_catalog_yaml(graph: ServiceGraph, *, owners: Mapping[str, str] | None = None, system: str = "") -> str:
    """Return a multi-document catalog-info.yaml with one Component per service of `graph`."""
    documents = []
    for service in sorted(graph.services):
        spec: dict[str, object] = {
            "type": "service",
            "lifecycle": "production",
            "owner": f"group:default/{(owners or {}).get(service, 'unassigned')}",
        }
        if system:
            spec["system"] = system
        callees = graph.callees(service)
        if callees:
            spec["dependsOn"] = [f"component:default/{c}" for c in callees]
        documents.append(
            {
                "apiVersion": "backstage.io/v1alpha1",
                "kind": "Component",
                "metadata": {"name": str(service)},
                "spec": spec,
            }
        )
    return yaml.safe_dump_all(documents, sort_keys=False)

"""The built-in simulated estate: incidents with known causes for the demo, tests and scale benchmarks.

    estate = generate_estate(24, seed=1)
    labeled = simulate_incident(estate, fault=FaultKind.CPU, culprit=None, seed=42)
    labeled.case      # what the engine may see
    labeled.truth     # the injected fault, for scoring only
    estate_catalog_yaml(estate)   # its Backstage catalog-info.yaml: owners, systems, tiers, teams

Deterministic: the same arguments give equal cases. Imports only the domain, ports, stdlib, numpy and
PyYAML (the catalog).
"""

from missioncontrol.connectors.simulator.catalog import estate_catalog, estate_catalog_yaml
from missioncontrol.connectors.simulator.estate import Estate, ServiceKind, ServiceProfile, generate_estate
from missioncontrol.connectors.simulator.faults import SUPPORTED_FAULTS, eligible_culprits
from missioncontrol.connectors.simulator.incident import simulate_incident
from missioncontrol.connectors.simulator.suite import SimulatorSource, demo_case, demo_estate
from missioncontrol.ports import Capability, ConnectorSpec

__all__ = [
    "SUPPORTED_FAULTS",
    "Estate",
    "ServiceKind",
    "ServiceProfile",
    "SimulatorSource",
    "demo_case",
    "demo_estate",
    "eligible_culprits",
    "estate_catalog",
    "estate_catalog_yaml",
    "generate_estate",
    "simulate_incident",
    "spec",
]


spec = ConnectorSpec(
    name="simulator",
    summary="The built-in simulated estate: incidents with known causes and its Backstage catalog.",
    capabilities=frozenset({Capability.CASE_SOURCE}),
    docs="docs/connectors/simulator.md",
)

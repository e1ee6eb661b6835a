"""Architecture is a test: dependencies point inward, and only settings reads the environment."""

import ast
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "missioncontrol"


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def modules_under(package: str) -> list[Path]:
    return sorted((SRC / package).rglob("*.py"))


def internal(names: set[str]) -> set[str]:
    return {n for n in names if n.startswith("missioncontrol")}


@pytest.mark.parametrize("path", modules_under("domain"), ids=lambda p: p.name)
def test_domain_imports_only_the_standard_library(path: Path) -> None:
    for name in imports_of(path):
        top = name.split(".")[0]
        assert top in sys.stdlib_module_names or name.startswith("missioncontrol.domain"), (
            f"{path.name} imports {name}"
        )


@pytest.mark.parametrize("path", modules_under("engine"), ids=lambda p: p.name)
def test_engine_talks_to_domain_and_ports_only(path: Path) -> None:
    allowed = ("missioncontrol.domain", "missioncontrol.ports", "missioncontrol.engine")
    for name in internal(imports_of(path)):
        assert name.startswith(allowed), f"engine/{path.name} imports {name}"


@pytest.mark.parametrize("path", modules_under("connectors"), ids=lambda p: str(p.relative_to(SRC)))
def test_a_connector_never_imports_another_connector_or_the_engine(path: Path) -> None:
    rel = path.relative_to(SRC / "connectors")
    own = f"missioncontrol.connectors.{rel.parts[0].removesuffix('.py')}"
    for name in internal(imports_of(path)):
        assert name.startswith(("missioncontrol.domain", "missioncontrol.ports", own)), (
            f"connectors/{rel} imports {name}"
        )


@pytest.mark.parametrize("path", modules_under("evaluation"), ids=lambda p: p.name)
def test_evaluation_scores_through_ports_only(path: Path) -> None:
    allowed = ("missioncontrol.domain", "missioncontrol.ports", "missioncontrol.evaluation")
    for name in internal(imports_of(path)):
        assert name.startswith(allowed), f"evaluation/{path.name} imports {name}"


def test_only_settings_reads_the_environment() -> None:
    offenders = [
        str(p.relative_to(SRC))
        for p in SRC.rglob("*.py")
        if p.name != "settings.py" and ("os.environ" in p.read_text() or "getenv" in p.read_text())
    ]
    assert offenders == []


def test_only_bootstrap_imports_connectors() -> None:
    offenders = []
    for p in SRC.rglob("*.py"):
        rel = p.relative_to(SRC)
        if rel.parts[0] == "connectors" or rel.name == "bootstrap.py":
            continue
        if any(n.startswith("missioncontrol.connectors") for n in imports_of(p)):
            offenders.append(str(rel))
    assert offenders == []


def test_no_module_grows_past_eight_hundred_lines() -> None:
    lengths = {str(p.relative_to(SRC)): len(p.read_text().splitlines()) for p in SRC.rglob("*.py")}
    long = {name: n for name, n in lengths.items() if n > 800}
    assert long == {}, "split these, or say why in ARCHITECTURE.md"


def test_every_registered_connector_loads_is_documented_and_ships_samples_if_it_ingests() -> None:
    from missioncontrol.bootstrap import connector_statuses
    from missioncontrol.settings import Settings

    statuses = connector_statuses(Settings(connectors={}))
    assert {"alertmanager", "otlp", "cdevents", "github", "backstage"} <= {s.name for s in statuses}
    docs = SRC.parents[1] / "docs" / "connectors"
    for status in statuses:
        spec = status.spec
        assert spec is not None, f"connector {status.name!r} failed to load: {status.detail}"
        assert spec.docs == f"docs/connectors/{spec.name}.md", f"{spec.name}: docs path"
        assert (docs / f"{spec.name}.md").is_file(), f"document connector {spec.name!r}"
        if any(c.is_ingest for c in spec.capabilities):
            assert spec.samples is not None and spec.samples.is_dir(), f"add samples for {spec.name!r}"
            assert any(spec.samples.glob("*.*")), f"add samples for {spec.name!r}"

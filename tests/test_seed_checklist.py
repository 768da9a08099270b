"""The seed's "Production Readiness Checklist" judgements, reproduced from the manifests alone."""

from pathlib import Path

import pytest

from toolman_kit import checklist
from toolman_kit.judge.checklist import SEED_ROWS

ROOT = Path(__file__).parents[1]
EXAMPLE = ROOT / "examples" / "toolman"
SEED = next(p for p in (ROOT.parent / "shared" / "seed" / "toolman-deployment-analysis.md",
                        EXAMPLE / "seed-analysis.md") if p.is_file())
STATUS = {"✅": "pass", "⚠️": "warning", "❌": "fail"}


def seed_table() -> dict[str, str]:
    """Component → status from the seed's Markdown table."""
    section = SEED.read_text().split("## Production Readiness Checklist", 1)[1]
    rows = [line.strip().strip("|").split("|") for line in section.splitlines()
            if line.startswith("|")][2:]
    return {cells[0].strip(): STATUS[cells[2].strip()] for cells in rows}


@pytest.fixture(scope="module")
def default_checklist():
    df = checklist(EXAMPLE / "rendered" / "default.yaml", profile=EXAMPLE / "profile.yaml")
    return df[df["workload"] == "Deployment/toolman"].set_index("component")


def test_seed_rows_are_ours_in_order():
    assert tuple(seed_table()) == SEED_ROWS


@pytest.mark.parametrize("component", list(seed_table()))
def test_every_seed_judgement_is_reproduced(default_checklist, component):
    assert default_checklist.loc[component, "status"] == seed_table()[component]


def test_current_state_matches_the_seed(default_checklist):
    state = default_checklist["current_state"]
    assert state["Replicas"] == "1"
    assert state["Resource Requests"] == "100m/128Mi"
    assert state["Resource Limits"] == "500m/512Mi"
    assert state["Health Probes"] == "Disabled"
    assert state["Pod Anti-Affinity"] == "None"
    assert state["PDB"] == "Disabled" and state["Network Policy"] == "Disabled"
    assert state["Monitoring"] == "Disabled"
    assert state["Image Tag"] == "latest" and state["Image Pull Policy"] == "Always"


def test_production_values_fix_the_seed_rows():
    df = checklist(EXAMPLE / "rendered" / "production.yaml", profile=EXAMPLE / "profile.yaml")
    rows = df[df["workload"] == "Deployment/toolman"].set_index("component")["status"]
    for component in SEED_ROWS:
        expected = {"Network Policy": "fail",  # namespaceSelector on `name`: matches nothing
                    "Health Probes": "warning",  # liveness waits 30s: a startup probe is due
                    "Image Tag": "fail",  # the docker:dind sidecar: a tag without a version
                    }.get(component, "pass")
        assert rows[component] == expected, component
    # Beyond the seed: the RWO volume shared by three replicas, and the privileged sidecar.
    assert rows["Storage vs Replicas"] == "fail"
    assert rows["Privileged Containers"] == "fail"
    assert rows["Pod Security Level"] == "fail"


def headings(markdown: str) -> list[str]:
    """The Markdown headings, outside code blocks (a YAML comment there is no heading)."""
    found, fenced = [], False
    for line in markdown.splitlines():
        fenced ^= line.startswith("```")
        if not fenced and line.startswith("#"):
            found.append(line)
    return found


def test_deployment_analysis_has_the_seeds_headings_in_order(tmp_path):
    """deployment-analysis.md as `toolman-kit report --values … --suggest` writes it for the
    Toolman chart (the report's own writer, without its notebooks): every heading of the seed in
    the seed's order, none twice."""
    from toolman_kit.present.report.files import analyse, write_data_files

    chart = EXAMPLE / "chart"
    params = {"sets": [{"name": "default values", "values": [], "set": []},
                       {"name": "production values",
                        "values": [str(chart / "values-production.yaml")], "set": []}],
              "chart": str(chart), "profile": str(EXAMPLE / "profile.yaml"), "namespace": None,
              "release": "release-name", "kube_version": None, "suggest": True,
              "comparison": True, "title": "Toolman Deployment Analysis Report"}
    write_data_files(tmp_path, params, analyse(params))
    ours = headings((tmp_path / "deployment-analysis.md").read_text(encoding="utf-8"))
    seed = headings(SEED.read_text(encoding="utf-8"))
    assert len(seed) == 19 and ours[0] == seed[0]
    assert [h for h in ours if h in seed] == seed  # ours adds sections, in between
    assert len(ours) == len(set(ours)), [h for h in ours if ours.count(h) > 1]

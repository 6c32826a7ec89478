"""The workspace pattern (issue 15): Hex's published projects as asset specs, each a
materializable asset with a check on its run, and the `dg` component that builds them."""
import pytest
from dagster import AssetKey, DagsterInstance, build_asset_context, materialize

import defs
from conftest import runs_of
from hexrun.dagster import (HexRunRequest, build_hex_asset, build_hex_assets_definitions,
                            load_hex_asset_specs)


def published_projects(sim):
    status, _, body = sim.call("GET", "/v1/projects?limit=100", token="hxtok_admin")
    assert status == 200
    return {p["id"]: p for p in body["values"] if p.get("lastPublishedAt")}


def spec_of(specs, project_id):
    (spec,) = [s for s in specs if s.metadata["hex/project_id"] == project_id]
    return spec


def test_specs_are_the_published_projects(sim):
    specs = load_hex_asset_specs(defs.hex_resource())
    published = published_projects(sim)
    assert sorted(s.metadata["hex/project_id"] for s in specs) == sorted(published)
    assert "55555555-5555-4555-8555-555555555555" not in published  # the unpublished one
    assert spec_of(specs, defs.P_OK).key == AssetKey(["hex", "daily_revenue"])
    assert all("hex" in s.kinds for s in specs)


def test_a_project_asset_materializes_as_one_run_with_its_metadata(sim):
    assets = build_hex_assets_definitions(defs.hex_resource())
    key = AssetKey(["hex", "daily_revenue"])
    (revenue,) = [a for a in assets if key in a.keys]
    before = len(runs_of(sim, defs.P_OK))
    result = materialize([revenue], resources={"hex": defs.hex_resource()})
    assert result.success
    (mat,) = result.asset_materializations_for_node(revenue.node_def.name)
    run_id = mat.metadata["hex_run_id"].value
    assert mat.metadata["hex_status"].value == "COMPLETED"
    assert run_id in mat.metadata["run_url"].url and mat.metadata["elapsed_s"].value > 0
    (check,) = result.get_asset_check_evaluations()
    assert check.passed and check.check_name == "hex_run_succeeded"
    runs = runs_of(sim, defs.P_OK)
    assert len(runs) == before + 1 and runs[-1]["runId"] == run_id


def test_a_project_asset_takes_the_resource_as_a_typed_parameter(sim):
    """As fivetran_assets' `fivetran: FivetranWorkspace`: invoked directly with the resource
    as an argument (no resources dict), under the key it was built with."""
    resource = defs.hex_resource()
    spec = spec_of(load_hex_asset_specs(resource), defs.P_OK)
    asset_def = build_hex_asset(spec, resource_key="hex_prod")
    assert "hex_prod" in asset_def.required_resource_keys
    mat, check = asset_def(build_asset_context(), hex_prod=resource)
    assert mat.metadata["hex_status"].value == "COMPLETED" and check.passed


@pytest.mark.parametrize("project,request_args,status", [
    (defs.P_ERR, {}, "ERRORED"),
    (defs.P_SLOW, {"timeout_s": 1.0}, "KILLED"),
])
def test_the_run_check_fails_on_errored_and_killed(sim, real_time, project, request_args,
                                                  status):
    spec = spec_of(load_hex_asset_specs(defs.hex_resource()), project)
    asset_def = build_hex_asset(spec, request=HexRunRequest(project_id=project, **request_args))
    with DagsterInstance.ephemeral() as instance:
        result = materialize([asset_def], resources={"hex": defs.hex_resource()},
                             instance=instance, raise_on_error=False)
    assert not result.success
    (check,) = result.get_asset_check_evaluations()
    assert not check.passed and check.metadata["hex_status"].value == status
    assert check.metadata["run_url"].url == runs_of(sim, project)[-1]["runUrl"]


def test_the_dg_component_loads_the_projects_from_yaml(sim, tmp_path, monkeypatch):
    """A dg project whose defs folder holds one defs.yaml of type HexProjectsComponent."""
    from dagster import load_from_defs_folder
    project = tmp_path / "hexproj_root"
    defs_dir = project / "hexproj" / "defs" / "hex"
    defs_dir.mkdir(parents=True)
    (project / "pyproject.toml").write_text(
        '[tool.dg]\ndirectory_type = "project"\n\n[tool.dg.project]\nroot_module = "hexproj"\n')
    for package in (project / "hexproj", project / "hexproj" / "defs"):
        (package / "__init__.py").write_text("")
    (defs_dir / "defs.yaml").write_text(
        "type: hexrun.dagster.HexProjectsComponent\n"
        "attributes:\n"
        "  base_url: \"{{ env.HEX_API_BASE_URL }}\"\n"
        "  settings: {poll_min_ms: 50, poll_max_ms: 200}\n")
    monkeypatch.syspath_prepend(str(project))
    loaded = load_from_defs_folder(path_within_project=project)
    keys = {k for a in loaded.assets for k in a.keys}
    assert AssetKey(["hex", "daily_revenue"]) in keys
    assert len(keys) == len(published_projects(sim))
    revenue = loaded.get_assets_def(AssetKey(["hex", "daily_revenue"]))
    result = materialize([revenue], resources=loaded.resources)
    (mat,) = result.asset_materializations_for_node(revenue.node_def.name)
    assert mat.metadata["hex_status"].value == "COMPLETED"

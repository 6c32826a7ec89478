"""The workspace pattern (issue 15): Hex's published projects as asset specs, each a
materializable asset with a check on its run, and the `dg` component that builds them."""
import re

import pytest
from dagster import AssetKey, DagsterInstance, build_asset_context, materialize

import defs
from conftest import runs_of
from hexrun.dagster import (HexRunRequest, build_hex_asset, build_hex_assets_definitions,
                            load_hex_asset_specs)
from hexrun.dagster.workspace import specs_of_projects


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


def dg_project(tmp_path, monkeypatch, name, attributes,
               component="hexrun.dagster.HexProjectsComponent"):
    """A dg project (root module `name`, one per test: Python keeps imported modules) whose
    defs folder holds one defs.yaml of the component, talking to hexsim."""
    project = tmp_path / f"{name}_root"
    defs_dir = project / name / "defs" / "hex"
    defs_dir.mkdir(parents=True)
    (project / "pyproject.toml").write_text(
        f'[tool.dg]\ndirectory_type = "project"\n\n[tool.dg.project]\nroot_module = "{name}"\n')
    for package in (project / name, project / name / "defs"):
        (package / "__init__.py").write_text("")
    (defs_dir / "defs.yaml").write_text(
        f"type: {component}\n"
        "attributes:\n"
        "  base_url: \"{{ env.HEX_API_BASE_URL }}\"\n"
        "  settings: {poll_min_ms: 50, poll_max_ms: 200}\n" + attributes)
    monkeypatch.syspath_prepend(str(project))
    monkeypatch.delenv("DAGSTER_IS_DEV_CLI", raising=False)  # `dagster dev` refreshes on load
    return project


def refresh_defs_state(project):
    """What `dg utils refresh-defs-state` does for a project (dagster-dg-cli is not installed
    here: its releases pin an older dagster than the one tested): every state-backed
    component of the project fetches and writes its state."""
    import asyncio
    from dagster import ComponentTree, StateBackedComponent
    tree = ComponentTree.for_project(project)
    components = tree.get_all_components(of_type=StateBackedComponent)
    for component in components:
        asyncio.run(component.refresh_state(tree.project_root))
    return components


def list_projects_calls(sim):
    return sum(sim.counters()["requests"].get("ListProjects", {}).values())


def test_the_dg_component_loads_from_its_defs_state_without_listing_projects(
        sim, tmp_path, monkeypatch):
    """As FivetranAccountComponent: the project list is fetched by the state refresh, and
    loading the code location reads it from the state: no ListProjects request (hexsim's
    counters), nor any Hex token, at load."""
    from dagster import load_from_defs_folder
    project = dg_project(tmp_path, monkeypatch, "hexstate", "")
    published = published_projects(sim)  # a ListProjects request of its own: counted first
    calls = list_projects_calls(sim)
    (component,) = refresh_defs_state(project)
    assert list_projects_calls(sim) > calls
    assert component.defs_state_config.key == "HexProjectsComponent[HEX_API_TOKEN]"
    calls = list_projects_calls(sim)
    monkeypatch.delenv("HEX_API_TOKEN")  # read only when an asset runs
    loaded = load_from_defs_folder(path_within_project=project)
    assert list_projects_calls(sim) == calls
    keys = {k for a in loaded.assets for k in a.keys}
    assert AssetKey(["hex", "daily_revenue"]) in keys and len(keys) == len(published)
    monkeypatch.setenv("HEX_API_TOKEN", "hxtok_admin")
    revenue = loaded.get_assets_def(AssetKey(["hex", "daily_revenue"]))
    result = materialize([revenue], resources=loaded.resources)
    (mat,) = result.asset_materializations_for_node(revenue.node_def.name)
    assert mat.metadata["hex_status"].value == "COMPLETED"
    assert list_projects_calls(sim) == calls


def test_the_dg_component_with_no_state_yet_lists_the_projects_at_load(
        sim, tmp_path, monkeypatch, caplog):
    from dagster import load_from_defs_folder
    project = dg_project(tmp_path, monkeypatch, "hexnostate", "")
    published = published_projects(sim)
    calls = list_projects_calls(sim)
    loaded = load_from_defs_folder(path_within_project=project)
    assert list_projects_calls(sim) > calls
    assert len({k for a in loaded.assets for k in a.keys}) == len(published)
    assert "dg utils refresh-defs-state" in caplog.text


def test_the_dg_component_translation_sets_key_prefix_group_and_tags(
        sim, tmp_path, monkeypatch):
    """`translation:` in defs.yaml, templated from each project's ListProjects entry."""
    from dagster import load_from_defs_folder
    project = dg_project(tmp_path, monkeypatch, "hextranslated", (
        "  translation:\n"
        "    key_prefix: analytics\n"
        "    group_name: \"hex_{{ project.type | lower }}\"\n"
        "    description: \"{{ project.title }}, owned by {{ project.owner.email }}\"\n"
        "    tags: {hex_type: \"{{ project.type }}\"}\n"))
    refresh_defs_state(project)
    loaded = load_from_defs_folder(path_within_project=project)
    key = AssetKey(["analytics", "hex", "daily_revenue"])
    (spec,) = [s for s in loaded.resolve_all_asset_specs() if s.key == key]
    assert spec.group_name == "hex_project" and spec.tags["hex_type"] == "PROJECT"
    assert spec.description == "Daily revenue, owned by owner@example.com"
    assert spec.metadata["hex/project_id"] == defs.P_OK  # what the asset runs, kept
    result = materialize([loaded.get_assets_def(key)], resources=loaded.resources)
    (mat,) = result.asset_materializations_for_node(loaded.get_assets_def(key).node_def.name)
    assert mat.metadata["hex_status"].value == "COMPLETED"


def test_a_translation_key_from_the_title_becomes_a_valid_asset_name(sim, tmp_path, monkeypatch):
    """A `translation` key templated from a title holds characters Dagster refuses in an asset
    name (here a space, brackets and a dot): each run of them becomes one `_`, as dagster-dbt's
    and dagster-fivetran's clean_name do, so the location loads and the asset runs. (It used
    to fail the load on the op name "hex_hex__Daily revenue (v1.2)".)"""
    from dagster import load_from_defs_folder
    project = dg_project(tmp_path, monkeypatch, "hextitlekeys", (
        "  translation:\n"
        "    key: \"hex/{{ project.title }} (v1.2)\"\n"))
    refresh_defs_state(project)
    loaded = load_from_defs_folder(path_within_project=project)
    keys = {k for a in loaded.assets for k in a.keys}
    assert all(re.fullmatch(r"[A-Za-z0-9_-]+", part) for k in keys for part in k.path), keys
    key = AssetKey(["hex", "Daily_revenue_v1_2"])
    assert key in keys and len(keys) == len(published_projects(sim))
    revenue = loaded.get_assets_def(key)
    result = materialize([revenue], resources=loaded.resources)
    (mat,) = result.asset_materializations_for_node(revenue.node_def.name)
    assert mat.metadata["hex_status"].value == "COMPLETED"


def test_keys_cleaned_into_one_get_the_project_id_and_an_empty_part_is_refused():
    """Two titles that clean into one key are told apart as two equal titles are; a key part
    with nothing valid left (an empty template value) fails naming the project and key."""
    projects = [{"id": "aaaaaaaa-0000-4000-8000-000000000001", "title": "Q3 revenue"},
                {"id": "aaaaaaaa-0000-4000-8000-000000000002", "title": "Q3.revenue"}]

    def by_title(spec, project):
        return spec.replace_attributes(key=AssetKey(["hex", project["title"]]))
    specs = specs_of_projects(projects, change=by_title)
    assert [s.key for s in specs] == [
        AssetKey(["hex", "Q3_revenue_aaaaaaaa_0000_4000_8000_000000000001"]),
        AssetKey(["hex", "Q3_revenue_aaaaaaaa_0000_4000_8000_000000000002"])]
    with pytest.raises(ValueError) as e:
        specs_of_projects(projects[:1], change=lambda spec, p: spec.replace_attributes(
            key=AssetKey(["hex", " ? "])))
    message = str(e.value)
    assert "'Q3 revenue' (aaaaaaaa-0000-4000-8000-000000000001)" in message
    assert "'hex/ ? '" in message and "empty" in message


def test_build_hex_asset_cleans_a_key_the_caller_made(sim):
    """Dagster names the asset's op and output after its key: a caller's own key with a
    space and a dot is cleaned as the workspace's keys are (it failed on the output name)."""
    spec = spec_of(load_hex_asset_specs(defs.hex_resource()), defs.P_OK)
    asset_def = build_hex_asset(spec.replace_attributes(key=AssetKey(["hex", "daily revenue.v2"])))
    assert asset_def.key == AssetKey(["hex", "daily_revenue_v2"])
    assert asset_def.node_def.name == "hex_hex__daily_revenue_v2"


# A group name Dagster accepts (validate_group_name): segments of [A-Za-z0-9_]+ between '/'.
DAGSTER_GROUP_NAME = re.compile(r"[A-Za-z0-9_]+(/[A-Za-z0-9_]+)*")


def test_a_translation_group_name_from_the_title_becomes_a_valid_group_name(
        sim, tmp_path, monkeypatch):
    """A `translation` group_name templated from a title holds characters Dagster refuses in
    a group name (a space, `&`): each run of them becomes one `_`, a `/` still nests, and the
    location loads. (It failed the load with Dagster's '"hex/Mixed outcomes & Ops" is not
    a valid asset group name', which names no project.)"""
    from dagster import load_from_defs_folder
    project = dg_project(tmp_path, monkeypatch, "hextitlegroups", (
        "  translation:\n"
        "    group_name: \"hex/{{ project.title }} & Ops\"\n"))
    refresh_defs_state(project)
    loaded = load_from_defs_folder(path_within_project=project)
    specs = loaded.resolve_all_asset_specs()
    assert len(specs) == len(published_projects(sim))
    assert all(DAGSTER_GROUP_NAME.fullmatch(s.group_name) for s in specs), specs
    (revenue,) = [s for s in specs if s.key == AssetKey(["hex", "daily_revenue"])]
    assert revenue.group_name == "hex/Daily_revenue_Ops"


def test_a_translation_group_name_is_cleaned_literal_or_not_and_refused_when_left_empty():
    """What a `translation` group_name renders is cleaned as keys are, a number-like title
    (which Jinja renders as a number) included, and a group_name written literally too, as a
    literal key is; one with nothing valid left fails naming the project and the field."""
    from hexrun.dagster import HexProjectsComponent
    by_title = HexProjectsComponent.resolve_from_yaml(
        "translation:\n  group_name: \"{{ project.title }}\"\n").translation
    projects = [{"id": "aaaaaaaa-0000-4000-8000-000000000001", "title": "Sales & Ops"},
                {"id": "aaaaaaaa-0000-4000-8000-000000000002", "title": "2024"},
                {"id": "aaaaaaaa-0000-4000-8000-000000000003", "title": " EMEA / Q3 (v1.2) "}]
    specs = specs_of_projects(projects, change=by_title)
    assert [s.group_name for s in specs] == ["Sales_Ops", "2024", "EMEA/Q3_v1_2"]
    literal = HexProjectsComponent.resolve_from_yaml(
        "translation:\n  group_name: \"Sales & Ops\"\n").translation
    assert specs_of_projects(projects[1:2], change=literal)[0].group_name == "Sales_Ops"
    with pytest.raises(ValueError) as e:
        specs_of_projects([{"id": "aaaaaaaa-0000-4000-8000-000000000004", "title": " & "}],
                          change=by_title)
    message = str(e.value)
    assert "Hex project ' & ' (aaaaaaaa-0000-4000-8000-000000000004)" in message
    assert "group_name ' & '" in message and "empty" in message


def test_a_translator_group_name_dagster_refuses_fails_naming_the_project():
    """A HexTranslator's spec cannot be cleaned: AssetSpec refuses the group name when it is
    made, in the subclass's code. The error names the project it was made for."""
    from dagster import DagsterInvalidDefinitionError
    from hexrun.dagster import HexTranslator

    class ByTitle(HexTranslator):
        def get_asset_spec(self, project):
            return super().get_asset_spec(project).replace_attributes(group_name=project["title"])
    with pytest.raises(DagsterInvalidDefinitionError) as e:
        specs_of_projects([{"id": "aaaaaaaa-0000-4000-8000-000000000001", "title": "Sales & Ops"}],
                          translator=ByTitle())
    message = str(e.value)
    assert "Hex project 'Sales & Ops' (aaaaaaaa-0000-4000-8000-000000000001)" in message
    assert "not a valid asset group name" in message


def test_a_broken_defs_state_fails_the_load_naming_the_file_and_the_fix(
        sim, tmp_path, monkeypatch):
    from dagster import load_from_defs_folder
    project = dg_project(tmp_path, monkeypatch, "hexbroken", "")
    refresh_defs_state(project)
    (state,) = (project / "hexbroken" / "defs" / ".local_defs_state").glob("*/state")
    state.write_text("{not json")
    with pytest.raises(Exception) as e:
        load_from_defs_folder(path_within_project=project)
    causes = []
    error = e.value
    while error is not None:  # Dagster wraps it in its component tree's error
        causes.append(str(error))
        error = error.__cause__
    assert any(str(state) in c and "refresh-defs-state" in c for c in causes), causes


def test_without_state_backed_components_the_dg_component_reads_projects_at_load(
        sim, tmp_path, monkeypatch):
    """A Dagster older than StateBackedComponent (1.12): the module falls back to a plain
    component that reads ListProjects at each load, as before."""
    import importlib
    import sys
    import hexrun.dagster.component as component_module
    from dagster import load_from_defs_folder
    monkeypatch.setitem(sys.modules, "dagster.components.utils.translation", None)
    try:
        importlib.reload(component_module)
        assert not hasattr(component_module.HexProjectsComponent, "defs_state_config")
        project = dg_project(tmp_path, monkeypatch, "hexolddagster", "",
                             component="hexrun.dagster.component.HexProjectsComponent")
        calls = list_projects_calls(sim)
        loaded = load_from_defs_folder(path_within_project=project)
        assert list_projects_calls(sim) > calls
        assert AssetKey(["hex", "daily_revenue"]) in {k for a in loaded.assets for k in a.keys}
    finally:
        monkeypatch.undo()
        importlib.reload(component_module)

"""Dagster's conventions (issue 15): Pythonic config and typed resources, set-up checks of
the resource, log lines a person can read."""
import pytest
from dagster import DagsterInstance, EnvVar, build_op_context, job

import defs
from conftest import runs_of
from hexrun.dagster import HexResource, HexRunConfig, build_hex_run_op

P_UNPUB = "55555555-5555-4555-8555-555555555555"


def one_op_job(op_def, resource, key="hex"):
    @job(name=f"{op_def.name}_job", resource_defs={key: resource})
    def the_job():
        op_def()
    return the_job


def test_op_takes_a_config_object_and_the_resource_as_parameters(sim):
    """A Pythonic op: invoked directly with a HexRunConfig and a HexResource."""
    refresh = build_hex_run_op("refresh_direct", project_id=defs.P_OK)
    resource = HexResource(base_url=sim.base_url, api_token="hxtok_admin", poll_min_ms=50,
                           poll_max_ms=200)
    out = refresh(build_op_context(), config=HexRunConfig(project_id=defs.P_OK), hex=resource)
    resource.close()
    assert out.value["status"] == "COMPLETED"


def test_the_run_config_of_the_config_schema_days_still_works(sim):
    """Run config written for the earlier config_schema dict, on a renamed resource key."""
    refresh = build_hex_run_op("refresh_keyed", resource_key="hex_prod")
    config = {"ops": {"refresh_keyed": {"config": {
        "project_id": defs.P_OK, "inputs": {"region": "apac", "days": 2},
        "notifications": None, "timeout_s": 120.0, "body": {"useCachedSqlResults": False}}}}}
    result = one_op_job(refresh, defs.hex_resource(), key="hex_prod").execute_in_process(
        run_config=config)
    assert result.output_for_node("refresh_keyed")["status"] == "COMPLETED"


@pytest.mark.parametrize("token", ["", "   ", "env-empty"])
def test_an_empty_token_fails_at_resource_set_up(sim, monkeypatch, token):
    monkeypatch.setenv("HEXRUN_TEST_EMPTY", "")
    api_token = EnvVar("HEXRUN_TEST_EMPTY") if token == "env-empty" else token
    before = len(sim.runs()["runs"])
    the_job = one_op_job(build_hex_run_op("needs_token", project_id=defs.P_OK),
                         defs.hex_resource(api_token=api_token))
    with pytest.raises(Exception) as err:
        the_job.execute_in_process()
    text = "".join(str(e) for e in (err.value, err.value.__cause__) if e)
    assert "api_token is empty" in text and "HEX_API_TOKEN" in text, text
    assert len(sim.runs()["runs"]) == before


def test_a_missing_journal_directory_is_created_at_set_up(sim, tmp_path):
    journal = tmp_path / "new" / "hexrun" / "journal"
    the_job = one_op_job(build_hex_run_op("journaled", project_id=defs.P_OK),
                         defs.hex_resource(journal_path=str(journal)))
    assert the_job.execute_in_process().success
    assert journal.stat().st_size > 0


def test_a_journal_directory_that_cannot_be_made_fails_at_set_up(sim, tmp_path):
    (tmp_path / "a_file").write_text("")
    before = len(sim.runs()["runs"])
    the_job = one_op_job(build_hex_run_op("bad_journal", project_id=defs.P_OK),
                         defs.hex_resource(journal_path=str(tmp_path / "a_file" / "journal")))
    with pytest.raises(Exception) as err:
        the_job.execute_in_process()
    text = "".join(str(e) for e in (err.value, err.value.__cause__) if e)
    assert "journal_path" in text and "cannot create its directory" in text, text
    assert len(sim.runs()["runs"]) == before


@pytest.mark.parametrize("project", [P_UNPUB, defs.P_ERR])
def test_log_lines_show_no_none_and_no_internal_marker(sim, project):
    """A refused submit has no run id or URL; a failed run has them: neither shows `None`."""
    the_job = one_op_job(build_hex_run_op("logged", project_id=project), defs.hex_resource())
    with DagsterInstance.ephemeral() as instance:
        result = the_job.execute_in_process(raise_on_error=False, instance=instance)
        messages = [e.user_message or "" for e in instance.all_logs(result.run_id)]
        messages += [e.dagster_event.message or "" for e in instance.all_logs(result.run_id)
                     if e.dagster_event]
    assert not result.success
    hexrun_lines = [m for m in messages if "Hex " in m]
    assert hexrun_lines
    for line in hexrun_lines:
        assert "None" not in line and "[hexrun" not in line, line
    if project == P_UNPUB:
        assert any("no run started (SUBMIT_FAILED)" in m and "published" in m
                   for m in hexrun_lines), hexrun_lines
        assert runs_of(sim, P_UNPUB) == []

"""hexrun.dagster against hexsim with real Dagster: ops in jobs, an asset through
materialize(), failures, termination of a run worker, re-execution."""
import os
import signal
import subprocess
import sys
import time

import pytest
from dagster import (DagsterEventType, Failure, UrlMetadataValue, build_op_context, job,
                     materialize)

import defs
from conftest import HERE, runs_of
from hexrun.dagster import HexResource, build_hex_run_op, hex_project_asset

UUID_LEN = 36


def step_failure(result, node):
    """The user Failure (description, metadata) a failed step reported."""
    events = [e for e in result.all_events
              if e.event_type == DagsterEventType.STEP_FAILURE and e.step_key == node]
    assert len(events) == 1, [e.event_type for e in result.all_events]
    return events[0].step_failure_data.user_failure_data


def test_op_job_succeeds_with_run_metadata(sim):
    before = len(runs_of(sim, defs.P_OK))
    result = defs.ok_job.execute_in_process()
    assert result.success
    value = result.output_for_node("refresh_ok")
    assert value["status"] == "COMPLETED" and len(value["run_id"]) == UUID_LEN
    outputs = [e for e in result.all_events if e.event_type == DagsterEventType.STEP_OUTPUT]
    meta = outputs[0].step_output_data.metadata
    assert isinstance(meta["run_url"], UrlMetadataValue)
    assert meta["run_url"].url == value["run_url"] and value["run_id"] in value["run_url"]
    assert meta["hex_status"].value == "COMPLETED" and meta["elapsed_s"].value > 0
    assert meta["hex_run_id"].value == value["run_id"]
    runs = runs_of(sim, defs.P_OK)
    assert len(runs) == before + 1 and runs[-1]["runId"] == value["run_id"]
    assert runs[-1]["status"] == "COMPLETED"


def test_generic_op_takes_project_and_inputs_from_run_config(sim):
    config = {"ops": {"hex_run_op": {"config": {"project_id": defs.P_OK,
                                                "inputs": {"region": "apac", "days": 2}}}}}
    result = defs.configured_job.execute_in_process(run_config=config)
    assert result.success
    assert result.output_for_node("hex_run_op")["project_id"] == defs.P_OK


def test_generic_op_requires_a_project(sim):
    from dagster import DagsterInvalidConfigError
    with pytest.raises(DagsterInvalidConfigError):
        defs.configured_job.execute_in_process()


def test_chained_ops_run_in_order(sim):
    result = defs.chained_job.execute_in_process()
    assert result.success
    first, second = result.output_for_node("refresh_ok"), result.output_for_node("second")
    assert first["run_id"] != second["run_id"]
    assert first["end_time"] is not None and second["status"] == "COMPLETED"


def test_asset_materialize_records_the_run(sim):
    report = hex_project_asset(defs.P_OK, name="sales_report", inputs={"region": "emea"})
    result = materialize([report], resources={"hex": defs.hex_resource()})
    assert result.success
    (mat,) = result.asset_materializations_for_node("sales_report")
    assert mat.asset_key.path == ["sales_report"]
    url = mat.metadata["run_url"]
    assert isinstance(url, UrlMetadataValue) and "/runs/" in url.url
    run_id = mat.metadata["hex_run_id"].value
    assert [r["status"] for r in runs_of(sim, defs.P_OK) if r["runId"] == run_id] == ["COMPLETED"]


@pytest.mark.parametrize("project,state", [(defs.P_ERR, "ERRORED"),
                                           (defs.P_NOKERNEL, "UNABLE_TO_ALLOCATE_KERNEL")])
def test_failed_run_raises_failure_with_url(sim, project, state):
    failing = build_hex_run_op("failing", project_id=project)

    @job(resource_defs={"hex": defs.hex_resource()})
    def failing_job():
        failing()

    result = failing_job.execute_in_process(raise_on_error=False)
    assert not result.success
    failure = step_failure(result, "failing")
    run = runs_of(sim, project)[-1]
    assert run["status"] == state
    assert run["runUrl"] in failure.description and state in failure.description
    assert failure.metadata["run_url"].url == run["runUrl"]
    assert failure.metadata["hex_status"].value == state


def test_failure_is_a_dagster_failure_when_invoked_directly(sim):
    failing = build_hex_run_op("failing_direct", project_id=defs.P_ERR)
    with build_op_context(resources={"hex": defs.hex_resource()},
                          op_config={"project_id": defs.P_ERR}) as context:
        with pytest.raises(Failure) as err:
            failing(context)
    assert "/runs/" in err.value.description and "ERRORED" in err.value.description

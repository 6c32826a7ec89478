"""Runs one job of defs.py as a run worker would, with the Dagster instance at DAGSTER_HOME:
    python run_job.py JOB [--in-process] [--reexecute PARENT_RUN_ID]
Prints `RESULT <success> <run id>` at the end."""
import argparse

from dagster import (DagsterEventType, DagsterInstance, ReexecutionOptions, execute_job,
                     reconstructable)

import defs


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("job")
    parser.add_argument("--in-process", action="store_true")
    parser.add_argument("--reexecute", metavar="PARENT_RUN_ID")
    args = parser.parse_args()
    recon = reconstructable(getattr(defs, args.job))
    run_config = {"execution": {"config": {"in_process": {}}}} if args.in_process else None
    options = None
    if args.reexecute:
        options = ReexecutionOptions(parent_run_id=args.reexecute)
    with DagsterInstance.get() as instance:
        result = execute_job(recon, instance=instance, run_config=run_config,
                             reexecution_options=options)
        for event in result.all_events:  # the Hex run of each step, success or failure
            meta = _event_metadata(event)
            if meta and "hex_run_id" in meta:
                print("HEXRUN", event.step_key, meta["hex_run_id"].value, flush=True)
        print("RESULT", result.success, result.run_id, flush=True)


def _event_metadata(event):
    if event.event_type == DagsterEventType.STEP_OUTPUT:
        return event.step_output_data.metadata
    if event.event_type == DagsterEventType.STEP_FAILURE:
        failure = event.step_failure_data.user_failure_data
        return failure.metadata if failure else None
    return None


if __name__ == "__main__":
    main()

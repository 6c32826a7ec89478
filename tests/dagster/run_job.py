"""Runs one job of defs.py as a run worker would, with the Dagster instance at DAGSTER_HOME:
    python run_job.py JOB [--in-process] [--reexecute PARENT_RUN_ID]
Prints `RESULT <success> <run id>` at the end."""
import argparse

from dagster import DagsterInstance, ReexecutionOptions, execute_job, reconstructable

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
        print("RESULT", result.success, result.run_id, flush=True)


if __name__ == "__main__":
    main()

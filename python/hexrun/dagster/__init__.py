"""hexrun.dagster: run Hex projects from Dagster through libhexrun (docs/dagster.md).

    from dagster import Definitions, EnvVar, job
    from hexrun.dagster import HexResource, build_hex_run_op, hex_project_asset

    refresh = build_hex_run_op("refresh_sales", project_id="5a8591dd-...")

    @job
    def nightly():
        refresh()

    defs = Definitions(jobs=[nightly],
                       assets=[hex_project_asset("5a8591dd-...", name="sales_report")],
                       resources={"hex": HexResource(api_token=EnvVar("HEX_API_TOKEN"),
                                                     journal_path="/var/lib/hexrun/journal")})
"""
from .assets import hex_project_asset
from .component import HexProjectsComponent
from .ops import HexRunConfig, build_hex_run_op, hex_run_op
from .resources import HexResource
from .workspace import (HexTranslator, build_hex_asset, build_hex_assets_definitions,
                        load_hex_asset_specs)
from .run import (FAILED_STATES, HexRunRequest, default_idempotency_key, describe,
                  execute_hex_run, execute_hex_runs, run_metadata)

__all__ = ["HexResource", "HexRunConfig", "build_hex_run_op", "hex_run_op", "hex_project_asset",
           "HexRunRequest", "execute_hex_run", "execute_hex_runs", "describe", "run_metadata", "default_idempotency_key",
           "FAILED_STATES", "HexTranslator", "load_hex_asset_specs", "build_hex_asset",
           "build_hex_assets_definitions", "HexProjectsComponent"]

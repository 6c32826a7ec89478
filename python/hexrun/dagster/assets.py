"""The asset factory: a Hex project as a Dagster asset; materializing it runs the project."""
from typing import Any, Dict, List, Optional, Sequence

from dagster import AssetsDefinition, MaterializeResult, asset

from .ops import hex_run_config_schema, request_from_config
from .run import execute_hex_run, run_metadata


def hex_project_asset(project_id: str, name: Optional[str] = None, *,
                      inputs: Optional[Dict[str, Any]] = None, update_cache: bool = False,
                      notifications: Optional[List[Dict[str, Any]]] = None,
                      timeout_s: Optional[float] = None, kill_on_timeout: bool = True,
                      deps: Optional[Sequence[Any]] = None, resource_key: str = "hex",
                      **asset_kwargs) -> AssetsDefinition:
    """An asset whose materialization runs the Hex project; the run (URL, status, elapsed,
    run id, trace id) is the materialization's metadata. Nothing is stored by an IO manager.
    `deps` are the upstream assets (e.g. the tables the project reads)."""
    asset_kwargs.setdefault("description", f"Hex project {project_id}")
    asset_kwargs.setdefault("kinds", {"hex"})

    @asset(name=name or f"hex_{project_id.replace('-', '_')}", deps=deps,
           required_resource_keys={resource_key},
           config_schema=hex_run_config_schema(project_id, inputs, update_cache, False,
                                               notifications, timeout_s, kill_on_timeout),
           **asset_kwargs)
    def _hex_asset(context) -> MaterializeResult:
        op_context = context.op_execution_context  # the op-level API execute_hex_run uses
        hex_resource = getattr(op_context.resources, resource_key)
        info = execute_hex_run(op_context, hex_resource, request_from_config(op_context.op_config))
        return MaterializeResult(metadata=run_metadata(info))

    return _hex_asset

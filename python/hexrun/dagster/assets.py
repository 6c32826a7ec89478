"""The asset factory: a Hex project as a Dagster asset; materializing it runs the project."""
from typing import Any, Dict, List, Optional, Sequence

from dagster import AssetExecutionContext, AssetsDefinition, MaterializeResult, asset

from .ops import config_class, typed_signature
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
    name = name or f"hex_{project_id.replace('-', '_')}"
    config_cls = config_class(name, project_id=project_id, inputs=inputs,
                              update_cache=update_cache, notifications=notifications,
                              timeout_s=timeout_s, kill_on_timeout=kill_on_timeout)

    def _hex_asset(context, config, **resources) -> MaterializeResult:
        info = execute_hex_run(context.op_execution_context, resources[resource_key],
                               config.to_request())
        return MaterializeResult(metadata=run_metadata(info))

    typed_signature(_hex_asset, AssetExecutionContext, config_cls, resource_key,
                    returns=MaterializeResult)
    return asset(name=name, deps=deps, **asset_kwargs)(_hex_asset)

"""The op: `hex_run_op` (project chosen in run config) and `build_hex_run_op` (a named op
with its own defaults)."""
from typing import Any, Dict, List, Optional

from dagster import (Array, Field, In, Noneable, Nothing, OpDefinition, Out, Output,
                     Permissive, op)

from .run import HexRunRequest, execute_hex_run, result_value, run_metadata


def _field(value, dagster_type, description, required_default=None):
    """A config field whose default is the factory argument (or required_default)."""
    default = required_default if value is None else value
    if default is None and not isinstance(dagster_type, Noneable):
        return Field(dagster_type, is_required=True, description=description)
    return Field(dagster_type, default_value=default, description=description)


def hex_run_config_schema(project_id: Optional[str] = None,
                          inputs: Optional[Dict[str, Any]] = None,
                          update_cache: bool = False, dry_run: bool = False,
                          notifications: Optional[List[Dict[str, Any]]] = None,
                          timeout_s: Optional[float] = None,
                          kill_on_timeout: bool = True) -> Dict[str, Field]:
    return {
        "project_id": _field(project_id, str, "Hex project UUID"),
        "inputs": Field(Permissive(), default_value=dict(inputs or {}),
                        description="input parameters (Hex inputParams)"),
        "update_cache": Field(bool, default_value=update_cache,
                              description="refresh the project's cached results"),
        "dry_run": Field(bool, default_value=dry_run, description="validate, start nothing"),
        "notifications": Field(Noneable(Array(Permissive())), default_value=notifications,
                               description="Hex notification objects"),
        "idempotency_key": Field(Noneable(str), default_value=None,
                                 description="default: root run id + step key, so a "
                                             "retry or re-execution re-attaches"),
        "timeout_s": Field(Noneable(float), default_value=timeout_s,
                           description="give up after this long (None: no limit)"),
        "kill_on_timeout": Field(bool, default_value=kill_on_timeout,
                                 description="cancel the Hex run when timeout_s passes"),
        "body": Field(Permissive(), default_value={},
                      description="more RunProject body keys, e.g. useCachedSqlResults"),
    }


def request_from_config(cfg: Dict[str, Any]) -> HexRunRequest:
    return HexRunRequest(project_id=cfg["project_id"], inputs=cfg.get("inputs") or None,
                         update_cache=cfg["update_cache"], dry_run=cfg["dry_run"],
                         notifications=cfg.get("notifications"),
                         idempotency_key=cfg.get("idempotency_key"),
                         timeout_s=cfg.get("timeout_s"), kill_on_timeout=cfg["kill_on_timeout"],
                         extra_body=dict(cfg.get("body") or {}))


def build_hex_run_op(name: str = "hex_run_op", project_id: Optional[str] = None,
                     inputs: Optional[Dict[str, Any]] = None, update_cache: bool = False,
                     dry_run: bool = False,
                     notifications: Optional[List[Dict[str, Any]]] = None,
                     timeout_s: Optional[float] = None, kill_on_timeout: bool = True,
                     resource_key: str = "hex", **op_kwargs) -> OpDefinition:
    """An op that runs a Hex project and outputs the run (run_id, run_url, status, ...).
    Arguments become config defaults, so run config can still override them. The op has
    a `start_after` input of type Nothing to order it after other ops."""

    @op(name=name, required_resource_keys={resource_key},
        config_schema=hex_run_config_schema(project_id, inputs, update_cache, dry_run,
                                            notifications, timeout_s, kill_on_timeout),
        ins={"start_after": In(Nothing)}, out=Out(dict), **op_kwargs)
    def _hex_run(context):
        hex_resource = getattr(context.resources, resource_key)
        info = execute_hex_run(context, hex_resource, request_from_config(context.op_config))
        return Output(result_value(info), metadata=run_metadata(info))

    return _hex_run


hex_run_op = build_hex_run_op()

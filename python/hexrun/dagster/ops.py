"""The op: `hex_run_op` (project chosen in run config) and `build_hex_run_op` (a named op
with its own defaults). Both take a Pythonic `HexRunConfig` and the `HexResource` as a typed
parameter; the run config keys are those of the earlier config_schema dict."""
import inspect
from typing import Any, Dict, List, Optional

import pydantic
from dagster import Config, In, Nothing, OpDefinition, OpExecutionContext, Out, Output, op

from .resources import HexResource
from .run import HexRunRequest, execute_hex_run, result_value, run_metadata


class HexRunConfig(Config):
    """Run config of a Hex run op or asset (`ops: {NAME: {config: {...}}}`)."""
    project_id: str = pydantic.Field(description="Hex project UUID")
    inputs: Dict[str, Any] = pydantic.Field(default_factory=dict,
                                            description="input parameters (Hex inputParams)")
    update_cache: bool = pydantic.Field(default=False,
                                        description="refresh the project's cached results")
    dry_run: bool = pydantic.Field(default=False, description="validate, start nothing")
    notifications: Optional[List[Dict[str, Any]]] = pydantic.Field(
        default=None, description="Hex notification objects")
    idempotency_key: Optional[str] = pydantic.Field(
        default=None, description="default: root run id + step key, so a retry or "
                                  "re-execution re-attaches")
    timeout_s: Optional[float] = pydantic.Field(
        default=None, description="give up after this long (None: no limit)")
    kill_on_timeout: bool = pydantic.Field(
        default=True, description="cancel the Hex run when timeout_s passes")
    body: Dict[str, Any] = pydantic.Field(
        default_factory=dict, description="more RunProject body keys, e.g. useCachedSqlResults")

    def to_request(self) -> HexRunRequest:
        return request_from_config(self.model_dump())


def request_from_config(cfg: Dict[str, Any]) -> HexRunRequest:
    """A HexRunRequest from run config values (a dict of HexRunConfig's keys)."""
    return HexRunRequest(project_id=cfg["project_id"], inputs=cfg.get("inputs") or None,
                         update_cache=cfg.get("update_cache", False),
                         dry_run=cfg.get("dry_run", False),
                         notifications=cfg.get("notifications"),
                         idempotency_key=cfg.get("idempotency_key"),
                         timeout_s=cfg.get("timeout_s"),
                         kill_on_timeout=cfg.get("kill_on_timeout", True),
                         extra_body=dict(cfg.get("body") or {}))


def config_class(name: str, **defaults) -> type:
    """A HexRunConfig subclass whose defaults are a factory's arguments (None: keep
    HexRunConfig's), so run config can still override each of them."""
    fields = {}
    for key, value in defaults.items():
        if value is None:
            continue
        base = HexRunConfig.model_fields[key]
        fields[key] = (base.annotation, pydantic.Field(default=value,
                                                       description=base.description))
    return pydantic.create_model(f"{name}_config", __base__=HexRunConfig, **fields)


def typed_signature(fn, context_type, config_cls, resource_key: str,
                    returns=inspect.Signature.empty):
    """Gives fn(context, config, **resources) the signature Dagster reads for a Pythonic
    op or asset: a config class (none when config_cls is None: fn(context, **resources))
    and a typed resource parameter named by resource_key."""
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    params = [inspect.Parameter("context", kind, annotation=context_type)]
    if config_cls is not None:
        params.append(inspect.Parameter("config", kind, annotation=config_cls))
    params.append(inspect.Parameter(resource_key, inspect.Parameter.KEYWORD_ONLY,
                                    annotation=HexResource))
    fn.__signature__ = inspect.Signature(params, return_annotation=returns)
    return fn


def build_hex_run_op(name: str = "hex_run_op", project_id: Optional[str] = None,
                     inputs: Optional[Dict[str, Any]] = None, update_cache: bool = False,
                     dry_run: bool = False,
                     notifications: Optional[List[Dict[str, Any]]] = None,
                     timeout_s: Optional[float] = None, kill_on_timeout: bool = True,
                     resource_key: str = "hex", **op_kwargs) -> OpDefinition:
    """An op that runs a Hex project and outputs the run (run_id, run_url, status, ...).
    Arguments become config defaults, so run config can still override them. The op has
    a `start_after` input of type Nothing to order it after other ops."""
    config_cls = config_class(name, project_id=project_id, inputs=inputs,
                              update_cache=update_cache, dry_run=dry_run,
                              notifications=notifications, timeout_s=timeout_s,
                              kill_on_timeout=kill_on_timeout)

    def _hex_run(context, config, **resources):
        info = execute_hex_run(context, resources[resource_key], config.to_request())
        return Output(result_value(info), metadata=run_metadata(info))

    typed_signature(_hex_run, OpExecutionContext, config_cls, resource_key)
    return op(name=name, ins={"start_after": In(Nothing)}, out=Out(dict),
              **op_kwargs)(_hex_run)


hex_run_op = build_hex_run_op()

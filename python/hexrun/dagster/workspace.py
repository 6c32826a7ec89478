"""The workspace pattern of dagster-fivetran and dagster-dbt, for Hex: the published projects
of a workspace (ListProjects) as asset specs, one asset per project, whose materialization
is a run of the project, and an asset check that fails when that run ERRORED or was KILLED.

    hex = HexResource(api_token=EnvVar("HEX_API_TOKEN"))
    defs = Definitions(assets=build_hex_assets_definitions(hex), resources={"hex": hex})
"""
import re
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence

from dagster import (AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, AssetExecutionContext,
                     AssetKey, AssetsDefinition, AssetSpec, DagsterInvalidDefinitionError,
                     Failure, MaterializeResult, MetadataValue, multi_asset)

from .ops import typed_signature
from .resources import HexResource
from .run import FAILED_STATES, HexRunRequest, execute_hex_run, run_metadata

RUN_CHECK = "hex_run_succeeded"
CHECK_FAILS_ON = ("ERRORED", "KILLED", "UNABLE_TO_ALLOCATE_KERNEL")


def is_published(project: Dict[str, Any]) -> bool:
    """Hex runs only a project's published version; archived and trashed ones are out."""
    return bool(project.get("lastPublishedAt")) and not project.get("archivedAt") \
        and not project.get("trashedAt")


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_") or "project"


# What an asset key part may hold: the characters of a Dagster name ([A-Za-z0-9_]) and the
# hyphen, which Dagster's own key-to-op-name mapping turns into `_`. A space, dot, `@`,
# `(`... in a key makes an op name Dagster refuses, and a key the asset selection syntax
# needs quoting for.
_NOT_IN_KEY_PART = re.compile(r"[^A-Za-z0-9_-]+")
# What a group name may hold, as Dagster's validate_group_name checks it (1.13.9 on):
# segments of [A-Za-z0-9_]+ separated by single `/` (nested groups), no hyphen.
_NOT_IN_GROUP_SEGMENT = re.compile(r"[^A-Za-z0-9_]+")


def _clean_name(text: str, not_allowed: "re.Pattern[str]") -> str:
    """text with each run of not_allowed characters made one `_`, none added at either end
    (as dagster-dbt's and dagster-fivetran's clean_name):
    "Q3 revenue (EMEA)" -> "Q3_revenue_EMEA"."""
    return "_".join(piece for piece in not_allowed.split(text) if piece)


def _clean_key_part(part: str) -> str:
    return _clean_name(part, _NOT_IN_KEY_PART)


def clean_group_name(group_name: Any, project: Dict[str, Any]) -> Optional[str]:
    """A group name Dagster accepts, made from what a `translation` group_name rendered for
    project: each `/`-separated segment cleaned as a key part is, without the hyphen
    ("Sales & Ops" -> "Sales_Ops", "hex/Q3 (EMEA)" -> "hex/Q3_EMEA"). None stays None (the
    default group, as Dagster reads it); a number (a title such as "2024", which Jinja's native
    rendering reads as one) is taken as its text. A segment left with nothing is a ValueError
    naming the project and the field."""
    if group_name is None:
        return None
    if isinstance(group_name, (int, float)):
        group_name = str(group_name)
    if not isinstance(group_name, str):
        raise ValueError(f"{_project_named(project)}: its group_name rendered a "
                         f"{type(group_name).__name__} ({group_name!r}), not text")
    segments = [_clean_name(segment, _NOT_IN_GROUP_SEGMENT) for segment in group_name.split("/")]
    if not all(segments):
        raise ValueError(
            f"{_project_named(project)}: its group_name {group_name!r} is empty, or has a "
            f"'/'-separated segment with no letter, digit or '_' (did a `translation` "
            f"group_name template render empty?)")
    return "/".join(segments)


def _project_named(project: Dict[str, Any]) -> str:
    return f"Hex project {project.get('title')!r} ({project['id']})"


def _with_clean_key(spec: AssetSpec, project: Dict[str, Any]) -> AssetSpec:
    """spec with a key Dagster can name an asset by. Keys made from project data (a
    `translation` template over the title, a translator's get_asset_key) are cleaned rather
    than refused: a project renamed in Hex must not make the whole code location fail to
    load. A part left with nothing (an empty template value) is an error naming the project
    and the key."""
    parts = [_clean_key_part(part) for part in spec.key.path]
    if not all(parts):
        raise ValueError(
            f"{_project_named(project)}: its asset key "
            f"{spec.key.to_user_string()!r} has an empty part, or one with no letter, digit, "
            f"'_' or '-' (did a `translation` key or key_prefix template render empty?)")
    return spec if parts == list(spec.key.path) else spec.replace_attributes(key=AssetKey(parts))


class HexTranslator:
    """Turns a ListProjects entry into an AssetSpec (subclass it to change keys, groups,
    owners, tags: the DagsterDbtTranslator / DagsterFivetranTranslator pattern)."""

    def get_asset_key(self, project: Dict[str, Any]) -> AssetKey:
        return AssetKey(["hex", _slug(project.get("title") or project["id"])])

    def get_asset_spec(self, project: Dict[str, Any]) -> AssetSpec:
        metadata = {"hex/project_id": project["id"],
                    "hex/title": project.get("title") or "",
                    "hex/last_published_at": project.get("lastPublishedAt") or ""}
        owner = (project.get("owner") or {}).get("email")
        return AssetSpec(key=self.get_asset_key(project),
                         description=project.get("description") or
                         f"Hex project {project.get('title') or project['id']}",
                         metadata=metadata, kinds={"hex"},
                         owners=[owner] if owner else None)


# A change made to a project's spec after the translator (the `dg` component's YAML
# `translation`): (spec, ListProjects entry) -> spec.
SpecChange = Callable[[AssetSpec, Dict[str, Any]], AssetSpec]


def fetch_published_projects(hex_resource: HexResource, query: Optional[str] = None
                             ) -> List[Dict[str, Any]]:
    """The published projects of the workspace (every ListProjects page), `query` passed to
    ListProjects (e.g. "statuses=Approved")."""
    with hex_resource.process_config_and_initialize_cm() as resolved:  # EnvVars read here
        return [p for p in resolved.get_client().projects(query) if is_published(p)]


def specs_of_projects(projects: Sequence[Dict[str, Any]], *,
                      translator: Optional[HexTranslator] = None,
                      change: Optional[SpecChange] = None) -> List[AssetSpec]:
    """One AssetSpec per ListProjects entry, made by `translator` then `change`, with no
    request to Hex. Characters a Dagster asset name cannot hold become `_` in the keys, and
    two projects that end up with one key get the project id in it."""
    translator = translator or HexTranslator()
    specs = [_spec_of(p, translator, change) for p in projects]
    return _unique_keys(specs, list(projects))


def _spec_of(project: Dict[str, Any], translator: HexTranslator,
             change: Optional[SpecChange]) -> AssetSpec:
    """The project's spec with a clean key. Dagster checks a spec's group name, owners and
    tags when it is made, inside the translator or change, with an error that names neither
    the project nor the Hex data it came from: the project is added to it."""
    try:
        spec = translator.get_asset_spec(project)
        if change is not None:
            spec = change(spec, project)
    except DagsterInvalidDefinitionError as e:
        raise DagsterInvalidDefinitionError(f"{_project_named(project)}: {e}") from e
    return _with_clean_key(spec, project)


def load_hex_asset_specs(hex_resource: HexResource, *, query: Optional[str] = None,
                         translator: Optional[HexTranslator] = None,
                         select: Optional[Callable[[Dict[str, Any]], bool]] = None
                         ) -> List[AssetSpec]:
    """One AssetSpec per published project of the workspace (every ListProjects page),
    `query` passed to ListProjects (e.g. "statuses=Approved"), `select` filtering the rest.
    Two projects with one title get the project id in their key."""
    projects = [p for p in fetch_published_projects(hex_resource, query)
                if select is None or select(p)]
    return specs_of_projects(projects, translator=translator)


def _unique_keys(specs: List[AssetSpec], projects: List[Dict[str, Any]]) -> List[AssetSpec]:
    seen: Dict[AssetKey, int] = {}
    for spec in specs:
        seen[spec.key] = seen.get(spec.key, 0) + 1
    return [spec.replace_attributes(key=AssetKey([*spec.key.path[:-1], spec.key.path[-1] + "_"
                                                  + p["id"].replace("-", "_")]))
            if seen[spec.key] > 1 else spec for spec, p in zip(specs, projects)]


def project_id_of(spec: AssetSpec) -> str:
    return spec.metadata["hex/project_id"]


def build_hex_asset(spec: AssetSpec, *, resource_key: str = "hex",
                    request: Optional[HexRunRequest] = None) -> AssetsDefinition:
    """The asset of one spec: materializing it runs the project; the run URL, status and
    elapsed time are the materialization's metadata, and the hex_run_succeeded check fails
    when the run ERRORED, was KILLED or got no kernel. The key is cleaned as
    specs_of_projects cleans it."""
    project_id = project_id_of(spec)
    # Dagster names the op's output after the key: a key a caller made itself is cleaned too.
    spec = _with_clean_key(spec, {"id": project_id, "title": spec.metadata.get("hex/title")})
    request = request or HexRunRequest(project_id=project_id)
    check = AssetCheckSpec(RUN_CHECK, asset=spec.key,
                           description="the Hex run of this materialization completed")
    name = "hex_" + "__".join(spec.key.path).replace("-", "_")

    def _run_project(context: AssetExecutionContext, **resources) -> Iterator[Any]:
        hex_resource = resources[resource_key]
        try:
            info = execute_hex_run(context.op_execution_context, hex_resource, request)
        except Failure as failure:
            yield _check_result(spec.key, failure.metadata)
            raise
        yield MaterializeResult(asset_key=spec.key, metadata=run_metadata(info))
        yield _check_result(spec.key, run_metadata(info))

    # The resource is a typed parameter named by resource_key (the fivetran_assets pattern).
    typed_signature(_run_project, AssetExecutionContext, None, resource_key)
    return multi_asset(name=name, specs=[spec], check_specs=[check])(_run_project)


def _check_result(key: AssetKey, metadata: Dict[str, Any]) -> AssetCheckResult:
    status = metadata["hex_status"]
    status = status.value if hasattr(status, "value") else str(status)
    passed = status not in CHECK_FAILS_ON and status not in FAILED_STATES
    return AssetCheckResult(asset_key=key, check_name=RUN_CHECK, passed=passed,
                            severity=AssetCheckSeverity.ERROR,
                            metadata={**metadata, "hex_status": MetadataValue.text(status)})


def build_hex_assets_definitions(hex_resource: HexResource, *, query: Optional[str] = None,
                                 translator: Optional[HexTranslator] = None,
                                 select: Optional[Callable[[Dict[str, Any]], bool]] = None,
                                 resource_key: str = "hex") -> Sequence[AssetsDefinition]:
    """Every published project of the workspace as an asset (build_fivetran_assets_definitions'
    counterpart). Loads the project list once, when the definitions load."""
    return [build_hex_asset(spec, resource_key=resource_key)
            for spec in load_hex_asset_specs(hex_resource, query=query, translator=translator,
                                             select=select)]

"""`HexProjectsComponent`: the workspace pattern as a `dg` component.

    # defs/hex/defs.yaml
    type: hexrun.dagster.HexProjectsComponent
    attributes:
      api_token_env: HEX_API_TOKEN        # the token stays in the environment
      query: "statuses=Approved"          # optional ListProjects filter
      settings: {journal_path: /var/lib/hexrun/journal}
      translation:                        # optional, templated from each project
        group_name: hex
        key_prefix: analytics
        tags: {hex_status: "{{ project.status.name }}"}

Like dagster-fivetran's FivetranAccountComponent it is state-backed where the installed
Dagster has StateBackedComponent (1.12 on): the project list is fetched once, by
`dg utils refresh-defs-state` (or `dagster dev`), kept as the component's defs state
(`defs_state:`, LOCAL_FILESYSTEM by default), and a code location loads from it without
calling ListProjects. With no state written yet it reads ListProjects at load, as an
older Dagster always does.
"""
import json
import logging
from pathlib import Path
from typing import Annotated, Any, Dict, List, Optional, Union

from dagster import (AssetSpec, Component, ComponentLoadContext, Definitions, EnvVar, Model,
                     Resolvable)

from .resources import HexResource
from .workspace import (SpecChange, build_hex_asset, clean_group_name, fetch_published_projects,
                        specs_of_projects)

try:  # Dagster 1.12 on: state-backed components and YAML translation
    from dagster.components import (AssetAttributesModel, DefsStateConfig, DefsStateConfigArgs,
                                    ResolutionContext, ResolvedDefsStateConfig, Resolver,
                                    StateBackedComponent)
    from dagster.components.utils.translation import TranslatorResolvingInfo
except ImportError:  # pragma: no cover - an older Dagster: a plain component
    StateBackedComponent = None

STATE_FORMAT = 1
log = logging.getLogger(__name__)


class _HexProjectsBase(Model, Resolvable):
    """What every variant of the component reads from defs.yaml, and how it builds."""

    api_token_env: str = "HEX_API_TOKEN"
    base_url: Optional[str] = None
    query: Optional[str] = None
    resource_key: str = "hex"
    settings: Dict[str, Any] = {}

    def resource(self) -> HexResource:
        return HexResource(api_token=EnvVar(self.api_token_env), base_url=self.base_url,
                           **self.settings)

    def spec_change(self) -> Optional[SpecChange]:
        return None

    def defs_of_projects(self, projects: List[Dict[str, Any]]) -> Definitions:
        """One asset per project, with no request to Hex, and the resource they use."""
        specs = specs_of_projects(projects, change=self.spec_change())
        assets = [build_hex_asset(spec, resource_key=self.resource_key) for spec in specs]
        return Definitions(assets=assets, resources={self.resource_key: self.resource()})


if StateBackedComponent is None:  # pragma: no cover - exercised only on an older Dagster
    class HexProjectsComponent(Component, _HexProjectsBase):
        """Every published project of a Hex workspace as an asset whose materialization runs
        it, with the hex_run_succeeded check, and the HexResource they use (ListProjects is
        read at each load: this Dagster has no state-backed components)."""

        def build_defs(self, context: ComponentLoadContext) -> Definitions:
            return self.defs_of_projects(fetch_published_projects(self.resource(), self.query))
else:
    def _resolve_translation(context: ResolutionContext, model: Any) -> SpecChange:
        """The `translation` block as a SpecChange, made as Dagster's TranslationFnResolver
        makes it (`{{ project.<field> }}` and `{{ spec }}` in scope), except for group_name:
        AssetSpec refuses a group name such as "Sales & Ops" the moment it is set, inside
        Dagster's translation, so the group name is rendered here, cleaned, and set after."""
        def translate(attributes: Any, spec: AssetSpec, project: Dict[str, Any]) -> AssetSpec:
            info = TranslatorResolvingInfo(asset_attributes=attributes,
                                           resolution_context=context, model_key="translation")
            return info.get_asset_spec(spec, {"project": project, "spec": spec})

        if not isinstance(model, AssetAttributesModel) or model.group_name is None:
            return lambda spec, project: translate(model, spec, project)
        # A group_name written literally (`group_name: Sales & Ops`) is cleaned too, as a
        # literal key is: the key cleaning applies to every key whatever wrote it (defs.yaml,
        # a caller's spec given to build_hex_asset), and one rule for both fields is easier to
        # predict than one that depends on a `{{` in the value. One that leaves nothing
        # (`group_name: "?"`) still fails the load.
        template = model.group_name
        others = model.model_copy(update={"group_name": None})

        def change(spec: AssetSpec, project: Dict[str, Any]) -> AssetSpec:
            rendered = context.at_path("group_name").with_scope(
                project=project, spec=spec).resolve_value(template)
            group_name = clean_group_name(rendered, project)
            return translate(others, spec, project).replace_attributes(group_name=group_name)
        return change

    class HexProjectsComponent(StateBackedComponent, _HexProjectsBase):
        """Every published project of a Hex workspace as an asset whose materialization runs
        it, with the hex_run_succeeded check, and the HexResource they use. The project list
        is the component's defs state; `translation` changes each project's spec (key,
        key_prefix, group_name, tags, owners, ...) with `{{ project.<field> }}` templates
        over its ListProjects entry and `{{ spec }}` for the spec made so far; a key or group
        name gets `_` for the characters Dagster refuses in it."""

        translation: Optional[Annotated[
            SpecChange,
            Resolver(_resolve_translation, model_field_type=Union[str, AssetAttributesModel],
                     inject_before_resolve=False),
        ]] = None
        defs_state: ResolvedDefsStateConfig = DefsStateConfigArgs.local_filesystem()

        @property
        def defs_state_config(self) -> "DefsStateConfig":
            """Keyed by the token's variable and the query, the two things that choose the
            projects (override with `defs_state: {key: ...}`)."""
            query = f"?{self.query}" if self.query else ""
            return DefsStateConfig.from_args(
                self.defs_state, default_key=f"HexProjectsComponent[{self.api_token_env}{query}]")

        def spec_change(self) -> Optional[SpecChange]:
            return self.translation

        def write_state_to_path(self, state_path: Path) -> None:
            projects = fetch_published_projects(self.resource(), self.query)
            state_path.write_text(json.dumps({"format": STATE_FORMAT, "query": self.query,
                                              "projects": projects}))

        def build_defs_from_state(self, context: ComponentLoadContext,
                                  state_path: Optional[Path]) -> Definitions:
            if state_path is None:
                log.warning("%s: no defs state yet (key %s): reading ListProjects now; run "
                            "`dg utils refresh-defs-state` to keep the project list",
                            type(self).__name__, self.defs_state_config.key)
                projects = fetch_published_projects(self.resource(), self.query)
            else:
                projects = _read_state(state_path)
            return self.defs_of_projects(projects)


def _read_state(state_path: Path) -> List[Dict[str, Any]]:
    """The project list of a state file, or a ValueError naming the file and the fix."""
    try:
        state = json.loads(state_path.read_text())
        if state.get("format") != STATE_FORMAT or not isinstance(state.get("projects"), list):
            raise ValueError(f"format {state.get('format')!r}, not {STATE_FORMAT}")
    except (ValueError, AttributeError) as e:
        raise ValueError(f"HexProjectsComponent: the defs state {state_path} cannot be read "
                         f"({e}); run `dg utils refresh-defs-state` again") from e
    return state["projects"]

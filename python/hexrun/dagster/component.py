"""`HexProjectsComponent`: the workspace pattern as a `dg` component.

    # defs/hex/defs.yaml
    type: hexrun.dagster.HexProjectsComponent
    attributes:
      api_token_env: HEX_API_TOKEN        # the token stays in the environment
      query: "statuses=Approved"          # optional ListProjects filter
      settings: {journal_path: /var/lib/hexrun/journal}
"""
from typing import Any, Dict, Optional

from dagster import Component, ComponentLoadContext, Definitions, EnvVar, Model, Resolvable

from .resources import HexResource
from .workspace import build_hex_assets_definitions


class HexProjectsComponent(Component, Model, Resolvable):
    """Every published project of a Hex workspace as an asset whose materialization runs it,
    with the hex_run_succeeded check, and the HexResource they use."""

    api_token_env: str = "HEX_API_TOKEN"
    base_url: Optional[str] = None
    query: Optional[str] = None
    resource_key: str = "hex"
    settings: Dict[str, Any] = {}

    def resource(self) -> HexResource:
        return HexResource(api_token=EnvVar(self.api_token_env), base_url=self.base_url,
                           **self.settings)

    def build_defs(self, context: ComponentLoadContext) -> Definitions:
        resource = self.resource()
        assets = build_hex_assets_definitions(resource, query=self.query,
                                              resource_key=self.resource_key)
        return Definitions(assets=assets, resources={self.resource_key: resource})

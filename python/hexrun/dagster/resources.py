"""HexResource: Dagster configuration of Hex access, handing out one hexrun.Client.

    defs = Definitions(jobs=[...], resources={"hex": HexResource(
        api_token=EnvVar("HEX_API_TOKEN"), journal_path="/var/lib/hexrun/journal")})
"""
import os
from typing import Dict, Optional

from dagster import ConfigurableResource, InitResourceContext
from pydantic import Field, PrivateAttr

import hexrun

DEFAULT_BASE_URL = "https://app.hex.tech"


class HexResource(ConfigurableResource):
    """Hex API access through libhexrun. Every field but api_token has hexrun's default;
    `config` passes any other key of docs/config.md (values as strings)."""

    base_url: Optional[str] = Field(
        default=None, description="scheme://host[:port] of Hex; hexrun appends /api. Unset: "
                                  "HEX_API_BASE_URL, else " + DEFAULT_BASE_URL)
    api_token: str = Field(description="Hex API token, e.g. EnvVar('HEX_API_TOKEN')")
    timeout_ms: int = Field(default=30000, description="limit of one HTTP attempt")
    connect_timeout_ms: int = Field(default=10000, description="connect + TLS handshake")
    max_retries: int = Field(default=5, description="retries after the first attempt")
    ca_file: Optional[str] = Field(default=None, description="CA bundle for TLS")
    budget_path: Optional[str] = Field(
        default=None, description="host-wide rate budget file shared by every process")
    journal_path: Optional[str] = Field(
        default=None, description="submit journal: a repeated idempotency key re-attaches "
                                  "to its run across processes (needed for re-execution)")
    poll_min_ms: int = Field(default=1000, description="poll interval after a change")
    poll_max_ms: int = Field(default=30000, description="poll interval cap")
    wait_slice_s: float = Field(
        default=0.5, description="how long one wait blocks; an interrupt (run termination) "
                                 "is seen at the latest after this")
    config: Dict[str, str] = Field(default_factory=dict,
                                   description="more hexrun configuration keys")

    _client: Optional[hexrun.Client] = PrivateAttr(default=None)
    _client_pid: int = PrivateAttr(default=0)

    def client_config(self) -> Dict[str, object]:
        """The hexrun configuration keys this resource sets (token excluded)."""
        settings = dict(self.config)
        settings.update(timeout_ms=self.timeout_ms, connect_timeout_ms=self.connect_timeout_ms,
                        max_retries=self.max_retries, poll_min_ms=self.poll_min_ms,
                        poll_max_ms=self.poll_max_ms)
        for key in ("ca_file", "budget_path", "journal_path"):
            if getattr(self, key):
                settings[key] = getattr(self, key)
        return settings

    def get_client(self) -> hexrun.Client:
        """This instance's client, made on first use. A client does not survive fork(), so
        a forked process (Dagster's multiprocess executor) makes its own."""
        if self._client is None or self._client_pid != os.getpid():
            self._client = hexrun.Client(base_url=self.base_url, token=self.api_token,
                                         **self.client_config())
            self._client_pid = os.getpid()
        return self._client

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        self.close()

    def close(self) -> None:
        """Closing waits (bounded by timeout_ms) for cancels already requested, so a run
        the op cancelled on termination is stopped before the process exits."""
        client, self._client = self._client, None
        if client is not None and self._client_pid == os.getpid():
            try:
                client.close()
            except hexrun.HexrunError:
                pass

"""HexResource: Dagster configuration of Hex access, handing out the process's hexrun.Client
for its settings (hexrun.shared: one per process and settings, whatever the threads).

    defs = Definitions(jobs=[...], resources={"hex": HexResource(
        api_token=EnvVar("HEX_API_TOKEN"), journal_path="/var/lib/hexrun/journal")})
"""
import os
from typing import Dict, Optional

from dagster import ConfigurableResource, InitResourceContext
from pydantic import Field, PrivateAttr

import hexrun
from hexrun.shared import ClientSlot

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
    coord_url: Optional[str] = Field(
        default=None, description="postgresql://... store shared by every process on every "
                                  "machine: one budget, journal and status board per token "
                                  "(docs/coordination.md); not with budget_path/journal_path")
    poll_min_ms: int = Field(default=1000, description="poll interval after a change")
    poll_max_ms: int = Field(default=30000, description="poll interval cap")
    wait_slice_s: float = Field(
        default=0.5, description="how long one wait blocks; an interrupt (run termination) "
                                 "is seen at the latest after this")
    config: Dict[str, str] = Field(default_factory=dict,
                                   description="more hexrun configuration keys")

    _slot: ClientSlot = PrivateAttr(default_factory=ClientSlot)

    def client_config(self) -> Dict[str, object]:
        """The hexrun configuration keys this resource sets (token excluded)."""
        settings = dict(self.config)
        settings.update(timeout_ms=self.timeout_ms, connect_timeout_ms=self.connect_timeout_ms,
                        max_retries=self.max_retries, poll_min_ms=self.poll_min_ms,
                        poll_max_ms=self.poll_max_ms)
        for key in ("ca_file", "budget_path", "journal_path", "coord_url"):
            if getattr(self, key):
                settings[key] = getattr(self, key)
        return settings

    def setup_for_execution(self, context: InitResourceContext) -> None:
        """Fails the run at resource set-up, not at its first Hex call, on an empty token
        or a state file whose directory cannot be made."""
        self._check_token()
        for key in ("journal_path", "budget_path"):
            _ensure_parent_dir(key, getattr(self, key))

    def _check_token(self) -> None:
        if not (self.api_token or "").strip():
            raise hexrun.ConfigError(-3, "HexResource: api_token is empty; set it, e.g. "
                                         "api_token=EnvVar('HEX_API_TOKEN') with HEX_API_TOKEN "
                                         "holding your Hex API token")

    def get_client(self) -> hexrun.Client:
        """The process's client for this resource's settings, made on first use; safe from
        any number of threads (they all get the same client). A forked process (Dagster's
        multiprocess executor) makes its own."""
        self._check_token()
        return self._slot.get(self.base_url, self.api_token, self.client_config())

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        self.close()

    def close(self) -> None:
        """Gives this resource's claim on the client up. The last holder's close closes it,
        waiting (bounded by timeout_ms) for cancels already requested, so a run the op
        cancelled on termination is stopped before the process exits."""
        self._slot.release()


def _ensure_parent_dir(key: str, path: Optional[str]) -> None:
    """Creates the directory of a journal or budget file (hexrun creates the file)."""
    if not path:
        return
    directory = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as e:
        raise hexrun.ConfigError(-3, f"HexResource: {key} {path!r}: cannot create its "
                                     f"directory {directory!r}: {e.strerror}") from e
    if not os.access(directory, os.W_OK | os.X_OK):
        raise hexrun.ConfigError(-3, f"HexResource: {key} {path!r}: directory {directory!r} "
                                     "is not writable")

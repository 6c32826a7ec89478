"""hexrun.airflow: an Apache Airflow 3 provider that runs Hex projects through libhexrun.

    from hexrun.airflow.operators import HexRunProjectOperator
    HexRunProjectOperator(task_id="refresh", project_id="...", deferrable=True)

Airflow finds the provider through the `apache_airflow_provider` entry point, which names
get_provider_info below; nothing here imports Airflow, so `airflow providers list` stays cheap.
"""
from importlib import metadata


def _version():
    try:
        return metadata.version("hexrun")
    except metadata.PackageNotFoundError:  # running from a source tree
        return "1.1.0"


# The connection form (Airflow 3 reads it from here, without importing the hook): Hex's own
# provider's fields (host = base URL, password = token) plus the hexrun settings a user
# most often sets. Extras typed as JSON in "Extra" keep working for every other key.
HOOK_NAME = "Hex (hexrun)"
UI_FIELD_BEHAVIOUR = {
    "hidden-fields": ["login", "schema"],
    "relabeling": {"host": "Hex base URL", "password": "Hex API token",
                   "port": "Port (only for a Hex at a non-standard port)"},
    "placeholders": {
        "host": "https://app.hex.tech",
        "password": "API token from Hex > Settings > API keys",
        "port": "443",
        "extra": '{"poll_max_ms": 30000, "proxy": "http://proxy:3128"}',
    },
}
CONN_FIELDS = {
    "timeout_ms": {"label": "HTTP attempt timeout (ms)",
                   "schema": {"type": ["integer", "null"]},
                   "description": "Limit of one HTTP attempt; hexrun's default is 30000."},
    "journal_path": {"label": "Submit journal path",
                     "schema": {"type": ["string", "null"]},
                     "description": "File shared by the workers of a host: a retry in another "
                                    "process re-attaches to the run (docs/journal.md). Its "
                                    "directory is created when missing."},
    "budget_path": {"label": "Shared rate budget path",
                    "schema": {"type": ["string", "null"]},
                    "description": "File shared by every process of a host that uses this "
                                   "token, so together they stay within Hex's limits."},
    "ca_file": {"label": "CA bundle",
                "schema": {"type": ["string", "null"]},
                "description": "PEM file of CAs to trust instead of the system store."},
}

# hexrun's own connection type, and `hex`, the type of Hex's provider (airflow-provider-hex),
# so existing `hex_default` connections keep their form. When Hex's provider is installed
# too it owns `hex` (two providers claiming one type is an Airflow warning and a coin toss);
# HexHook still reads `hex` connections, which have the same fields.
CONN_TYPE = "hexrun"
HEX_CONN_TYPE = "hex"
HEX_PROVIDER_DIST = "airflow-provider-hex"


def hex_provider_installed() -> bool:
    try:
        metadata.distribution(HEX_PROVIDER_DIST)
        return True
    except metadata.PackageNotFoundError:
        return False


def _connection_type(conn_type: str, hook_class: str) -> dict:
    return {"connection-type": conn_type, "hook-class-name": hook_class,
            "hook-name": HOOK_NAME if conn_type == CONN_TYPE else "Hex",
            "ui-field-behaviour": UI_FIELD_BEHAVIOUR, "conn-fields": CONN_FIELDS}


def get_provider_info():
    """The provider description Airflow's ProvidersManager reads (a plain dict)."""
    conn_types = [_connection_type(CONN_TYPE, "hexrun.airflow.hooks.HexrunHook")]
    if not hex_provider_installed():
        conn_types.append(_connection_type(HEX_CONN_TYPE, "hexrun.airflow.hooks.HexHook"))
    return {
        "package-name": "hexrun",
        "name": "Hex (hexrun)",
        "description": "Run Hex projects from Airflow through libhexrun: shared client, "
                       "deferrable runs, cancel on kill and timeout, idempotent retries.",
        "versions": [_version()],
        "integrations": [{
            "integration-name": "Hex",
            "external-doc-url": "https://learn.hex.tech/docs/api/api-reference",
            "tags": ["service"],
        }],
        "operators": [{"integration-name": "Hex",
                       "python-modules": ["hexrun.airflow.operators"]}],
        "sensors": [{"integration-name": "Hex", "python-modules": ["hexrun.airflow.sensors"]}],
        "hooks": [{"integration-name": "Hex", "python-modules": ["hexrun.airflow.hooks"]}],
        "triggers": [{"integration-name": "Hex", "python-modules": ["hexrun.airflow.triggers"]}],
        "extra-links": ["hexrun.airflow.operators.HexRunLink"],
        "connection-types": conn_types,
    }

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
        return "1.0.0"


def get_provider_info():
    """The provider description Airflow's ProvidersManager reads (a plain dict)."""
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
        "connection-types": [{"connection-type": "hex",
                              "hook-class-name": "hexrun.airflow.hooks.HexHook"}],
    }

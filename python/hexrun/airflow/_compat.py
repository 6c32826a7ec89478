"""Names that moved between the Airflow 3 releases hexrun.airflow supports (3.0 and later)."""
try:  # Airflow 3.1+
    from airflow.sdk import conf
except ImportError:  # Airflow 3.0
    from airflow.configuration import conf

try:  # Airflow 3.1+
    from airflow.sdk import BaseHook
except ImportError:  # Airflow 3.0
    from airflow.hooks.base import BaseHook

try:  # Airflow 3.1+ names it here; 3.0 kept it in airflow.exceptions
    from airflow.sdk.exceptions import AirflowException
except ImportError:
    from airflow.exceptions import AirflowException

try:  # Airflow 3.3+: the durable (crash-safe) execution path and its task_state_store
    from airflow.sdk import ResumableJobMixin
except ImportError:  # older Airflow: retries re-attach through the key (and journal_path)
    ResumableJobMixin = None

__all__ = ["AirflowException", "BaseHook", "ResumableJobMixin", "conf"]

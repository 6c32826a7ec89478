"""hexrun: run Hex projects from Python through libhexrun.so.1 (ctypes, stdlib only)."""
from .client import Client, Job, JobInfo, JobSlot, plugin_info, version
from .errors import (AuthError, ConfigError, Forbidden, HexrunError, InvalidArgument,
                     InvalidRequest, NoSuchJob, NotFound, OutcomeUnknown, ProtocolError,
                     RateLimited, RunFailed, StateError, Timeout, TransportError, Unavailable)

__all__ = ["Client", "Job", "JobInfo", "JobSlot", "plugin_info", "version", "AuthError",
           "ConfigError", "Forbidden", "HexrunError", "InvalidArgument", "InvalidRequest",
           "NoSuchJob", "NotFound", "OutcomeUnknown", "ProtocolError", "RateLimited",
           "RunFailed", "StateError", "Timeout", "TransportError", "Unavailable"]

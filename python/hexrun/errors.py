"""Exceptions mirroring hexrun's error codes (include/hexrun.h, enum hexrun_error)."""


class HexrunError(Exception):
    """A failed hexrun call: `code` is the HEXRUN_E_* number, `message` hexrun's detail."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


class InvalidArgument(HexrunError): pass          # -1
class ConfigError(HexrunError): pass              # -3
class NoSuchJob(HexrunError): pass                # -4
class Timeout(HexrunError): pass                  # -5
class TransportError(HexrunError): pass           # -6, -7
class AuthError(HexrunError): pass                # -8
class Forbidden(HexrunError): pass                # -9
class NotFound(HexrunError): pass                 # -10
class InvalidRequest(HexrunError): pass           # -11
class RateLimited(HexrunError): pass              # -12
class Unavailable(HexrunError): pass              # -13
class ProtocolError(HexrunError): pass            # -15
class OutcomeUnknown(HexrunError): pass           # -17
class StateError(HexrunError): pass               # -18
class Forked(HexrunError): pass                   # -19
class ShutDown(HexrunError): pass                 # -20


class RunFailed(HexrunError):
    """A run ended ERRORED, KILLED, UNABLE_TO_ALLOCATE_KERNEL, LOST or SUBMIT_*."""

    def __init__(self, info):
        url = info.run_url or "no run URL"
        super().__init__(0, f"Hex run {info.run_id or '(none)'} ended {info.state}: {url}"
                            + (f" ({info.error_message})" if info.error_message else ""))
        self.info = info


_BY_CODE = {-1: InvalidArgument, -3: ConfigError, -4: NoSuchJob, -5: Timeout,
            -6: TransportError, -7: TransportError, -8: AuthError, -9: Forbidden,
            -10: NotFound, -11: InvalidRequest, -12: RateLimited, -13: Unavailable,
            -15: ProtocolError, -17: OutcomeUnknown, -18: StateError, -19: Forked, -20: ShutDown}


def error_for(code, message):
    return _BY_CODE.get(code, HexrunError)(code, message)

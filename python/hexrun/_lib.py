"""Loading libhexrun.so.1 and declaring the C signatures of include/hexrun.h for ctypes.

ctypes releases the GIL around every foreign call, so a blocking hexrun_wait never stops
other Python threads.
"""
import ctypes
import os

ABI_MAJOR = 1

c_int, c_i32, c_i64, c_u32 = ctypes.c_int, ctypes.c_int32, ctypes.c_int64, ctypes.c_uint32
c_str, c_void = ctypes.c_char_p, ctypes.c_void_p
P = ctypes.POINTER
OUT_STR = P(c_void)  # char ** (read with ctypes.string_at, released with hexrun_free)

LOG_FN = ctypes.CFUNCTYPE(None, c_i32, c_str, c_void)

# name: (restype, argtypes); every function of the header, version 1.0.
SIGNATURES = {
    "hexrun_abi_version": (c_u32, []),
    "hexrun_version": (c_str, []),
    "hexrun_strerror": (c_str, [c_int]),
    "hexrun_last_error": (c_str, []),
    "hexrun_state_name": (c_str, [c_i32]),
    "hexrun_state_is_terminal": (c_i32, [c_i32]),
    "hexrun_free": (None, [c_void]),
    "hexrun_config_new": (c_int, [P(c_void)]),
    "hexrun_config_free": (None, [c_void]),
    "hexrun_config_set": (c_int, [c_void, c_str, c_str]),
    "hexrun_config_get": (c_int, [c_void, c_str, OUT_STR]),
    "hexrun_config_set_log": (c_int, [c_void, LOG_FN, c_void]),
    "hexrun_init": (c_int, [c_void, P(c_void)]),
    "hexrun_shutdown": (c_int, [c_void, c_u32]),
    "hexrun_plugin_info": (c_int, [OUT_STR]),
    "hexrun_stats": (c_int, [c_void, OUT_STR]),
    "hexrun_submit": (c_int, [c_void, c_str, c_str, c_str, P(c_i64)]),
    "hexrun_attach": (c_int, [c_void, c_str, c_str, P(c_i64)]),
    "hexrun_poll": (c_int, [c_void, c_i64, P(c_i32)]),
    "hexrun_wait": (c_int, [c_void, c_i64, c_i64, P(c_i32)]),
    "hexrun_wait_any": (c_int, [c_void, P(c_i64), c_u32, c_i64, P(c_i64), P(c_i32)]),
    "hexrun_cancel": (c_int, [c_void, c_i64]),
    "hexrun_job_info": (c_int, [c_void, c_i64, OUT_STR]),
    "hexrun_job_release": (c_int, [c_void, c_i64]),
    "hexrun_runs_list": (c_int, [c_void, c_str, c_str, c_str, c_i32, c_i32, c_u32, OUT_STR]),
    "hexrun_run_get": (c_int, [c_void, c_str, c_str, OUT_STR]),
    "hexrun_projects_list": (c_int, [c_void, c_str, c_u32, OUT_STR]),
    "hexrun_project_get": (c_int, [c_void, c_str, OUT_STR]),
    "hexrun_user_me": (c_int, [c_void, OUT_STR]),
    "hexrun_users_list": (c_int, [c_void, c_str, c_u32, OUT_STR]),
    "hexrun_user_deactivate": (c_int, [c_void, c_str, OUT_STR]),
    "hexrun_groups_list": (c_int, [c_void, c_str, c_u32, OUT_STR]),
    "hexrun_group_get": (c_int, [c_void, c_str, OUT_STR]),
    "hexrun_group_create": (c_int, [c_void, c_str, OUT_STR]),
    "hexrun_group_edit": (c_int, [c_void, c_str, c_str, OUT_STR]),
    "hexrun_group_delete": (c_int, [c_void, c_str]),
    "hexrun_connections_list": (c_int, [c_void, c_str, c_u32, OUT_STR]),
    "hexrun_connection_get": (c_int, [c_void, c_str, OUT_STR]),
    "hexrun_connection_create": (c_int, [c_void, c_str, OUT_STR]),
    "hexrun_connection_edit": (c_int, [c_void, c_str, c_str, OUT_STR]),
    "hexrun_collections_list": (c_int, [c_void, c_str, c_u32, OUT_STR]),
    "hexrun_collection_get": (c_int, [c_void, c_str, OUT_STR]),
    "hexrun_request": (c_int, [c_void, c_str, c_str, c_str, P(c_i32), OUT_STR]),
}


# Functions of later minor versions: declared when the loaded library has them (an older
# libhexrun.so.1 lacks them; the Python calls that need them say so).
SIGNATURES_1_1 = {
    "hexrun_submit_or_adopt": (c_int, [c_void, c_str, c_str, c_str, c_i64, P(c_i64)]),
}


class LoadError(ImportError):
    """libhexrun.so.1 could not be found or has another ABI major."""


def _candidates():
    env = os.environ.get("HEXRUN_LIBRARY")
    if env:
        return [env]
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "libhexrun.so.1")
    return [here, "libhexrun.so.1"]


def load():
    """Loads the library (HEXRUN_LIBRARY, then the package directory, then the system
    loader), checks the ABI major and declares every signature."""
    errors = []
    for path in _candidates():
        try:
            lib = ctypes.CDLL(path, mode=ctypes.RTLD_LOCAL)
            break
        except OSError as e:
            errors.append(f"{path}: {e}")
    else:
        raise LoadError("cannot load libhexrun.so.1 (" + "; ".join(errors) + ")")
    lib.hexrun_abi_version.restype = c_u32
    lib.hexrun_abi_version.argtypes = []
    major = lib.hexrun_abi_version() >> 16
    if major != ABI_MAJOR:
        raise LoadError(f"{path} has ABI major {major}; this package needs {ABI_MAJOR}")
    for name, (restype, argtypes) in SIGNATURES.items():
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = restype, argtypes
    for name, (restype, argtypes) in SIGNATURES_1_1.items():
        fn = getattr(lib, name, None)
        if fn is not None:
            fn.restype, fn.argtypes = restype, argtypes
    return lib

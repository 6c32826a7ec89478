"""The ctypes declarations of python/hexrun/_lib.py (SIGNATURES, SIGNATURES_1_1) against
include/hexrun.h: every function of the header is declared, with the same return and
argument types, and nothing else is. The header is parsed with pycparser after the
preprocessor lines and comments are dropped, as cffi's cdef needs it (checked too)."""
import ctypes
import os
import re
import sys

import cffi
import pycparser

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
HEADER = os.path.join(ROOT, "include", "hexrun.h")
sys.path.insert(0, os.path.join(ROOT, "python"))

from hexrun import _lib  # noqa: E402

FIXED = {"int": ctypes.c_int, "int32_t": ctypes.c_int32, "int64_t": ctypes.c_int64,
         "uint32_t": ctypes.c_uint32}
PRELUDE = "typedef int int32_t; typedef long int64_t; typedef unsigned int uint32_t;\n"


def header_declarations():
    """The header as plain C declarations: no comments, no #lines, no HEXRUN_API."""
    src = open(HEADER, encoding="utf-8").read()
    src = re.sub(r"/\*.*?\*/", " ", src, flags=re.S)
    src = "\n".join(line for line in src.splitlines() if not line.lstrip().startswith("#"))
    src = re.sub(r"\bHEXRUN_API\b", "", src)
    return re.sub(r'extern\s+"C"\s*\{|^\}\s*$', "", src, flags=re.M)


def to_ctypes(node):
    """The ctypes type _lib.py must use for a pycparser type node."""
    c_ast = pycparser.c_ast
    if isinstance(node, c_ast.TypeDecl):
        names = node.type.names if isinstance(node.type, c_ast.IdentifierType) else []
        name = " ".join(names)
        if name == "void":
            return None
        if name == "hexrun_log_fn":
            return _lib.LOG_FN
        if name in FIXED:
            return FIXED[name]
        raise AssertionError(f"no ctypes mapping for {name!r}")
    if isinstance(node, c_ast.PtrDecl):
        inner = node.type
        if isinstance(inner, c_ast.PtrDecl):
            return ctypes.POINTER(ctypes.c_void_p)  # char **, hexrun_client **: out values
        names = " ".join(inner.type.names) if isinstance(inner.type, c_ast.IdentifierType) else ""
        if names == "char":
            return ctypes.c_char_p
        if names in FIXED:
            return ctypes.POINTER(FIXED[names])
        return ctypes.c_void_p  # void *, hexrun_config *, hexrun_client *
    raise AssertionError(f"unexpected declarator {type(node).__name__}")


def header_signatures():
    ast = pycparser.CParser().parse(PRELUDE + header_declarations(), HEADER)
    out = {}
    for decl in ast.ext:
        if isinstance(decl, pycparser.c_ast.Decl) and isinstance(decl.type,
                                                               pycparser.c_ast.FuncDecl):
            fn = decl.type
            params = fn.args.params if fn.args else []
            args = [to_ctypes(p.type) for p in params]
            if args == [None]:  # (void)
                args = []
            out[decl.name] = (to_ctypes(fn.type), args)
    return out


def declared():
    return {**_lib.SIGNATURES, **_lib.SIGNATURES_1_1}


def test_the_header_parses_and_declares_functions():
    assert len(header_signatures()) >= 40


def test_every_header_function_is_declared_in_python():
    missing = sorted(set(header_signatures()) - set(declared()))
    assert not missing, f"not in python/hexrun/_lib.py's SIGNATURES: {missing}"


def test_python_declares_nothing_the_header_lacks():
    extra = sorted(set(declared()) - set(header_signatures()))
    assert not extra, f"in SIGNATURES but not in include/hexrun.h: {extra}"


def test_every_signature_matches_the_header():
    header = header_signatures()
    wrong = [f"{name}: header {header[name]}, _lib.py {sig}"
             for name, sig in sorted(declared().items())
             if name in header and (header[name][0], list(header[name][1])) != (sig[0], list(sig[1]))]
    assert not wrong, "signatures differ:\n" + "\n".join(wrong)


def test_the_header_is_a_cffi_cdef():
    cffi.FFI().cdef(header_declarations())  # cffi knows int32_t and friends

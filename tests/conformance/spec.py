"""Hex's OpenAPI 3.0 description as JSON Schema validators, one per operation and status.

OpenAPI 3.0 schemas are not quite JSON Schema: `nullable: true` stands for "or null" and
references point into `#/components/schemas`. `Spec` rewrites both once (nullable -> anyOf
with null; refs kept, resolved through a registry of the whole document) and hands out
Draft 2020-12 validators.

Statuses an operation does not declare: Hex sends 401 (bad token), 404 (unknown object),
429 (rate limit) and 503 (concurrency) from shared middleware on every operation, so the
spec leaves them out. Those are accepted only from that global set, and their body must
validate against the error family the operation declares for its own errors
(`TsoaErrorResponsePayload` {reason, ...} or `error.*` {code, message, ...}).
"""
import copy
import json
import os

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPEC_PATH = os.path.join(ROOT, "docs", "hex-api", "openapi.json")
GLOBAL_STATUSES = {"401", "404", "429", "503"}
DOC_URI = "urn:hex-openapi"


def _nullable_to_anyof(node):
    if isinstance(node, list):
        return [_nullable_to_anyof(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _nullable_to_anyof(v) for k, v in node.items()}
    if out.pop("nullable", False):
        return {"anyOf": [out, {"type": "null"}]}
    return out


def _absolute_refs(node):
    """'#/components/...' -> 'urn:hex-openapi#/components/...' so fragments of the
    document can be validated on their own."""
    if isinstance(node, list):
        return [_absolute_refs(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _absolute_refs(v) for k, v in node.items()}
    ref = out.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        out["$ref"] = DOC_URI + ref
    return out


class Spec:
    def __init__(self, path=SPEC_PATH):
        with open(path, encoding="utf-8") as f:
            raw = json.load(f)
        self.doc = _absolute_refs(_nullable_to_anyof(raw))
        resource = Resource.from_contents(self.doc, default_specification=DRAFT202012)
        self.registry = Registry().with_resource(DOC_URI, resource)
        self.ops = {}
        for path_, methods in self.doc["paths"].items():
            for method, op in methods.items():
                if isinstance(op, dict) and "operationId" in op:
                    self.ops[op["operationId"]] = (method.upper(), path_, op)

    def operation(self, op_id):
        return self.ops[op_id]

    def _validator(self, schema):
        return Draft202012Validator(schema, registry=self.registry)

    def response_schema(self, op_id, status):
        """(schema or None for an empty body, how the status was found)."""
        _, _, op = self.ops[op_id]
        responses = op["responses"]
        key = str(status)
        if key in responses:
            content = responses[key].get("content")
            if not content:
                return None, "declared"
            return content["application/json"]["schema"], "declared"
        if key not in GLOBAL_STATUSES:
            raise AssertionError(f"{op_id} answered {status}, which it does not declare "
                                 f"(declared: {sorted(responses)})")
        return self._error_family(op_id), "global"

    def _error_family(self, op_id):
        _, _, op = self.ops[op_id]
        for status, resp in op["responses"].items():
            if status.startswith(("4", "5")) and resp.get("content"):
                schema = resp["content"]["application/json"]["schema"]
                refs = json.dumps(schema)
                if "TsoaErrorResponsePayload" in refs:
                    return {"$ref": DOC_URI + "#/components/schemas/TsoaErrorResponsePayload"}
                return copy.deepcopy(schema)
        raise AssertionError(f"{op_id} declares no error body")

    def request_schema(self, op_id):
        _, _, op = self.ops[op_id]
        body = op.get("requestBody", {}).get("content", {}).get("application/json")
        return body["schema"] if body else None

    def validate_response(self, op_id, status, body):
        """Raises AssertionError naming the operation and the first schema error."""
        schema, _ = self.response_schema(op_id, status)
        if schema is None:
            assert body in ("", None), f"{op_id} {status}: expected an empty body, got {body!r}"
            return
        errors = sorted(self._validator(schema).iter_errors(body), key=lambda e: list(e.path))
        if errors:
            e = errors[0]
            where = "/".join(str(p) for p in e.path) or "(root)"
            raise AssertionError(f"{op_id} {status}: body does not match the spec at {where}: "
                                 f"{e.message}\nbody: {json.dumps(body)[:800]}")

    def request_is_valid(self, op_id, body):
        schema = self.request_schema(op_id)
        return schema is None or not list(self._validator(schema).iter_errors(body))

"""What the OpenAPI spec promises beyond the schemas, applied to every operation in one place.

A client generated from the spec (openapi-python-client, tests/integration/test_api_client.py) must
be able to trust it: output fields that are always there are required, every error is documented as
the application/problem+json it is served as, with the headers a client needs to retry
(Retry-After, X-RateLimit-*) or to make a POST safe to retry (Idempotency-Key), and a PATCH names at
least one field. The rules live here rather than on each view, so a new endpoint gets them too.
"""

from __future__ import annotations

from apispec import BasePlugin
from flask import abort, request
from marshmallow import Schema, fields, validate

PROBLEM_TYPE = "application/problem+json"
_PROBLEM = {"schema": {"$ref": "#/components/schemas/ProblemOut"}}
_ERRORS = {
    "400": "The body is not JSON.",
    "401": "No token, or a token that is unknown, revoked or expired.",
    "403": "The token's user or scope may not do this.",
    "404": "No such object (in the path, or named in the request), or one this token's user may not see.",
    "409": "A conflict: the object changed state, or a request with this Idempotency-Key is still running.",
    "422": "The request does not validate; `errors` names each field and what is wrong with it.",
    "429": "Too many requests: wait Retry-After seconds.",
}
_RATE_HEADERS = {
    "X-RateLimit-Limit": "Requests allowed in the current window.",
    "X-RateLimit-Remaining": "Requests left in the current window.",
    "X-RateLimit-Reset": "When the window resets (Unix time, seconds).",
}
_IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[ -~]+$"},
    "description": "Retry a POST safely: the same key (per user, for a day) gives the first answer back "
                   "(with `Idempotent-Replayed: true`) and creates nothing twice. A key reused for a "
                   "different request is a 422; one whose first request is still running, a 409.",
}


def _header(description: str) -> dict:
    return {"description": description, "schema": {"type": "integer"}}


class ContractPlugin(BasePlugin):
    """apispec plugin: required output fields, PATCH bodies with a field, problem+json errors, headers."""

    def init_spec(self, spec) -> None:
        self.spec = spec
        for name, description in _RATE_HEADERS.items():
            spec.components.header(name, _header(description))
        spec.components.header("Retry-After", _header("Seconds to wait before trying again."))
        for code, description in _ERRORS.items():
            response = {"description": description, "content": {PROBLEM_TYPE: _PROBLEM}}
            if code == "429":
                response["headers"] = {name: {"$ref": f"#/components/headers/{name}"}
                                       for name in ("Retry-After", *_RATE_HEADERS)}
            spec.components.response(f"Problem{code}", response)

    def schema_helper(self, name, definition, **kwargs):
        schema = kwargs.get("schema")
        schema_class = schema if isinstance(schema, type) else type(schema) if schema is not None else None
        properties = definition.get("properties") or {}
        for name_, prop in list(properties.items()):
            choices = prop.get("anyOf") or ()
            if len(choices) == 2 and {"type": "object", "nullable": True} in choices:
                # A nested object or null (apispec writes an untyped object beside the $ref).
                [reference] = [choice for choice in choices if choice != {"type": "object", "nullable": True}]
                properties[name_] = prop = {"allOf": [reference], "nullable": True,
                                            **{k: v for k, v in prop.items() if k != "anyOf"}}
            if None in (prop.get("enum") or ()):
                # A nullable enum: 'type' beside the null in the enum makes generators invent three
                # enum classes; without it the value is one enum or null, and validators agree.
                prop.pop("type", None)
        if name.endswith("Out") and properties:
            optional = set(getattr(getattr(schema_class, "Meta", None), "optional_output", ()))
            return {"required": sorted(set(properties) - optional)}
        if name.endswith("Patch") and properties:
            return {"minProperties": 1}
        return None

    def operation_helper(self, path=None, operations=None, **kwargs):
        for method, operation in (operations or {}).items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            responses = operation.setdefault("responses", {})
            for code in [code for code in responses if not isinstance(code, str)]:
                responses[str(code)] = responses.pop(code)
            codes = ["401", "403", "404", "429"]  # 404: the object in the path, or one the request names
            if method in ("post", "put", "patch", "delete"):
                codes.append("409")
            if (method == "post" or operation.get("requestBody") or operation.get("parameters")
                    or "422" in responses):
                codes.append("422")  # a POST's Idempotency-Key reused for another request, too
            if operation.get("requestBody"):
                codes.append("400")
            for code in codes:
                responses[code] = {"$ref": f"#/components/responses/Problem{code}"}
            responses.pop("default", None)
            for code, response in responses.items():
                if code.startswith("2") and isinstance(response, dict):
                    response.setdefault("headers", {}).update(
                        {name: {"$ref": f"#/components/headers/{name}"} for name in _RATE_HEADERS})
            if method == "post":
                operation.setdefault("parameters", []).append(dict(_IDEMPOTENCY_KEY))


class Shaped(fields.Dict):
    """An object a service checks key by key (so each problem gets its own message, and one bad row of
    a batch does not refuse the others), documented in the spec as the schema `shape`."""

    def __init__(self, shape: type[Schema], **kwargs):
        self.shape = shape
        super().__init__(**kwargs)


def shaped_properties(converter, field, **kwargs) -> dict:
    """apispec attribute function: a Shaped field is documented as its shape."""
    if isinstance(field, Shaped):
        return {"allOf": [converter.resolve_nested_schema(field.shape)]}
    return {}


def keyed_properties(converter, field, **kwargs) -> dict:
    """apispec attribute function: a dict whose keys are a fixed choice (followups by score band) is
    documented as an object with those properties and no others, not as a map of any string."""
    choices = [validator.choices for validator in getattr(field.key_field, "validators", ())
               if isinstance(validator, validate.OneOf)] if isinstance(field, fields.Dict) else []
    if not choices:
        return {}
    value = converter.field2property(field.value_field) if field.value_field else {}
    return {"properties": {key: value for key in choices[0]}, "additionalProperties": False}


def require_a_field_in_patches() -> None:
    """before_request of the API: a PATCH that names no field is a mistake, not a no-op success."""
    if request.method != "PATCH":
        return
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not body:
        abort(422, description="A PATCH needs a JSON object with at least one field to change.")


def positive_ids(*schemas: type[Schema]) -> None:
    """Ids that a request names (owner_id, contact_ids…) are positive: 0 and -1 are a clear 422, in
    the spec as minimum 1, instead of 'not found' or a 500 further in. Cursors (after_id) may be 0."""
    for schema in schemas:
        for name, field in schema._declared_fields.items():
            if name == "after_id" or field.dump_only:
                continue
            target = field.inner if isinstance(field, fields.List) and name.endswith("_ids") else field
            if (name.endswith("_id") or name.endswith("_ids")) and isinstance(target, fields.Integer):
                if not any(isinstance(v, validate.Range) and v.min is not None and v.min >= 1
                           for v in target.validators):
                    target.validators.append(validate.Range(min=1))


def positive_ids_in(namespace: dict) -> None:
    """positive_ids for every schema a module defines (called at the end of each module of schemas)."""
    positive_ids(*(value for value in list(namespace.values())
                   if isinstance(value, type) and issubclass(value, Schema) and value is not Schema))

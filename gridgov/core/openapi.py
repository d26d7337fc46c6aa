"""What the OpenAPI document says of errors: one Error shape, declared where it can happen.

gridgov/api.py turns every refusal into that shape (400 with per-field messages, 401, 403,
404, 409); clients and the schemathesis run in core/tests/test_api_fuzz.py read the
statuses an operation may answer from here.
"""

ERROR_SCHEMA = {
    "type": "object",
    "required": ["detail"],
    "properties": {
        "detail": {"type": "string", "description": "the first message, in the request's language"},
        "errors": {
            "type": "object",
            "description": "messages per field (400 only); __all__ for the request as a whole",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
}
ERROR_TEXTS = {
    "400": "Invalid input: per-field messages",
    "401": "Not logged in",
    "403": "Not allowed (role, scope or a locked account)",
    "404": "No such object in your area",
    "409": "The object's state does not allow this now",
    "413": "The request body is too large",
    "414": "The URL is too long (refused by the HTTP server before the application)",
    "415": "The body is not application/json",
}


def document_errors(schema: dict) -> dict:
    """Declare on every operation the errors gridgov/api.py can give it: 400 where it takes
    input, 401/403 where it needs a login (and on the login routes, which lock accounts), 404
    where a path or the body names an object, 413/415 where it takes a body, 414 where it takes
    a query (the HTTP server's limit on the request line). A route that can
    answer 409 says so in its openapi_extra."""
    schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for path, operations in schema["paths"].items():
        for operation in operations.values():
            codes = set()
            if operation.get("parameters") or operation.get("requestBody"):
                codes |= {"400", "403"}
            if any(p.get("in") == "query" for p in operation.get("parameters", [])):
                codes.add("414")  # gunicorn refuses a request line over 4,094 bytes
            body = operation.get("requestBody", {}).get("content", {})
            if body:
                codes.add("413")
            if "application/json" in body:
                codes.add("415")
            if _names_objects(schema, body):
                codes.add("404")
            if operation.get("security"):
                codes |= {"401", "403"}
            if "{" in path:
                codes.add("404")
            # Ninja keys its own responses by int; JSON has only strings: one key per status.
            responses = {str(code): value for code, value in operation.get("responses", {}).items()}
            operation["responses"] = responses
            for code in sorted(codes | set(responses) & set(ERROR_TEXTS)):
                responses[code] = {"description": ERROR_TEXTS[code], "content": _error_body(code)}
    return schema


def _error_body(code: str) -> dict:
    if code == "414":  # answered by gunicorn (or the proxy), as its own HTML page
        return {"text/html": {"schema": {"type": "string"}}}
    return {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}


def _names_objects(schema: dict, body: dict) -> bool:
    """A body with an `…_id` field names an object that may not exist (or not in scope)."""
    for media in body.values():
        found = media.get("schema", {})
        if "$ref" in found:
            found = schema["components"]["schemas"][found["$ref"].rsplit("/", 1)[-1]]
        if any(name.endswith("_id") for name in found.get("properties", {})):
            return True
    return False


CONFLICT = {"responses": {"409": {"description": ERROR_TEXTS["409"]}}}

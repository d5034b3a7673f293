"""operationIds for /openapi.json, made from each route's function name, so a route added
later gets a readable one without touching this file: `search_entities` → `searchEntities`,
`health` → `getHealth` (a name that starts with no verb takes its HTTP method's). A few
routes whose function names read badly as operations are named here. FastAPI's default
(`match_v1__domain__match_post`) changes whenever a path does and reads badly in a generated
client; these stay as long as the function's name does (tests/api/test_api_contract.py
checks every route has one and that they are unique)."""

from __future__ import annotations

from fastapi.routing import APIRoute

NAMED = {
    "get_entity": "getEntity",
    "match": "matchRecords",
    "add_records": "postRecords",
    "unregistered": "listUnregistered",
    "read_metrics": "getMetrics",
}
VERBS = {"get", "list", "search", "match", "add", "post", "put", "patch", "delete", "create", "update",
         "read", "record", "decide", "export", "run", "set", "find", "explain", "resolve", "review"}
_METHOD_VERB = {"GET": "get", "POST": "post", "PUT": "put", "PATCH": "update", "DELETE": "delete"}


def operation_id(route: APIRoute) -> str:
    """The route's operationId (FastAPI's `generate_unique_id_function`)."""
    name = route.name
    if name in NAMED:
        return NAMED[name]
    words = [w for w in name.split("_") if w]
    if not words or words[0].lower() not in VERBS:
        method = next(iter(sorted(route.methods or {"GET"})), "GET")
        words = [_METHOD_VERB.get(method, method.lower()), *words]
    return words[0].lower() + "".join(w[:1].upper() + w[1:] for w in words[1:])

"""`GET /api/v1/openapi.json`: the HTTP API described from the structs its handlers use,
and Schemathesis holding a real node to it."""

from __future__ import annotations

import httpx
from gateway.test_asyncapi import refs, resolve
from starlette.routing import Route

from switchboard.domain.errors import ErrorCode
from switchboard.gateway.http import routes as http_routes
from switchboard.gateway.http.openapi import ApiRoute


async def test_the_document_describes_every_route_of_the_api(sb):
    async with httpx.AsyncClient(base_url=sb.node.base) as anonymous:  # public, like documentation
        response = await anonymous.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"] == "3.1.0"
    described = {(path, method.upper()) for path, item in document["paths"].items() for method in item}
    served = {
        (route.path, method)
        for route in http_routes
        if isinstance(route, Route)
        for method in (route.methods or {"GET"}) - {"HEAD"}
    }
    assert described == served
    assert all(isinstance(route, ApiRoute) for route in http_routes)
    operations = [op for item in document["paths"].values() for op in item.values()]
    assert len({op["operationId"] for op in operations}) == len(operations)
    for ref in refs(document):
        resolve(document, ref)
    assert set(document["info"]["x-error-codes"]) == {code.value for code in ErrorCode}
    schemes = document["components"]["securitySchemes"]
    assert set(schemes) == {"adminToken", "agentToken"}
    paths = document["paths"]
    # who may call: read from the guards
    assert paths["/api/v1/agents"]["get"]["security"] == [{"adminToken": []}]
    assert {"agentToken": []} in paths["/api/v1/canned-responses"]["get"]["security"]
    assert "403" in paths["/api/v1/canned-responses/{id}"]["put"]["responses"]
    assert paths["/healthz"]["get"]["security"] == [] and "401" not in paths["/healthz"]["get"]["responses"]
    # errors answer in one shape; pagination is described
    error = paths["/api/v1/queues/{id}"]["get"]["responses"]["404"]["content"]["application/json"]["schema"]
    assert resolve(document, error["$ref"])["required"] == ["error"]
    search = {p["name"]: p["schema"] for p in paths["/api/v1/conversations"]["get"]["parameters"]}
    assert search["limit"] == {"type": "integer", "minimum": 1, "maximum": 100}
    assert "next" in document["components"]["schemas"]["ConversationPage"]["properties"]
    # request bodies are the structs the handlers decode, bounds included
    queue = resolve(
        document, paths["/api/v1/queues/{id}"]["put"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    )
    assert queue["properties"]["priority"] == {"type": "integer", "minimum": -100, "maximum": 100, "default": 0}

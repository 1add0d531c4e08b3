def test_health_reports_ok(api):
    response = api.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_unknown_route_is_a_json_404(api):
    response = api.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Route not found"}}


def test_wrong_method_is_a_json_405_with_allow(api):
    response = api.delete("/api/v1/catalog/brands")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert "GET" in response.headers["allow"]


def test_every_response_carries_a_request_id(api):
    assert api.get("/health").headers["x-request-id"]
    echoed = api.get("/health", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"

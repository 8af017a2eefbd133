"""The API declared once: the typed models that parse requests are the ones the OpenAPI
document is made of, and every answer in the API tests is checked against them."""

from __future__ import annotations

import pytest
from werkzeug.exceptions import ImATeapot

from exchange.api import models, serialise
from tests.helpers import API, assert_error, openapi_document, resolve


def test_a_request_body_is_documented_as_the_model_that_parses_it(client):
    doc = openapi_document(client)
    create = doc["paths"]["/logs"]["post"]
    body = resolve(doc, create["requestBody"]["content"]["application/json"]["schema"])
    assert set(body["properties"]) == set(models.LogInput.model_fields)
    assert body["required"] == ["kind", "date", "hours", "category", "description"]
    patch = doc["paths"]["/logs/{log_id}"]["patch"]
    patch_body = resolve(doc, patch["requestBody"]["content"]["application/json"]["schema"])
    assert "required" not in patch_body  # only the fields given change
    # Choices and limits are documented even where the service is the one to judge them.
    assert body["properties"]["category"]["enum"][:2] == ["clinical", "technical_training"]
    assert body["properties"]["description"]["maxLength"] == 2000


def test_query_parameters_come_from_the_query_model(client):
    doc = openapi_document(client)
    parameters = {p["name"]: p for p in doc["paths"]["/logs"]["get"]["parameters"]}
    assert set(parameters) == {"scope", "status", "kind", "period", "flagged", "page", "per_page"}
    assert parameters["scope"]["schema"]["enum"] == ["mine", "verify", "approve", "department"]
    assert parameters["period"]["schema"]["type"] == "integer"
    assert all(p["in"] == "query" for p in parameters.values())


def test_every_operation_documents_the_errors_its_declaration_implies(app, client):
    doc = openapi_document(client)
    create = doc["paths"]["/departments"]["post"]["responses"]
    assert {"201", "400", "401", "403", "409", "422"} <= set(create)
    one = doc["paths"]["/logs/{log_id}"]["get"]["responses"]
    assert {"200", "401", "403", "404"} <= set(one)
    assert one["404"] == {"$ref": "#/components/responses/NotFound"}
    check = doc["paths"]["/verify/{code}"]["get"]
    assert check["security"] == []
    assert "401" not in check["responses"]


def test_wrong_json_types_are_named_in_the_readers_language(client, make_user, api_token):
    headers = {**api_token(make_user("admin")), "Accept-Language": "zh-CN"}
    response = client.post(f"{API}/departments", headers=headers, json={"code": 5, "name": None})
    error = assert_error(response, 422, "validation_error", ("code", "name"))
    assert error["fields"]["code"] == "必须是字符串。"


def test_a_bad_query_parameter_is_a_400_naming_it(client, make_user, api_token):
    headers = api_token(make_user("teacher"))
    response = client.get(f"{API}/logs?scope=everyone&period=-1", headers=headers)
    error = assert_error(response, 400, "bad_request", ("scope", "period"))
    assert error["fields"]["scope"] == "scope must be one of: approve, department, mine, verify."
    assert error["fields"]["period"] == "period must be a whole number, 1 or more."


def test_type_problems_of_a_list_are_named_on_the_list(client, make_user, api_token):
    headers = api_token(make_user("admin"))
    for ids in (["1"], [0], [True], "1", list(range(1, 202))):
        response = client.post(f"{API}/logs/approve", headers=headers, json={"ids": ids})
        assert_error(response, 422, "validation_error", ("ids",))


def test_an_answer_that_breaks_its_documented_shape_fails_the_api_tests(
    client, monkeypatch, make_user, make_department, api_token
):
    headers = api_token(make_user("admin"))
    department = make_department()
    url = f"{API}/departments/{department.id}"
    assert client.get(url, headers=headers).status_code == 200

    monkeypatch.setattr(serialise, "department", lambda d: {"id": d.id, "code": d.code})
    with pytest.raises(AssertionError, match="not a documented Department"):
        client.get(url, headers=headers)
    monkeypatch.setattr(
        serialise, "department", lambda d: {"id": d.id, "code": d.code, "name": d.name, "x": 1}
    )
    with pytest.raises(AssertionError, match="not a documented Department"):
        client.get(url, headers=headers)


def test_an_undocumented_status_fails_the_api_tests(
    client, monkeypatch, make_user, make_department, api_token
):
    headers = api_token(make_user("admin"))
    department = make_department()

    def teapot(_department):
        raise ImATeapot()  # answered with the JSON error body, as 418

    monkeypatch.setattr(serialise, "department", teapot)
    with pytest.raises(AssertionError, match="answered 418"):
        client.get(f"{API}/departments/{department.id}", headers=headers)


def test_a_blank_language_is_documented_as_accepted(client):
    """The services read "" as "no language chosen" (the browser's); the document says so,
    so a client (or a fuzzer) reading it is not surprised."""
    document = client.get("/api/v1/openapi.json").get_json()
    schemas = document["components"]["schemas"]
    users = [s for name, s in schemas.items() if "locale" in s.get("properties", {})]
    assert any(
        "" in option.get("enum", [])
        for schema in users
        for option in schema["properties"]["locale"].get("anyOf", [schema["properties"]["locale"]])
    )

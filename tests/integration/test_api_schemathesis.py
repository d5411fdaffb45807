"""schemathesis against the live OpenAPI spec: generated requests to every operation, valid and not,
with an admin's token over some real data. Whatever it sends, the API must never answer 5xx, and
every answer must match what the spec publishes: its schema, a documented status code (errors
included) and the documented content type (application/problem+json for errors)."""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.factories import answer, api_token, make_contact, make_invitation, make_survey, make_user
from vocloop.routing.service import create_rule

# Examples per operation; the suite's default keeps CI short, VOCLOOP_FUZZ_EXAMPLES=500 digs deeper.
EXAMPLES = int(os.environ.get("VOCLOOP_FUZZ_EXAMPLES", "20"))


@pytest.fixture
def admin_headers(app, client, drain):
    admin = make_user("admin@example.com", role="admin")
    owner = make_user("dana@example.com", team="Support")
    create_rule(name="to Dana", action="user", user_id=owner.id)
    survey = make_survey()
    for n, (score, comment) in enumerate([(2, "Billing is wrong"), (9, "Great"), (5, "")]):
        answer(client, make_invitation(survey, make_contact(f"c{n}@customer.example", account="Initech")),
               score, comment)
    drain()
    return api_token(admin)


def test_no_request_gets_a_5xx_and_every_answer_matches_the_spec(app, admin_headers):
    """Each operation in turn, so that one report lists every operation that fails (schemathesis's own
    pytest plugin does not run under this pytest)."""
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    failures, operations = {}, 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
        def check(case):
            case.call_and_validate(headers=admin_headers, checks=[
                not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance])

        try:
            check()
        except BaseException as exc:  # noqa: BLE001 - every operation's failure goes into the one report (hypothesis raises groups)
            failures[operation.label] = str(exc)[:2000]
    assert operations > 50
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())


def test_sequences_of_calls_never_get_a_5xx_and_match_the_spec(app, admin_headers):
    """The stateful phase: links that schemathesis infers from the spec (a created survey's id used in
    the next call, and so on) chain operations, as a client would. The run's own admin cannot lock
    itself out: the API refuses to deactivate the last active admin, so every step stays authorised."""
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    machine = schema.as_state_machine()
    checks = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]

    calls: list[tuple[str, int]] = []

    class Client(machine):
        def get_call_kwargs(self, case):
            return {"headers": admin_headers}

        def after_call(self, response, case):
            calls.append((case.operation.label, response.status_code))

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=checks, transport_kwargs=kwargs)

    transitions = [name for name in dir(machine) if "___" in name]  # e.g. POST /surveys -> PATCH /surveys/{id}
    assert len(transitions) > 100  # the spec gives schemathesis links to follow
    Client.run(settings=settings(max_examples=max(EXAMPLES // 2, 5), stateful_step_count=6, deadline=None,
                                 derandomize=True, database=None, suppress_health_check=list(HealthCheck)))
    succeeded = {label for label, status in calls if status < 300}
    assert len(calls) > 50 and len(succeeded) > 10, (len(calls), sorted(succeeded))
    assert app.test_client().get("/api/v1/items", headers=admin_headers).status_code == 200  # still signed in

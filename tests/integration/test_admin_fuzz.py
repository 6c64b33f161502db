"""schemathesis over the admin API's own OpenAPI document, against the real server: whatever it sends,
no 5xx, the documented status codes and content type, and responses that match their schemas."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from live_server import ADMIN_TOKEN, LiveServer
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from backlay.admin.api import AdminApi

# The document the server serves, built without a server (the routes do not depend on state).
schema = schemathesis.openapi.from_dict(AdminApi("x" * 16, lambda: None, None, None).openapi())  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = LiveServer(Path(tmp_path_factory.mktemp("backlay-admin-fuzz"))).start()
    yield server
    server.stop()


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_admin_api_conforms_to_its_document(case: schemathesis.Case, live: LiveServer) -> None:
    case.call_and_validate(base_url=live.base, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
                           checks=[not_a_server_error, status_code_conformance, content_type_conformance,
                                   response_schema_conformance])
    assert live.server is not None
    live.server.engine.exchange.check_invariants()

"""schemathesis over the provider endpoint's own OpenAPI document, against the real server, with every
call correctly signed (so that the bodies reach the decoder and the core, not only the signature check):
whatever it sends, no 5xx but the documented 503, the documented status codes and content type, and
responses that match their schemas; the exchange's invariants hold throughout."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from live_server import LiveServer, admin
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from stream_support import login

from backlay.provider.api import ProviderApi

PREFIX = "/provider/v1"
PROVIDER, SECRET = "fuzz-provider", "fuzz-secret-" * 4

# The document the server serves, built without a server (the routes do not depend on state).
schema = schemathesis.openapi.from_dict(
    ProviderApi(PREFIX, lambda: None, None, None, lambda: 0, 3000).openapi())  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = LiveServer(Path(tmp_path_factory.mktemp("backlay-provider-fuzz"))).start()
    admin(server, "POST", "/providers", {"providerId": PROVIDER, "secret": SECRET}, 201)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def token(live: LiveServer) -> str:
    return login(live, "alice")[0]


def not_a_server_error_but_busy(ctx: Any, response: Any, case: schemathesis.Case) -> bool | None:
    """REQUEST_TIMED_OUT (503) is a documented answer; any other 5xx is a failure."""
    if response.status_code == 503:
        return None
    return not_a_server_error(ctx, response, case)


def signed_kwargs(case: schemathesis.Case, live: LiveServer, token: str) -> dict[str, Any]:
    """The request schemathesis built, its body as the exact bytes that are signed and sent."""
    kwargs = case.as_transport_kwargs(base_url=live.base, headers={"X-Authentication": token})
    if "json" in kwargs:
        body = kwargs.pop("json")
        if isinstance(body, dict) and "userId" in body and "sessionToken" in body:
            body.update(userId="alice", sessionToken=token)  # a real user, so that slips reach the core
        raw = json.dumps(body).encode()
    else:
        data = kwargs.pop("data", b"")
        raw = data.encode() if isinstance(data, str) else data if isinstance(data, bytes) else b""
    stamp = str(time.time_ns() // 1_000_000)
    message = f"{stamp}.{case.method.upper()}.{case.path}.".encode() + raw
    kwargs["headers"].update({"X-Provider-Id": PROVIDER, "X-Timestamp": stamp,
                              "X-Signature": hmac.new(SECRET.encode(), message, hashlib.sha256).hexdigest()})
    kwargs["data"] = raw
    return dict(kwargs)


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_provider_api_conforms_to_its_document(case: schemathesis.Case, live: LiveServer, token: str) -> None:
    kwargs = signed_kwargs(case, live, token)
    response = requests.request(**kwargs, timeout=30)
    case.validate_response(response, checks=[not_a_server_error_but_busy, status_code_conformance,
                                             content_type_conformance, response_schema_conformance])
    assert live.server is not None
    live.call(live.server.engine.exchange.check_invariants)

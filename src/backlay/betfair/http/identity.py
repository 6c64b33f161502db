"""Betfair's identity endpoints on the API port (003:L5044-5375): interactive login, keepAlive and
logout (`identity_response`), and the answer of certlogin (003:L5377-5716, `certlogin_response`),
which the certificate-login host (betfair/certlogin.py) serves over TLS with client certificates and
the API port serves in dev mode only."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from backlay.identity.store import IdentityStore

MAX_FORM_FIELDS = 32
OPERATIONS = ("login", "keepAlive", "logout")


def identity_response(identity: IdentityStore, op: str, headers: dict[str, str], body: bytes,
                      now_ms: int) -> dict[str, Any]:
    """The JSON answer (HTTP 200) of /api/login, /api/keepAlive or /api/logout."""
    app_key = headers.get("x-application", "")
    if op == "login":
        form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        username = form.get("username", [""])[0]
        password = form.get("password", [""])[0]
        result = identity.login(username, password, app_key or None, now_ms)
        return {"token": result.token, "product": app_key, "status": result.status, "error": result.error}
    token = headers.get("x-authentication", "")
    if not token:
        return {"token": "", "product": app_key, "status": "FAIL", "error": "INPUT_VALIDATION_ERROR"}
    ok = identity.keep_alive(token, now_ms) if op == "keepAlive" else identity.logout(token, now_ms)
    return {"token": token, "product": app_key, "status": "SUCCESS" if ok else "FAIL",
            "error": "" if ok else "NO_SESSION"}


def certlogin_response(identity: IdentityStore, form_body: bytes, app_key: str, cert_der: bytes | None,
                       now_ms: int, require_cert: bool) -> dict[str, str]:
    """The JSON object certlogin answers (with HTTP 200) for one request: parse the URL-encoded form and
    run IdentityStore.cert_login. `cert_der` is the client certificate of the TLS handshake (None when
    there was none, or over plain HTTP); `require_cert=False` only in the explicit dev mode."""
    try:
        form = parse_qs(form_body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except (UnicodeDecodeError, ValueError):
        return {"loginStatus": "INPUT_VALIDATION_ERROR"}
    username = form.get("username", [""])[0]
    password = form.get("password", [""])[0]
    result = identity.cert_login(username, password, cert_der, app_key or None, now_ms, require_cert=require_cert)
    if result.login_status == "SUCCESS" and result.token:
        return {"sessionToken": result.token, "loginStatus": "SUCCESS"}
    return {"loginStatus": result.login_status}

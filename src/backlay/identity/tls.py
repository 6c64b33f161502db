"""TLS for the certificate-login host (identitysso-cert, 003:L5377-5716).

Real Betfair serves certlogin over HTTPS and authenticates the caller by a self-signed client certificate
the user created and uploaded to their account (003:L5391-5445). Here:

- `ensure_server_cert` makes, once, a self-signed server certificate for localhost / 127.0.0.1 / ::1
  (clients trust it by pointing their CA bundle at the .crt file, e.g. REQUESTS_CA_BUNDLE).
- `server_ssl_context` asks every client for a certificate (CERT_OPTIONAL) and trusts exactly the
  registered client certificates: each one is loaded into the verify store as its own trust anchor
  (self-signed certificates are their own issuers; VERIFY_X509_PARTIAL_CHAIN also lets a registered
  CA-issued leaf anchor itself).
- `add_client_cert` adds a newly registered certificate to a live context; the next handshake sees it.

Consequences, because Python's ssl module has no per-certificate verify callback:
- a connection WITHOUT a client certificate completes the handshake, and certlogin answers
  CERT_AUTH_REQUIRED (003:L5552-5555);
- a connection with a certificate that is NOT registered fails the TLS handshake itself (the client sees
  an SSL error, not a JSON answer); so does an expired one;
- a removed certificate still passes the handshake until the server restarts, but it is no longer bound to
  an account, so certlogin answers CERT_AUTH_REQUIRED. The handshake is only a first filter: the
  authorisation is the exact SHA-256 match of the presented leaf against the account's certificates
  (IdentityStore.cert_login).

Betfair asks for 1024- or 2048-bit RSA client certificates (003:L5393); OpenSSL 3 refuses 1024-bit RSA at
its default security level 2, so the context runs at level 1 (RSA >= 1024, still TLS 1.2+ with forward
secrecy).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import ssl
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SERVER_CERT_FILE = "certlogin-server.crt"
SERVER_KEY_FILE = "certlogin-server.key"
DEFAULT_HOSTS = ("localhost", "127.0.0.1", "::1")
SERVER_CERT_DAYS = 825
RENEW_BEFORE = dt.timedelta(days=30)


def _self_signed(key: Any, name: x509.Name, days: int,
                 extensions: list[tuple[x509.ExtensionType, bool]]) -> x509.Certificate:
    """A self-signed end-entity certificate (CA:FALSE) with `extensions` as (extension, critical)."""
    now = dt.datetime.now(dt.UTC)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    builder = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
    )
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(key, hashes.SHA256())


def ensure_server_cert(directory: str | Path, hosts: Iterable[str] = DEFAULT_HOSTS) -> tuple[Path, Path]:
    """(cert_path, key_path) of the certlogin server's self-signed certificate in `directory`, made on first
    use (and again when it is unreadable, within 30 days of expiry, or lacks one of `hosts`). EC P-256
    key, written 0600; the certificate names every host as a subjectAltName (DNS or IP)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / SERVER_CERT_FILE, directory / SERVER_KEY_FILE
    wanted = list(dict.fromkeys(hosts))
    if _usable_server_cert(cert_path, key_path, wanted):
        return cert_path, key_path
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "backlay certlogin (self-signed)")])
    sans: list[x509.GeneralName] = []
    for host in wanted:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            sans.append(x509.DNSName(host))
    cert = _self_signed(key, name, SERVER_CERT_DAYS, [
        (x509.SubjectAlternativeName(sans), False),
        (_key_usage(key_encipherment=False), True),
        (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False),
    ])
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    _write_atomic(key_path, key_pem, 0o600)
    _write_atomic(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return cert_path, key_path


def server_ssl_context(cert_path: str | Path, key_path: str | Path, client_cert_pems: Iterable[str]) -> ssl.SSLContext:
    """The certlogin listener's context: TLS 1.2+, our server certificate, a client certificate requested
    (CERT_OPTIONAL) and verified against exactly the registered client certificates."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers("DEFAULT:@SECLEVEL=1")  # 1024-bit RSA client certificates (003:L5393)
    ctx.load_cert_chain(str(cert_path), str(key_path))
    ctx.verify_mode = ssl.CERT_OPTIONAL
    ctx.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    for pem in client_cert_pems:
        add_client_cert(ctx, pem)
    return ctx


def plain_server_ssl_context(cert_path: str | Path, key_path: str | Path) -> ssl.SSLContext:
    """A listener's context that asks for no client certificate (the Stream API): TLS 1.2+."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(str(cert_path), str(key_path))
    return ctx


def add_client_cert(ctx: ssl.SSLContext, pem: str) -> None:
    """Trust one more registered client certificate on a live context (takes effect at the next handshake).
    Adding one already present is harmless."""
    ctx.load_verify_locations(cadata=pem)


def generate_client_cert(common_name: str, key_size: int = 2048, days: int = 365) -> tuple[str, str]:
    """(certificate PEM, private key PEM): a self-signed RSA client certificate as Betfair's guide makes
    with openssl (003:L5391-5430: RSA 1024/2048, keyUsage digitalSignature + keyEncipherment,
    extendedKeyUsage clientAuth, CA:FALSE). For tests and for `backlay` users without openssl at hand."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = _self_signed(key, name, days, [
        (_key_usage(key_encipherment=True), True),
        (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False),
    ])
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii"), key_pem.decode("ascii")


def _key_usage(key_encipherment: bool) -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=key_encipherment,
                         data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                         encipher_only=False, decipher_only=False)


def _usable_server_cert(cert_path: Path, key_path: Path, hosts: list[str]) -> bool:
    if not (cert_path.is_file() and key_path.is_file()):
        return False
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, TypeError, OSError, x509.ExtensionNotFound):
        return False
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if cert.public_key().public_bytes(*spki) != key.public_key().public_bytes(*spki):
        return False
    if cert.not_valid_after_utc - RENEW_BEFORE < dt.datetime.now(dt.UTC):
        return False
    names = {str(ip) for ip in sans.get_values_for_type(x509.IPAddress)} | set(sans.get_values_for_type(x509.DNSName))
    return all(_normal_host(h) in names for h in hosts)


def _normal_host(host: str) -> str:
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host


def _write_atomic(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode), "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.chmod(tmp, mode)
    os.replace(tmp, path)

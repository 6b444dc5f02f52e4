"""A private CA and one certificate for the local services' mutual TLS (``make run``).

``python -m services.runtime.tls_certs var/tls`` writes ``ca.pem``, ``internal.pem`` and
``internal-key.pem`` (the certificate every local service presents, as server and as client, for
``localhost``, ``127.0.0.1`` and ``::1``). It is idempotent: an existing set that is still valid
for a week is kept; otherwise a new CA and certificate replace it. The CA's private key is never
written: nothing else can be issued, so a stolen leaf key is the whole exposure, until the next
renewal. In Kubernetes the same three files come from a Secret (see deploy/k8s).
"""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

LEAF_DAYS: Final = 90
RENEW_BEFORE: Final = dt.timedelta(days=7)
LOCAL_NAMES: Final = ("localhost",)
LOCAL_ADDRESSES: Final = ("127.0.0.1", "::1")


@dataclass(frozen=True, slots=True)
class TlsFiles:
    ca: Path
    cert: Path
    key: Path

    @classmethod
    def under(cls, directory: Path) -> TlsFiles:
        return cls(directory / "ca.pem", directory / "internal.pem", directory / "internal-key.pem")


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "QRForge local"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _still_valid(files: TlsFiles, now: dt.datetime) -> bool:
    try:
        ca = x509.load_pem_x509_certificate(files.ca.read_bytes())
        leaf = x509.load_pem_x509_certificate(files.cert.read_bytes())
        serialization.load_pem_private_key(files.key.read_bytes(), password=None)
        leaf.verify_directly_issued_by(ca)
    except (OSError, ValueError, TypeError):
        return False
    return min(ca.not_valid_after_utc, leaf.not_valid_after_utc) - now > RENEW_BEFORE


def _write(path: Path, data: bytes, mode: int) -> None:
    # Created with its final mode: a private key is never readable by others, even briefly.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.chmod(path, mode)


def issue(files: TlsFiles, now: dt.datetime) -> None:
    """A new CA (its key discarded) and a leaf certificate for the local names."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("QRForge local internal CA")
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=LEAF_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    alt_names: list[x509.GeneralName] = [x509.DNSName(name) for name in LOCAL_NAMES]
    alt_names += [x509.IPAddress(ipaddress.ip_address(a)) for a in LOCAL_ADDRESSES]
    leaf_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("qrforge-internal"))
        .issuer_name(ca_name)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=LEAF_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    files.ca.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    _write(
        files.key,
        leaf_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        0o600,
    )
    _write(files.cert, leaf_cert.public_bytes(serialization.Encoding.PEM), 0o644)
    _write(files.ca, ca_cert.public_bytes(serialization.Encoding.PEM), 0o644)


def ensure_local_certificates(directory: Path, now: dt.datetime | None = None) -> TlsFiles:
    """The files under ``directory``, issued anew only when missing, broken or near expiry."""
    files = TlsFiles.under(directory)
    moment = now or dt.datetime.now(dt.UTC)
    if not _still_valid(files, moment):
        issue(files, moment)
    return files


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m services.runtime.tls_certs",
        description="Create (or keep) the local CA and the services' certificate for gRPC mTLS.",
    )
    parser.add_argument("directory", type=Path)
    ensure_local_certificates(parser.parse_args(argv).directory)


if __name__ == "__main__":
    main()

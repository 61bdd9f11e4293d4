"""A local Sigstore instance for the offline keyless tests, on 127.0.0.1 only.

It answers the two requests sigstore-python's signer makes, as the real services do:
 - Fulcio (POST /api/v2/signingCert): checks the OIDC token's signature (made by this
   stand-in's identity provider key) and the CSR's, then issues a code-signing certificate
   for the token's email with Fulcio's issuer extensions and an embedded SCT signed by a
   local CT log key, chained to a local root CA;
 - Rekor v1 (POST /api/v1/log/entries, kind dsse): checks the envelope's signature against
   the certificate, and answers an entry with a signed entry timestamp and an inclusion
   proof with a signed checkpoint. Each entry is the one leaf of its own tree: the proof is
   real (sigstore-python recomputes the root), the log just never grows.
`trust_config()` is the client trust config naming these services and keys, which is all a
client needs to sign and verify against it; nothing here is shared with the public instance.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import rfc8785
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ISSUER = "https://oidc.repro.test"
_ISSUER_V1 = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.1")
_ISSUER_V2 = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.8")
_SCT_LIST = x509.ObjectIdentifier("1.3.6.1.4.1.11129.2.4.2")
_START = "2020-01-01T00:00:00Z"


def _spki(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _der_octets(data: bytes) -> bytes:
    n = len(data)
    length = bytes([n]) if n < 0x80 else bytes([0x82]) + n.to_bytes(2, "big")
    return b"\x04" + length + data


def _der_utf8(text: str) -> bytes:
    data = text.encode()
    assert len(data) < 0x80
    return b"\x0c" + bytes([len(data)]) + data


class StandIn:
    def __init__(self) -> None:
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        self.ct_key = ec.generate_private_key(ec.SECP256R1())
        self.rekor_key = ec.generate_private_key(ec.SECP256R1())
        self.idp_key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.timezone.utc)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "repro stand-in fulcio")])
        ski = x509.SubjectKeyIdentifier.from_public_key(self.ca_key.public_key())
        self.ca = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                critical=True,
            )
            .add_extension(ski, critical=False)
            .sign(self.ca_key, hashes.SHA256())
        )
        self.log_id = hashlib.sha256(_spki(self.rekor_key)).digest()
        self.ct_id = hashlib.sha256(_spki(self.ct_key)).digest()
        self.entries = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        if self.thread.is_alive():
            self.server.shutdown()
            self.server.server_close()
            self.thread.join()

    # -- what a client is given --------------------------------------------------------

    def token(self, email: str, *, issuer: str = ISSUER, lifetime: int = 300) -> str:
        now = int(time.time())
        claims = {
            "iss": issuer,
            "aud": "sigstore",
            "sub": email,
            "email": email,
            "email_verified": True,
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
        }
        return jwt.encode(claims, self.idp_key, algorithm="ES256")

    def _key(self, key: ec.EllipticCurvePrivateKey) -> dict[str, Any]:
        return {
            "rawBytes": _b64(_spki(key)),
            "keyDetails": "PKIX_ECDSA_P256_SHA_256",
            "validFor": {"start": _START},
        }

    def trust_config(self, path: Path) -> Path:
        service = {"url": self.url, "majorApiVersion": 1, "validFor": {"start": _START}}
        service["operator"] = "repro-tests"
        root = {
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [
                {
                    "baseUrl": self.url,
                    "hashAlgorithm": "SHA2_256",
                    "publicKey": self._key(self.rekor_key),
                    "logId": {"keyId": _b64(self.log_id)},
                }
            ],
            "certificateAuthorities": [
                {
                    "subject": {"organization": "repro-tests", "commonName": "stand-in"},
                    "uri": self.url,
                    "certChain": {
                        "certificates": [
                            {"rawBytes": _b64(self.ca.public_bytes(serialization.Encoding.DER))}
                        ]
                    },
                    "validFor": {"start": _START},
                }
            ],
            "ctlogs": [
                {
                    "baseUrl": self.url,
                    "hashAlgorithm": "SHA2_256",
                    "publicKey": self._key(self.ct_key),
                    "logId": {"keyId": _b64(self.ct_id)},
                }
            ],
            "timestampAuthorities": [],
        }
        signing = {
            "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
            "caUrls": [service],
            "oidcUrls": [],
            "rekorTlogUrls": [service],
            "tsaUrls": [],
            "rekorTlogConfig": {"selector": "ANY"},
            "tsaConfig": {"selector": "ANY"},
        }
        config = {
            "mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
            "trustedRoot": root,
            "signingConfig": signing,
        }
        path.write_text(json.dumps(config, indent=2))
        return path

    # -- Fulcio ------------------------------------------------------------------------

    def issue(self, body: dict[str, Any], auth: str) -> dict[str, Any]:
        claims = jwt.decode(
            auth.removeprefix("Bearer "),
            self.idp_key.public_key(),
            algorithms=["ES256"],
            audience="sigstore",
        )
        csr = x509.load_pem_x509_csr(base64.b64decode(body["certificateSigningRequest"]))
        if not csr.is_signature_valid:
            raise ValueError("CSR signature invalid")
        now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([]))
            .issuer_name(self.ca.subject)
            .public_key(csr.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(seconds=30))
            .not_valid_after(now + dt.timedelta(minutes=10))
            .add_extension(
                x509.KeyUsage(True, False, False, False, False, False, False, False, False),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.ca_key.public_key()),
                critical=False,
            )
            .add_extension(
                x509.SubjectAlternativeName([x509.RFC822Name(claims["email"])]), critical=True
            )
            .add_extension(
                x509.UnrecognizedExtension(_ISSUER_V1, claims["iss"].encode()), critical=False
            )
            .add_extension(
                x509.UnrecognizedExtension(_ISSUER_V2, _der_utf8(claims["iss"])), critical=False
            )
        )
        # RFC 6962: the SCT signs the certificate as it is without the SCT extension.
        pre = builder.sign(self.ca_key, hashes.SHA256())
        sct = self._sct(pre.tbs_certificate_bytes, now)
        cert = builder.add_extension(
            x509.UnrecognizedExtension(_SCT_LIST, _der_octets(sct)), critical=False
        ).sign(self.ca_key, hashes.SHA256())
        assert cert.tbs_precertificate_bytes == pre.tbs_certificate_bytes
        pems = [c.public_bytes(serialization.Encoding.PEM).decode() for c in (cert, self.ca)]
        return {"signedCertificateEmbeddedSct": {"chain": {"certificates": pems}}}

    def _sct(self, tbs: bytes, when: dt.datetime) -> bytes:
        millis = int(when.timestamp() * 1000)
        issuer_key_hash = hashlib.sha256(_spki(self.ca_key)).digest()
        signed = struct.pack("!BBQH", 0, 0, millis, 1) + issuer_key_hash
        signed += len(tbs).to_bytes(3, "big") + tbs + struct.pack("!H", 0)
        sig = self.ct_key.sign(signed, ec.ECDSA(hashes.SHA256()))
        one = b"\x00" + self.ct_id + struct.pack("!QH", millis, 0)
        one += bytes([4, 3]) + struct.pack("!H", len(sig)) + sig  # sha256, ecdsa
        return struct.pack("!HH", len(one) + 2, len(one)) + one

    # -- Rekor v1 ----------------------------------------------------------------------

    def log(self, body: dict[str, Any]) -> dict[str, Any]:
        content = body["spec"]["proposedContent"]
        envelope = json.loads(content["envelope"])
        pem = base64.b64decode(content["verifiers"][0])
        cert = x509.load_pem_x509_certificate(pem)
        payload = base64.b64decode(envelope["payload"])
        kind = envelope["payloadType"].encode()
        pae = b"DSSEv1 %d %b %d %b" % (len(kind), kind, len(payload), payload)
        sigs = envelope["signatures"]
        key = cert.public_key()
        assert isinstance(key, ec.EllipticCurvePublicKey)
        key.verify(base64.b64decode(sigs[0]["sig"]), pae, ec.ECDSA(hashes.SHA256()))
        entry = {
            "apiVersion": "0.0.1",
            "kind": "dsse",
            "spec": {
                "envelopeHash": {
                    "algorithm": "sha256",
                    "value": hashlib.sha256(content["envelope"].encode()).hexdigest(),
                },
                "payloadHash": {
                    "algorithm": "sha256",
                    "value": hashlib.sha256(payload).hexdigest(),
                },
                "signatures": [
                    {"signature": s["sig"], "verifier": content["verifiers"][0]} for s in sigs
                ],
            },
        }
        canonical = rfc8785.dumps(entry)
        index, self.entries = self.entries, self.entries + 1
        integrated = int(time.time())
        b64body = _b64(canonical)
        set_payload = rfc8785.dumps(
            {
                "body": b64body,
                "integratedTime": integrated,
                "logID": self.log_id.hex(),
                "logIndex": index,
            }
        )
        root = hashlib.sha256(b"\x00" + canonical).digest()
        note = f"repro stand-in rekor\n1\n{_b64(root)}\n"
        note_sig = self.rekor_key.sign(note.encode(), ec.ECDSA(hashes.SHA256()))
        checkpoint = f"{note}\n\u2014 repro-stand-in {_b64(self.log_id[:4] + note_sig)}\n"
        return {
            hashlib.sha256(canonical).hexdigest(): {
                "body": b64body,
                "integratedTime": integrated,
                "logID": self.log_id.hex(),
                "logIndex": index,
                "verification": {
                    "signedEntryTimestamp": _b64(
                        self.rekor_key.sign(set_payload, ec.ECDSA(hashes.SHA256()))
                    ),
                    "inclusionProof": {
                        "logIndex": 0,
                        "rootHash": root.hex(),
                        "treeSize": 1,
                        "hashes": [],
                        "checkpoint": checkpoint,
                    },
                },
            }
        }


def _handler(standin: StandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            try:
                if self.path == "/api/v2/signingCert":
                    out = standin.issue(body, self.headers.get("Authorization", ""))
                elif self.path == "/api/v1/log/entries":
                    out = standin.log(body)
                else:
                    self.send_error(404)
                    return
            except Exception as exc:  # a client error, reported as the services do
                data = json.dumps({"code": 400, "message": str(exc)}).encode()
                self.send_response(400)
            else:
                data = json.dumps(out).encode()
                self.send_response(201 if "log" in self.path else 200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler

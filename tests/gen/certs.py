"""A throwaway certificate authority and the agency's signing certificate it issues (PKCS#12), for the
signing and publishing tests."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

AGENCY = "Ủy ban nhân dân huyện Kiến Xương"
PASSWORD = "mật-khẩu-thử"


@dataclass(frozen=True)
class Authority:
    """A throwaway root CA and the agency's certificate it issued, as a PKCS#12 file."""

    root: x509.Certificate
    p12: Path
    leaf: x509.Certificate

    def root_asn1(self):  # type: ignore[no-untyped-def]
        from asn1crypto import x509 as ax509

        return ax509.Certificate.load(self.root.public_bytes(serialization.Encoding.DER))


def _name(cn: str, org: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, "VN")]
    if org:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(attrs)


def make_ca(folder: Path, *, org: str | None = AGENCY, password: str | None = PASSWORD,
            not_after: dt.datetime | None = None) -> Authority:
    """A root CA (EC P-256) and a signing certificate for the agency, packed in ``folder/agency.p12``."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("digitize test root CA", "digitize tests")
    root = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (x509.CertificateBuilder().subject_name(_name("Văn thư " + (org or "cơ quan"), org))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(not_after or now + dt.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    enc = (serialization.BestAvailableEncryption(password.encode()) if password
           else serialization.NoEncryption())
    p12 = folder / "agency.p12"
    p12.write_bytes(pkcs12.serialize_key_and_certificates(b"agency", key, leaf, [root], enc))
    return Authority(root=root, p12=p12, leaf=leaf)


def validate(signed: bytes, ca: Authority):  # type: ignore[no-untyped-def]
    """The signature embedded in a signed PDF and its validation against the test CA (pyHanko)."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    reader = PdfFileReader(io.BytesIO(signed))
    assert len(reader.embedded_signatures) == 1
    embedded = reader.embedded_signatures[0]
    status = validate_pdf_signature(embedded, ValidationContext(trust_roots=[ca.root_asn1()]))
    return embedded, status

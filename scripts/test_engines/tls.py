"""Certificates for the test engine that also listens on TCP with `--tlsverify`, made with
the `openssl` CLI the way Docker's "Protect the Docker daemon socket" page makes them: a CA,
a server certificate for 127.0.0.1 and localhost, a client certificate; and a second CA with
its own client certificate, for "a certificate this engine does not trust".

    <dir>/ca.pem ca-key.pem server-cert.pem server-key.pem   (the engine's)
    <dir>/client/{ca,cert,key}.pem                           (DOCKER_CERT_PATH for it)
    <dir>/other/{ca,cert,key}.pem                            (another CA's, for the failures)
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from . import log

DAYS = "3650"


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=120)


def _ca(d: Path, name: str) -> None:
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca-key.pem",
             "-out", "ca.pem", "-days", DAYS, "-subj", f"/CN={name}", cwd=d)


def _signed(d: Path, ca_dir: Path, stem: str, cn: str, ext: str) -> None:
    """`<stem>-key.pem` and `<stem>-cert.pem` in `d`, signed by the CA in `ca_dir`."""
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{stem}-key.pem",
             "-out", f"{stem}.csr", "-subj", f"/CN={cn}", cwd=d)
    (d / f"{stem}.ext").write_text(ext)
    _openssl("x509", "-req", "-in", f"{stem}.csr", "-CA", str(ca_dir / "ca.pem"),
             "-CAkey", str(ca_dir / "ca-key.pem"), "-CAcreateserial", "-out",
             f"{stem}-cert.pem", "-days", DAYS, "-extfile", f"{stem}.ext", cwd=d)


def _client_dir(d: Path, ca_dir: Path) -> None:
    d.mkdir(parents=True, exist_ok=True)
    _signed(d, ca_dir, "client", "dhitui-test-client", "extendedKeyUsage=clientAuth\n")
    shutil.copy(ca_dir / "ca.pem", d / "ca.pem")
    (d / "client-cert.pem").rename(d / "cert.pem")
    (d / "client-key.pem").rename(d / "key.pem")


def ensure_certs(d: Path) -> Path:
    """Make the certificates once (kept with the engine's state); returns `d`."""
    if (d / "client" / "key.pem").is_file() and (d / "other" / "key.pem").is_file():
        return d
    log(f"making TLS certificates in {d}")
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    _ca(d, "dhitui-test-ca")
    _signed(d, d, "server", "localhost",
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    _client_dir(d / "client", d)
    other_ca = d / "other-ca"
    other_ca.mkdir()
    _ca(other_ca, "dhitui-test-other-ca")
    _client_dir(d / "other", other_ca)
    for key in d.rglob("*key.pem"):
        key.chmod(0o600)
    return d

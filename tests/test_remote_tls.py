"""A remote engine over TCP with TLS, for real: the Engine 28 test engine also listens on
127.0.0.1 with `--tlsverify` and certificates scripts/test-engines made (a CA, the server's,
a client's; and another CA's client certificate). Listing, a session (the hijacked attach
over TLS), a context holding the TLS material, and what dhitui and `doctor` say when TLS is
asked wrongly: without TLS, with a CA that did not sign the engine's certificate, with a
client certificate the engine does not trust."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from test_sessions_inside import engine_bytes

from conftest import (
    CLI_TIMEOUT,
    HARDENED_IMAGE,
    EngineUnderTest,
    cli_env,
    docker,
    docker_cli_path,
    run_dhitui,
    skip_or_fail,
)

pytestmark = pytest.mark.engine


@pytest.fixture
def tls(engine28: EngineUnderTest) -> tuple[str, Path]:
    """The TLS address of Engine 28 and the directory of its certificates."""
    host = os.environ.get("DHITUI_TEST_ENGINE_28_TLS")
    certs = os.environ.get("DHITUI_TEST_TLS_CERTS")
    if not host or not certs:
        skip_or_fail("DHITUI_TEST_ENGINE_28_TLS / DHITUI_TEST_TLS_CERTS are not set "
                     "(scripts/test-engines env)")
    assert host and certs
    return host, Path(certs)


def tls_env(certs: Path, which: str = "client", **extra: str) -> dict[str, str]:
    return cli_env({"DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(certs / which), **extra})


def test_ls_over_tls_agrees_with_the_engine(tls: tuple[str, Path], engine28: EngineUnderTest,
                                            containers: Callable[..., str]) -> None:
    host, certs = tls
    cid = containers(engine28, HARDENED_IMAGE)
    proc = run_dhitui("ls", "--json", "--all", "-H", host, env=tls_env(certs))
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert {r["id"] for r in rows} == set(
        docker(engine28, "ps", "-aq", "--no-trunc").stdout.split())
    assert next(r for r in rows if r["id"] == cid)["verdict"] == "hardened"
    code = run_dhitui("info", "--json", "-H", host, env=tls_env(certs))
    info = json.loads(code.stdout)
    assert (info["endpoint"], info["engine_version"][:3]) == (host, "28.")


def test_a_session_over_tls_reads_the_target(tls: tuple[str, Path], engine28: EngineUnderTest,
                                             containers: Callable[..., str]) -> None:
    """Over the Engine API (no docker CLI): create, the hijacked attach and the exit status,
    all through TLS; the session reads the container's own file."""
    host, certs = tls
    cid = containers(engine28, HARDENED_IMAGE)
    env = tls_env(certs, PATH="/usr/bin:/bin")  # no docker CLI: the API transport
    proc = run_dhitui("debug", "-H", host, cid, "--", "sh", "-c",
                      "cat /etc/passwd; read line; echo \"got $line\"; exit 7",
                      env=env, input="over tls\n")
    assert proc.returncode == 7, proc.stderr
    assert proc.stdout == engine_bytes(engine28, cid, "/etc/passwd").decode() + "got over tls\n"
    assert "Traceback" not in proc.stderr


def test_a_context_with_tls_material(tls: tuple[str, Path], engine28: EngineUnderTest,
                                     containers: Callable[..., str], tmp_path: Path) -> None:
    """`docker context create` with ca/cert/key: the context store holds the files, and
    dhitui reads them from there (no DOCKER_CERT_PATH)."""
    host, certs = tls
    env = cli_env({"DOCKER_CONFIG": str(tmp_path / "docker")})
    c = certs / "client"
    made = subprocess.run([docker_cli_path(), "context", "create", "secure", "--docker",
                           f"host={host},ca={c / 'ca.pem'},cert={c / 'cert.pem'},"
                           f"key={c / 'key.pem'}"], env=env, capture_output=True, text=True,
                          timeout=CLI_TIMEOUT)
    assert made.returncode == 0, made.stderr
    cid = containers(engine28, HARDENED_IMAGE)
    proc = run_dhitui("ls", "--json", "-c", "secure", env=env)
    assert proc.returncode == 0, proc.stderr
    assert cid in {r["id"] for r in json.loads(proc.stdout)}
    proc = run_dhitui("ls", "--json", "--engines", "all", env=env)
    assert cid in {r["id"] for r in json.loads(proc.stdout) if r["engine"] == "secure"}


@pytest.mark.parametrize("how", ["no TLS", "another CA", "an untrusted client"])
def test_tls_asked_wrongly_is_explained(tls: tuple[str, Path], how: str,
                                        tmp_path: Path) -> None:
    """Each wrong way says what is wrong in the CLI (exit 4) and in `doctor`, with a fix
    that names what to change; never a traceback."""
    host, certs = tls

    def mixed(ca_from: str, cert_from: str) -> dict[str, str]:
        """DOCKER_CERT_PATH with ca.pem from one set and cert.pem, key.pem from another."""
        d = tmp_path / "mixed"
        d.mkdir()
        for name, src in (("ca.pem", ca_from), ("cert.pem", cert_from),
                          ("key.pem", cert_from)):
            (d / name).write_bytes((certs / src / name).read_bytes())
        return cli_env({"DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(d)})

    if how == "no TLS":
        env, said = cli_env(), "speaks TLS"
    elif how == "another CA":  # the client's own certificate, the other CA's ca.pem
        env, said = mixed("other", "client"), "not signed by the CA in"
    else:  # the engine's CA, a client certificate another CA signed
        env, said = mixed("client", "other"), "refused the client certificate"
    proc = run_dhitui("ls", "-H", host, env=env)
    assert proc.returncode == 4, proc.stderr
    assert said in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    proc = run_dhitui("doctor", "--json", "-H", host, env=env)
    report = json.loads(proc.stdout)
    failing = [c for c in report["checks"] if c["status"] == "fail"]
    assert failing, report
    assert said in failing[0]["summary"] + failing[0]["detail"], failing[0]
    assert failing[0]["fix"], failing[0]
    assert "Traceback" not in proc.stderr

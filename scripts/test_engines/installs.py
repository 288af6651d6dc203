"""What the engines need installed: Debian 12 packages, and Engine 28 from Debian unstable's
packages, extracted into a cache directory."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

from . import CACHE, SID_PACKAGES, SID_ROOT, STABLE_PACKAGES, die, log, run

# --------------------------------------------------------------------------- installs


def ensure_stable_packages() -> None:
    ensure_packages(STABLE_PACKAGES)


def ensure_packages(wanted: dict[str, str]) -> None:
    """Install the Debian packages whose proving path is missing."""
    missing = sorted({pkg for path, pkg in wanted.items() if not Path(path).exists()})
    if not missing:
        return
    if os.geteuid() != 0:
        die(f"missing Debian packages {', '.join(missing)}; run as root to install them")
    log(f"installing Debian packages: {' '.join(missing)}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run(["apt-get", "update", "-qq"], env=env)
    run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing], env=env)


def debian_mirror() -> str:
    """The Debian archive URI apt is already configured with (not the security archive)."""
    override = os.environ.get("DHITUI_DEBIAN_MIRROR")
    if override:
        return override.rstrip("/")
    uris: list[str] = []
    sources_d = Path("/etc/apt/sources.list.d")
    for f in sorted(sources_d.glob("*.sources")) if sources_d.is_dir() else []:
        for m in re.finditer(r"^URIs:\s*(.+)$", f.read_text(), re.M):
            uris.extend(m.group(1).split())
    for f in [Path("/etc/apt/sources.list"), *sorted(sources_d.glob("*.list"))]:
        if f.is_file():
            for m in re.finditer(r"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)", f.read_text(), re.M):
                uris.append(m.group(1))
    for uri in uris:
        if uri.rstrip("/").endswith("/debian"):
            return uri.rstrip("/")
    die("no Debian mirror found in apt's sources; set DHITUI_DEBIAN_MIRROR")
    raise AssertionError


def ensure_sid_binaries() -> None:
    stamp = SID_ROOT / ".complete"
    if stamp.exists() and (SID_ROOT / "usr/sbin/dockerd").exists():
        return
    work = CACHE / "apt"
    for sub in ("lists/partial", "cache/archives/partial", "debs"):
        (work / sub).mkdir(parents=True, exist_ok=True)
    sources = work / "sources.list"
    sources.write_text(
        "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] "
        f"{debian_mirror()} sid main\n")
    opts = [
        "-o", f"Dir::Etc::sourcelist={sources}", "-o", "Dir::Etc::sourceparts=-",
        "-o", f"Dir::State::Lists={work / 'lists'}", "-o", f"Dir::Cache={work / 'cache'}",
        "-o", "APT::Sandbox::User=root",
    ]
    log("fetching Debian unstable's package lists (for Engine 28.x)")
    run(["apt-get", *opts, "update", "-qq"])
    debs = work / "debs"
    for old in debs.glob("*.deb"):
        old.unlink()
    run(["apt-get", *opts, "download", *SID_PACKAGES], timeout=900, cwd=debs)
    staging = Path(tempfile.mkdtemp(dir=CACHE, prefix="sid-root."))
    for deb in sorted(debs.glob("*.deb")):
        log(f"extracting {deb.name}")
        run(["dpkg-deb", "-x", str(deb), str(staging)])
    version = run([str(staging / "usr/sbin/dockerd"), "--version"]).stdout.decode().strip()
    m = re.search(r"version (\d+)\.", version)
    if not m or int(m.group(1)) < 28:
        die(f"Debian unstable's dockerd is not 28.x or newer: {version}")
    (staging / ".complete").write_text(version + "\n")
    if SID_ROOT.exists():
        shutil.rmtree(SID_ROOT)
    staging.rename(SID_ROOT)
    log(f"unstable engine ready: {version}")

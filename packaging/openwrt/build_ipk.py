"""Build dist/relais_<version>-<release>_all.ipk from the source tree, without the OpenWrt SDK.

An .ipk (opkg, OpenWrt 24.10 and earlier) is a gzipped tar of three members, as OpenWrt's own ipkg-build writes
it: ./debian-binary ("2.0"), ./control.tar.gz (control, conffiles, postinst, prerm) and ./data.tar.gz (the
files). relais is pure Python, so the package is Architecture "all".

Deterministic: entries sorted, owner root:root, every mtime SOURCE_DATE_EPOCH (else the last commit's time),
gzip headers without name or time. Two builds of one tree give the same bytes.

Usage: python3 packaging/openwrt/build_ipk.py [--out dist] [--wheels build/openwrt/wheels]
The two vendored wheels (vendor.txt) are taken from --wheels when there with the pinned hash, else downloaded
once with pip.
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import os
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
FILES = HERE / "relais" / "files"

PACKAGE = "relais"
RELEASE = 1
# From OpenWrt's packages feed (lang/python). python3-light lacks these stdlib parts relais imports:
# logging, sqlite3 (storage), ssl/_hashlib (MQTT TLS), email via http.client (HTTP probes), ctypes (netns,
# clock), xml (APN database). cbor2 and icmplib are not in the feed: vendored (vendor.txt).
DEPENDS = ("python3-light", "python3-logging", "python3-sqlite3", "python3-openssl", "python3-urllib",
           "python3-ctypes", "python3-xml", "python3-pyserial", "python3-paho-mqtt", "python3-pyroute2",
           "kmod-nf-conntrack-netlink")   # ctnetlink: flows follow a switch (board/routes/conntrack.py)
SOURCE_PACKAGES = ("agent", "modem", "board", "common")
CONFFILE = "/etc/relais/relais.toml"

# What OpenWrt's package.mk writes: enable and start the init script on a live system, nothing when the
# package goes into an image (IPKG_INSTROOT set) beyond enabling it.
POSTINST = """#!/bin/sh
[ "${IPKG_NO_SCRIPT}" = "1" ] && exit 0
[ -s ${IPKG_INSTROOT}/lib/functions.sh ] || exit 0
. ${IPKG_INSTROOT}/lib/functions.sh
default_postinst $0 "$@"
"""
PRERM = """#!/bin/sh
[ -s ${IPKG_INSTROOT}/lib/functions.sh ] || exit 0
. ${IPKG_INSTROOT}/lib/functions.sh
default_prerm $0 "$@"
"""


class BuildError(Exception):
    pass


def project_version() -> str:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]["version"]


def source_date_epoch() -> int:
    if os.environ.get("SOURCE_DATE_EPOCH", "").isdigit():
        return int(os.environ["SOURCE_DATE_EPOCH"])
    try:
        out = subprocess.run(["git", "-C", str(ROOT), "log", "-1", "--format=%ct"], capture_output=True,
                             text=True, check=True).stdout.strip()
        return int(out)
    except (OSError, subprocess.CalledProcessError, ValueError):
        return 0


def read_vendor_pins() -> list[tuple[str, str, str]]:
    """(name, version, sha256) per line of vendor.txt."""
    pins = []
    for n, line in enumerate((HERE / "vendor.txt").read_text().splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            spec, sha = line.split()
            name, version = spec.split("==")
        except ValueError:
            raise BuildError(f"vendor.txt line {n}: expected 'name==version sha256', got {line!r}") from None
        pins.append((name, version, sha))
    return pins


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def vendored_wheels(wheel_dir: Path) -> list[Path]:
    wheel_dir.mkdir(parents=True, exist_ok=True)
    wheels = []
    for name, version, sha in read_vendor_pins():
        path = wheel_dir / f"{name}-{version}-py3-none-any.whl"
        if not path.exists():
            subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary", ":all:",
                            "--platform", "any", "--implementation", "py", "--python-version", "3.11",
                            "-d", str(wheel_dir), f"{name}=={version}"], check=True)
        if not path.exists():
            raise BuildError(f"{name}=={version}: no pure-Python wheel {path.name} (pip fetched something else)")
        if _sha256(path) != sha:
            raise BuildError(f"{path}: sha256 {_sha256(path)} is not the one pinned in vendor.txt ({sha})")
        wheels.append(path)
    return wheels


def data_files(wheels: list[Path]) -> dict[str, tuple[bytes, int]]:
    """Archive path ("usr/bin/relais") -> (content, mode)."""
    files: dict[str, tuple[bytes, int]] = {}
    for package in SOURCE_PACKAGES:
        for path in sorted((ROOT / package).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix in (".py", ".toml", ".json"):
                files[f"usr/lib/relais/{path.relative_to(ROOT).as_posix()}"] = (path.read_bytes(), 0o644)
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as zf:
            for info in sorted(zf.infolist(), key=lambda i: i.filename):
                top = info.filename.split("/", 1)[0]
                if info.is_dir():
                    continue
                if top.endswith(".dist-info"):
                    # Keep the licence (cbor2 MIT, icmplib LGPL-3.0: the source is the pinned wheel itself).
                    if "LICENSE" in info.filename.upper().rsplit("/", 1)[-1]:
                        name = top.split("-", 1)[0]
                        files[f"usr/share/licenses/relais/vendor/{name}.LICENSE"] = (zf.read(info), 0o644)
                    continue
                if info.filename.endswith((".py", ".typed")):
                    files[f"usr/lib/relais/vendor/{info.filename}"] = (zf.read(info), 0o644)
    files["usr/bin/relais"] = ((FILES / "relais.launcher").read_bytes(), 0o755)
    files["etc/init.d/relais"] = ((FILES / "relais.init").read_bytes(), 0o755)
    # Holds the broker credentials' paths and maybe a SIM PIN: root only.
    files[CONFFILE.lstrip("/")] = ((ROOT / "packaging" / "relais.toml").read_bytes(), 0o600)
    return files


def _tar_gz(members: dict[str, tuple[bytes, int]], epoch: int) -> bytes:
    """A deterministic gzipped GNU tar with "./"-prefixed names and every parent directory listed."""
    dirs = set()
    for name in members:
        parts = name.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            dirs.add("/".join(parts[:i]))
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        entries = [(d, None) for d in dirs] + [(n, members[n]) for n in members]
        tar.addfile(_info("./", tarfile.DIRTYPE, 0o755, epoch))
        for name, member in sorted(entries, key=lambda e: e[0]):
            if member is None:
                tar.addfile(_info(f"./{name}/", tarfile.DIRTYPE, 0o755, epoch))
            else:
                data, mode = member
                info = _info(f"./{name}", tarfile.REGTYPE, mode, epoch)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return _gzip(raw.getvalue())


def _info(name: str, kind: bytes, mode: int, epoch: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.mtime = kind, mode, epoch
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def _gzip(data: bytes) -> bytes:
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=9) as gz:
        gz.write(data)
    return out.getvalue()


def control_text(version: str, installed_size: int) -> str:
    return (f"Package: {PACKAGE}\n"
            f"Version: {version}-{RELEASE}\n"
            f"Depends: {', '.join(DEPENDS)}\n"
            "Source: packaging/openwrt/relais\n"
            "License: MIT\n"
            "Section: net\n"
            "Maintainer: relais maintainers\n"
            "Architecture: all\n"
            f"Installed-Size: {installed_size}\n"
            "Description: Backup-WAN agent: drives an LTE/5G modem over AT commands, fails over in seconds,\n"
            " reports to a central MQTT broker. Configuration: /etc/relais/relais.toml.\n")


def build(out_dir: Path, wheel_dir: Path) -> Path:
    version = project_version()
    epoch = source_date_epoch()
    files = data_files(vendored_wheels(wheel_dir))
    installed_size = sum(len(data) for data, _ in files.values())
    control = {
        "control": (control_text(version, installed_size).encode(), 0o644),
        "conffiles": (f"{CONFFILE}\n".encode(), 0o644),
        "postinst": (POSTINST.encode(), 0o755),
        "prerm": (PRERM.encode(), 0o755),
    }
    outer = {
        "debian-binary": (b"2.0\n", 0o644),
        "data.tar.gz": (_tar_gz(files, epoch), 0o644),
        "control.tar.gz": (_tar_gz(control, epoch), 0o644),
    }
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        # ipkg-build's order: opkg reads debian-binary first.
        for name in ("debian-binary", "data.tar.gz", "control.tar.gz"):
            data, mode = outer[name]
            info = _info(f"./{name}", tarfile.REGTYPE, mode, epoch)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{PACKAGE}_{version}-{RELEASE}_all.ipk"
    target.write_bytes(_gzip(raw.getvalue()))
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist")
    parser.add_argument("--wheels", type=Path, default=ROOT / "build" / "openwrt" / "wheels")
    args = parser.parse_args(argv)
    try:
        target = build(args.out, args.wheels)
    except (BuildError, OSError, subprocess.CalledProcessError) as e:
        print(f"build_ipk: {e}", file=sys.stderr)
        return 1
    print(f"{target} ({target.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The OpenWrt package: the procd init script, the .ipk that `make openwrt` builds, the feed Makefiles."""
from __future__ import annotations

import importlib.util
import io
import os
import re
import shutil
import stat
import subprocess
import sys
import tarfile
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FEED = ROOT / "packaging" / "openwrt"
INIT = FEED / "relais" / "files" / "relais.init"
WHEELS = ROOT / "build" / "openwrt" / "wheels"   # the same cache as `make openwrt`: fetched once

_spec = importlib.util.spec_from_file_location("build_ipk", FEED / "build_ipk.py")
build_ipk = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build_ipk)


def _version() -> str:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]["version"]


# --- the init script ---------------------------------------------------------------------------------------------

def test_init_script_parses():
    subprocess.run(["sh", "-n", str(INIT)], check=True)


def test_init_script_passes_shellcheck():
    if shutil.which("shellcheck") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("shellcheck is missing: packaging/debian-deps.sh test installs it")
        pytest.skip("shellcheck not installed (packaging/debian-deps.sh test installs it)")
    result = subprocess.run(["shellcheck", "--shell=sh", str(INIT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_init_script_registers_a_respawned_agent_watching_its_config(tmp_path):
    """Source the script as /etc/rc.common does, with procd's helpers replaced by ones that print their call."""
    stubs = "".join(f'{f}() {{ echo "{f} $*"; }}\n' for f in
                    ("procd_open_instance", "procd_set_param", "procd_close_instance"))
    script = f'. "{INIT}"\n{stubs}echo "USE_PROCD=$USE_PROCD START=$START"\nstart_service\n'
    run_dir = tmp_path / "run" / "relais"     # not this machine's /var/run/relais: agents under test would use it
    out = [line.rstrip() for line in
           subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True,
                          env={**os.environ, "RELAIS_RUN_DIR": str(run_dir)}).stdout.splitlines()]
    assert run_dir.is_dir() and stat.S_IMODE(run_dir.stat().st_mode) == 0o750     # the console socket's home
    assert out == [
        "USE_PROCD=1 START=95",
        "procd_open_instance relais",
        "procd_set_param command /usr/bin/relais run --config /etc/relais/relais.toml",
        "procd_set_param respawn 3600 5 0",
        "procd_set_param file /etc/relais/relais.toml",
        "procd_set_param stdout 1",
        "procd_set_param stderr 1",
        "procd_close_instance",
    ]


# --- the .ipk ----------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def ipk(tmp_path_factory) -> Path:
    return build_ipk.build(tmp_path_factory.mktemp("dist"), WHEELS)


def _members(blob: bytes) -> dict[str, tuple[tarfile.TarInfo, bytes | None]]:
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
        return {m.name: (m, tar.extractfile(m).read() if m.isfile() else None) for m in tar.getmembers()}


@pytest.fixture(scope="module")
def parts(ipk) -> dict[str, dict]:
    outer = _members(ipk.read_bytes())
    return {"outer": outer, "control": _members(outer["./control.tar.gz"][1]),
            "data": _members(outer["./data.tar.gz"][1])}


def test_ipk_is_named_and_laid_out_as_opkg_expects(ipk, parts):
    assert ipk.name == f"relais_{_version()}-1_all.ipk"
    assert list(parts["outer"]) == ["./debian-binary", "./data.tar.gz", "./control.tar.gz"]
    assert parts["outer"]["./debian-binary"][1] == b"2.0\n"
    assert sorted(parts["control"]) == [".", "./conffiles", "./control", "./postinst", "./prerm"]


def test_control_fields(parts):
    text = parts["control"]["./control"][1].decode()
    fields = dict(re.findall(r"^([A-Za-z-]+): (.*)$", text, re.M))
    assert fields["Package"] == "relais"
    assert fields["Version"] == f"{_version()}-1"
    assert fields["Architecture"] == "all"
    assert fields["Depends"].split(", ") == list(build_ipk.DEPENDS)
    files = [data for _, data in parts["data"].values() if data is not None]
    assert int(fields["Installed-Size"]) == sum(len(d) for d in files)
    for name in ("postinst", "prerm"):
        info, script = parts["control"][f"./{name}"]
        assert info.mode == 0o755
        subprocess.run(["sh", "-n"], input=script, check=True)


def test_config_is_a_root_only_conffile(parts):
    assert parts["control"]["./conffiles"][1] == b"/etc/relais/relais.toml\n"
    info, data = parts["data"]["./etc/relais/relais.toml"]
    assert (info.mode, info.uid, info.gid) == (0o600, 0, 0)
    assert data == (ROOT / "packaging" / "relais.toml").read_bytes()


def test_init_script_and_command_are_executable(parts):
    for path in ("./etc/init.d/relais", "./usr/bin/relais"):
        info, _ = parts["data"][path]
        assert (info.mode, info.uid, info.gid) == (0o755, 0, 0), path
    assert parts["data"]["./etc/init.d/relais"][1] == INIT.read_bytes()


def test_every_module_of_the_agent_is_packaged_and_nothing_compiled(parts):
    expected = {f"./usr/lib/relais/{p.relative_to(ROOT).as_posix()}"
                for package in build_ipk.SOURCE_PACKAGES for p in (ROOT / package).rglob("*.py")
                if "__pycache__" not in p.parts}
    packaged = set(parts["data"])
    assert expected <= packaged
    assert not [n for n in packaged if n.endswith((".pyc", ".so"))]
    for lib in ("cbor2", "icmplib"):
        assert f"./usr/lib/relais/vendor/{lib}/__init__.py" in packaged
        assert f"./usr/share/licenses/relais/vendor/{lib}.LICENSE" in packaged


def test_build_is_deterministic(ipk, tmp_path):
    assert build_ipk.build(tmp_path, WHEELS).read_bytes() == ipk.read_bytes()


def test_packaged_relais_runs_from_the_package_alone(ipk, tmp_path):
    """-S: no site-packages, so the agent and the vendored libraries can come only from the unpacked package."""
    outer = _members(ipk.read_bytes())
    with tarfile.open(fileobj=io.BytesIO(outer["./data.tar.gz"][1]), mode="r:gz") as tar:
        tar.extractall(tmp_path, filter="data")
    result = subprocess.run([sys.executable, "-S", str(tmp_path / "usr/bin/relais"), "--help"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "Backup-WAN agent" in result.stdout
    vendor = tmp_path / "usr/lib/relais/vendor"
    probe = ("import sys; sys.path[:0] = [sys.argv[1]]; import cbor2, icmplib; "
             "assert cbor2.loads(cbor2.dumps({'rsrp': -97})) == {'rsrp': -97}; print(cbor2.__file__, icmplib.__file__)")
    out = subprocess.run([sys.executable, "-S", "-c", probe, str(vendor)], capture_output=True, text=True,
                         check=True, timeout=60).stdout.split()
    assert all(path.startswith(str(vendor)) for path in out)


@pytest.mark.slow
def test_packaged_relais_runs_the_demo_on_the_simulator(ipk, tmp_path):
    """The unpacked package's own launcher, agent and vendored cbor2/icmplib (first on its path); pyserial,
    paho-mqtt and pyroute2 from this interpreter, as OpenWrt's python3-* packages would give them."""
    outer = _members(ipk.read_bytes())
    with tarfile.open(fileobj=io.BytesIO(outer["./data.tar.gz"][1]), mode="r:gz") as tar:
        tar.extractall(tmp_path, filter="data")
    probe = ("import runpy, sys; sys.argv = [sys.argv[1], 'demo', '--fast']\n"
             "try:\n    runpy.run_path(sys.argv[0], run_name='__main__')\n"
             "finally:\n    import agent, cbor2; print('from', agent.__file__, cbor2.__file__)")
    proc = subprocess.run([sys.executable, "-c", probe, str(tmp_path / "usr/bin/relais")], cwd=tmp_path,
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "relais demo: all steps passed" in proc.stdout
    sources = proc.stdout.rsplit("from ", 1)[1].split()
    assert all(path.startswith(str(tmp_path / "usr/lib/relais")) for path in sources), sources


def test_a_wheel_that_does_not_match_its_pin_is_refused(tmp_path, capsys):
    name, version, _ = build_ipk.read_vendor_pins()[0]
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    (wheels / f"{name}-{version}-py3-none-any.whl").write_bytes(b"not the pinned wheel")
    assert build_ipk.main(["--out", str(tmp_path / "dist"), "--wheels", str(wheels)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not the one pinned in vendor.txt" in err
    assert not (tmp_path / "dist").exists()


# --- the feed Makefiles, read by GNU make with OpenWrt's includes stubbed ------------------------------------------

_STUBS = {
    "rules.mk": "INCLUDE_DIR:=$(TOPDIR)/include\n",
    "include/package.mk": "define BuildPackage\nBUILT += $(1)\nendef\n",
    "feeds/packages/lang/python/pypi.mk": "",
    "feeds/packages/lang/python/python3-package.mk": "define Py3Package\nPY3 += $(1)\nendef\n",
}


def _make_variables(package_dir: Path, names: list[str], tmp_path: Path) -> dict[str, str]:
    for rel, text in _STUBS.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    printer = tmp_path / "print.mk"
    # A define (its name has a "/") is printed as written, $(1) and all; a variable as make expands it.
    printer.write_text("print:\n\t@:\n" + "".join(
        f"$(info @@{n}@@)\n$(info {'$(value ' + n + ')' if '/' in n else '$(' + n + ')'})\n" for n in names))
    out = subprocess.run(["make", "--no-print-directory", "-C", str(package_dir), "-f", "Makefile",
                          "-f", str(printer), f"TOPDIR={tmp_path}", "print"],
                         capture_output=True, text=True, check=True).stdout
    chunks = re.split(r"^@@(.+?)@@$", out, flags=re.M)[1:]
    return {chunks[i]: chunks[i + 1].strip() for i in range(0, len(chunks), 2)}


def _depends(define: str) -> list[str]:
    match = re.search(r"DEPENDS:=((?:.*\\\n)*.*)", define)
    return match.group(1).replace("\\\n", " ").split()


@pytest.mark.skipif(shutil.which("make") is None, reason="GNU make is what reads these Makefiles")
def test_feed_makefile_of_relais(tmp_path):
    v = _make_variables(FEED / "relais", ["PKG_NAME", "PKG_VERSION", "PKG_RELEASE", "PKG_LICENSE", "RELAIS_SRC",
                                          "BUILT", "PY3", "Package/relais", "Package/relais/conffiles",
                                          "Py3Package/relais/install", "Build/Prepare"], tmp_path)
    assert (v["PKG_NAME"], v["PKG_VERSION"], v["PKG_RELEASE"], v["PKG_LICENSE"]) == ("relais", _version(), "1",
                                                                                       "MIT")
    assert Path(v["RELAIS_SRC"]) == ROOT
    assert v["BUILT"].split() == ["relais", "relais-src"] and v["PY3"] == "relais"
    assert v["Package/relais/conffiles"] == "/etc/relais/relais.toml"
    assert "./files/relais.init $(1)/etc/init.d/relais" in v["Py3Package/relais/install"]
    # The SDK route and `make openwrt` name the same dependencies; the SDK builds the two the .ipk vendors.
    depends = _depends(v["Package/relais"])
    assert depends == [f"+{d}" for d in build_ipk.DEPENDS] + ["+python3-cbor2", "+python3-icmplib"]


@pytest.mark.skipif(shutil.which("make") is None, reason="GNU make is what reads these Makefiles")
@pytest.mark.parametrize("lib", ["cbor2", "icmplib"])
def test_feed_makefile_of_a_vendored_library(lib, tmp_path):
    v = _make_variables(FEED / f"python-{lib}", ["PKG_NAME", "PKG_VERSION", "PYPI_NAME", "PKG_HASH", "PKG_LICENSE",
                                                  "BUILT", f"Package/python3-{lib}"], tmp_path)
    pins = {name: version for name, version, _ in build_ipk.read_vendor_pins()}
    assert (v["PKG_NAME"], v["PYPI_NAME"]) == (f"python-{lib}", lib)
    assert v["PKG_VERSION"] == pins[lib], "the feed and vendor.txt ship one version"
    assert re.fullmatch(r"[0-9a-f]{64}", v["PKG_HASH"]) and v["PKG_LICENSE"]
    assert v["BUILT"].split() == [f"python3-{lib}", f"python3-{lib}-src"]
    assert _depends(v[f"Package/python3-{lib}"]) == ["+python3-light"]

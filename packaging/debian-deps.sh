#!/usr/bin/env bash
# Make sure the Debian packages a make target needs are present.
# Usage: packaging/debian-deps.sh demo|test PYTHON
# As root: installs what is missing with apt-get. Otherwise: prints the exact apt command and fails.
# Each package is checked by what it provides (a command or a file), not by dpkg, so a machine that has the
# tool from elsewhere (a pyenv Python, a self-built mosquitto) is not asked to install it again.
set -euo pipefail
target=${1:?demo|test}
py=${2:-python3}
missing=()

need() { # need PACKAGE TEST-COMMAND...
    local pkg=$1; shift
    if ! "$@" >/dev/null 2>&1; then missing+=("$pkg"); fi
}

need python3-venv "$py" -c 'import venv, ensurepip'
need mobile-broadband-provider-info test -f /usr/share/mobile-broadband-provider-info/serviceproviders.xml
if [ "$target" = test ]; then
    need mosquitto test -x /usr/sbin/mosquitto
    need mosquitto-clients command -v mosquitto_sub
    need iproute2 command -v ip
    need nftables command -v nft
    need dbus command -v dbus-daemon
    need openssl command -v openssl
    need iperf3 command -v iperf3                            # speed measurement against an iperf3 server (tests/speedtest)
    need shellcheck command -v shellcheck                    # the OpenWrt init script (tests/test_package_openwrt.py)
    need kmod command -v modprobe                            # loads gpio-sim (tests/test_led_gpio_sim.py)
    need tzdata test -f /usr/share/zoneinfo/Europe/Paris     # [usage] timezone (billing day) tests
    need tmux command -v tmux                                # `relais watch` on a terminal (tests/console)
    need chromium command -v chromium                        # tests/report/test_chromium.py: the HTML report; tests/fleet/test_console_chromium.py
    need nut-server test -x /lib/nut/dummy-ups               # tests/power: upsd and the dummy-ups driver
    need nut-client command -v upsc                          # tests/power: the reference reading of the dummy UPS
    need postgresql sh -c 'ls /usr/lib/postgresql/*/bin/initdb' # tests/fleet: fleet serve into a real PostgreSQL
    # python-dbusmock needs dbus-python, which compiles against libdbus and glib.
    need pkg-config command -v pkg-config
    need libdbus-1-dev pkg-config --exists dbus-1
    need libglib2.0-dev pkg-config --exists glib-2.0
    need gcc command -v gcc
    # tests/test_package_deb.py: lintian on the .deb, and the unpacked package run by Debian's python3 with
    # the libraries it Depends on
    need lintian command -v lintian
    need shellcheck command -v shellcheck
    need python3-serial /usr/bin/python3 -c 'import serial'
    need python3-cbor2 /usr/bin/python3 -c 'import cbor2'
    need python3-dev "$py" -c 'import os, sysconfig; assert os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h"))'
fi

[ ${#missing[@]} -eq 0 ] && exit 0
# pkg-config is needed to check for the -dev packages; when it was missing they were reported too.
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
if [ "$(id -u)" = 0 ]; then
    echo "Installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "${missing[@]}"; }
else
    echo "Missing Debian packages for 'make $target'. Install them with:" >&2
    echo "    sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi

# relais — two commands on a fresh Debian / Raspberry Pi OS: `make demo`, `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TSTAMP := $(VENV)/.installed-test

.PHONY: setup setup-test demo test test-fast bench bench-at bench-routes clean bin-link

# .venv is rebuilt when pyproject.toml changes. `make setup` does only this.
$(STAMP): pyproject.toml
	@packaging/debian-deps.sh demo $(PYTHON)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
	$(BIN)/python -m pip install -q -e .
	@touch $@

# Test tools: python-dbusmock compiles dbus-python, so the Debian -dev packages come first.
$(TSTAMP): $(STAMP)
	@packaging/debian-deps.sh test $(PYTHON)
	$(BIN)/python -m pip install -q -e '.[test]'
	@touch $@

setup: $(STAMP) bin-link
setup-test: $(TSTAMP)

# `relais` on PATH, as the README's commands say it. As root: a link in /usr/local/bin, made where there is none or
# where one to another checkout's .venv is (never over a file of someone else's, e.g. a packaged relais);
# otherwise the exact line that puts it on PATH.
BIN_LINK ?= /usr/local/bin/relais
bin-link: $(STAMP)
	@if [ "$$(id -u)" = 0 ] && { ! [ -e $(BIN_LINK) -o -L $(BIN_LINK) ] || \
	     readlink $(BIN_LINK) | grep -q '/\.venv/bin/relais$$'; }; then \
	  ln -sfn $(CURDIR)/$(BIN)/relais $(BIN_LINK) && echo "relais: $(BIN_LINK) -> $(CURDIR)/$(BIN)/relais"; \
	else \
	  echo "relais: $(CURDIR)/$(BIN)/relais is not on PATH ($(BIN_LINK) is not ours, or not root); to use it:"; \
	  echo "  export PATH=\"$(CURDIR)/$(BIN):\$$PATH\""; \
	fi

demo: setup
	$(BIN)/relais demo

test: $(TSTAMP) bin-link
	@packaging/debian-deps.sh test $(PYTHON)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: $(TSTAMP)
	$(BIN)/python -m pytest -m 'not slow and not root and not mosquitto' $(PYTEST_ARGS)

bench-at: $(TSTAMP)
	$(BIN)/python -m tests.bench.bench_at

# root: network namespaces (see BENCHMARKS.md, "Route switching")
bench-routes: $(TSTAMP)
	$(BIN)/python -m tests.bench.bench_routes

# all of them, about 35 minutes; bench-failover, bench-lan, bench-ipv6 and bench-routes need root
bench: bench-at bench-decode bench-sim-switch bench-mqtt bench-routes bench-failover bench-lan bench-ipv6 bench-memory bench-report bench-fleet bench-fleet-console bench-cpu

# the agent's CPU seconds per hour and µs per probe result, 2 and 3 uplinks, virtual time; about 3 minutes
# (BENCHMARKS.md, "Agent CPU (make bench-cpu)"). BENCH_ARGS="--runs 1" for a quicker look.
.PHONY: bench-cpu
bench-cpu: $(TSTAMP)
	$(BIN)/python -m tests.bench.bench_cpu $(BENCH_ARGS)

# `relais report` over a year of 10,000 incidents, per format; about a minute (see BENCHMARKS.md, "Report")
.PHONY: bench-report
bench-report: $(TSTAMP)
	$(BIN)/python -m tests.bench.bench_report $(BENCH_ARGS)

.PHONY: bench-mqtt
bench-mqtt: $(TSTAMP)
	$(BIN)/python -m tests.bench.bench_mqtt

# `relais fleet serve` ingest rate with SQLite and PostgreSQL, and its memory, for 10,000 devices; about 2 minutes
# (BENCHMARKS.md, "Fleet ingest"). BENCH_ARGS="--devices 1000" for a quicker look.
.PHONY: bench-fleet
bench-fleet: $(TSTAMP)
	@packaging/debian-deps.sh test $(PYTHON)
	$(BIN)/python -m tests.bench.bench_fleet $(BENCH_ARGS)

# the web console's fleet table page for 10,000 devices, SQLite; under a minute (BENCHMARKS.md, "Fleet web console";
# goal < 300 ms). BENCH_ARGS="--devices 1000 --requests 10" for a quicker look, "--postgres" for PostgreSQL.
.PHONY: bench-fleet-console
bench-fleet-console: $(TSTAMP)
	$(BIN)/python -m tests.bench.bench_fleet_console $(BENCH_ARGS)

# modem.decode on real responses it never saw, both held-out sets (BENCHMARKS.md, "Decoding real responses" and
# "Speak more of every modem")
.PHONY: bench-decode
bench-decode: $(TSTAMP)
	$(BIN)/python -m tests.decode.heldout.score

# SIM switch time with the simulator at real modem speed; about a minute (see BENCHMARKS.md, "SIM switching")
.PHONY: bench-sim-switch
bench-sim-switch: $(TSTAMP)
	$(BIN)/python -m tests.bench.bench_sim_switch

# root: network namespaces and nftables; about 9 minutes (see BENCHMARKS.md, "Failover", "LAN flows across failover", "N uplinks")
.PHONY: bench-failover
bench-failover: $(TSTAMP)
	$(BIN)/python -m tests.bench.bench_failover $(BENCH_ARGS)

# root: failover with IPv6-only probes vs IPv4-only ones, about 2 minutes (see BENCHMARKS.md, "IPv6")
.PHONY: bench-ipv6
bench-ipv6: $(TSTAMP)
	$(BIN)/python -m tests.bench.bench_ipv6 $(BENCH_ARGS)

# root: a LAN phone's UDP flow across switches, with and without the conntrack flush, masquerade and snat; about
# 4 minutes (see BENCHMARKS.md, "LAN flows")
.PHONY: bench-lan
bench-lan: $(TSTAMP)
	$(BIN)/python -m tests.bench.bench_lan $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis

# every outside surface fed 100,000 generated inputs each (see BENCHMARKS.md, "Fuzzing"); a short run is in make test
.PHONY: fuzz
fuzz: $(TSTAMP)
	$(BIN)/python -m tests.fuzz.run --count $(or $(FUZZ_COUNT),100000)

# the fault catalogue alone, its table printed (see BENCHMARKS.md, "Fault catalogue"); make test runs it too
.PHONY: test-faults
test-faults: $(TSTAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/faults $(PYTEST_ARGS)

# a day of a site's life replayed at speed, MQTT up and down (see BENCHMARKS.md, "Soak"); about 5 minutes
.PHONY: soak
soak: $(TSTAMP)
	$(BIN)/python -m tests.soak.soak --hours $(or $(SOAK_HOURS),24)

# RSS of `relais run` on the simulator at start, 1 min and 10 min, first probe, growth over a replayed day, import
# costs; about 13 minutes (see BENCHMARKS.md, "Memory"). BENCH_ARGS="--minutes 1" for a quicker look.
.PHONY: bench-memory
bench-memory: $(TSTAMP)
	$(BIN)/python -m tests.bench.bench_memory $(BENCH_ARGS)

# OpenWrt package without the SDK: dist/relais_<version>-1_all.ipk (see packaging/README.md, "OpenWrt"). Needs
# the venv only for pip, which fetches the two vendored pure-Python wheels once into build/openwrt/wheels.
.PHONY: openwrt
openwrt: $(STAMP)
	$(BIN)/python packaging/openwrt/build_ipk.py

# dist/relais_<version>_all.deb for Debian 12/13 and Raspberry Pi OS, built with dpkg-deb (packaging/README.md);
# the vendored wheels are downloaded once into build/deb-wheels
.PHONY: package
package: $(STAMP)
	packaging/debian/build.sh dist

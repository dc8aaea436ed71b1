# relais — two commands on a fresh Debian / Raspberry Pi OS: `make demo`, `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TSTAMP := $(VENV)/.installed-test

.PHONY: setup setup-test demo test test-fast bench bench-at bench-routes clean

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

setup: $(STAMP)
setup-test: $(TSTAMP)

demo: $(STAMP)
	$(BIN)/relais demo

test: $(TSTAMP)
	@packaging/debian-deps.sh test $(PYTHON)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: $(TSTAMP)
	$(BIN)/python -m pytest -m 'not slow and not root and not mosquitto' $(PYTEST_ARGS)

bench-at: $(TSTAMP)
	$(BIN)/python -m tests.bench.bench_at

# root: network namespaces (see BENCHMARKS.md, "Route switching")
bench-routes: $(TSTAMP)
	$(BIN)/python -m tests.bench.bench_routes

# all of them, about 25 minutes; bench-failover and bench-routes need root
bench: bench-at bench-decode bench-sim-switch bench-mqtt bench-routes bench-failover bench-memory

.PHONY: bench-mqtt
bench-mqtt: $(TSTAMP)
	$(BIN)/python -m tests.bench.bench_mqtt

# modem.decode on real responses it never saw, both held-out sets (BENCHMARKS.md, "Decoding real responses" and
# "Speak more of every modem")
.PHONY: bench-decode
bench-decode: $(TSTAMP)
	$(BIN)/python -m tests.decode.heldout.score

# SIM switch time with the simulator at real modem speed; about a minute (see BENCHMARKS.md, "SIM switching")
.PHONY: bench-sim-switch
bench-sim-switch: $(TSTAMP)
	$(BIN)/python -m tests.bench.bench_sim_switch

# root: network namespaces and nftables; about 7 minutes (see BENCHMARKS.md, "Failover")
.PHONY: bench-failover
bench-failover: $(TSTAMP)
	$(BIN)/python -m tests.bench.bench_failover $(BENCH_ARGS)

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

# dist/relais_<version>_all.deb for Debian 12/13 and Raspberry Pi OS, built with dpkg-deb (packaging/README.md);
# the vendored wheels are downloaded once into build/deb-wheels
.PHONY: package
package: $(STAMP)
	packaging/debian/build.sh dist

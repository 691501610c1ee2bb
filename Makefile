# jpki — build, test and demo with the simulated My Number card.  `make` lists the targets.

SHELL := /bin/bash
.DEFAULT_GOAL := help
# deps must be installed before build starts, and sim-up only after build.
.NOTPARALLEL:

# CI shells may not have ~/.cargo/bin on PATH.
ifeq ($(shell command -v cargo 2>/dev/null),)
ifneq ($(wildcard $(HOME)/.cargo/bin/cargo),)
export PATH := $(HOME)/.cargo/bin:$(PATH)
endif
endif

CARGO ?= cargo
# Where sim-up keeps the simulator's state, stats, PKI, logs and PIDs; the tests read it.
export JPKI_SIM_DIR := $(CURDIR)/target/sim

.PHONY: help deps build sim-up sim-down test demo clean-sim install install-files bench fuzz stress deb

# `make install`: the provider where `openssl version -m` says (so `-provider jpki` needs no
# path), jpki-sign in $(PREFIX)/bin, the OpenSSL config fragment in /etc/jpki.
# DESTDIR stages the files elsewhere; PROFILE=dev installs the debug build.
PROFILE ?= release
PREFIX ?= /usr/local
MODULESDIR ?= $(shell openssl version -m 2>/dev/null | sed -E 's/^[^"]*"([^"]*)".*/\1/')
PROFILE_DIR = $(if $(filter dev,$(PROFILE)),debug,$(PROFILE))
# The PKCS#11 module goes where Debian's p11-kit and OpenSC modules live; its p11-kit module
# file (critical: no, so no card breaks nothing) where packaged modules are registered.
MULTIARCH ?= $(shell gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
PKCS11DIR ?= /usr/lib/$(MULTIARCH)/pkcs11
P11KIT_MODULES ?= /usr/share/p11-kit/modules

help:
	@echo 'jpki make targets:'
	@echo '  make deps       install missing Debian packages (pcscd, vsmartcard-vpcd, opensc, ...)'
	@echo '  make build      cargo build --workspace --all-targets'
	@echo '  make sim-up     build, then start pcscd (if not running) and the simulated card'
	@echo '                  (JPKI_SIM_ARGS="..." adds simulator options, JPKI_SIM_KEEP_STATE=1 keeps PINs/counters)'
	@echo '  make sim-down   stop what sim-up started'
	@echo '  make test       deps, build, fmt/clippy/dependency-graph/cargo-deny checks, unit tests,'
	@echo '                  then end-to-end tests against the simulator'
	@echo '  make demo       deps, build, then jpki-sign against the simulated card'
	@echo '  make stress     deps, build, then the long fault runs (card pulled at every APDU of a signature)'
	@echo '  make clean-sim  sim-down, then remove target/sim'
	@echo '  make bench      release build, then APDUs per operation, provider overhead, large PDFs; writes benches/RESULTS.md'
	@echo '  make fuzz       the hostile-input property tests with 20000 cases each (make test runs 128-256)'
	@echo '  make install    build (release) and install jpki.so into OpenSSL'"'"'s MODULESDIR, jpki-sign, /etc/jpki/jpki.cnf'
	@echo '                  and libjpki-pkcs11.so into PKCS11DIR with a p11-kit module file'
	@echo '                  (without the simulator: jpki-card'"'"'s `virtual` feature is for tests only)'
	@echo '                  (DESTDIR=... to stage, PREFIX=/usr/local, PROFILE=dev for the debug build)'
	@echo '  make deb        Debian packages jpki-sign, openssl-provider-jpki (+ jpki-pkcs11 once built) in target/deb'
	@echo '                  (PROFILE=dev packages the debug build)'

deps:
	scripts/deps.sh

build:
	$(CARGO) build --workspace --all-targets

sim-up: build
	scripts/sim-up.sh

sim-down:
	scripts/sim-down.sh

test: deps build
	scripts/test.sh

demo: deps build
	scripts/with-sim.sh scripts/demo.sh

# Measured on the release build (the simulator, which only answers, stays the debug one).
bench: deps
	$(CARGO) build -p jpki-card-sim --bin jpki-card-sim
	$(CARGO) build --release -p jpki-bench -p jpki-sign -p jpki-provider -p jpki-pkcs11
	scripts/with-sim.sh target/release/jpki-bench benches/RESULTS.md

fuzz: build
	PROPTEST_CASES=$${PROPTEST_CASES:-20000} $(CARGO) test -p jpki-apdu -p jpki-uri -p jpki-card --test hostile
	PROPTEST_CASES=$${PROPTEST_CASES:-20000} $(CARGO) test -p jpki-pdf -p jpki-cms never_panic

stress: deps build
	scripts/with-sim.sh cargo test -p jpki-tests --test faults -- --ignored --test-threads=1

clean-sim: sim-down
	rm -rf target/sim

install:
	$(CARGO) build --profile $(PROFILE) -p jpki-provider -p jpki-sign -p jpki-pkcs11
	$(MAKE) install-files

install-files:
	@test -n "$(MODULESDIR)" || { echo "make install: cannot find OpenSSL's MODULESDIR (openssl version -m)" >&2; exit 1; }
	install -D -m 0644 target/$(PROFILE_DIR)/libjpki.so $(DESTDIR)$(MODULESDIR)/jpki.so
	install -D -m 0755 target/$(PROFILE_DIR)/jpki-sign $(DESTDIR)$(PREFIX)/bin/jpki-sign
	install -D -m 0644 conf/jpki.cnf $(DESTDIR)/etc/jpki/jpki.cnf
	install -D -m 0644 conf/jpki-tls12.cnf $(DESTDIR)/etc/jpki/jpki-tls12.cnf
	@# The PKCS#11 module: cargo names it libjpki_pkcs11.so (no hyphen in a cdylib name).
	install -D -m 0644 target/$(PROFILE_DIR)/libjpki_pkcs11.so $(DESTDIR)$(PKCS11DIR)/libjpki-pkcs11.so
	install -d $(DESTDIR)$(P11KIT_MODULES)
	printf 'module: %s\ncritical: no\n' $(PKCS11DIR)/libjpki-pkcs11.so > $(DESTDIR)$(P11KIT_MODULES)/jpki.module

# Debian packages with dpkg-deb (scripts/deb.sh); tests/tests/deb.rs installs and removes them.
deb: deps
	PROFILE=$(PROFILE) CARGO=$(CARGO) scripts/deb.sh

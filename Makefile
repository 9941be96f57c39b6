# The project's entry points. `make demo` sets everything up and runs the main job;
# `make test` runs every test. Both install what they need (make deps) first.

CARGO   ?= cargo
PREFIX  ?= /usr/local
BUILD   := build
RELEASE := target/release
BINS    := myrunc myinit myproxy mycontainerd mycontainerd-shim myctr myengined mycli
# Where `make up` keeps the daemons' pid and log files.
RUNDIR  := /run/my
LOGDIR  := /var/log/my
CONTAINERD_SOCK ?= /run/containerd/containerd.sock
# myengined's socket: docker's default path, so mycli and the docker CLI find it without -H.
# myengined refuses to start if a live daemon (a real dockerd) already answers there.
ENGINE_SOCK ?= /var/run/docker.sock

# Debian packages the build, the tests, the benchmarks and the demo need.
DEBS := build-essential pkg-config protobuf-compiler libseccomp-dev \
        busybox-static runc crun containerd docker.io tini iptables nftables iproute2 curl \
        docker-registry skopeo hyperfine file util-linux bsdutils coreutils procps psmisc \
        python3 git

.PHONY: all build deps test lint bench install demo rootfs bundle image clean up down

all: build

## deps: install the Debian packages (idempotent: apt only runs when one is missing)
deps:
	@missing=""; for p in $(DEBS); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

## build: release binaries in target/release (myrunc, myinit and myproxy statically linked)
build:
	$(CARGO) build --release --workspace --bins --exclude myinit --exclude myproxy --exclude myrunc \
	    --exclude mycontainerd-shim
	# myinit is bind-mounted into images without a libc; myproxy and the shim (one per
	# container) stay under their memory budgets without glibc's mapped pages; myrunc
	# starts faster without the dynamic loader (it execs itself twice per container).
	$(CARGO) rustc --release -p myinit --bin myinit -- -C target-feature=+crt-static
	$(CARGO) rustc --release -p myproxy --bin myproxy -- -C target-feature=+crt-static
	$(CARGO) rustc --release -p mycontainerd-shim --bin mycontainerd-shim -- -C target-feature=+crt-static
	LIBSECCOMP_LINK_TYPE=static LIBSECCOMP_LIB_PATH=/usr/lib/$$(gcc -print-multiarch) \
	    $(CARGO) rustc --release -p myrunc --bin myrunc -- -C target-feature=+crt-static

## rootfs, bundle: a busybox root filesystem and an OCI bundle around it
rootfs: $(BUILD)/busybox-bundle/rootfs/bin/busybox
$(BUILD)/busybox-bundle/rootfs/bin/busybox: scripts/busybox-rootfs.sh
	scripts/busybox-rootfs.sh $(BUILD)/busybox-bundle/rootfs

## image: the busybox image (docker.io/library/busybox:latest, one layer) as an OCI tarball
image: $(BUILD)/busybox-oci.tar
$(BUILD)/busybox-oci.tar: scripts/busybox-image.sh scripts/busybox-rootfs.sh
	@mkdir -p $(BUILD)
	scripts/busybox-image.sh $@.tmp && mv $@.tmp $@

bundle: rootfs build
	rm -f $(BUILD)/busybox-bundle/config.json
	$(RELEASE)/myrunc spec --bundle $(BUILD)/busybox-bundle

# mycli's tests: against Debian's dockerd first, then against myengined.
CLI_TESTS := --test cli_containers --test cli_images --test cli_tty

## test: every test (unit, component, integration); needs root. Tests marked #[ignore]
## check the static release binaries, which `make build` has just made.
test: deps build rootfs
	@# The integration tests drive the debug binaries of every package, which
	@# nextest only builds for the package that owns them.
	$(CARGO) build --workspace --bins
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
	    $(CARGO) nextest run --workspace --no-fail-fast --run-ignored all && \
	    echo "myctr's suite again, against mycontainerd:" && \
	    MYCTR_TEST_DAEMON=mycontainerd $(CARGO) nextest run -p myctr --no-fail-fast && \
	    echo "mycli's suite again, against myengined:" && \
	    MYCLI_TEST_ENGINE=myengined $(CARGO) nextest run -p integration-tests --no-fail-fast $(CLI_TESTS); \
	else \
	    $(CARGO) test --workspace --no-fail-fast -- --include-ignored && \
	    MYCTR_TEST_DAEMON=mycontainerd $(CARGO) test -p myctr --no-fail-fast && \
	    MYCLI_TEST_ENGINE=myengined $(CARGO) test -p integration-tests --no-fail-fast $(CLI_TESTS); \
	fi

## lint: formatting and clippy, warnings are errors
lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

## bench: side-by-side benchmarks against the real tools (results: docs/benchmarks.md)
bench: deps build
	bench/runtime.sh
	bench/proxy.sh
	bench/containerd.sh
	bench/images.sh
	bench/engine.sh
	bench/engine-many.sh
	bench/network.sh

## install: the binaries into $(PREFIX)/bin
install: build
	install -d $(DESTDIR)$(PREFIX)/bin
	for b in $(BINS); do install -m 0755 $(RELEASE)/$$b $(DESTDIR)$(PREFIX)/bin/$$b; done

## demo: start the daemons with the busybox image (make up) and run an interactive shell
## in it: `mycli run -it --init busybox sh` (leave it with `exit`)
demo: deps up
	@if [ -t 0 ]; then it=-it; else it=-i; fi; \
	echo "mycli run --rm $$it --init busybox sh   (myengined at $(ENGINE_SOCK))"; \
	$(RELEASE)/mycli -H unix://$(ENGINE_SOCK) run --rm $$it --init busybox sh

## up, down: start and stop mycontainerd and myengined in the background (pid files and
## logs under $(RUNDIR) and $(LOGDIR)); containers keep running across `down` and `up`.
## `up` also imports the busybox image (offline) as docker.io/library/busybox:latest.
DAEMONS_ENV = RELEASE=$(RELEASE) RUNDIR=$(RUNDIR) LOGDIR=$(LOGDIR) CONTAINERD_SOCK=$(CONTAINERD_SOCK) \
              ENGINE_SOCK=$(ENGINE_SOCK) IMAGE=$(BUILD)/busybox-oci.tar
up: build image
	@$(DAEMONS_ENV) scripts/daemons.sh up

down:
	@$(DAEMONS_ENV) scripts/daemons.sh down

clean:
	rm -rf $(BUILD)
	$(CARGO) clean

# The project's entry points. `make demo` sets everything up and runs the main job;
# `make test` runs every test. Both install what they need (make deps) first.

CARGO   ?= cargo
PREFIX  ?= /usr/local
BUILD   := build
RELEASE := target/release
BINS    := myrunc myinit myproxy mycontainerd mycontainerd-shim myctr
# Where `make up` keeps the daemons' pid and log files.
RUNDIR  := /run/my
LOGDIR  := /var/log/my
CONTAINERD_SOCK ?= /run/containerd/containerd.sock

# Debian packages the build, the tests, the benchmarks and the demo need.
DEBS := build-essential pkg-config protobuf-compiler libseccomp-dev \
        busybox-static runc crun containerd docker.io tini iptables iproute2 \
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

## test: every test (unit, component, integration); needs root. Tests marked #[ignore]
## check the static release binaries, which `make build` has just made.
test: deps build rootfs
	@# The integration tests drive the debug binaries of every package, which
	@# nextest only builds for the package that owns them.
	$(CARGO) build --workspace --bins
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
	    $(CARGO) nextest run --workspace --no-fail-fast --run-ignored all && \
	    echo "myctr's suite again, against mycontainerd:" && \
	    MYCTR_TEST_DAEMON=mycontainerd $(CARGO) nextest run -p myctr --no-fail-fast; \
	else \
	    $(CARGO) test --workspace --no-fail-fast -- --include-ignored && \
	    MYCTR_TEST_DAEMON=mycontainerd $(CARGO) test -p myctr --no-fail-fast; \
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

## install: the binaries into $(PREFIX)/bin
install: build
	install -d $(DESTDIR)$(PREFIX)/bin
	for b in $(BINS); do install -m 0755 $(RELEASE)/$$b $(DESTDIR)$(PREFIX)/bin/$$b; done

## demo: start mycontainerd with the busybox image (make up) and run sh in it with myctr
## (interactive when there is a terminal; leave it with `exit`)
demo: deps up
	@if [ -t 0 ]; then tty=-t; else tty=; fi; \
	echo "myctr run --rm $$tty docker.io/library/busybox:latest demo sh   (mycontainerd at $(CONTAINERD_SOCK))"; \
	$(RELEASE)/myctr --address $(CONTAINERD_SOCK) run --rm $$tty docker.io/library/busybox:latest demo-$$$$ sh

## up, down: start and stop mycontainerd in the background (pid file and log under
## $(RUNDIR) and $(LOGDIR)); containers keep running across `down` and `up`. `up` also
## imports the busybox image (offline) as docker.io/library/busybox:latest.
up: build image
	@mkdir -p $(RUNDIR) $(LOGDIR)
	@if [ -f $(RUNDIR)/mycontainerd.pid ] && kill -0 $$(cat $(RUNDIR)/mycontainerd.pid) 2>/dev/null; then \
	    echo "mycontainerd is already running (pid $$(cat $(RUNDIR)/mycontainerd.pid))"; \
	else \
	    PATH=$(CURDIR)/$(RELEASE):$$PATH setsid $(RELEASE)/mycontainerd --address $(CONTAINERD_SOCK) \
	        >>$(LOGDIR)/mycontainerd.log 2>&1 </dev/null & echo $$! > $(RUNDIR)/mycontainerd.pid; \
	    for i in $$(seq 50); do [ -S $(CONTAINERD_SOCK) ] && break; \
	        kill -0 $$(cat $(RUNDIR)/mycontainerd.pid) 2>/dev/null || { tail -3 $(LOGDIR)/mycontainerd.log; rm -f $(RUNDIR)/mycontainerd.pid; exit 1; }; \
	        sleep 0.1; done; \
	    echo "mycontainerd running (pid $$(cat $(RUNDIR)/mycontainerd.pid), socket $(CONTAINERD_SOCK), log $(LOGDIR)/mycontainerd.log)"; \
	fi
	@$(RELEASE)/myctr --address $(CONTAINERD_SOCK) images import $(BUILD)/busybox-oci.tar >/dev/null && \
	    echo "imported docker.io/library/busybox:latest"

down:
	@if [ -f $(RUNDIR)/mycontainerd.pid ]; then \
	    pid=$$(cat $(RUNDIR)/mycontainerd.pid); kill $$pid 2>/dev/null; \
	    for i in $$(seq 50); do kill -0 $$pid 2>/dev/null || break; sleep 0.1; done; \
	    rm -f $(RUNDIR)/mycontainerd.pid; echo "mycontainerd stopped (containers keep running)"; \
	else echo "mycontainerd is not running"; fi

clean:
	rm -rf $(BUILD)
	$(CARGO) clean

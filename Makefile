# Thin front for meson. Every target that needs packages installs them first
# (scripts/deps.sh is a no-op when they are present).
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
# make fuzz: how long each target runs (the test suite gives each 10 s).
FUZZ_SECONDS ?= 60
MESON_FLAGS ?=
DEB_DIR ?= build-deb

.PHONY: all deps deb deb-deps test test-deps with-tests unit e2e asan demo fresh-demo bench fuzz fuzz-build install clean format

all: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

deps:
	@scripts/deps.sh build

test-deps:
	@scripts/deps.sh test

deb-deps:
	@scripts/deps.sh deb

# The three .debs (vigil-agent, libpam-vigil, libnss-vigil) in $(DEB_DIR)/,
# then lintian, which fails the target on any error. dpkg-buildpackage writes
# its results next to the source tree, so the tree (tracked files plus new
# ones not ignored, as they are now in the work tree) is copied into
# $(DEB_DIR)/src first. Rebuilt only when a source file is newer than the
# last build. nocheck: the tests need root namespaces (see debian/rules).
DEB_SOURCES := $(wildcard $(shell git ls-files -co --exclude-standard 2>/dev/null))
DEB_VERSION = $(shell dpkg-parsechangelog -l debian/changelog -S Version)

deb: deb-deps $(DEB_DIR)/.built

$(DEB_DIR)/.built: $(DEB_SOURCES)
	rm -rf $(DEB_DIR)
	mkdir -p $(DEB_DIR)/src/vigil
	git ls-files -co --exclude-standard -z | tar --null --ignore-failed-read -T - -cf - | tar -xf - -C $(DEB_DIR)/src/vigil
	cd $(DEB_DIR)/src/vigil && DEB_BUILD_OPTIONS="nocheck parallel=2" dpkg-buildpackage -b -us -uc
	mv $(DEB_DIR)/src/*.deb $(DEB_DIR)/src/*.changes $(DEB_DIR)/src/*.buildinfo $(DEB_DIR)/
	lintian --fail-on error $(DEB_DIR)/vigil_$(DEB_VERSION)_*.changes
	touch $@

$(BUILD)/build.ninja:
	meson setup $(BUILD) $(MESON_FLAGS)

$(ASAN_BUILD)/build.ninja:
	# -Og: instrumented builds are slow to compile; GCC 12 reports false
	# maybe-uninitialized warnings in instrumented libstdc++ code.
	meson setup $(ASAN_BUILD) -Db_sanitize=address,undefined -Db_lundef=false -Doptimization=g \
	  -Dcpp_args=-Wno-maybe-uninitialized $(MESON_FLAGS)

# The libFuzzer targets (tests/fuzz), built with clang, ASan and UBSan; only
# they are built in this tree, not vigild or the modules.
FUZZ_TARGETS := $(patsubst tests/fuzz/src/fuzz_%.cc,tests/fuzz/fuzz_%,$(wildcard tests/fuzz/src/fuzz_*.cc))

$(FUZZ_BUILD)/build.ninja:
	CXX=clang++ meson setup $(FUZZ_BUILD) -Dfuzz=true -Dtests=disabled -Db_sanitize=address,undefined \
	  -Db_lundef=false $(MESON_FLAGS)

fuzz-build: test-deps $(FUZZ_BUILD)/build.ninja
	ninja -C $(FUZZ_BUILD) $(FUZZ_TARGETS)

# Every target for FUZZ_SECONDS from its checked-in corpus; prints each
# target's executions and ends with "N passed, N failed".
fuzz: test-deps $(FUZZ_BUILD)/build.ninja
	meson configure $(FUZZ_BUILD) -Dfuzz_seconds=$(FUZZ_SECONDS)
	ninja -C $(FUZZ_BUILD) $(FUZZ_TARGETS)
	scripts/run-tests.py $(FUZZ_BUILD) --show-cases

# What make test holds every tree to, and a user's build does not: warnings
# are errors (a packager's compiler may warn where ours does not), and the
# tests must be built (Catch2 installed).
TEST_OPTIONS := -Dwerror=true -Dtests=enabled

# The whole suite: units, then end-to-end runs with real sshd and sudo, then
# the same under ASan+UBSan; the plain tree's suite "deb" builds the packages
# (make deb) and installs them into an overlay root; last, each fuzz target
# replays its corpus and fuzzes for 10 s. Ends with one "N passed, N failed"
# line.
test: test-deps $(BUILD)/build.ninja $(ASAN_BUILD)/build.ninja $(FUZZ_BUILD)/build.ninja
	meson configure $(BUILD) $(TEST_OPTIONS)
	meson configure $(ASAN_BUILD) $(TEST_OPTIONS)
	meson configure $(FUZZ_BUILD) -Dwerror=true
	ninja -C $(BUILD)
	ninja -C $(ASAN_BUILD)
	meson configure $(FUZZ_BUILD) -Dfuzz_seconds=10
	ninja -C $(FUZZ_BUILD) $(FUZZ_TARGETS)
	scripts/run-tests.py $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)

# The test tools and units, in a tree that may have been set up before
# Catch2 was installed (tests=auto then left them out).
with-tests: test-deps $(BUILD)/build.ninja
	meson configure $(BUILD) -Dtests=enabled

unit: with-tests all
	meson test -C $(BUILD) --suite unit --print-errorlogs

e2e: with-tests all
	meson test -C $(BUILD) --suite e2e --print-errorlogs

# The test packages first: the demo drives real sshd and sudo, and with
# Catch2 there the build compiles the tests' tools too.
demo: test-deps all
	scripts/demo.sh $(BUILD)

# The first command on a fresh Debian 12 server: a bare bookworm root booted
# with systemd-nspawn gets make and git as the README says, clones this tree
# and runs make demo (tests/host/fresh_demo.sh; TAP output). Fetches from
# the mirror; 7 to 10 minutes.
fresh-demo: test-deps
	SRCDIR=$(CURDIR) HOST_CACHE=$(CURDIR)/$(BUILD)/tests/host/cache bash tests/host/fresh_demo.sh

bench: with-tests all
	bench/run.sh $(BUILD)

install: all
	meson install -C $(BUILD)

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) $(DEB_DIR)

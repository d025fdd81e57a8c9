# Thin front for meson. Every target that needs packages installs them first
# (scripts/deps.sh is a no-op when they are present).
BUILD ?= build
ASAN_BUILD ?= build-asan
MESON_FLAGS ?=
DEB_DIR ?= build-deb

.PHONY: all deps deb deb-deps test test-deps unit e2e asan demo bench install clean format

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

# The whole suite: units, then end-to-end runs with real sshd and sudo, then
# the same under ASan+UBSan; the plain tree's suite "deb" builds the packages
# (make deb) and installs them into an overlay root. Ends with one
# "N passed, N failed" line.
test: test-deps $(BUILD)/build.ninja $(ASAN_BUILD)/build.ninja
	ninja -C $(BUILD)
	ninja -C $(ASAN_BUILD)
	scripts/run-tests.py $(BUILD) $(ASAN_BUILD)

unit: all
	meson test -C $(BUILD) --suite unit --print-errorlogs

e2e: all test-deps
	meson test -C $(BUILD) --suite e2e --print-errorlogs

demo: all test-deps
	scripts/demo.sh $(BUILD)

bench: all test-deps
	bench/run.sh $(BUILD)

install: all
	meson install -C $(BUILD)

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(DEB_DIR)

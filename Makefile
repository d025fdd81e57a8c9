# Thin front for meson. Every target that needs packages installs them first
# (scripts/deps.sh is a no-op when they are present).
BUILD ?= build
ASAN_BUILD ?= build-asan
MESON_FLAGS ?=

.PHONY: all deps test test-deps unit e2e asan demo bench install clean format

all: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

deps:
	@scripts/deps.sh build

test-deps:
	@scripts/deps.sh test

$(BUILD)/build.ninja:
	meson setup $(BUILD) $(MESON_FLAGS)

$(ASAN_BUILD)/build.ninja:
	# -Og: instrumented builds are slow to compile; GCC 12 reports false
	# maybe-uninitialized warnings in instrumented libstdc++ code.
	meson setup $(ASAN_BUILD) -Db_sanitize=address,undefined -Db_lundef=false -Doptimization=g \
	  -Dcpp_args=-Wno-maybe-uninitialized $(MESON_FLAGS)

# The whole suite: units, then end-to-end runs with real sshd and sudo, then
# the same under ASan+UBSan. Ends with one "N passed, N failed" line.
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
	rm -rf $(BUILD) $(ASAN_BUILD)

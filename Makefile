# vsafe: the entry points (all, test, demo, bench, install, cross). Each target installs missing Debian
# packages itself (scripts/deps.sh), then drives CMake.
BUILD       ?= build
ASAN_BUILD  ?= build-asan
FUZZ_BUILD  ?= build-fuzz
PREFIX      ?= /usr/local
JOBS        ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps configure test test-fast test-asan test-fuzz fuzz demo bench install clean cross test-cross test-cross-if-possible bench-peers

all: configure
	cmake --build $(BUILD) -j $(JOBS)

deps:
	@./scripts/deps.sh

configure: deps
	@test -f $(BUILD)/CMakeCache.txt || cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null

# Every test: the normal build, then the whole suite again under ASan+UBSan (the slow power-loss
# tests included, at full size: about 20 s more under ASan), then a short run of every fuzz target,
# then the Cortex-M33 test firmware under QEMU where its toolchain can be installed.
test: test-fast test-asan test-fuzz test-cross-if-possible

test-fast: all
	cd $(BUILD) && VSAFE_CA_DIR=$$PWD/test-ca ctest --output-on-failure -j $(JOBS)

test-asan: deps
	@test -f $(ASAN_BUILD)/CMakeCache.txt || cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DVSAFE_SANITIZE=ON >/dev/null
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && VSAFE_CA_DIR=$$PWD/test-ca ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j $(JOBS) -LE "install"

# Real libFuzzer runs (clang) of every fuzz target from its committed seed corpus, new inputs kept
# out of the tree: make test runs each for FUZZ_SECONDS (12 s, about a minute in all);
# make fuzz FUZZ_SECONDS=N runs each for N seconds.
FUZZ_SECONDS ?= 12
FUZZ_TARGETS := frame profile state da keyfile proto
test-fuzz: fuzz

fuzz: deps
	@test -f $(FUZZ_BUILD)/CMakeCache.txt || CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVSAFE_FUZZ=ON >/dev/null
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target $(addprefix fuzz_,$(FUZZ_TARGETS))
	./scripts/run-fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# The device core on a Cortex-M33 (firmware/firmware.mk, docs/PORTING.md): cross build with size
# and stack report and budgets; test firmware under QEMU mps2-an505.
cross:
	@./scripts/deps-cross.sh
	@$(MAKE) --no-print-directory -j $(JOBS) -f firmware/firmware.mk report

test-cross:
	@./scripts/deps-cross.sh
	@$(MAKE) --no-print-directory -j $(JOBS) -f firmware/firmware.mk run

# Part of make test where the toolchain can be installed; a clear skip where it cannot.
test-cross-if-possible:
	@if ./scripts/deps-cross.sh; then $(MAKE) --no-print-directory test-cross; \
	else echo "test-cross: SKIPPED: arm-none-eabi-gcc, newlib or qemu-system-arm cannot be installed here"; fi

# The battery scenario (examples/demo.sh). Builds what it needs quietly (the build's output in
# $(BUILD)/build.log, shown only if the build fails).
demo: deps
	@JOBS=$(JOBS) CMAKE_FLAGS="$(CMAKE_FLAGS)" ./scripts/quiet-build.sh $(BUILD) RelWithDebInfo vsafe power_tool
	@./examples/demo.sh $(BUILD)/vsafe

# What a user wants to know, per command family: operations per second, latency per operation
# (p50, p99, max), the real chip's processing time of the same command and the speed-up; the socket,
# one CLI call end to end, the MCU's DA and SFI; then the project's own targets, met or missed.
# Builds build-bench (Release) quietly: scripts/bench.sh. BENCH_ARGS=--json: one JSON object.
BENCH_ARGS ?=
bench: deps
	@JOBS=$(JOBS) ./scripts/bench.sh $(BENCH_ARGS)

# vsafe against swtpm at equal durability (bench/bench_peers.c): installs swtpm and libtss2 when
# missing (scripts/deps-peers.sh, which fails clearly where they cannot be installed), then
# reconfigures build-bench so it finds libtss2. BENCH_PEERS_ARGS: e.g. --json, --seconds 5.
BENCH_PEERS_ARGS ?=
bench-peers: deps
	@./scripts/deps-peers.sh
	@cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build build-bench -j $(JOBS) --target vsafe vsafe_bench_peers
	./build-bench/bench/vsafe_bench_peers ./build-bench/vsafe $(BENCH_PEERS_ARGS)

install: all
	cmake --install $(BUILD) --prefix $(PREFIX)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) build-bench build-cross

# nines: `make demo` runs the blueprint, `make test` runs every test.
# Both install what is missing first (scripts/deps.sh).

RELEASE := build/release
ASAN    := build/asan
TSAN    := build/tsan
FUZZ    := build/fuzz
# Warnings are errors in every build configured here (CI runs these; one
# flag set keeps ccache shared between CI and developers). A plain cmake
# build leaves NINES_WERROR off; `make WERROR=OFF ...` on a newer compiler.
WERROR ?= ON
CMAKE_GEN := -G Ninja -DNINES_WERROR=$(WERROR)
SEEDS ?= 1000
FIRST ?= 1
FUZZ_SECONDS ?= 20
# Tests run two at a time: most of them wait on sockets and child processes,
# and the ones that share addresses hold a ctest RESOURCE_LOCK
# (tests/CMakeLists.txt). CTEST_JOBS=1 runs them one by one.
CTEST_JOBS ?= 2

.PHONY: all deps build asan tsan fuzz test test-release test-asan test-tsan test-fuzz sim chaos bench demo lint clean

all: build

deps:
	@scripts/deps.sh

$(RELEASE)/build.ninja:
	@cmake -S . -B $(RELEASE) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" >/dev/null

$(ASAN)/build.ninja:
	@cmake -S . -B $(ASAN) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Debug \
	  -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" -DNINES_SANITIZE=address,undefined >/dev/null

# ThreadSanitizer with clang: GCC's does not support atomic_thread_fence (Asio).
# -g0 keeps the build that `make test` waits for short (race reports name
# functions, not lines); `make tsan TSAN_FLAGS="-O1 -g1"` in a fresh build/tsan
# adds the line numbers.
TSAN_FLAGS ?= -O1 -g0
$(TSAN)/build.ninja:
	@CXX=clang++ cmake -S . -B $(TSAN) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Debug \
	  -DCMAKE_CXX_FLAGS_DEBUG="$(TSAN_FLAGS)" -DNINES_SANITIZE=thread >/dev/null

$(FUZZ)/build.ninja:
	@CXX=clang++ cmake -S . -B $(FUZZ) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DNINES_FUZZ=ON >/dev/null

build: deps $(RELEASE)/build.ninja
	@ninja -C $(RELEASE) --quiet

asan: deps $(ASAN)/build.ninja
	@ninja -C $(ASAN) --quiet

# The tests labelled `threads` (in-process threads, or the threaded nines
# binary as a child) and only what they run: the nines binary, test_backend and
# their own binaries (not the rest of the tree). Every process, children included,
# writes its race reports to $(TSAN)/races/; any report fails the run.
TSAN_TESTS = $$(cd $(TSAN) && ctest -N -L threads | sed -n 's/^ *Test *\#[0-9]*: //p')
tsan: deps $(TSAN)/build.ninja
	@ninja -C $(TSAN) --quiet build.ninja  # re-runs CMake first if it changed: the list is ctest's
	@ninja -C $(TSAN) --quiet nines test_backend $(TSAN_TESTS)
	@rm -rf $(TSAN)/races && mkdir -p $(TSAN)/races
	@cd $(TSAN) && TSAN_OPTIONS="log_path=$(CURDIR)/$(TSAN)/races/race second_deadlock_stack=1" \
	  ctest --output-on-failure --timeout 900 -j$(CTEST_JOBS) -L threads
	@if [ -n "$$(ls $(TSAN)/races)" ]; then cat $(TSAN)/races/*; \
	  echo "tsan: data races reported (above; files in $(TSAN)/races)"; exit 1; fi
	@echo "tsan: no data race reported"

fuzz: deps $(FUZZ)/build.ninja
	@ninja -C $(FUZZ) --quiet fuzz_targets

test-release: build
	@cd $(RELEASE) && ctest --output-on-failure --timeout 600 -j$(CTEST_JOBS)

test-asan: asan
	@cd $(ASAN) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --output-on-failure --timeout 900 -j$(CTEST_JOBS) -LE no-asan

test-fuzz: fuzz
	@tests/fuzz/run.sh $(FUZZ) $(FUZZ_SECONDS)

sim: build
	@$(RELEASE)/tests/sim/nines_sim --seeds $(SEEDS) --first $(FIRST); core=$$?; \
	  $(RELEASE)/tests/sim/nines_sim_store --seeds $(SEEDS) --first $(FIRST); store=$$?; \
	  [ $$core -eq 0 ] && [ $$store -eq 0 ]

# Real store members under a nemesis for MINUTES minutes (SEED=S replays the
# same fault schedule and client choices); ends `chaos: N operations, V violations`.
MINUTES ?= 10
chaos: build
	@$(RELEASE)/tests/chaos/nines_chaos --seconds $$(( $(MINUTES) * 60 )) \
	  --nines $(RELEASE)/nines $(if $(SEED),--seed $(SEED))

test-tsan: tsan

# Lint first (it fails in seconds), then the release, ASan+UBSan,
# ThreadSanitizer and fuzz suites, each under a `== make test: SUITE` line so
# a failure names its suite. The TSan suite builds only what the `threads`
# tests run (the nines binary, test_backend, 22 test binaries) at -O1 -g0:
# cold (no ccache) about 810 CPU-seconds (~750 for the first 14 tests, 61
# for the other seven's sources), about 7 minutes on two cores; with a warm
# ccache ~25 s. Its tests took 90 s on a loaded machine. Unity builds would
# cut the cold build by ~20% but CMake's unity files #include absolute
# paths, so ccache could not share them between checkouts: every fresh
# clone would pay the cold build.
test: lint
	@echo "== make test: release" && $(MAKE) --no-print-directory test-release
	@echo "== make test: asan" && $(MAKE) --no-print-directory test-asan
	@echo "== make test: tsan" && $(MAKE) --no-print-directory test-tsan
	@echo "== make test: fuzz" && $(MAKE) --no-print-directory test-fuzz
	@echo "make test: all suites passed"

bench: build
	@scripts/deps.sh --bench
	@for b in bench/*.sh; do case $$b in */lib.sh|*/compare.sh) continue ;; esac; \
	  echo "== $$b"; $$b || exit 1; done

# The built-in blueprint (or BLUEPRINT=file) with its dashboard, until Ctrl-C.
demo: deps build
	@$(RELEASE)/nines up $(BLUEPRINT)

# clang-format on every C++ file; clang-tidy on the changed files of src/
# (scripts/tidy.sh says which; NINES_LINT_ALL=1 for all of them).
lint: deps $(RELEASE)/build.ninja
	@git ls-files '*.cc' '*.h' '*.cpp' | xargs clang-format --dry-run --Werror
	@echo "lint: clang-format clean"
	@scripts/tidy.sh $(RELEASE)

clean:
	rm -rf build

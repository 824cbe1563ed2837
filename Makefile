# One Makefile for the whole tree: common/ becomes a static library, every
# program lands in bin/. `make asan` builds the same under ASan+UBSan into
# build-asan/ and bin-asan/.

VERSION   := 0.1.0
PKGS      := libzmq sqlite3 libcjson uuid libmicrohttpd libsodium libcurl
SAN       ?=
BUILD     ?= build
BIN       ?= bin

CC        ?= cc
OPT       ?= -O2
CFLAGS    := $(OPT) -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -g -pthread -MMD -MP \
             -DVERSION='"$(VERSION)"' -Icommon $(shell pkg-config --cflags $(PKGS) 2>/dev/null) $(SAN)
LDFLAGS   := -pthread $(SAN)
LDLIBS    := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm

COMMON_SRC := $(wildcard common/*.c)
CRM_SRC    := $(wildcard crm-service/*.c)
ERP_SRC    := $(wildcard erp-service/*.c)
BRIDGE_SRC := $(filter-out bridge/bridgectl%,$(wildcard bridge/*.c))
CTL_SRC    := $(wildcard bridge/bridgectl*.c)
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
UNIT_SUPPORT_SRC := $(wildcard tests/unit/support*.c)
FUZZ_SRC   := $(filter-out tests/fuzz/fuzz_support.c,$(wildcard tests/fuzz/fuzz_*.c))

COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/%.o)
LIBCOMMON  := $(BUILD)/libcommon.a

#  The web pages are built into each binary: scripts/embed.c (compiled for
#  the build host, no sanitizers) turns <program>/web and common/web into
#  $(BUILD)/web/<program>_assets.c, which defines web_assets (common/web.h).
#  It is rebuilt when any file or folder under them changes.
HOSTCC     ?= cc
EMBED      := $(BUILD)/tools/embed
web_files   = $(shell find $(1) common/web 2>/dev/null)
#  No built-in rule may take the folder common/web for a program to link
#  from common/web.c (it did whenever web.c was newer than the folder).
%: %.c
%: %.o
CRM_ASSETS    := $(BUILD)/web/crm_assets.o
ERP_ASSETS    := $(BUILD)/web/erp_assets.o
BRIDGE_ASSETS := $(BUILD)/web/bridge_assets.o

PROGRAMS   := $(BIN)/crm-service
ifneq ($(ERP_SRC),)
PROGRAMS   += $(BIN)/erp-service
endif
ifneq ($(BRIDGE_SRC),)
PROGRAMS   += $(BIN)/bridge $(BIN)/bridgectl
endif
UNIT_BINS  := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
UNIT_SUPPORT := $(BUILD)/tests/libsupport.a
FUZZ_BINS  := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/tests/%)

Q := @
ifeq ($(V),1)
Q :=
endif

.PHONY: all deps run test unit blackbox asan asan-test fuzz-replay bench bench-curves bench-bin clean format

all: deps-check $(PROGRAMS)

deps-check:
	$(Q)pkg-config --exists $(PKGS) && pkg-config --exists cmocka || bash scripts/deps.sh
	$(Q)test -x /usr/bin/python3 && /usr/bin/python3 -c 'import zmq, requests, pytest, yaml, jsonschema' 2>/dev/null || bash scripts/deps.sh

deps:
	bash scripts/deps.sh --all

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC   $<"
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(LIBCOMMON): $(COMMON_OBJ)
	@echo "  AR   $@"
	$(Q)ar rcs $@ $^

$(EMBED): scripts/embed.c common/file.c common/file.h
	@mkdir -p $(dir $@)
	@echo "  CC   $@"
	$(Q)$(HOSTCC) -O2 -std=c11 -Wall -Wextra -Werror -Icommon -o $@ scripts/embed.c common/file.c

$(BUILD)/web/crm_assets.c: $(EMBED) $(call web_files,crm-service/web)
	@mkdir -p $(dir $@)
	@echo "  WEB  $@"
	$(Q)$(EMBED) $@ web_assets /app crm-service/web /common common/web

$(BUILD)/web/erp_assets.c: $(EMBED) $(call web_files,erp-service/web)
	@mkdir -p $(dir $@)
	@echo "  WEB  $@"
	$(Q)$(EMBED) $@ web_assets /app erp-service/web /common common/web

$(BUILD)/web/bridge_assets.c: $(EMBED) $(call web_files,bridge/web)
	@mkdir -p $(dir $@)
	@echo "  WEB  $@"
	$(Q)$(EMBED) $@ web_assets /app bridge/web /common common/web

$(BUILD)/web/%_assets.o: $(BUILD)/web/%_assets.c
	@echo "  CC   $<"
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(BIN)/crm-service: $(CRM_SRC:%.c=$(BUILD)/%.o) $(CRM_ASSETS) $(LIBCOMMON)
	@mkdir -p $(BIN)
	@echo "  LD   $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BIN)/erp-service: $(ERP_SRC:%.c=$(BUILD)/%.o) $(ERP_ASSETS) $(LIBCOMMON)
	@mkdir -p $(BIN)
	@echo "  LD   $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BIN)/bridge: $(BRIDGE_SRC:%.c=$(BUILD)/%.o) $(BRIDGE_ASSETS) $(LIBCOMMON)
	@mkdir -p $(BIN)
	@echo "  LD   $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BIN)/bridgectl: $(CTL_SRC:%.c=$(BUILD)/%.o) $(LIBCOMMON)
	@mkdir -p $(BIN)
	@echo "  LD   $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

#  The bridge's unit tests link its flows, store, pipeline and
#  reconciliation staging (not its main).
BRIDGE_FLOW_OBJ := $(patsubst %.c,$(BUILD)/%.o,bridge/flows.c $(wildcard bridge/flow_*.c) bridge/store.c bridge/side.c \
                     bridge/stats.c bridge/peer.c bridge/pipeline.c bridge/recon_stage.c)
$(BUILD)/tests/test_bridge_%: tests/unit/test_bridge_%.c $(BRIDGE_FLOW_OBJ) $(UNIT_SUPPORT) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	@echo "  TEST $@"
	$(Q)$(CC) $(CFLAGS) -Ibridge -o $@ $< $(BRIDGE_FLOW_OBJ) $(UNIT_SUPPORT) $(LIBCOMMON) $(LDFLAGS) $(LDLIBS) $(shell pkg-config --libs cmocka)

#  What the unit tests share (tests/unit/support*.c: temporary folders and
#  databases, sockets, fixtures used by more than one test file) is a
#  library every unit test links; each takes only the parts it calls. The
#  objects sit in $(BUILD)/tests so that their .d files are included.
$(BUILD)/tests/%.o: tests/unit/%.c
	@mkdir -p $(dir $@)
	@echo "  CC   $<"
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(UNIT_SUPPORT): $(UNIT_SUPPORT_SRC:tests/unit/%.c=$(BUILD)/tests/%.o)
	@echo "  AR   $@"
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/tests/test_%: tests/unit/test_%.c $(UNIT_SUPPORT) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	@echo "  TEST $@"
	$(Q)$(CC) $(CFLAGS) -o $@ $< $(UNIT_SUPPORT) $(LIBCOMMON) $(LDFLAGS) $(LDLIBS) $(shell pkg-config --libs cmocka)

#  tests/fuzz/fuzz_support.c is the targets' shared set-up, not a target.
FUZZ_SUPPORT := tests/fuzz/fuzz_support.c
$(BUILD)/tests/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/replay_main.c $(FUZZ_SUPPORT) tests/fuzz/fuzz_support.h $(LIBCOMMON)
	@mkdir -p $(dir $@)
	@echo "  FUZZ $@"
	$(Q)$(CC) $(CFLAGS) -o $@ $< tests/fuzz/replay_main.c $(FUZZ_SUPPORT) $(LIBCOMMON) $(LDFLAGS) $(LDLIBS)

# Unit tests, then black-box tests against the real binaries.
unit: all $(UNIT_BINS)
	$(Q)for t in $(UNIT_BINS); do echo "== $$t"; $$t || exit 1; done

fuzz-replay: all $(FUZZ_BINS)
	$(Q)for f in $(FUZZ_BINS); do n=$$(basename $$f); $$f tests/fuzz/corpus/$${n#fuzz_} || exit 1; done

#  tests/faults/powercut.c: preloaded by test_power_cut.py. Built without the
#  sanitizers, also for bin-asan (the test lets ASan's runtime come second).
POWERCUT_SO := $(BUILD)/tests/powercut.so
$(POWERCUT_SO): tests/faults/powercut.c
	@mkdir -p $(dir $@)
	@echo "  CC   $@"
	$(Q)$(CC) -O2 -g -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -pthread -fPIC -shared -o $@ $< -ldl

blackbox: all $(POWERCUT_SO)
	$(Q)BIN_DIR=$(abspath $(BIN)) POWERCUT_SO=$(abspath $(POWERCUT_SO)) \
	    /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/blackbox

# Browser tests (tests/browser/README.md): Debian's Chromium drives the three
# programs' pages through playwright-core; one test file after the other.
.PHONY: browser
browser: all
	$(Q)test -x /usr/bin/chromium && command -v node >/dev/null \
	    && test "$$(cat tests/browser/node_modules/.deps-stamp 2>/dev/null)" = \
	            "$$(sha256sum tests/browser/package-lock.json | cut -d' ' -f1)" \
	    || bash scripts/deps.sh
	$(Q)fail=0; for f in tests/browser/*.test.mjs; do echo "== $$f"; \
	    BIN_DIR=$(abspath $(BIN)) node --test --test-reporter=spec $$f || fail=1; done; exit $$fail

# The fault harness's long run (tests/faults/, docs/reliability.md): kills,
# pauses, network cuts (as root) and lost events under a seeded workload,
# then the independent checker. `make test` runs a short one.
FAULT_SEED ?= 1
FAULT_OPS ?= 50000
FAULT_KILLS ?= 200
FAULT_STOPS ?= 40
FAULT_CUTS ?= 20
FAULT_LOSSES ?= 10
FAULT_COMMIT_PIPELINE ?= no
.PHONY: faults
faults: all
	$(Q)nice -n 10 /usr/bin/python3 tests/faults/run.py --bin-dir $(abspath $(BIN)) --seed $(FAULT_SEED) \
	    --ops $(FAULT_OPS) --kills $(FAULT_KILLS) --stops $(FAULT_STOPS) --cuts $(FAULT_CUTS) \
	    --losses $(FAULT_LOSSES) --cut-seconds 1-60 --stop-seconds 1-10 --converge-timeout 900 \
	    --commit-pipeline $(FAULT_COMMIT_PIPELINE)

# make fuzz: every tests/fuzz target under libFuzzer with coverage, ASan and
# UBSan (clang and its runtimes: bash scripts/deps.sh --fuzz), built into
# FUZZ_BUILD. Each runs FUZZ_SECONDS from its saved corpus; the inputs that
# add coverage are merged (-merge=1) into tests/fuzz/corpus/<name>, which
# fuzz-replay replays in make test. A crash stops the run and leaves its
# input in FUZZ_BUILD/crashes/. FUZZ_TARGETS="json csv" picks some;
# tests/fuzz/<name>.dict, when there is one, is its dictionary.
FUZZ_SECONDS ?= 60
FUZZ_BUILD   ?= build-fuzz
FUZZ_TARGETS ?= $(FUZZ_SRC:tests/fuzz/fuzz_%.c=%)
FUZZ_CC      ?= clang
FUZZ_CFLAGS  := -g -O1 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-missing-field-initializers -pthread -DVERSION='"fuzz"' \
                -Icommon $(shell pkg-config --cflags $(PKGS) 2>/dev/null) \
                -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_LIB     := $(FUZZ_BUILD)/libcommon-fuzz.a
.PHONY: fuzz fuzz-build

$(FUZZ_BUILD)/common/%.o: common/%.c
	@mkdir -p $(dir $@)
	@echo "  CLANG $<"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_LIB): $(COMMON_SRC:common/%.c=$(FUZZ_BUILD)/common/%.o)
	$(Q)rm -f $@ && ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_SUPPORT) tests/fuzz/fuzz_support.h $(FUZZ_LIB)
	@echo "  LIBFUZZER $@"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_SUPPORT) $(FUZZ_LIB) $(LDLIBS)

fuzz-build: deps-check
	$(Q)command -v $(FUZZ_CC) >/dev/null && echo 'int LLVMFuzzerTestOneInput(const char *d, long n){(void)d;(void)n;return 0;}' \
	    | $(FUZZ_CC) -fsanitize=fuzzer -x c - -o /dev/null 2>/dev/null || bash scripts/deps.sh --fuzz
	$(Q)$(MAKE) --no-print-directory $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)

fuzz: fuzz-build
	$(Q)mkdir -p $(FUZZ_BUILD)/crashes
	$(Q)for t in $(FUZZ_TARGETS); do \
	    echo "== fuzz_$$t for $(FUZZ_SECONDS) s"; rm -rf $(FUZZ_BUILD)/new/$$t; mkdir -p $(FUZZ_BUILD)/new/$$t; \
	    nice -n 15 $(FUZZ_BUILD)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	        $$(test -f tests/fuzz/$$t.dict && echo -dict=tests/fuzz/$$t.dict) \
	        -artifact_prefix=$(FUZZ_BUILD)/crashes/$$t- $(FUZZ_BUILD)/new/$$t tests/fuzz/corpus/$$t \
	        2>$(FUZZ_BUILD)/fuzz_$$t.log || { tail -40 $(FUZZ_BUILD)/fuzz_$$t.log; exit 1; }; \
	    grep -E '^stat::number_of_executed_units|^Done' $(FUZZ_BUILD)/fuzz_$$t.log; \
	    $(FUZZ_BUILD)/fuzz_$$t -merge=1 tests/fuzz/corpus/$$t $(FUZZ_BUILD)/new/$$t 2>&1 | grep -E 'MERGE-OUTER: [0-9]+ new files'; \
	done

# The whole suite: normal build, then everything again under ASan+UBSan.
test: deps-check
	$(Q)$(MAKE) --no-print-directory unit fuzz-replay blackbox browser
	$(Q)$(MAKE) --no-print-directory asan-test

asan:
	$(Q)$(MAKE) --no-print-directory BUILD=build-asan BIN=bin-asan OPT="-O1 -fno-omit-frame-pointer" \
	    SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined" all

asan-test:
	$(Q)ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    $(MAKE) --no-print-directory BUILD=build-asan BIN=bin-asan OPT="-O1 -fno-omit-frame-pointer" \
	    SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined" unit fuzz-replay blackbox

run: all
	$(Q)bash scripts/run.sh

#  The benchmarks' own programs (bench/README.md), built into $(BUILD)/bench
#  with the project's flags; bench/run.sh runs `make all bench-bin` first.
#  bare_common.c and latency.c are what they share; bare_search and
#  typeahead take the engine's FTS5 query text from libcommon.
BENCH_PROGS := bare_insert bare_search bare_confirm bare_bridge http_lat typeahead bridge_fresh wait_metric
BENCH_BINS  := $(BENCH_PROGS:%=$(BUILD)/bench/%)
BENCH_OBJ   := $(BUILD)/bench/bare_common.o $(BUILD)/bench/latency.o

$(BENCH_BINS): $(BUILD)/bench/%: $(BUILD)/bench/%.o $(BENCH_OBJ) $(LIBCOMMON)
	@echo "  LD   $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

#  slow_sync.so: preloaded by bench/run.sh when BENCH_SYNC_DELAY_US is set.
$(BUILD)/bench/slow_sync.so: bench/slow_sync.c
	@mkdir -p $(dir $@)
	@echo "  CC   $@"
	$(Q)$(CC) $(CFLAGS) -fPIC -shared -o $@ $< -ldl

bench-bin: deps-check $(BENCH_BINS) $(BUILD)/bench/slow_sync.so

bench: all
	$(Q)bash bench/run.sh

#  How cost grows (bench/curves.sh): not part of `make bench`, it builds
#  data sets of up to 10,000,000 customers and runs for an hour or more.
bench-curves: all
	$(Q)BENCH_ONLY=curves bash bench/run.sh

format:
	clang-format -i common/*.[ch] crm-service/*.[ch] $(wildcard erp-service/*.[ch] bridge/*.[ch]) tests/unit/*.c

clean:
	rm -rf build build-asan build-fuzz bin bin-asan

-include $(COMMON_OBJ:.o=.d) $(wildcard $(BUILD)/*/*.d)

# allot - top-level build.
#
#   make            build build/allot and build/liballot.a (installs Debian deps)
#   make run        build, then run the main job on the embedded default
#   make test       unit tests (plain and ASan+UBSan), scenario tests, fuzz smoke
#   make bench      benchmarks; prints figures (uses ../shared/traces if present)
#   make api-bench  POST /v1/jobs rate of a local allot server (bench/api_bench.sh)
#   make dashboard-bench  the dashboard with 10,000 nodes and 100,000 jobs
#   make fuzz       longer fuzzing (FUZZ_SECONDS=60 by default)
#   make format     clang-format the sources in place
#   make clean

CC       ?= cc
CLANG    ?= clang
BUILD    ?= build
ASAN     ?= build-asan
FUZZB    ?= build-fuzz
OPT      ?= -O2
CSTD      = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
WARN      = -Wall -Wextra -Werror -Wshadow -Wno-error=unused-function
CFLAGS_ALL = $(CSTD) $(WARN) -g -Iinclude -I$(BUILD)/gen -pthread $(EXTRA_CFLAGS)
LIBS      = -ljansson -lzstd -lxxhash -lsqlite3 -lmicrohttpd -lcurl -linih -lm -lpthread
TEST_LIBS = -lcmocka

LIB_SRC  := $(sort $(wildcard src/core/*.c src/sched/*.c src/sim/*.c src/report/*.c src/server/*.c src/client/*.c src/agent/*.c src/serve/*.c src/plan/*.c))
CLI_SRC  := $(sort $(wildcard src/cli/*.c))
TEST_SRC := $(sort $(wildcard tests/test_*.c))
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
GEN_SRC  := $(BUILD)/gen/embedded.c
# every header, public and internal: a change rebuilds what may include it
HDRS     := $(wildcard include/allot/*.h src/*/*.h)

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/embedded.o $(BUILD)/obj/gen/webassets.o
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
ALIB_OBJ := $(LIB_SRC:%.c=$(ASAN)/obj/%.o) $(ASAN)/obj/gen/embedded.o $(ASAN)/obj/gen/webassets.o
ACLI_OBJ := $(CLI_SRC:%.c=$(ASAN)/obj/%.o)

TESTS      := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
ASAN_TESTS := $(TEST_SRC:tests/%.c=$(ASAN)/tests/%)
FUZZERS    := $(FUZZ_SRC:tests/fuzz/%.c=$(FUZZB)/%)

SAN_FLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all -DALLOT_DEBUG

.PHONY: all deps run test unit asan-test scenario fuzz-smoke fuzz bench api-bench dashboard-bench clean format
all: deps $(BUILD)/allot

deps: $(BUILD)/.deps
$(BUILD)/.deps: scripts/deps.sh
	@mkdir -p $(BUILD)
	sh scripts/deps.sh
	@touch $@

# ---- embedded assets ------------------------------------------------------
# one file, one symbol per asset: embed.sh writes each, then they are joined
EMBEDDED := allot__sample_fleet:data/sample-fleet.json allot__philly_fleet:data/philly-fleet.json
$(BUILD)/gen/embedded.c: data/sample-fleet.json data/philly-fleet.json scripts/embed.sh
	@mkdir -p $(dir $@)
	@rm -f $@.parts
	for e in $(EMBEDDED); do \
	  sh scripts/embed.sh $@.part $${e%%:*} $${e#*:} && cat $@.part >> $@.parts || exit 1; \
	done
	rm -f $@.part && mv $@.parts $@

$(BUILD)/obj/gen/embedded.o: $(BUILD)/gen/embedded.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(OPT) -c $< -o $@
$(ASAN)/obj/gen/embedded.o: $(BUILD)/gen/embedded.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -O1 $(SAN_FLAGS) -c $< -o $@

# ---- the dashboard (web/) ---------------------------------------------------
# web/package.json pins uPlot (copied into the binary) and playwright-core (the
# browser tests and the dashboard bench drive Debian's /usr/bin/chromium); npm
# installs them under $(BUILD)/web. Without npm, or offline, the build goes on:
# the page then shows tables instead of charts (rm $(BUILD)/web/.npm-stamp to
# try again).
NPM     ?= npm
WEB_SRC := web/index.html web/app.js web/app.css web/favicon.svg
$(BUILD)/web/.npm-stamp: web/package.json web/package-lock.json | $(BUILD)/.deps
	@mkdir -p $(dir $@)
	cp web/package.json web/package-lock.json $(BUILD)/web/
	@if command -v $(NPM) >/dev/null 2>&1 && \
	    (cd $(BUILD)/web && $(NPM) ci --no-audit --no-fund --loglevel=error); then :; else \
	  echo "warning: npm is absent or 'npm ci' failed: the dashboard is built without uPlot" \
	       "(tables instead of charts) and the browser tests cannot run" >&2; fi
	@touch $@

$(BUILD)/gen/webassets.c: $(WEB_SRC) scripts/embed_web.sh $(BUILD)/web/.npm-stamp
	@mkdir -p $(dir $@)
	sh scripts/embed_web.sh $@ web $(BUILD)/web/node_modules/uplot/dist

$(BUILD)/obj/gen/webassets.o: $(BUILD)/gen/webassets.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(OPT) -c $< -o $@
$(ASAN)/obj/gen/webassets.o: $(BUILD)/gen/webassets.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -O1 $(SAN_FLAGS) -c $< -o $@

# ---- normal build ---------------------------------------------------------
$(BUILD)/obj/%.o: %.c $(HDRS) | $(BUILD)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(OPT) -c $< -o $@

$(BUILD)/liballot.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/allot: $(CLI_OBJ) $(BUILD)/liballot.a
	$(CC) $(CFLAGS_ALL) $(OPT) -o $@ $(CLI_OBJ) $(BUILD)/liballot.a $(LIBS)

$(BUILD)/tests/%: tests/%.c $(BUILD)/liballot.a tests/testutil.h tests/srvtest.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(OPT) -o $@ $< $(BUILD)/liballot.a $(LIBS) $(TEST_LIBS)

$(BUILD)/bench: bench/bench.c $(BUILD)/liballot.a
	$(CC) $(CFLAGS_ALL) -O2 -o $@ bench/bench.c $(BUILD)/liballot.a $(LIBS)

$(BUILD)/serve_bench: bench/serve_bench.c $(BUILD)/liballot.a
	$(CC) $(CFLAGS_ALL) -O2 -o $@ bench/serve_bench.c $(BUILD)/liballot.a $(LIBS)

# load generator for POST /v1/jobs (raw sockets, no library of ours)
$(BUILD)/server_scale: bench/server_scale.c $(BUILD)/liballot.a
	$(CC) $(CFLAGS_ALL) -O2 -o $@ bench/server_scale.c $(BUILD)/liballot.a $(LIBS)

$(BUILD)/api_bench: bench/api_bench.c | $(BUILD)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -O2 -o $@ bench/api_bench.c -lm -lpthread

# ---- sanitizer build --------------------------------------------------------
$(ASAN)/obj/%.o: %.c $(HDRS) | $(BUILD)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -O1 $(SAN_FLAGS) -c $< -o $@

$(ASAN)/liballot.a: $(ALIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(ASAN)/allot: $(ACLI_OBJ) $(ASAN)/liballot.a
	$(CC) $(CFLAGS_ALL) -O1 $(SAN_FLAGS) -o $@ $(ACLI_OBJ) $(ASAN)/liballot.a $(LIBS)

$(ASAN)/tests/%: tests/%.c $(ASAN)/liballot.a tests/testutil.h tests/srvtest.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -O1 $(SAN_FLAGS) -o $@ $< $(ASAN)/liballot.a $(LIBS) $(TEST_LIBS)

# ---- fuzzers (clang libFuzzer) ------------------------------------------------
# the library is compiled once for all fuzzers (instrumented, not linked
# with libFuzzer's main), each target then links against it
FUZZ_FLAGS = $(CSTD) -g -O1 -Iinclude -I$(BUILD)/gen -pthread
FLIB_OBJ := $(LIB_SRC:%.c=$(FUZZB)/obj/%.o) $(FUZZB)/obj/gen/embedded.o $(FUZZB)/obj/gen/webassets.o

$(FUZZB)/obj/%.o: %.c $(HDRS) | $(BUILD)/.deps
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link,address,undefined -c $< -o $@

$(FUZZB)/obj/gen/embedded.o: $(GEN_SRC)
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link,address,undefined -c $< -o $@

$(FUZZB)/obj/gen/webassets.o: $(BUILD)/gen/webassets.c
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_FLAGS) -c $< -o $@

$(FUZZB)/libfuzzallot.a: $(FLIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(FUZZB)/%: tests/fuzz/%.c $(FUZZB)/libfuzzallot.a $(HDRS)
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_FLAGS) -fsanitize=fuzzer,address,undefined -o $@ $< $(FUZZB)/libfuzzallot.a $(LIBS)

# ---- top-level targets -----------------------------------------------------
run: all
	$(BUILD)/allot sim --out out/demo

unit: $(TESTS) $(BUILD)/allot
asan-test: $(ASAN_TESTS) $(ASAN)/allot

test: all $(TESTS) $(ASAN_TESTS) $(ASAN)/allot $(FUZZERS)
	@sh tests/run.sh "$(BUILD)" "$(ASAN)" "$(FUZZB)"

api-bench: $(BUILD)/allot $(BUILD)/api_bench
	sh bench/api_bench.sh $(BUILD)

fuzz: $(FUZZERS)
	@for f in $(FUZZERS); do n=$$(basename $$f); mkdir -p $(FUZZB)/corpus/$$n; \
	  echo "fuzzing $$n for $${FUZZ_SECONDS:-60}s"; \
	  $$f -max_total_time=$${FUZZ_SECONDS:-60} -max_len=65536 $(FUZZB)/corpus/$$n tests/fuzz/seeds/$$n || exit 1; done

bench: all $(BUILD)/bench $(BUILD)/serve_bench $(BUILD)/api_bench $(BUILD)/server_scale
	$(BUILD)/bench
	$(BUILD)/serve_bench
	sh bench/plan_bench.sh $(BUILD)
	sh bench/api_bench.sh $(BUILD)
	$(BUILD)/server_scale
	sh bench/dashboard_bench.sh $(BUILD)

dashboard-bench: $(BUILD)/allot $(BUILD)/api_bench
	sh bench/dashboard_bench.sh $(BUILD)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN) $(FUZZB) out

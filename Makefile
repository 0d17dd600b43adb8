# vigil: the only build system. `make help` lists the targets.
#
# Extra compiler flags go through EXTRA_CFLAGS (e.g. make EXTRA_CFLAGS=-march=native).
# Sanitizer builds live in their own directories (build/san, build/tsan) so
# they never mix objects with the plain build in build/.

CC       ?= cc
CXX      ?= c++
BUILD    ?= build
SAN      ?=
EXTRA_CFLAGS ?=
CFLAGS_BASE = -std=c11 -O3 -g -Wall -Wextra -Werror -D_POSIX_C_SOURCE=200809L -I. -MMD -MP
PKGS     = yaml-0.1 libpcre2-8 rdkafka libzstd libcurl libcrypto libmicrohttpd
DEPS_OK  = $(BUILD)/.deps-ok

ifeq ($(SAN),)
  JEMALLOC = -ljemalloc
  SANFLAGS =
else
  # Sanitizers bring their own allocator; jemalloc would hide what they catch.
  JEMALLOC =
  SANFLAGS = $(SAN) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif

CFLAGS  = $(CFLAGS_BASE) $(SANFLAGS) $(EXTRA_CFLAGS)
LDLIBS  = $(shell pkg-config --libs $(PKGS) 2>/dev/null) $(JEMALLOC) -lm -lpthread
LDFLAGS = $(SANFLAGS)

# What each build directory was compiled with: objects depend on it, so a
# change of CC, SAN or EXTRA_CFLAGS (or of the flags here) rebuilds them.
# (the rule is below the build rules).
FLAGS_STAMP = $(BUILD)/.flags
FLAGS_NOW = $(CC) $(CFLAGS) $(LDFLAGS)

# Modules in dependency order, each over the ones before it (../shared/DESIGN.md):
# a binary links only the layers it uses, so a wrong-way call fails to link.
mod_obj = $(patsubst %.c,$(BUILD)/%.o,$(wildcard $(1)/*.c))
CORE_OBJ     = $(call mod_obj,core)
PARSE_OBJ    = $(CORE_OBJ) $(call mod_obj,parse)
AGGREGATE_OBJ = $(PARSE_OBJ) $(call mod_obj,aggregate)
ALERT_OBJ    = $(AGGREGATE_OBJ) $(call mod_obj,alert) $(BUILD)/gen/rules_builtin.o
SINK_OBJ     = $(ALERT_OBJ) $(call mod_obj,sink)
INGEST_OBJ   = $(ALERT_OBJ) $(call mod_obj,ingest)
PIPELINE_OBJ = $(ALERT_OBJ) $(call mod_obj,sink) $(call mod_obj,ingest) $(call mod_obj,pipeline)
CLI_OBJ      = $(PIPELINE_OBJ) $(call mod_obj,cli)
LIB_SRC = $(wildcard core/*.c parse/*.c aggregate/*.c alert/*.c sink/*.c ingest/*.c pipeline/*.c)
LIB_OBJ = $(PIPELINE_OBJ)
# A unit test links its module's layer: tests/test_X.c tests the module
# holding X.c, or TEST_MODULE_X where no X.c exists.
TEST_MODULE_outbox = sink
module_of = $(or $(TEST_MODULE_$(1)),$(firstword $(patsubst %/,%,$(dir $(wildcard */$(1).c)))))
layer_of = $($(shell echo $(call module_of,$(1)) | tr a-z A-Z)_OBJ)
TEST_SRC = $(wildcard tests/test_*.c)
TEST_BIN = $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)

.PHONY: all demo docs readme deps test test-unit test-integration test-build test-tsan test-tsan-build test-reliability soak \
	asan ubsan san san-build tsan tsan-build fuzz bench bench-parse \
	bench-aggregate bench-archive bench-kafka bench-kafka-compare bench-cardinality \
	format format-check clean help

all: vigil bench/gen

help:
	@echo "make              build ./vigil and bench/gen (installs missing packages first)"
	@echo "make deps         install missing Debian packages (apt-get; idempotent)"
	@echo "make test         unit + integration tests, plain and under ASan+UBSan, and TSan's pass"
	@echo "                  (side by side: TEST_JOBS=4 tests at once; TEST_JOBS=1 one after another)"
	@echo "make test-reliability  the reliability scenarios' short versions alone (tests/reliability/)"
	@echo "make soak         the reliability scenarios' long versions: 1M-record crash, 30-minute soak... (about an hour)"
	@echo "make asan|ubsan|tsan  the test suite under one sanitizer"
	@echo "make fuzz         libFuzzer on the parser (FUZZ_SECONDS=60)"
	@echo "make bench        every stage benchmark and the end-to-end run: one table, bench/results/"
	@echo "make bench-parse|bench-aggregate|bench-archive|bench-kafka  one stage"
	@echo "make bench-kafka-compare VIGILS=\"A=PATH B=PATH[,ARG...]\"  CPU of vigil binaries in Kafka mode, one session, interleaved"
	@echo "make bench-cardinality  scanner and random-word paths with the rules on and off (docs/limits.md)"
	@echo "make install      PREFIX=/usr/local DESTDIR=: vigil, bench/gen, config, docs, systemd unit (docs/deploy.md)"
	@echo "make format | format-check | clean"

# Install what is missing, once per build directory; a package removed later
# is caught by `make deps`, which always asks dpkg.
deps:
	@scripts/deps.sh

$(DEPS_OK): scripts/deps.sh
	@scripts/deps.sh
	@mkdir -p $(BUILD) && touch $@

vigil: $(BUILD)/vigil
	@ln -sf $(BUILD)/vigil vigil

$(BUILD)/vigil: $(BUILD)/vigil.o $(CLI_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The shipped rules, compiled in (vg_rules_builtin, declared in alert/rules.h).
$(BUILD)/gen/rules_builtin.c: config/rules.yaml scripts/embed.sh
	@mkdir -p $(dir $@)
	scripts/embed.sh vg_rules_builtin $< >$@

$(BUILD)/gen/rules_builtin.o: $(BUILD)/gen/rules_builtin.c $(FLAGS_STAMP) | $(DEPS_OK)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/%.o: %.c $(FLAGS_STAMP) | $(DEPS_OK)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

# Runs every time, but rewrites the stamp only when the flags differ; make
# then rebuilds what depends on it only when its time changed.
.PHONY: FORCE
$(FLAGS_STAMP): FORCE
	@mkdir -p $(@D) && printf '%s\n' '$(subst ','\'',$(FLAGS_NOW))' >$@.new && \
		{ cmp -s $@.new $@ && rm -f $@.new || mv -f $@.new $@; }

# Criterion test binaries: one per module.
# A test's fixtures from elsewhere (the notifiers' Kafka test runs on the
# embedded broker).
TEST_EXTRA_notify = $(call mod_obj,ingest)
.SECONDEXPANSION:
$(BUILD)/tests/test_%: tests/test_%.c $$(call layer_of,$$*) $$(TEST_EXTRA_$$*) | $(DEPS_OK)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(call layer_of,$*) $(TEST_EXTRA_$*) $(LDFLAGS) $(LDLIBS) -lcriterion

# The corpus generator (bench/gen*.c, what they share in bench/gen.h): -O2,
# never under a sanitizer, whatever BUILD is (the tests of every build
# directory share this one binary). The library code it
# links (core/clock.c for dates, parse/json.c and core/record.c for --check) is
# compiled with its flags into build/bench-gen/.
GEN_CFLAGS = -std=c11 -O2 -g -Wall -Wextra -Werror -D_POSIX_C_SOURCE=200809L -I. -MMD -MP
GEN_OBJ = build/bench-gen/bench/gen.o build/bench-gen/bench/gen_text.o build/bench-gen/bench/gen_records.o \
	build/bench-gen/bench/gen_incidents.o build/bench-gen/core/clock.o build/bench-gen/parse/json.o \
	build/bench-gen/core/record.o build/bench-gen/core/buf.o

build/bench-gen/%.o: %.c | $(DEPS_OK)
	@mkdir -p $(dir $@)
	$(CC) $(GEN_CFLAGS) -c -o $@ $<

bench/gen: $(GEN_OBJ)
	$(CC) -o $@ $(GEN_OBJ) -lm

# ---- tests ----------------------------------------------------------------

test-unit: $(TEST_BIN)
	@tests/run-unit.sh $(TEST_BIN)

TEST_TOOLS = $(BUILD)/http_sink $(BUILD)/poison $(BUILD)/http_flood
TOOLS_ENV = HTTP_SINK=$(BUILD)/http_sink POISON=$(BUILD)/poison HTTP_FLOOD=$(BUILD)/http_flood

# The scripts run side by side, TEST_JOBS at a time (tests/run-integration.sh);
# $(BUILD)/test-times keeps how long each took, to start the longest first.
test-integration: $(BUILD)/vigil bench/gen $(TEST_TOOLS)
	@VIGIL=$(BUILD)/vigil $(TOOLS_ENV) TEST_TIMES=$(BUILD)/test-times tests/run-integration.sh

# What test-unit and test-integration run, built (make -j).
test-build: $(TEST_BIN) $(BUILD)/vigil bench/gen $(TEST_TOOLS)

# The reliability scenarios (tests/reliability/): short versions alone; `make soak`
# runs the long ones (SOAK=1).
RELIABILITY = VIGIL=$(BUILD)/vigil $(TOOLS_ENV) TEST_SCRIPTS='tests/reliability/*.sh'
test-reliability: $(BUILD)/vigil bench/gen $(TEST_TOOLS)
	@$(RELIABILITY) TEST_TIMES=$(BUILD)/test-times tests/run-integration.sh

soak: $(BUILD)/vigil bench/gen $(TEST_TOOLS)
	@SOAK=1 $(RELIABILITY) tests/run-integration.sh

# A webhook receiver for the alert tests.
$(BUILD)/http_sink: tests/tools/http_sink.c $(FLAGS_STAMP) | $(DEPS_OK)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $<

# Idle and slowloris connections against the HTTP endpoints, with a probe
# timing /health meanwhile (tests/integration/http_abuse.sh).
$(BUILD)/http_flood: tests/tools/http_flood.c $(FLAGS_STAMP) | $(DEPS_OK)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $<

# The reliability suite's poison generator (malformed and hostile records),
# checked against vigil's own parser.
POISON_OBJ = $(BUILD)/parse/json.o $(BUILD)/core/record.o $(BUILD)/core/buf.o $(BUILD)/core/clock.o
$(BUILD)/poison: tests/tools/poison.c $(POISON_OBJ) $(FLAGS_STAMP) | $(DEPS_OK)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(POISON_OBJ) $(LDFLAGS)

# The whole suite: plain, ASan+UBSan and TSan for threaded code, side by
# side (tests/run-all.sh). Ends with one "N passed, N failed" line.
test: all
	@tests/run-all.sh

asan:
	@$(MAKE) --no-print-directory BUILD=build/asan CC=clang SAN=-fsanitize=address test-unit test-integration

ubsan:
	@$(MAKE) --no-print-directory BUILD=build/ubsan CC=clang SAN=-fsanitize=undefined test-unit test-integration

SAN_MAKE = $(MAKE) --no-print-directory BUILD=build/san CC=clang SAN=-fsanitize=address,undefined
san:
	@+TRUTH_RECORDS=$${TRUTH_RECORDS:-200000} ARCHIVE_RECORDS=$${ARCHIVE_RECORDS:-100000} INCIDENTS_SHORT=1 ALERT_REF_SHORT=1 DEMO_SLOW=1 RELIABILITY_SCALE=$${RELIABILITY_SCALE:-4} BACKLOG_SECTIONS=$${BACKLOG_SECTIONS:-"A C"} $(SAN_MAKE) test-unit test-integration

san-build:
	@+$(SAN_MAKE) test-build

# ThreadSanitizer for the threaded code. Criterion cannot run under TSan
# (Criterion issue #274), so the concurrent scenarios have a plain driver,
# and vigil aggregate runs with several threads on generated records.
TSAN_MAKE = $(MAKE) --no-print-directory BUILD=build/tsan CC=clang SAN=-fsanitize=thread
tsan:
	@+$(TSAN_MAKE) test-tsan

tsan-build:
	@+$(TSAN_MAKE) test-tsan-build

test-tsan-build: $(BUILD)/tsan_window $(BUILD)/tsan_archive $(BUILD)/tsan_http $(BUILD)/tsan_notify $(BUILD)/vigil bench/gen
test-tsan: test-tsan-build
	@VIGIL=$(BUILD)/vigil TSAN_WINDOW=$(BUILD)/tsan_window TSAN_ARCHIVE=$(BUILD)/tsan_archive \
		TSAN_HTTP=$(BUILD)/tsan_http TSAN_NOTIFY=$(BUILD)/tsan_notify tests/run-tsan.sh
$(BUILD)/tsan_notify: tests/tsan/tsan_notify.c $(LIB_OBJ) | $(DEPS_OK)
	$(CC) $(CFLAGS) -o $@ $< $(LIB_OBJ) $(LDFLAGS) $(LDLIBS)

$(BUILD)/tsan_http: tests/tsan/tsan_http.c $(LIB_OBJ) | $(DEPS_OK)
	$(CC) $(CFLAGS) -o $@ $< $(LIB_OBJ) $(LDFLAGS) $(LDLIBS)

$(BUILD)/tsan_archive: tests/tsan/tsan_archive.c $(LIB_OBJ) | $(DEPS_OK)
	$(CC) $(CFLAGS) -o $@ $< $(LIB_OBJ) $(LDFLAGS) $(LDLIBS)

$(BUILD)/tsan_window: tests/tsan/tsan_window.c tests/window_scenario.h $(LIB_OBJ) | $(DEPS_OK)
	$(CC) $(CFLAGS) -o $@ $< $(LIB_OBJ) $(LDFLAGS) $(LDLIBS)

# ---- fuzzing --------------------------------------------------------------

FUZZ_SECONDS ?= 60
FUZZ_LIB_SRC = $(wildcard core/*.c parse/*.c aggregate/*.c alert/*.c sink/*.c) build/gen/rules_builtin.c

build/fuzz/fuzz_parse: tests/fuzz/fuzz_parse.c $(FUZZ_LIB_SRC) $(FLAGS_STAMP) | $(DEPS_OK)
	@mkdir -p $(dir $@)
	clang $(CFLAGS_BASE) -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -o $@ \
		tests/fuzz/fuzz_parse.c $(FUZZ_LIB_SRC) $(shell pkg-config --libs $(PKGS)) -lm

build/fuzz/fuzz_manifest: tests/fuzz/fuzz_manifest.c $(FUZZ_LIB_SRC) $(FLAGS_STAMP) | $(DEPS_OK)
	@mkdir -p $(dir $@)
	clang $(CFLAGS_BASE) -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -o $@ \
		tests/fuzz/fuzz_manifest.c $(FUZZ_LIB_SRC) $(shell pkg-config --libs $(PKGS)) -lm
# Each target for FUZZ_SECONDS: the record parser, then the archive reader's.
fuzz: build/fuzz/fuzz_parse build/fuzz/fuzz_manifest
	@mkdir -p build/fuzz/corpus build/fuzz/corpus-manifest
	build/fuzz/fuzz_parse -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -timeout=10 \
		-dict=tests/fuzz/json.dict build/fuzz/corpus tests/fuzz/seeds
	build/fuzz/fuzz_manifest -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -timeout=10 \
		-dict=tests/fuzz/json.dict build/fuzz/corpus-manifest tests/fuzz/seeds-manifest

# ---- benchmarks -----------------------------------------------------------

bench/bench_parse: bench/bench_parse.c $(PARSE_OBJ) | $(DEPS_OK)
	$(CC) $(CFLAGS) -o $@ $< $(PARSE_OBJ) $(LDFLAGS) $(LDLIBS)

bench/ref_simdjson: bench/ref_simdjson.cpp | $(DEPS_OK)
	$(CXX) -std=c++17 -O3 -DNDEBUG -Wall -Wextra -o $@ $< $(shell pkg-config --cflags --libs simdjson)

bench-parse: bench/gen bench/bench_parse bench/ref_simdjson
	@bench/parse.sh

bench/bench_sketch: bench/bench_sketch.c $(AGGREGATE_OBJ) | $(DEPS_OK)
	$(CC) $(CFLAGS) -o $@ $< $(AGGREGATE_OBJ) $(LDFLAGS) $(LDLIBS)

bench-aggregate: all bench/bench_sketch bench/bare_consumer bench/bench_archive
	@bench/aggregate.sh

bench/bench_archive: bench/bench_archive.c $(SINK_OBJ) | $(DEPS_OK)
	$(CC) $(CFLAGS) -o $@ $< $(SINK_OBJ) $(LDFLAGS) $(LDLIBS)

bench-archive: all bench/bench_archive
	@bench/archive.sh

bench/bare_consumer: bench/bare_consumer.c $(FLAGS_STAMP) | $(DEPS_OK)
	$(CC) $(CFLAGS) -o $@ $< $(shell pkg-config --libs rdkafka)

bench-kafka: all bench/bare_consumer
	@bench/kafka.sh

# Two or more vigil binaries on one topic, interleaved:
# make bench-kafka-compare VIGILS="old=/path/to/old/vigil new=build/vigil"
bench-kafka-compare: all
	@bench/kafka_compare.sh $(VIGILS)

bench-cardinality: all
	@bench/cardinality.sh

# Every stage, then the end-to-end run; one table, bench/results/<date>.json
# and a chart (bench/run.sh).
bench: all bench/bench_parse bench/ref_simdjson bench/bench_sketch bench/bare_consumer bench/bench_archive
	@bench/run.sh

# ---- demo -----------------------------------------------------------------

# Quick start: the embedded broker, a generated log stream, vigil run.
demo: all
	@scripts/demo.sh

# ---- install --------------------------------------------------------------

# make install [PREFIX=/usr/local] [DESTDIR=] [SYSCONFDIR=$(PREFIX)/etc]
#              [SYSTEMDUNITDIR=$(PREFIX)/lib/systemd/system] [INSTALL_VIGIL=$(BUILD)/vigil]
# vigil in bin/; bench/gen in libexec/vigil/gen, where vigil demo looks
# beside bin/; the shipped configuration and rules in share/vigil/ and, unless
# one is there already, the configuration in SYSCONFDIR/vigil/vigil.yaml (the
# one the unit runs with); README and docs/ in share/doc/vigil/; the systemd
# unit, its paths under PREFIX and SYSCONFDIR. INSTALL_VIGIL installs another
# build of the binary without rebuilding it (tests/integration/install.sh).
PREFIX ?= /usr/local
SYSCONFDIR ?= $(PREFIX)/etc
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
INSTALL_VIGIL ?= $(BUILD)/vigil
INSTALL ?= install

.PHONY: install uninstall
install: $(INSTALL_VIGIL) bench/gen
	$(INSTALL) -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/libexec/vigil $(DESTDIR)$(PREFIX)/share/vigil \
		$(DESTDIR)$(PREFIX)/share/doc/vigil/docs $(DESTDIR)$(SYSCONFDIR)/vigil $(DESTDIR)$(SYSTEMDUNITDIR)
	$(INSTALL) -m 755 $(INSTALL_VIGIL) $(DESTDIR)$(PREFIX)/bin/vigil
	$(INSTALL) -m 755 bench/gen $(DESTDIR)$(PREFIX)/libexec/vigil/gen
	$(INSTALL) -m 644 config/vigil.yaml config/rules.yaml config/rules.test.yaml $(DESTDIR)$(PREFIX)/share/vigil/
	@test -e $(DESTDIR)$(SYSCONFDIR)/vigil/vigil.yaml && \
		echo "$(DESTDIR)$(SYSCONFDIR)/vigil/vigil.yaml kept (the shipped one: $(PREFIX)/share/vigil/vigil.yaml)" || \
		$(INSTALL) -m 644 -v config/vigil.yaml $(DESTDIR)$(SYSCONFDIR)/vigil/vigil.yaml
	$(INSTALL) -m 644 README.md $(DESTDIR)$(PREFIX)/share/doc/vigil/
	$(INSTALL) -m 644 docs/*.md $(DESTDIR)$(PREFIX)/share/doc/vigil/docs/
	sed -e 's|/usr/local/etc|$(SYSCONFDIR)|g' -e 's|/usr/local|$(PREFIX)|g' dist/vigil.service \
		>$(DESTDIR)$(SYSTEMDUNITDIR)/vigil.service
	chmod 644 $(DESTDIR)$(SYSTEMDUNITDIR)/vigil.service

# Everything install put there but the configuration in SYSCONFDIR, and the
# unit's state (/var/lib/vigil: the archive and the outbox).
uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/vigil $(DESTDIR)$(SYSTEMDUNITDIR)/vigil.service
	rm -rf $(DESTDIR)$(PREFIX)/libexec/vigil $(DESTDIR)$(PREFIX)/share/vigil $(DESTDIR)$(PREFIX)/share/doc/vigil

# ---- housekeeping ---------------------------------------------------------

# Regenerate docs/configuration.md's reference block from the binary
# (`make readme` is its old name).
docs readme: $(BUILD)/vigil
	@scripts/config-doc.sh $(BUILD)/vigil docs/configuration.md >docs/configuration.md.tmp && \
		mv docs/configuration.md.tmp docs/configuration.md

FORMAT_SRC = $(wildcard *.c core/*.[ch] parse/*.[ch] aggregate/*.[ch] alert/*.[ch] sink/*.[ch] ingest/*.[ch] \
	pipeline/*.[ch] cli/*.[ch] \
	tests/*.c tests/fuzz/*.c bench/*.c)

format:
	clang-format -i $(FORMAT_SRC)

format-check:
	clang-format --dry-run --Werror $(FORMAT_SRC)

clean:
	rm -rf build vigil bench/gen bench/bench_parse bench/ref_simdjson bench/bench_sketch bench/bare_consumer bench/bench_archive bench/*.d

-include $(sort $(wildcard $(BUILD)/*.d $(BUILD)/*/*.d $(BUILD)/*/*/*.d build/bench-gen/*/*.d bench/*.d))

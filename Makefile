# cluebus — build, test, demo.
#
#   make          binaries in bin/, the libraries in build/ (gcc by default; CC=clang works too)
#   make install  binaries, libcluebus.a, libcluebus.so.N, the public headers and cluebus.pc
#                 under $(DESTDIR)$(PREFIX) (PREFIX=/usr/local; LIBDIR, INCLUDEDIR, BINDIR_INST)
#   make test     installs missing packages, builds with clang + ASan/UBSan in build/asan,
#                 runs unit tests, fuzz-corpus replay and integration tests against it,
#                 then `make faults` (allocation failure N = 1, 2, ..., build/fault, no ASan)
#                 and `make bench-smoke` (the benchmark works; its numbers mean nothing)
#   make demo     installs missing packages, builds, runs the demo scenario in $(DEMO_DIR)
#                 (DEMO_KEEP=1 leaves it running); make demo-clean stops it and removes it
#
# O is the object directory and BINDIR the binary directory, so that the sanitizer build
# (O=build/asan) lives beside the normal one without mixing objects.

CC	?= cc
O	?= build
BINDIR	?= bin
SAN	?=
DEMO_DIR ?= demo/run

# The version is written once, in include/cluebus/version.h.
VERSION	:= $(shell sed -n 's/^\#define CB_VERSION[[:space:]]*"\(.*\)"/\1/p' include/cluebus/version.h)
SOMAJOR	:= $(shell sed -n 's/^\#define CB_VERSION_MAJOR[[:space:]]*\([0-9]*\)/\1/p' include/cluebus/version.h)

PREFIX	?= /usr/local
DESTDIR	?=
BINDIR_INST ?= $(PREFIX)/bin
LIBDIR	?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig

PKGS	 = libzmq libprotobuf-c lmdb libcrypto jansson libconfig libmicrohttpd libsodium
# What the library's own objects use: cluebus.pc's Requires.private.
LIB_PKGS = libzmq libprotobuf-c lmdb libcrypto jansson libconfig libsodium
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN	 = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	   -Wno-missing-field-initializers
CFLAGS	?= -O2 -g
ifeq ($(SAN),1)
CFLAGS	 = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	   -fno-sanitize-recover=all -DCLUEBUS_TEST_HOOKS
LDFLAGS	+= -fsanitize=address,undefined
endif
ALL_CFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE $(WARN) $(CFLAGS) \
	   -I$(O) -Iinclude -Ilib $(PKG_CFLAGS)
LIBS	 = $(PKG_LIBS) -lpthread

PROTO_C	 = $(O)/cluebus.pb-c.c
PROTO_H	 = $(O)/cluebus.pb-c.h
LIB_SRC	 = $(wildcard lib/*.c)
LIB_OBJ	 = $(O)/cluebus.pb-c.o $(patsubst lib/%.c,$(O)/lib/%.o,$(LIB_SRC))
LIBA	 = $(O)/libcluebus.a
SONAME	 = libcluebus.so.$(SOMAJOR)
LIBSO	 = $(O)/libcluebus.so.$(VERSION)
PUBLIC_H = $(wildcard include/cluebus/*.h)

BROKER_OBJ = $(patsubst broker/%.c,$(O)/broker/%.o,$(wildcard broker/*.c))
AGENT_OBJ  = $(patsubst agents/%.c,$(O)/agents/%.o,$(wildcard agents/*.c))
TOOLS	 = $(patsubst tools/%.c,$(BINDIR)/cluebus-%,$(wildcard tools/*.c))
EXAMPLES = $(patsubst examples/%.c,$(BINDIR)/example-%,$(wildcard examples/*.c))
UNIT_TESTS = $(patsubst tests/unit/%.c,$(O)/tests/%,$(wildcard tests/unit/test_*.c))
TEST_TOOLS = $(patsubst tests/tools/%.c,$(O)/tests/tools/%,$(wildcard tests/tools/*.c))
FUZZ_SRC = $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_REPLAY = $(patsubst tests/fuzz/%.c,$(O)/fuzz/%-replay,$(FUZZ_SRC))

BINS	 = $(BINDIR)/cluebus-broker $(BINDIR)/cluebus-agent $(TOOLS) $(EXAMPLES)

.PHONY: all deps install test unit fuzz-replay integration demo fuzz clean check-clang bench bench-smoke \
	torture demo-clean \
	faults
.SECONDARY:

all: deps
	@$(MAKE) --no-print-directory build-all

build-all: $(BINS) $(LIBSO) $(O)/cluebus.pc

deps:
	@./scripts/deps.sh

# One run of protoc-c makes both files (a grouped target): two runs under -j would rewrite
# the header after objects were compiled against it, and the next make would rebuild them.
$(PROTO_C) $(PROTO_H) &: proto/cluebus.proto
	@mkdir -p $(O)
	protoc-c --c_out=$(O) --proto_path=proto proto/cluebus.proto

# The library's objects go into both libcluebus.a and libcluebus.so: position-independent,
# and hidden unless declared CB_EXPORT in include/cluebus/ (export.h).
LIB_VIS	 = -fPIC -fvisibility=hidden
$(LIB_OBJ): ALL_CFLAGS += $(LIB_VIS)

$(O)/cluebus.pb-c.o: $(PROTO_C)
	$(CC) -std=c11 $(CFLAGS) $(LIB_VIS) -I$(O) $(PKG_CFLAGS) -c $< -o $@

$(O)/%.o: %.c $(PROTO_H) $(wildcard include/cluebus/*.h lib/*.h broker/*.h agents/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(LIBA): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(LIBSO): $(LIB_OBJ)
	$(CC) $(LDFLAGS) -shared -Wl,-soname,$(SONAME) -o $@ $^ $(PKG_LIBS) -lpthread
	ln -sf $(notdir $@) $(O)/$(SONAME)
	ln -sf $(SONAME) $(O)/libcluebus.so

$(O)/cluebus.pc: cluebus.pc.in include/cluebus/version.h Makefile
	@mkdir -p $(O)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' \
	    -e 's|@REQUIRES_PRIVATE@|$(LIB_PKGS)|' $< >$@

$(BINDIR)/cluebus-broker: $(BROKER_OBJ) $(LIBA)
	@mkdir -p $(BINDIR)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BINDIR)/cluebus-agent: $(AGENT_OBJ) $(LIBA)
	@mkdir -p $(BINDIR)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BINDIR)/cluebus-%: $(O)/tools/%.o $(LIBA)
	@mkdir -p $(BINDIR)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BINDIR)/example-%: $(O)/examples/%.o $(LIBA)
	@mkdir -p $(BINDIR)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(O)/tests/test_%: $(O)/tests/unit/test_%.o $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) -lcmocka

# The agent's spool is not in the library: its test links it directly.
$(O)/tests/test_spool: $(O)/tests/unit/test_spool.o $(O)/agents/spool.o $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) -lcmocka

# The broker's roles are tested without sockets: their tests link the broker's objects but
# main.o, and the fixture that starts one (tests/unit/broker_fixture.c).
BROKER_ROLE_OBJ = $(filter-out $(O)/broker/main.o,$(BROKER_OBJ)) $(O)/tests/unit/broker_fixture.o
BROKER_ROLE_TESTS = $(O)/tests/test_pipeline $(O)/tests/test_workflow $(O)/tests/test_metrics \
	   $(O)/tests/test_cases $(O)/tests/test_duties $(O)/tests/test_match \
	   $(O)/tests/test_sealcheck $(O)/tests/test_handling $(O)/tests/test_sealdir

$(O)/tests/unit/test_pipeline.o $(O)/tests/unit/test_workflow.o \
$(O)/tests/unit/test_metrics.o $(O)/tests/unit/test_cases.o $(O)/tests/unit/test_duties.o \
$(O)/tests/unit/test_match.o $(O)/tests/unit/test_sealcheck.o $(O)/tests/unit/test_handling.o \
$(O)/tests/unit/test_sealdir.o $(O)/tests/unit/broker_fixture.o: ALL_CFLAGS += -Ibroker
$(O)/tests/unit/test_pipeline.o $(O)/tests/unit/test_workflow.o \
$(O)/tests/unit/test_cases.o $(O)/tests/unit/test_duties.o $(O)/tests/unit/test_match.o \
$(O)/tests/unit/test_sealcheck.o $(O)/tests/unit/test_handling.o $(O)/tests/unit/test_sealdir.o \
$(O)/tests/unit/broker_fixture.o: tests/unit/broker_fixture.h

# test_workflow catches the broker's fatal exit on a corrupt store (--wrap).
$(O)/tests/test_workflow: LDFLAGS += -Wl,--wrap=fatalx

$(BROKER_ROLE_TESTS): $(O)/tests/test_%: $(O)/tests/unit/test_%.o $(BROKER_ROLE_OBJ) $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) -lcmocka

# Helper programs the integration tests drive (forged frames, log tampering, ...).
$(O)/tests/tools/%: $(O)/tests/tools/%.o $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# Fuzz targets built without libFuzzer: a main() that replays the committed corpus.
$(O)/fuzz/%-replay: $(O)/tests/fuzz/%.o $(O)/tests/fuzz/replay_main.o $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(O)/tests/fuzz/replay_main.o: tests/fuzz/replay_main.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

# ---- install ----

# cluebus.pc is made anew for the PREFIX given here; the binaries link the static library.
install: build-all
	@rm -f $(O)/cluebus.pc
	@$(MAKE) --no-print-directory $(O)/cluebus.pc
	install -d $(DESTDIR)$(BINDIR_INST) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PKGCONFIGDIR) \
	    $(DESTDIR)$(INCLUDEDIR)/cluebus
	install -m 0755 $(BINDIR)/cluebus-broker $(BINDIR)/cluebus-agent $(TOOLS) \
	    $(DESTDIR)$(BINDIR_INST)
	install -m 0644 $(LIBA) $(DESTDIR)$(LIBDIR)
	install -m 0755 $(LIBSO) $(DESTDIR)$(LIBDIR)
	ln -sf $(notdir $(LIBSO)) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libcluebus.so
	install -m 0644 $(PUBLIC_H) $(DESTDIR)$(INCLUDEDIR)/cluebus
	install -m 0644 $(O)/cluebus.pc $(DESTDIR)$(PKGCONFIGDIR)

# ---- tests ----

# The builds that `make test`, `make faults`, `make fuzz`, `make bench-smoke` and
# `make torture` run for themselves use every core, unless make was given -j (its job
# server is then shared).
JOBS	?= $(shell nproc 2>/dev/null || echo 2)
PAR	 = $(if $(findstring jobserver,$(MAKEFLAGS)),,-j$(JOBS))

ASAN_O	 = build/asan
ASAN_BIN = build/asan/bin

test: deps
	@./scripts/deps.sh --browser || echo "deps: no chromium: the status page test skips" >&2
	@$(MAKE) --no-print-directory $(PAR) CC=clang SAN=1 O=$(ASAN_O) BINDIR=$(ASAN_BIN) \
	    build-all tests-built
	@$(MAKE) --no-print-directory CC=clang SAN=1 O=$(ASAN_O) BINDIR=$(ASAN_BIN) \
	    unit fuzz-replay integration
	@$(MAKE) --no-print-directory faults
	@$(MAKE) --no-print-directory $(PAR) bench-smoke

tests-built: $(UNIT_TESTS) $(FUZZ_REPLAY) $(TEST_TOOLS)

unit: $(UNIT_TESTS)
	@set -e; for t in $(UNIT_TESTS); do echo "== $$t"; $$t; done

fuzz-replay: $(FUZZ_REPLAY)
	@set -e; for t in $(FUZZ_REPLAY); do \
	    name=$$(basename $$t -replay); echo "== $$name corpus"; \
	    $$t tests/fuzz/corpus/$$name; done

integration: build-all $(TEST_TOOLS)
	@CLUEBUS_BIN=$(abspath $(BINDIR)) CLUEBUS_TEST_TOOLS=$(abspath $(O)/tests/tools) \
	    tests/integration/run.sh

# ---- allocation-failure injection (tests/fault): no sanitizer, which would own malloc ----

FAULT_O	 = build/fault
FAULT_OBJ = $(patsubst %.c,$(O)/%.o,$(wildcard tests/fault/*.c)) $(BROKER_ROLE_OBJ)

$(O)/tests/fault/%.o: ALL_CFLAGS += -Ibroker -Itests/unit
$(patsubst %.c,$(O)/%.o,$(wildcard tests/fault/*.c)): $(wildcard tests/fault/*.h) \
	   tests/unit/broker_fixture.h

# The broker's fatal exits are caught by the harness (--wrap); its replies are handed to the
# harness by round_commit.
$(O)/tests/fault/test_alloc_faults: $(FAULT_OBJ) $(LIBA)
	$(CC) $(LDFLAGS) -Wl,--wrap=fatalx -o $@ $^ $(LIBS)

faults: deps
	@$(MAKE) --no-print-directory $(PAR) O=$(FAULT_O) BINDIR=$(FAULT_O)/bin SAN= \
	    CFLAGS="-O1 -g" $(FAULT_O)/tests/fault/test_alloc_faults
	@echo "== allocation failure injection"
	@$(FAULT_O)/tests/fault/test_alloc_faults

# ---- fuzzing with libFuzzer (clang) ----

FUZZ_SECONDS ?= 30
FUZZ_O	 = build/fuzz
fuzz: deps
	@$(MAKE) --no-print-directory $(PAR) CC=clang O=$(FUZZ_O) BINDIR=$(FUZZ_O)/bin \
	    CFLAGS="-O1 -g -fsanitize=fuzzer-no-link,address,undefined" $(FUZZ_O)/libcluebus.a
	@set -e; for src in $(FUZZ_SRC); do \
	    name=$$(basename $$src .c); \
	    clang -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -g -O1 \
	      -fsanitize=fuzzer,address,undefined -I$(FUZZ_O) -Iinclude -Ilib $(PKG_CFLAGS) \
	      $$src $(FUZZ_O)/libcluebus.a $(LIBS) -o $(FUZZ_O)/$$name; \
	    mkdir -p $(FUZZ_O)/corpus/$$name; \
	    echo "== fuzz $$name for $(FUZZ_SECONDS)s"; \
	    $(FUZZ_O)/$$name -max_total_time=$(FUZZ_SECONDS) -max_len=65536 \
	      $(FUZZ_O)/corpus/$$name tests/fuzz/corpus/$$name >$(FUZZ_O)/$$name.log 2>&1 || \
	      { tail -50 $(FUZZ_O)/$$name.log; exit 1; }; \
	    tail -1 $(FUZZ_O)/$$name.log; \
	done

# ---- benchmark (timing is measured, never asserted; make test runs only the smoke) ----

bench: deps
	@$(MAKE) --no-print-directory build-all
	@CLUEBUS_BIN=$(abspath $(BINDIR)) ./scripts/bench.sh

# A few hundred messages through every phase but the peers' (≈ 20 s): the load generator and
# the script still build and run. Exit status only.
bench-smoke: build-all
	@echo "== bench smoke (BENCH_QUICK=1)"
	@CLUEBUS_BIN=$(abspath $(BINDIR)) BENCH_QUICK=1 ./scripts/bench.sh >/dev/null
	@echo "bench smoke: ok"

# ---- torture: long crash loops and hostile peers, bounded in time ----

torture: deps
	@$(MAKE) --no-print-directory $(PAR) CC=clang SAN=1 O=$(ASAN_O) BINDIR=$(ASAN_BIN) \
	    build-all tests-built
	@CLUEBUS_BIN=$(abspath $(ASAN_BIN)) CLUEBUS_TEST_TOOLS=$(abspath $(ASAN_O)/tests/tools) \
	    tests/torture/run.sh

# ---- demo ----

demo: all
	@DEMO_DIR=$(DEMO_DIR) ./scripts/demo.sh

demo-clean:
	@DEMO_DIR=$(DEMO_DIR) ./scripts/demo.sh --clean

clean:
	rm -rf build bin

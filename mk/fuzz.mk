# Fuzz targets for every decoder of outside bytes: tests/fuzz/fuzz_*.c.
# Included by the top-level Makefile.
#
#   make fuzz          run each libFuzzer target FUZZ_SECONDS (600) after
#                      replaying the seed corpora; new inputs go to
#                      $(B)/fuzz/work, never into tests/fuzz/corpus
#   make fuzz-replay   replay tests/fuzz/corpus/* with the gcc build
#   make fuzz-build    build both
#
# make check runs tests/integration/45-fuzz.sh: the replay, then each
# target for FUZZ_SECONDS (there 30).  FUZZ_TARGETS="wire conf" picks some.
#
# Each target is built twice from the same source: with clang and libFuzzer
# ($(B)/fuzz/fuzz_X), and with gcc and tests/fuzz/replay.c
# ($(B)/san/fuzz/fuzz_X), both with ASan+UBSan.  The seed corpus of
# fuzz_X is tests/fuzz/corpus/X/, its dictionary tests/fuzz/X.dict if any.

FUZZ_CC		?= clang
FUZZ_OPT	?= -O1 -g
FUZZ_SAN	 = -fsanitize=address,undefined \
		   -fno-sanitize-recover=undefined -fno-omit-frame-pointer \
		   -DAUDITDIST_SANITIZE
FUZZ_ALL_CFLAGS	 = $(FUZZ_OPT) $(WARNINGS) $(WERROR) $(CPPFLAGS) $(FUZZ_SAN)

FUZZ_SRC	 = $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN	 = $(FUZZ_SRC:tests/fuzz/%.c=$(B)/fuzz/%)
FUZZ_REPLAY_BIN	 = $(FUZZ_SRC:tests/fuzz/%.c=$(B)/san/fuzz/%)
FUZZ_HDR	 = tests/fuzz/fuzz.h

# The modules the targets reach, instrumented for coverage.
FUZZ_LIB_SRC	 = common/compress.c common/conf.c common/conf_check.c \
		   common/conf_keys.c common/conf_lex.c common/evloop.c common/log.c \
		   common/msg.c common/tcur.c common/wire.c common/wire_health.c \
		   plugin/fwd_acks.c plugin/fwd_ipc.c plugin/fwd_super.c \
		   forwarder/plan.c forwarder/read.c \
		   plugin/intake.c plugin/limits.c plugin/spool.c \
		   plugin/status.c plugin/syncer.c receiver/imsg.c \
		   receiver/serial.c receiver/store.c receiver/trail.c
FUZZ_LIB_OBJ	 = $(FUZZ_LIB_SRC:%.c=$(B)/fuzz/obj/%.o)
FUZZ_LIB_OBJ_SAN = $(FUZZ_LIB_SRC:%.c=$(B)/san/%.o)

.PHONY: fuzz fuzz-build fuzz-replay

# Given to make, they reach tests/integration/45-fuzz.sh too.
ifdef FUZZ_SECONDS
export FUZZ_SECONDS
endif
ifdef FUZZ_TARGETS
export FUZZ_TARGETS
endif

$(B)/fuzz/.flags: FORCE
	@mkdir -p $(@D)
	@echo '$(FUZZ_CC) $(FUZZ_ALL_CFLAGS)' | cmp -s - $@ || \
	    echo '$(FUZZ_CC) $(FUZZ_ALL_CFLAGS)' > $@

$(B)/fuzz/obj/forwarder/%.o: FUZZ_ALL_CFLAGS += -Iplugin
$(B)/fuzz/obj/%.o: %.c $(B)/fuzz/.flags
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_ALL_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP \
	    -c -o $@ $<

$(B)/fuzz/libauditdist.a: $(FUZZ_LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

# The gcc objects are the sanitizer build's own ($(B)/san/%.o).
$(B)/san/fuzz/libauditdist.a: $(FUZZ_LIB_OBJ_SAN)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(B)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_HDR) $(B)/fuzz/libauditdist.a
	$(FUZZ_CC) $(FUZZ_ALL_CFLAGS) -fsanitize=fuzzer -Iplugin -Ireceiver \
	    -o $@ $< $(B)/fuzz/libauditdist.a $(LDFLAGS) $(LIBS_ALL)

$(B)/san/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(FUZZ_HDR) \
    $(B)/san/fuzz/libauditdist.a
	$(CC) $(ALL_CFLAGS) $(SAN) -Iplugin -Ireceiver -o $@ $< \
	    tests/fuzz/replay.c $(B)/san/fuzz/libauditdist.a $(LDFLAGS) \
	    $(LIBS_ALL)

fuzz-build: $(FUZZ_BIN) $(FUZZ_REPLAY_BIN)

fuzz-replay: $(FUZZ_REPLAY_BIN)
	B=$(B) FUZZ_SECONDS=0 bash tests/integration/45-fuzz.sh

fuzz: deps fuzz-build
	B=$(B) FUZZ_SECONDS=$(or $(FUZZ_SECONDS),600) \
	    FUZZ_WORK=$(B)/fuzz/work bash tests/integration/45-fuzz.sh

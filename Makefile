# auditdist: audisp-dist (the auditd plugin and its forwarder) and auditdistd.
#
#   make            build into build/ (warnings are errors; WERROR= to relax)
#   make check      install missing packages, build with -Werror, run every test
#   make demo       install missing packages, build, run the demonstration
#   make bench      build and print the benchmark table
#   make install    install under DESTDIR/PREFIX
#   make deb        build the Debian packages into build/deb/ and lintian them

PREFIX	?= /usr
SBINDIR	?= $(PREFIX)/sbin
MANDIR	?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
DESTDIR	?=

CC	?= cc
CFLAGS	?= -O2 -g
WERROR	?= -Werror
WARNINGS = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	   -Wpointer-arith -Wcast-qual -Wformat=2 -Wno-format-nonliteral
CPPFLAGS += -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -Icommon
LDFLAGS	?=
LDFLAGS	+= -Wl,--as-needed -Wl,-z,relro -Wl,-z,now
SAN	= -fsanitize=address,undefined -fno-omit-frame-pointer \
	  -fno-sanitize-recover=undefined -DAUDITDIST_SANITIZE

B	= build
ALL_CFLAGS = $(CFLAGS) $(WARNINGS) $(WERROR) $(CPPFLAGS)

# Every .c file but the processes' own goes into one archive; each program
# links only the members it needs.
RECV_MAIN   = receiver/main.c receiver/net.c
MAINS       = plugin/main.c forwarder/main.c $(RECV_MAIN)
COMMON_SRC  = $(sort $(wildcard common/*.c))
PLUGIN_SRC  = $(sort $(filter-out $(MAINS),$(wildcard plugin/*.c)))
FWD_SRC     = $(sort $(filter-out $(MAINS),$(wildcard forwarder/*.c)))
RECV_SRC    = $(sort $(filter-out $(MAINS),$(wildcard receiver/*.c)))
LIB_SRC     = $(COMMON_SRC) $(PLUGIN_SRC) $(FWD_SRC) $(RECV_SRC)
UNIT_SRC    = $(sort $(wildcard tests/unit/*_test.c))
HELPER_SRC  = $(sort $(wildcard tests/helpers/*.c))

LIBS_PLUGIN = -laudit -lpthread -lseccomp
LIBS_TLS    = -lssl -lcrypto -lseccomp -lzstd
LIBS_AUPARSE = -lauparse -laudit
LIBS_ALL    = $(LIBS_PLUGIN) $(LIBS_TLS) -lsystemd $(LIBS_AUPARSE)
# The NATS client: auditdistd's publisher (and the test consumer) alone.
LIBS_NATS   = -lnats

LIB_OBJ      = $(LIB_SRC:%.c=$(B)/%.o)
LIB_OBJ_SAN  = $(LIB_SRC:%.c=$(B)/san/%.o)
UNIT_BIN     = $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
UNIT_BIN_SAN = $(UNIT_SRC:tests/unit/%.c=$(B)/san/tests/%)
HELPER_BIN   = $(HELPER_SRC:tests/helpers/%.c=$(B)/tests/%)
PROGS        = $(B)/audisp-dist \
	       $(if $(wildcard forwarder/main.c),$(B)/audisp-dist-forwarder) \
	       $(if $(wildcard receiver/main.c),$(B)/auditdistd)
MANPAGES     = $(sort $(wildcard man/*.[0-9]))

.PHONY: all check demo bench install clean deps unit lint deb FORCE
all: $(PROGS)

# Rebuild everything when the flags change (so "make check" really uses -Werror).
$(B)/.flags: FORCE
	@mkdir -p $(B)
	@echo '$(ALL_CFLAGS) $(SAN)' | cmp -s - $@ || echo '$(ALL_CFLAGS) $(SAN)' > $@

$(B)/%.o: %.c $(B)/.flags
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(B)/san/%.o: %.c $(B)/.flags
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(SAN) -MMD -MP -c -o $@ $<

# The forwarder's files share the plugin's header for their messages.
$(B)/forwarder/%.o $(B)/san/forwarder/%.o: ALL_CFLAGS += -Iplugin

$(B)/libauditdist.a: $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

$(B)/san/libauditdist.a: $(LIB_OBJ_SAN)
	rm -f $@ && ar rcs $@ $^

$(B)/audisp-dist: $(B)/plugin/main.o $(B)/libauditdist.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS_PLUGIN)

# The plugin built with ASan+UBSan, for the tests that feed it bad input.
$(B)/san/audisp-dist: $(B)/san/plugin/main.o $(B)/san/libauditdist.a
	$(CC) $(CFLAGS) $(SAN) $(LDFLAGS) -o $@ $^ $(LIBS_PLUGIN)

$(B)/audisp-dist-forwarder: $(B)/forwarder/main.o $(B)/libauditdist.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS_TLS) -lpthread

$(B)/auditdistd: $(RECV_MAIN:%.c=$(B)/%.o) $(B)/libauditdist.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS_TLS) -lsystemd -lpthread $(LIBS_AUPARSE) $(LIBS_NATS)

# Test builds: the release programs with the sandbox's test trigger
# (SIGUSR2: try what the sandbox forbids), for 74-sandbox only.
TEST_PROGS = $(B)/test/audisp-dist $(B)/test/audisp-dist-forwarder \
	     $(B)/test/auditdistd
$(B)/test/common/sandbox.o: common/sandbox.c $(B)/.flags
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -DAUDITDIST_TEST_HOOKS -MMD -MP -c -o $@ $<

$(B)/test/audisp-dist: $(B)/plugin/main.o $(B)/test/common/sandbox.o $(B)/libauditdist.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS_PLUGIN)

$(B)/test/audisp-dist-forwarder: $(B)/forwarder/main.o $(B)/test/common/sandbox.o $(B)/libauditdist.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS_TLS) -lpthread

# ... the publisher's (AUDITDIST_TEST_PUBLISH_EXIT), for 86-nats, the
# auditor's (AUDITDIST_TEST_AUDITOR_BADMSG), for 89-serial-gaps, and the
# reader's (AUDITDIST_TEST_READER_EXIT), for 90-nats-read.
$(B)/test/receiver/%.o: receiver/%.c $(B)/.flags
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -DAUDITDIST_TEST_HOOKS -MMD -MP -c -o $@ $<

$(B)/test/auditdistd: $(RECV_MAIN:%.c=$(B)/%.o) $(B)/test/common/sandbox.o $(B)/test/receiver/publish.o $(B)/test/receiver/reader.o $(B)/test/receiver/auditor.o $(B)/libauditdist.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS_TLS) -lsystemd -lpthread $(LIBS_AUPARSE) $(LIBS_NATS)

$(B)/tests/%: tests/unit/%.c $(B)/libauditdist.a $(wildcard tests/unit/*.h)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Iplugin -Ireceiver -o $@ $< $(B)/libauditdist.a $(LDFLAGS) $(LIBS_ALL)

$(B)/san/tests/%: tests/unit/%.c $(B)/san/libauditdist.a $(wildcard tests/unit/*.h)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(SAN) -Iplugin -Ireceiver -o $@ $< $(B)/san/libauditdist.a $(LDFLAGS) $(LIBS_ALL)

$(B)/tests/%: tests/helpers/%.c $(B)/libauditdist.a $(wildcard tests/helpers/*.h)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Iplugin -Ireceiver -o $@ $< $(B)/libauditdist.a $(LDFLAGS) $(LIBS_ALL)

# The stream reader of 86-nats: the one helper that links the NATS client.
$(B)/tests/natsread: tests/helpers/natsread.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LDFLAGS) $(LIBS_NATS)

# An LD_PRELOAD shim for 57-sync-order: who reports what is not synced.
# Built without _FILE_OFFSET_BITS, so that it can define open and open64.
SHIM_SO = $(B)/tests/syncorder.so
$(SHIM_SO): tests/shim/syncorder.c $(B)/.flags
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(WARNINGS) $(WERROR) -D_GNU_SOURCE -fPIC -shared -o $@ $< -ldl

# And for 91-nats-crash: who reads what is not durable; where to crash.
DURABLE_SO = $(B)/tests/durable.so
$(DURABLE_SO): tests/shim/durable.c $(B)/.flags
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(WARNINGS) $(WERROR) -D_GNU_SOURCE -fPIC -shared -o $@ $< -ldl

deps:
	@scripts/deps.sh

unit: $(UNIT_BIN) $(UNIT_BIN_SAN)

lint:
	mandoc -Tlint -W warning $(MANPAGES)

check: deps
	$(MAKE) WERROR=-Werror all $(UNIT_BIN) $(UNIT_BIN_SAN) $(HELPER_BIN) $(B)/san/audisp-dist $(TEST_PROGS) \
	    $(SHIM_SO) $(DURABLE_SO) $(FUZZ_BIN) $(FUZZ_REPLAY_BIN)
	mandoc -Tlint -W warning $(MANPAGES)
	B=$(B) tests/run.sh $(UNIT_BIN) $(UNIT_BIN_SAN) $(sort $(wildcard tests/integration/*.sh))

demo: deps all
	B=$(B) scripts/demo.sh

BENCH_SRC = $(sort $(wildcard bench/*.c))
$(B)/bench: $(BENCH_SRC) $(wildcard bench/*.h) tests/helpers/frames.h $(B)/libauditdist.a
	$(CC) $(ALL_CFLAGS) -Ibench -Itests/helpers -o $@ $(BENCH_SRC) $(B)/libauditdist.a $(LDFLAGS) $(LIBS_ALL)

bench: deps all $(HELPER_BIN) $(B)/bench
	B=$(B) $(B)/bench

SYSTEMDUNITDIR ?= $(or $(shell pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null),/lib/systemd/system)

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
	    $(DESTDIR)$(SYSCONFDIR)/audit/plugins.d $(DESTDIR)$(SYSCONFDIR)/audit/rules.d \
	    $(DESTDIR)$(SYSTEMDUNITDIR)
	for p in $(PROGS); do install -m 0755 $$p $(DESTDIR)$(SBINDIR)/; done
	install -m 0640 plugins.d/audisp-dist.conf $(DESTDIR)$(SYSCONFDIR)/audit/plugins.d/audisp-dist.conf
	install -m 0640 rules/20-audisp-dist.rules $(DESTDIR)$(SYSCONFDIR)/audit/rules.d/20-audisp-dist.rules
	install -m 0644 systemd/auditdistd.service systemd/auditdistd-reader.service \
	    systemd/audisp-dist.service $(DESTDIR)$(SYSTEMDUNITDIR)/
	[ -e $(DESTDIR)$(SYSCONFDIR)/audit/auditdistd.conf ] || \
	    install -m 0600 auditdistd.conf.sample $(DESTDIR)$(SYSCONFDIR)/audit/auditdistd.conf
	for m in $(MANPAGES); do \
	    s=$${m##*.}; install -d $(DESTDIR)$(MANDIR)/man$$s; \
	    install -m 0644 $$m $(DESTDIR)$(MANDIR)/man$$s/; done
	install -d -m 0750 $(DESTDIR)/var/spool/audisp-dist
	# The receiver's and the forwarder's unprivileged user (only on the
	# real system).
	if [ -z "$(DESTDIR)" ] && ! getent passwd auditdist >/dev/null; then \
	    useradd --system --user-group --no-create-home \
	        --home-dir /nonexistent --shell /usr/sbin/nologin auditdist; fi
	# The receiver's configuration, which it reads again as auditdist on
	# SIGHUP: root:auditdist 0750 and 0640 (root-only without the group).
	g=auditdist; getent group auditdist >/dev/null || { g=root; \
	    echo "note: no group auditdist: $(DESTDIR)$(SYSCONFDIR)/auditdistd is root's only;" \
	        "once it exists: chgrp -R auditdist $(SYSCONFDIR)/auditdistd"; }; \
	o=; [ "$$(id -u)" != 0 ] || o="-o root -g $$g"; \
	install -d $$o -m 0750 $(DESTDIR)$(SYSCONFDIR)/auditdistd && \
	{ [ -e $(DESTDIR)$(SYSCONFDIR)/auditdistd/auditdistd.conf ] || \
	    install $$o -m 0640 auditdistd-receiver.conf.sample \
	        $(DESTDIR)$(SYSCONFDIR)/auditdistd/auditdistd.conf; }

# The Debian packages, built in a copy of the tree under build/deb/ (the
# tree stays clean; the .deb files land in build/deb/), then lintian,
# which fails on any warning.
DEBDIR = $(B)/deb
deb: deps
	rm -rf $(DEBDIR) && mkdir -p $(DEBDIR)/auditdist
	tar --exclude=./build --exclude=./.git -cf - . | tar -C $(DEBDIR)/auditdist -xf -
	cd $(DEBDIR)/auditdist && dpkg-buildpackage -us -uc
	lintian -i --fail-on warning $(DEBDIR)/auditdist_*.changes
	@ls $(DEBDIR)/*.deb

clean:
	rm -rf $(B)

include mk/fuzz.mk

# (Not the copy that make deb builds in, nor directories such as rules.d.)
-include $(shell find $(B) -path $(B)/deb -prune -o -type f -name '*.d' -print 2>/dev/null)

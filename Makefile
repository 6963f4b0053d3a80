# petrel build. Plain make with wildcards: a new .c file under src/ joins
# libpetrel.a, a new tests/unit/test_*.c becomes a test binary, with no list
# to keep in sync.
#
#   make            build build/petrel
#   make run        install what is missing, build, boot the default guest
#   make test       install what is missing, build, run every test tier
#   make bench      run the benchmarks in bench/
#   make SAN=1      build with AddressSanitizer + UBSan (into build-san/)

CC      ?= cc
SAN     ?= 0
BUILD   ?= $(if $(filter 1,$(SAN)),build-san,build)
CPPFLAGS += -Iinclude -D_GNU_SOURCE -MMD -MP
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -Wall -Wextra -Werror -pthread -fno-strict-aliasing
LDLIBS  += -pthread -lz -llzma -lzstd -llz4 -lbz2
ifeq ($(SAN),1)
CFLAGS  += -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
endif

VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
CPPFLAGS += -DPETREL_VERSION='"$(VERSION)"'

LIB_SRC  := $(sort $(wildcard src/*.c src/*/*.c))
LIB_SRC  := $(filter-out src/main.c,$(LIB_SRC))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:%.c=$(BUILD)/%)
UNIT_HELPERS := $(filter-out $(UNIT_SRC),$(wildcard tests/unit/*.c))

.PHONY: all deps run test test-unit test-guest test-boot test-deep bench clean kernel initrd
all: $(BUILD)/petrel

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/libpetrel.a: $(LIB_OBJ)
	@rm -f $@
	@ar rcs $@ $^

$(BUILD)/petrel: $(BUILD)/src/main.o $(BUILD)/libpetrel.a
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/unit/%: tests/unit/%.c $(UNIT_HELPERS) $(BUILD)/libpetrel.a
	@mkdir -p $(dir $@)
	@echo "  TEST    $@"
	@$(CC) $(CPPFLAGS) -Itests/unit $(CFLAGS) $(LDFLAGS) -o $@ $< $(UNIT_HELPERS) $(BUILD)/libpetrel.a $(LDLIBS) -lcmocka

unit-bins: $(UNIT_BIN)
.PHONY: unit-bins

deps:
	@tools/deps.sh

# The default guest: Debian's cloud kernel and a busybox initramfs, cached
# under .cache/ (see tools/fetch-kernel.sh, tools/mkinitrd.sh).
KERNEL := .cache/vmlinuz
INITRD := .cache/initrd.img
$(KERNEL):
	tools/fetch-kernel.sh .cache
$(INITRD): tools/mkinitrd.sh
	tools/mkinitrd.sh $@
kernel: $(KERNEL)
initrd: $(INITRD)

# `make run NESTED=1` on a nested host whose KVM emulates guest kernel code
# (like our build machines, see README): hide the instructions its emulator
# lacks and let petrel deliver the software interrupts it gives up on.
RUN_CMDLINE ?= console=ttyS0
RUN_FLAGS ?=
ifeq ($(NESTED),1)
RUN_CMDLINE += noxsave
RUN_FLAGS += --cpu-features=-cx16,-xsave --emulation-assist
endif
run: deps
	@$(MAKE) --no-print-directory all $(KERNEL) $(INITRD)
	$(BUILD)/petrel run --kernel $(KERNEL) --initrd $(INITRD) \
		--cmdline "$(RUN_CMDLINE)" --mem 512M --cpus 2 $(RUN_FLAGS)

test: deps
	@tests/run-all.sh

test-unit:
	@tests/run-all.sh unit
test-guest:
	@tests/run-all.sh guest
test-boot:
	@tests/run-all.sh boot
test-deep:
	@tests/run-all.sh deep

bench: deps all
	@bench/run.sh

clean:
	rm -rf build build-san

-include $(LIB_OBJ:.o=.d) $(BUILD)/src/main.d

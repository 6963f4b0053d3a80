# petrel build. Plain make with wildcards: a new .c file under src/ joins
# libpetrel.a, a new tests/unit/test_*.c becomes a test binary, with no list
# to keep in sync.
#
#   make            build build/petrel
#   make run        install what is missing, build, boot the default guest
#   make test       install what is missing, build, run every test tier
#   make bench      run the benchmarks in bench/
#   make SAN=1      build with AddressSanitizer + UBSan (into build-san/)
#   make fuzz       run every libFuzzer target in tests/fuzz/ for FUZZ_TIME
#                   seconds each (clang, into build-fuzz/)

CC      ?= cc
SAN     ?= 0
BUILD   ?= $(if $(filter 1,$(SAN)),build-san,build)
CPPFLAGS += -Iinclude -D_GNU_SOURCE -MMD -MP
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -Wall -Wextra -Werror -pthread -fno-strict-aliasing
# The decompression libraries are linked statically: a dynamic link maps and
# relocates all five at every start (~0.4 MiB resident, measured in bench/),
# even for a guest that needs none of them.
LDLIBS  += -pthread -Wl,-Bstatic -lz -llzma -lzstd -llz4 -lbz2 -luring -ljansson -lseccomp -Wl,-Bdynamic
# libslirp (--net user) is not linked: src/net/slirp_lib.c loads it with
# dlopen when a VM asks for it (libslirp-dev for its header only).
# libmicrohttpd (--api-socket) likewise (src/api/api_server.c): linked, it
# maps GnuTLS and five more libraries into every petrel. jansson (the
# control API's JSON) is small and has no dependencies: static.
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

.PHONY: all deps run test test-unit test-cli test-guest test-boot test-virtio test-net test-trace test-api test-gdb test-seccomp test-deep test-fuzz bench clean kernel initrd
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
$(INITRD): $(KERNEL) tools/fetch-kernel.sh tools/mkinitrd.sh tools/initrd/boot_marker.c include/petrel/layout.h
	tools/fetch-kernel.sh $(dir $@) && tools/mkinitrd.sh $@
kernel: $(KERNEL)
initrd: $(INITRD)

# make run boots the default guest with its console on your terminal: on
# this machine's /dev/kvm when it has VMX/SVM, otherwise inside the nested VM
# (tests/nested/run.sh --tty; tools/kvm-where.sh decides, PETREL_KVM=host or
# nested forces). RUN_FLAGS adds petrel options, RUN_CMDLINE sets the kernel's.
RUN_CMDLINE ?= console=ttyS0
RUN_FLAGS ?=
RUN_ARGS = run --kernel $(KERNEL) --initrd $(INITRD) --cmdline "$(RUN_CMDLINE)" \
	--mem 512M --cpus 2 $(RUN_FLAGS)
run: deps
	@$(MAKE) --no-print-directory all $(KERNEL) $(INITRD)
	@if [ "$$(tools/kvm-where.sh)" = host ]; then \
		exec $(BUILD)/petrel $(RUN_ARGS); \
	else \
		echo "petrel: $$(tools/kvm-where.sh -v | tail -n1): booting the guest in the nested VM (QEMU TCG; Ctrl-A x quits)"; \
		exec tests/nested/run.sh --tty -- $(BUILD)/petrel $(RUN_ARGS); \
	fi
test: deps
	@tests/run-all.sh

test-unit:
	@tests/run-all.sh unit
test-cli:
	@tests/run-all.sh cli
test-guest:
	@tests/run-all.sh guest
test-boot:
	@tests/run-all.sh boot
test-virtio:
	@tests/run-all.sh virtio
test-net:
	@tests/run-all.sh net
test-trace:
	@tests/run-all.sh trace
test-api:
	@tests/run-all.sh api
test-gdb:
	@tests/run-all.sh gdb
test-seccomp:
	@tests/run-all.sh seccomp
test-deep:
	@tests/run-all.sh deep
test-fuzz:
	@tests/run-all.sh fuzz

bench: deps all
	@bench/run.sh

clean:
	rm -rf build build-san build-fuzz

-include $(LIB_OBJ:.o=.d) $(BUILD)/src/main.d

# --- bench ---
# Benchmark programs (bench/, see docs/performance.md), built into
# $(BUILD)/bench/ by `make bench` before bench/run.sh runs them. The two
# Multiboot guests are ELF32 so that QEMU's -kernel accepts them too.
# Where this machine's KVM has no VMX/SVM (or there is none), bench/run.sh
# runs the built programs, and QEMU's baselines, inside the nested VM
# (tests/nested/run.sh); PETREL_KVM=host|nested forces the choice.
BENCH_DIR   := $(BUILD)/bench
BENCH_FLAGS := -Iinclude -D_GNU_SOURCE $(CFLAGS)
BENCH_CPL3  := bench/cpl3.c bench/guest_cpl3.S
BENCH_BINS  := $(BENCH_DIR)/raw_kvm $(BENCH_DIR)/exit_petrel $(BENCH_DIR)/spawn \
	       $(BENCH_DIR)/mb_exit.elf $(BENCH_DIR)/mb_hold.elf $(BENCH_DIR)/irq_petrel
.PHONY: bench-bins
bench-bins: $(BENCH_BINS)
bench: bench-bins

$(BENCH_DIR)/raw_kvm: bench/raw_kvm.c $(BENCH_CPL3) bench/cpl3.h
	@mkdir -p $(dir $@)
	@echo "  BENCH   $@"
	@$(CC) $(BENCH_FLAGS) $(LDFLAGS) -o $@ bench/raw_kvm.c $(BENCH_CPL3)
$(BENCH_DIR)/exit_petrel: bench/exit_petrel.c $(BENCH_CPL3) bench/cpl3.h $(BUILD)/libpetrel.a
	@mkdir -p $(dir $@)
	@echo "  BENCH   $@"
	@$(CC) $(BENCH_FLAGS) $(LDFLAGS) -o $@ bench/exit_petrel.c $(BENCH_CPL3) \
		$(BUILD)/libpetrel.a $(LDLIBS)
$(BENCH_DIR)/spawn: bench/spawn.c
	@mkdir -p $(dir $@)
	@echo "  BENCH   $@"
	@$(CC) $(BENCH_FLAGS) $(LDFLAGS) -o $@ $<
# the guest side of bench/blk.sh: static, for the busybox initramfs (no libc)
$(BENCH_DIR)/blkio: bench/blkio.c
	@mkdir -p $(dir $@)
	@echo "  BENCH   $@"
	@$(CC) -static -O2 -std=c11 -Wall -Wextra -Werror -o $@ $<
$(BENCH_DIR)/mb_%.o: bench/guest/multiboot.S
	@mkdir -p $(dir $@)
	@$(CC) -m32 $(if $(filter hold,$*),-DHOLD) -c -o $@ $<
# -N: no page-aligned ELF headers in a LOAD segment below the kernel
$(BENCH_DIR)/mb_%.elf: $(BENCH_DIR)/mb_%.o
	@echo "  GUEST   $@"
	@$(LD) -m elf_i386 -N -nostdlib -static --build-id=none --no-warn-rwx-segments \
		-Ttext=0x100000 -e _start -o $@ $<
# --- end bench ---

# --- guest kit (tests/guest) ---
# Each tests/guest/test_*.c is built twice: its guest half (-DGUEST,
# freestanding, linked with the kit's guest runtime at the addresses in
# tests/guest/kit/kit_abi.h) and its host half, which embeds the guest ELF
# (tests/guest/kit/embed.S) and links libpetrel.a. test_multiboot*.c guests
# are 32-bit Multiboot kernels run by the petrel binary (and QEMU) instead.
# tests/guest/guests/*.c are guests without a test of their own (bench/).
GK_DIR := tests/guest
GK_OUT := $(BUILD)/tests/guest
GK_GUEST_CFLAGS := -O2 -g -std=gnu11 -Wall -Wextra -Werror -DGUEST -I$(GK_DIR)/kit \
	-ffreestanding -fno-pic -fno-pie -fno-stack-protector -fno-builtin \
	-fno-asynchronous-unwind-tables -fcf-protection=none -mno-red-zone \
	-mgeneral-regs-only
GK_GUEST_LDFLAGS := -nostdlib -static -no-pie -Wl,--build-id=none \
	-Wl,-z,max-page-size=4096 -Wl,--no-warn-rwx-segments
GK_ALL_SRC := $(sort $(wildcard $(GK_DIR)/test_*.c))
GK_MB_SRC := $(filter $(GK_DIR)/test_multiboot%,$(GK_ALL_SRC))
GK_64_SRC := $(filter-out $(GK_MB_SRC),$(GK_ALL_SRC))
GK_BINS := $(GK_ALL_SRC:$(GK_DIR)/%.c=$(GK_OUT)/%)
GK_EXTRA := $(patsubst $(GK_DIR)/guests/%.c,$(GK_OUT)/guests/%.elf,$(wildcard $(GK_DIR)/guests/*.c))
GK_RT64 := $(GK_OUT)/kit/guest_entry.o $(GK_OUT)/kit/guest_rt.o
GK_HDRS := $(wildcard $(GK_DIR)/kit/*.h)

$(GK_OUT)/kit/guest_entry.o: $(GK_DIR)/kit/guest_entry.S $(GK_HDRS)
	@mkdir -p $(dir $@)
	@$(CC) $(GK_GUEST_CFLAGS) -c $< -o $@
$(GK_OUT)/kit/guest_rt.o: $(GK_DIR)/kit/guest_rt.c $(GK_HDRS)
	@mkdir -p $(dir $@)
	@$(CC) $(GK_GUEST_CFLAGS) -c $< -o $@

# 64-bit kit guests (a test's guest half, or a standalone guest)
$(GK_64_SRC:$(GK_DIR)/%.c=$(GK_OUT)/%.guest.elf): $(GK_OUT)/%.guest.elf: \
		$(GK_DIR)/%.c $(GK_RT64) $(GK_DIR)/kit/guest64.ld $(GK_HDRS) $(wildcard $(GK_DIR)/guests/*.c)
	@mkdir -p $(dir $@)
	@echo "  GUEST   $@"
	@$(CC) $(GK_GUEST_CFLAGS) -c $< -o $(@:.elf=.o)
	@$(CC) $(GK_GUEST_LDFLAGS) -T $(GK_DIR)/kit/guest64.ld -o $@ $(GK_RT64) $(@:.elf=.o)
$(GK_OUT)/guests/%.elf: $(GK_DIR)/guests/%.c $(GK_RT64) $(GK_DIR)/kit/guest64.ld $(GK_HDRS)
	@mkdir -p $(dir $@)
	@echo "  GUEST   $@"
	@$(CC) $(GK_GUEST_CFLAGS) -c $< -o $(@:.elf=.o)
	@$(CC) $(GK_GUEST_LDFLAGS) -T $(GK_DIR)/kit/guest64.ld -o $@ $(GK_RT64) $(@:.elf=.o)

# 32-bit Multiboot guests: no kit runtime, their own entry and link map
$(GK_MB_SRC:$(GK_DIR)/%.c=$(GK_OUT)/%.guest.elf): $(GK_OUT)/%.guest.elf: \
		$(GK_DIR)/%.c $(GK_DIR)/kit/mb32.ld
	@mkdir -p $(dir $@)
	@echo "  GUEST32 $@"
	@$(CC) $(GK_GUEST_CFLAGS) -m32 -c $< -o $(@:.elf=.o)
	@$(CC) -m32 $(GK_GUEST_LDFLAGS) -T $(GK_DIR)/kit/mb32.ld -o $@ $(@:.elf=.o)

$(GK_OUT)/%.embed.o: $(GK_DIR)/kit/embed.S $(GK_OUT)/%.guest.elf
	@$(CC) -c -DKIT_GUEST_ELF='"$(GK_OUT)/$*.guest.elf"' $< -o $@

$(GK_OUT)/kit/kit.o: $(GK_DIR)/kit/kit.c $(GK_HDRS)
	@mkdir -p $(dir $@)
	@$(CC) $(CPPFLAGS) -I$(GK_DIR)/kit $(CFLAGS) -c $< -o $@

$(GK_BINS): $(GK_OUT)/%: $(GK_DIR)/%.c $(GK_OUT)/%.embed.o $(GK_OUT)/kit/kit.o \
		$(BUILD)/libpetrel.a $(GK_HDRS)
	@echo "  HOST    $@"
	@$(CC) $(CPPFLAGS) -I$(GK_DIR)/kit $(CFLAGS) $(LDFLAGS) -o $@ $< \
		$(GK_OUT)/$*.embed.o $(GK_OUT)/kit/kit.o $(BUILD)/libpetrel.a $(LDLIBS)

guest-bins: $(BUILD)/petrel $(GK_BINS) $(GK_EXTRA)
.PHONY: guest-bins
.SECONDARY: $(GK_BINS:%=%.guest.elf) $(GK_BINS:%=%.embed.o)
-include $(GK_BINS:%=%.d) $(GK_OUT)/kit/kit.d
# the interrupt benchmark (bench/) is a guest-kit program: its guest is
# tests/guest/guests/irq_bench.c, read from the file at run time
$(BENCH_DIR)/irq_petrel: bench/irq_petrel.c $(GK_OUT)/kit/kit.o $(GK_OUT)/guests/irq_bench.elf \
		$(BUILD)/libpetrel.a
	@mkdir -p $(dir $@)
	@echo "  BENCH   $@"
	@$(CC) $(CPPFLAGS) -I$(GK_DIR)/kit $(CFLAGS) $(LDFLAGS) -o $@ $< $(GK_OUT)/kit/kit.o \
		$(BUILD)/libpetrel.a $(LDLIBS)
# --- end guest kit ---

# --- fuzz (tests/fuzz) ---
# Each tests/fuzz/fuzz_*.c is a libFuzzer target (LLVMFuzzerTestOneInput)
# with its seed corpus in tests/fuzz/corpus/<target>/: adding a target is
# adding the file. The library is compiled again with clang, instrumented
# for coverage and ASan+UBSan, into build-fuzz/libpetrel.a, so a target
# links only the modules it calls. tests/fuzz/run.sh runs the targets,
# keeps the corpus it grows in build-fuzz/corpus/ and crashes in
# build-fuzz/crashes/; the test tier (run-all.sh fuzz) runs each briefly.
FUZZ_CC   ?= clang
FUZZ_DIR  := build-fuzz
FUZZ_TIME ?= 60
FUZZ_CFLAGS := -O1 -g -std=c11 -Wall -Wextra -Werror -pthread -fno-strict-aliasing \
	-fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_SRC  := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS := $(FUZZ_SRC:tests/fuzz/%.c=$(FUZZ_DIR)/%)
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(FUZZ_DIR)/%.o)

$(FUZZ_DIR)/src/%.o: src/%.c
	@mkdir -p $(dir $@)
	@echo "  FUZZCC  $<"
	@$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@
$(FUZZ_DIR)/libpetrel.a: $(FUZZ_LIB_OBJ)
	@rm -f $@
	@ar rcs $@ $^
$(FUZZ_BINS): $(FUZZ_DIR)/%: tests/fuzz/%.c $(wildcard tests/fuzz/*.h) $(FUZZ_DIR)/libpetrel.a
	@echo "  FUZZ    $@"
	@$(FUZZ_CC) $(CPPFLAGS) -Itests/fuzz $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< \
		$(FUZZ_DIR)/libpetrel.a $(LDLIBS)

.PHONY: fuzz fuzz-build
fuzz-build: $(FUZZ_BINS)
fuzz: fuzz-build
	@tests/fuzz/run.sh -t $(FUZZ_TIME)
-include $(FUZZ_LIB_OBJ:.o=.d) $(FUZZ_BINS:%=%.d)
# --- end fuzz ---

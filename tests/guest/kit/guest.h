/*
 * The guest side of the kit: what a test's guest code (under #ifdef GUEST)
 * may call. Freestanding: no libc; port and MMIO accessors are inline asm so
 * the compiler can neither merge, split nor drop an access.
 *
 * Entry: the test defines
 *     void guest_main(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3);
 * run on vCPU 0 with the four arguments from struct kit_opts; returning
 * from it is GUEST_DONE(). Optionally
 *     void guest_ap_main(unsigned cpu, uint64_t a0, ...);
 * for every other vCPU (after the BSP started it with INIT-SIPI-SIPI);
 * returning parks that vCPU.
 */
#ifndef KIT_GUEST_H
#define KIT_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kit_abi.h"

void guest_main(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3);
void guest_ap_main(unsigned cpu, uint64_t a0, uint64_t a1, uint64_t a2,
		   uint64_t a3);

/* How often each vector reached the IDT stubs (written at CPL0 by the stubs). */
extern volatile uint32_t kit_trap_count[256];

/* Port I/O: at CPL3 this needs RFLAGS.IOPL = 3, which the kit sets. */
static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" :: "a"(v), "Nd"(port) : "memory"); }
static inline void outw(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %1" :: "a"(v), "Nd"(port) : "memory"); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" :: "a"(v), "Nd"(port) : "memory"); }
static inline uint8_t inb(uint16_t port) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port) : "memory"); return v; }
static inline uint16_t inw(uint16_t port) { uint16_t v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port) : "memory"); return v; }
static inline uint32_t inl(uint16_t port) { uint32_t v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port) : "memory"); return v; }

/* MMIO: exactly one mov of the given width. */
static inline void mmio_write8(uint64_t a, uint8_t v) { __asm__ volatile("movb %1, (%0)" :: "r"(a), "q"(v) : "memory"); }
static inline void mmio_write16(uint64_t a, uint16_t v) { __asm__ volatile("movw %1, (%0)" :: "r"(a), "r"(v) : "memory"); }
static inline void mmio_write32(uint64_t a, uint32_t v) { __asm__ volatile("movl %1, (%0)" :: "r"(a), "r"(v) : "memory"); }
static inline void mmio_write64(uint64_t a, uint64_t v) { __asm__ volatile("movq %1, (%0)" :: "r"(a), "r"(v) : "memory"); }
static inline uint8_t mmio_read8(uint64_t a) { uint8_t v; __asm__ volatile("movb (%1), %0" : "=q"(v) : "r"(a) : "memory"); return v; }
static inline uint16_t mmio_read16(uint64_t a) { uint16_t v; __asm__ volatile("movw (%1), %0" : "=r"(v) : "r"(a) : "memory"); return v; }
static inline uint32_t mmio_read32(uint64_t a) { uint32_t v; __asm__ volatile("movl (%1), %0" : "=r"(v) : "r"(a) : "memory"); return v; }
static inline uint64_t mmio_read64(uint64_t a) { uint64_t v; __asm__ volatile("movq (%1), %0" : "=r"(v) : "r"(a) : "memory"); return v; }

static inline void cpu_relax(void) { __asm__ volatile("pause" ::: "memory"); }
/*
 * sti/cli work at CPL3 too (IOPL 3, or the kit's #GP fixup where the platform
 * ignores IOPL). popf cannot change IF at CPL3 here: use these.
 */
static inline void irq_enable(void) { __asm__ volatile("sti" ::: "memory"); }
static inline void irq_disable(void) { __asm__ volatile("cli" ::: "memory"); }

/* Local APIC (xAPIC MMIO) and IOAPIC helpers: plain MMIO, fine at CPL3. */
#define LAPIC_ID 0x20
#define LAPIC_TPR 0x80
#define LAPIC_EOI 0xb0
#define LAPIC_SVR 0xf0
#define LAPIC_ISR 0x100
#define LAPIC_IRR 0x200
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310
static inline uint32_t lapic_read(unsigned reg) { return mmio_read32(KIT_LAPIC + reg); }
static inline void lapic_write(unsigned reg, uint32_t v) { mmio_write32(KIT_LAPIC + reg, v); }
static inline unsigned lapic_id(void) { return lapic_read(LAPIC_ID) >> 24; }
/* Bit `vector` of the 256-bit ISR or IRR bank starting at `base`. */
static inline bool lapic_bit(unsigned base, unsigned vector)
{
	return (lapic_read(base + 0x10 * (vector / 32)) >> (vector % 32)) & 1;
}
static inline void ioapic_write(unsigned reg, uint32_t v)
{
	mmio_write32(KIT_IOAPIC, reg);
	mmio_write32(KIT_IOAPIC + 0x10, v);
}
static inline uint32_t ioapic_read(unsigned reg)
{
	mmio_write32(KIT_IOAPIC, reg);
	return mmio_read32(KIT_IOAPIC + 0x10);
}

/* Small freestanding helpers. */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

/* ucalls: args may be modified by the host (replies). */
void kit_ucall(uint32_t cmd, uint64_t *args, unsigned nargs);
void kit_print(const char *text);
__attribute__((noreturn)) void kit_assert_fail(const char *file, unsigned line,
					       const char *expr, unsigned nvals,
					       uint64_t a, uint64_t b);
__attribute__((noreturn)) void kit_done(void);
__attribute__((noreturn)) void kit_park(void);

/*
 * GUEST_SYNC(stage, values...): a checkpoint the host sees with up to five
 * values. GUEST_SYNC_REPLY does the same and returns the host's args[1].
 */
#define KIT_NARGS(...) (sizeof((uint64_t[]){ __VA_ARGS__ }) / sizeof(uint64_t))
#define GUEST_SYNC(...)                                                        \
	kit_ucall(KIT_UCALL_SYNC, (uint64_t[KIT_UCALL_ARGS]){ __VA_ARGS__ },   \
		  KIT_NARGS(__VA_ARGS__))
#define GUEST_SYNC_REPLY(...)                                                  \
	({                                                                     \
		uint64_t kit_a_[KIT_UCALL_ARGS] = { __VA_ARGS__ };             \
		kit_ucall(KIT_UCALL_SYNC, kit_a_, KIT_NARGS(__VA_ARGS__));     \
		kit_a_[1];                                                     \
	})
#define GUEST_PRINT(s) kit_print(s)
#define GUEST_DONE() kit_done()
#define GUEST_ASSERT(cond)                                                     \
	do {                                                                   \
		if (!(cond))                                                   \
			kit_assert_fail(__FILE__, __LINE__, #cond, 0, 0, 0);   \
	} while (0)
/* Reports both values when they differ. */
#define GUEST_ASSERT_EQ(a, b)                                                  \
	do {                                                                   \
		uint64_t kit_x_ = (uint64_t)(a), kit_y_ = (uint64_t)(b);       \
		if (kit_x_ != kit_y_)                                          \
			kit_assert_fail(__FILE__, __LINE__, #a " == " #b, 2,   \
					kit_x_, kit_y_);                       \
	} while (0)

#endif

/*
 * Guest and host see the same bytes: the guest writes a pattern the host
 * reads with gpa_read (and through gpa_ptr), the host writes one with
 * gpa_write that the guest verifies, including a buffer that straddles a
 * 2 MiB page boundary.
 */
#define BUF_A 0x500000ULL  /* guest writes, host reads */
#define BUF_B 0x5ff800ULL  /* host writes, guest reads: crosses 0x600000 */
#define LEN 0x1000

static inline unsigned char pattern(unsigned i, unsigned seed)
{
	return (unsigned char)((i * 131u + seed) ^ (i >> 8));
}

#ifdef GUEST
#include "guest.h"

void guest_main(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3)
{
	volatile unsigned char *a = (volatile unsigned char *)BUF_A;
	volatile unsigned char *b = (volatile unsigned char *)BUF_B;

	(void)a1, (void)a2, (void)a3;
	GUEST_ASSERT_EQ(a0, 0x5eed);
	for (unsigned i = 0; i < LEN; i++)
		a[i] = pattern(i, 7);
	GUEST_SYNC(1, BUF_A, LEN);
	/* the host has written BUF_B by now */
	for (unsigned i = 0; i < LEN; i++)
		GUEST_ASSERT_EQ(b[i], pattern(i, 99));
	/* and a 64-bit store the host checks for byte order */
	*(volatile uint64_t *)(BUF_A + LEN) = 0x0123456789abcdefULL;
	GUEST_SYNC(2);
}

#else
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "kit.h"

static enum kit_action on_ucall(struct kit_vm *k, struct vcpu *v, struct kit_ucall *uc)
{
	unsigned char buf[LEN], want[LEN];
	int *stage = k->opts.opaque;

	(void)v;
	switch (uc->args[0]) {
	case 1:
		KIT_CHECK_EQ(k, uc->nargs, 3);
		KIT_CHECK_EQ(k, uc->args[1], BUF_A);
		KIT_CHECK_EQ(k, uc->args[2], LEN);
		for (unsigned i = 0; i < LEN; i++)
			want[i] = pattern(i, 7);
		KIT_CHECK_EQ(k, gpa_read(&k->vm.mem, BUF_A, buf, LEN), 0);
		KIT_CHECK(k, memcmp(buf, want, LEN) == 0);
		/* gpa_ptr is the same memory, not a copy */
		unsigned char *p = gpa_ptr(&k->vm.mem, BUF_A, LEN);
		KIT_CHECK(k, p && memcmp(p, want, LEN) == 0);
		for (unsigned i = 0; i < LEN; i++)
			want[i] = pattern(i, 99);
		KIT_CHECK_EQ(k, gpa_write(&k->vm.mem, BUF_B, want, LEN), 0);
		break;
	case 2: {
		uint8_t le[8];
		KIT_CHECK_EQ(k, gpa_read(&k->vm.mem, BUF_A + LEN, le, 8), 0);
		KIT_CHECK_EQ(k, le[0], 0xef);
		KIT_CHECK_EQ(k, le[7], 0x01);
		/* the accessors refuse what is not RAM */
		KIT_CHECK_EQ(k, gpa_read(&k->vm.mem, k->vm.mem.ram_size - 4, le, 8), -EFAULT);
		break;
	}
	default:
		return kit_fail_stop(k, "unexpected stage %llu", (unsigned long long)uc->args[0]);
	}
	*stage = (int)uc->args[0];
	return KIT_CONTINUE;
}

int main(void)
{
	struct kit_vm k;
	int stage = 0;
	struct kit_opts o = { KIT_EMBEDDED_GUEST, .args = { 0x5eed },
			      .on_ucall = on_ucall, .opaque = &stage };
	int r = kit_vm_create(&k, &o);

	if (r) {
		kit_finish(&k);
		return r == KIT_SKIP ? KIT_SKIP : 1;
	}
	KIT_CHECK_EQ(&k, kit_run(&k), 0);
	KIT_CHECK_EQ(&k, stage, 2);
	return kit_finish(&k);
}
#endif

/*
 * Bytes the guest writes to COM1's transmit register reach petrel's console
 * sink (stdout), all of them and in order, including bytes a terminal
 * would treat specially; the guest polls LSR.THRE like a real driver.
 */
#define COM1 0x3f8
#define LSR 5
#define LSR_THRE 0x20

/* 0x00 and 0xff too: the sink is a byte stream, not text */
static const char message[] = "petrel guest kit: hello over COM1\r\n0123456789abcdef\x01\xff\x00!";

#ifdef GUEST
#include "guest.h"

void guest_main(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3)
{
	(void)a0, (void)a1, (void)a2, (void)a3;
	for (unsigned i = 0; i < sizeof(message) - 1; i++) {
		for (unsigned spin = 0; !(inb(COM1 + LSR) & LSR_THRE); spin++)
			GUEST_ASSERT(spin < 1000);
		outb(COM1, (uint8_t)message[i]);
	}
	GUEST_SYNC(1, sizeof(message) - 1);
}

#else
#include <stdio.h>
#include <string.h>

#include "kit.h"
#include "petrel/console.h"

static enum kit_action on_ucall(struct kit_vm *k, struct vcpu *v, struct kit_ucall *uc)
{
	(void)v;
	KIT_CHECK_EQ(k, uc->args[0], 1);
	*(uint64_t *)k->opts.opaque = uc->args[1];
	return KIT_CONTINUE;
}

int main(void)
{
	struct kit_vm k;
	uint64_t sent = 0;
	struct kit_opts o = { KIT_EMBEDDED_GUEST, .capture_console = true,
			      .on_ucall = on_ucall, .opaque = &sent };
	int r = kit_vm_create(&k, &o);

	if (r) {
		kit_finish(&k);
		return r == KIT_SKIP ? KIT_SKIP : 1;
	}
	KIT_CHECK_EQ(&k, kit_run(&k), 0);
	KIT_CHECK_EQ(&k, sent, sizeof(message) - 1);
	KIT_CHECK_EQ(&k, k.console_len, sizeof(message) - 1);
	if (KIT_CHECK(&k, k.console_out != NULL) &&
	    !KIT_CHECK(&k, memcmp(k.console_out, message, sizeof(message) - 1) == 0))
		fprintf(stderr, "console got %zu bytes: \"%.*s\"\n", k.console_len,
			(int)k.console_len, k.console_out);
	KIT_CHECK_EQ(&k, k.vm.console->bytes_out, sizeof(message) - 1);
	return kit_finish(&k);
}
#endif

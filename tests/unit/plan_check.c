/* assert_plan_sane (plan_check.h), shared by the boot plan tests. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "plan_check.h"

void assert_plan_sane(const struct boot_plan *p)
{
	assert_true(p->nr_segs > 0);
	for (unsigned i = 0; i < p->nr_segs; i++) {
		const struct boot_segment *a = &p->segs[i];

		assert_non_null(a->name);
		assert_true(a->size > 0 && a->len <= a->size);
		assert_true(gpa_in_ram(&p->mem, a->gpa, a->size));
		for (unsigned j = i + 1; j < p->nr_segs; j++) {
			const struct boot_segment *b = &p->segs[j];
			/* both are in RAM: these sums do not wrap */
			if (!(a->gpa + a->size <= b->gpa || b->gpa + b->size <= a->gpa))
				fail_msg("%s and %s overlap", a->name, b->name);
		}
	}
}

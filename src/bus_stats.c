/*
 * --stats: where the guest's port and MMIO accesses went, split at the boot
 * marker when the guest wrote it (bus_mark). This is how petrel shows what
 * a boot costs in exits: which device, how often, before /init or after.
 */
#include <stdbool.h>
#include <stdlib.h>

#include "petrel/bus.h"
#include "petrel/bus_stats.h"
#include "petrel/util.h"

static uint64_t total(const struct bus_stat *s)
{
	return s->reads + s->writes;
}

static int by_total_desc(const void *a, const void *b)
{
	uint64_t x = total(a), y = total(b);

	return (x < y) - (x > y);
}

/* "12" or, with a mark, "10+2" (before the marker + after it) */
static void split(char *buf, size_t len, uint64_t all, uint64_t at_mark,
		  bool marked)
{
	if (marked)
		snprintf(buf, len, "%llu+%llu", (unsigned long long)at_mark,
			 (unsigned long long)(all - at_mark));
	else
		snprintf(buf, len, "%llu", (unsigned long long)all);
}

void bus_stats_print(struct bus *b, unsigned top)
{
	bool marked = atomic_load(&b->marked);
	size_t n = bus_report(b, NULL, 0), shown = 0;
	struct bus_stat *s = n ? calloc(n, sizeof(*s)) : NULL;
	uint64_t rest = 0;

	if (!s)
		return;
	n = bus_report(b, s, n); /* ranges may have come since: take the smaller */
	qsort(s, n, sizeof(*s), by_total_desc);
	if (n == 0 || total(&s[0]) == 0) {
		free(s);
		return;
	}
	pt_info("stats: %s accesses by range%s:", b->name,
		marked ? " (before the boot marker + after it)" : "");
	for (size_t i = 0; i < n && total(&s[i]); i++) {
		char r[48], w[48];

		if (shown == top) {
			rest += total(&s[i]);
			continue;
		}
		split(r, sizeof(r), s[i].reads, s[i].mark_reads, marked);
		split(w, sizeof(w), s[i].writes, s[i].mark_writes, marked);
		pt_info("stats:   %#10llx+%-5llx %-12s reads %-13s writes %s",
			(unsigned long long)s[i].base, (unsigned long long)s[i].len,
			s[i].name ? s[i].name : "(nobody's)", r, w);
		shown++;
	}
	if (rest)
		pt_info("stats:   ... and %llu accesses to other ranges",
			(unsigned long long)rest);
	free(s);
}

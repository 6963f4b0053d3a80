/* The steps of petrel's start, for --stats. See start_times.h. */
#include <stdio.h>

#include "petrel/mono_clock.h"
#include "petrel/start_times.h"
#include "petrel/util.h"

void start_times_init(struct start_times *t, uint64_t start_ns)
{
	t->start_ns = start_ns;
	for (int i = 0; i < START_NR; i++)
		atomic_init(&t->at[i], 0);
}

void start_times_mark(struct start_times *t, enum start_step step)
{
	uint64_t now, at, zero = 0;

	if (!t || (unsigned)step >= START_NR)
		return;
	now = mono_clock_host_ns(NULL);
	/* 0 means "not reached": a step at the very start reads as 1 ns */
	at = now > t->start_ns ? now - t->start_ns : 1;
	atomic_compare_exchange_strong(&t->at[step], &zero, at);
}

void start_times_print(const struct start_times *t)
{
	static const char *const names[START_NR] = {
		"parsed", "kernel+tables planned", "KVM VM+RAM", "devices",
		"loaded", "vCPUs", "first KVM_RUN",
	};
	char line[512];
	int n = snprintf(line, sizeof(line), "stats: start (ms after petrel started):");

	for (int i = 0; i < START_NR && n < (int)sizeof(line); i++) {
		uint64_t at = atomic_load(&t->at[i]);

		if (at)
			n += snprintf(line + n, sizeof(line) - n, "%s %s %.1f",
				      i ? "," : "", names[i], at / 1e6);
	}
	pt_info("%s", line);
}

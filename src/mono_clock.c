#include <time.h>

#include "petrel/mono_clock.h"

uint64_t mono_clock_host_ns(void *opaque)
{
	struct timespec ts;

	(void)opaque;
	/* cannot fail for CLOCK_MONOTONIC with a valid pointer */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

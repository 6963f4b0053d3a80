/* --stats: a bus's access counts, busiest ranges first. See bus_stats.c. */
#ifndef PETREL_BUS_STATS_H
#define PETREL_BUS_STATS_H

#include "petrel/bus.h"

/* Prints the top ranges (and unclaimed addresses) by accesses; once the
 * bus is marked, each figure split into before the mark + after it. */
void bus_stats_print(struct bus *b, unsigned top);

#endif

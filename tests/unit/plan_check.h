/*
 * The boot plan's contract, checked independently of boot_plan_check():
 * every segment in RAM, len <= size, no two overlapping (all pairs).
 */
#ifndef PETREL_TEST_PLAN_CHECK_H
#define PETREL_TEST_PLAN_CHECK_H

#include "petrel/boot_plan.h"

void assert_plan_sane(const struct boot_plan *p);

#endif

/*
 * CHECK(c): a fuzz target's own assertion. A false one is a finding:
 * __builtin_trap stops libFuzzer on the spot and it keeps the input, the
 * same as a sanitizer report would (assert() would vanish under NDEBUG).
 */
#ifndef PETREL_FUZZ_CHECK_H
#define PETREL_FUZZ_CHECK_H

#define CHECK(c)                          \
	do {                              \
		if (!(c))                 \
			__builtin_trap(); \
	} while (0)

#endif

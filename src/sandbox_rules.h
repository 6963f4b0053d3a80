/* The allow-list table (sandbox_rules.c), read by sandbox.c. Internal. */
#ifndef PETREL_SANDBOX_RULES_H
#define PETREL_SANDBOX_RULES_H

#include <stdint.h>

#include "petrel/sandbox.h"

#define K(kind) (1u << (kind))
#define K_ALL ((1u << SANDBOX_NR) - 1)

enum sb_arg_op {
	SB_ANY,        /* the syscall with any arguments */
	SB_EQ32,       /* (arg & 0xffffffff) == val: ioctl requests, fcntl commands */
	SB_EQ,         /* arg == val */
	SB_MASK_NONE,  /* (arg & val) == 0: mmap/mprotect without PROT_EXEC */
	SB_MASK_ALL,   /* (arg & val) == val: clone with CLONE_THREAD */
	SB_SELF_PID,   /* arg == this process's pid: tgkill */
	SB_ENOSYS,     /* not allowed, but fails with ENOSYS instead of killing */
};

struct sb_rule {
	const char *name;  /* libseccomp's name of the syscall */
	unsigned kinds;    /* K(SANDBOX_...) bits */
	unsigned feature;  /* 0, or a SANDBOX_F_* the VM must use */
	enum sb_arg_op op;
	unsigned arg;      /* argument index for op */
	uint64_t val;
	const char *val_name; /* val as the docs print it */
	const char *why;
};

extern const struct sb_rule sb_rules[];
extern const unsigned sb_nr_rules;

#endif

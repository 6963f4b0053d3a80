/*
 * The GDB stub's protocol engine: one session with one gdb, answering its
 * packets (registers, memory, breakpoints, threads, vCont) against a target
 * reached only through struct gdb_target_ops. It holds no socket and makes
 * no KVM call: gdb_server.c feeds it packets and stop events, gdb_kvm.c is
 * the target for a petrel VM, and the unit test drives it with a fake one.
 *
 * gdb threads are vCPUs: thread id N is vCPU N-1 (0 means "any" and -1
 * "all" in the protocol). The engine is only asked to handle a packet while
 * every vCPU is stopped; a resume hands the vCPUs to the target until the
 * next stop event.
 */
#ifndef PETREL_GDB_STUB_H
#define PETREL_GDB_STUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "petrel/gdb_packet.h"
#include "petrel/gdb_regs.h"

#define GDB_MAX_CPUS 256
#define GDB_MAX_SW_BP 64
#define GDB_NR_HW_BP 4

/* What one vCPU does when the target resumes. */
enum gdb_run {
	GDB_RUN_STOPPED, /* stays parked */
	GDB_RUN_CONT,
	GDB_RUN_STEP,    /* one instruction, then a stop event */
};

/*
 * The guest-debug state of a resume (KVM_SET_GUEST_DEBUG's inputs): the
 * same for every vCPU but single-step, which is per vCPU.
 */
struct gdb_debug {
	bool sw_bp;        /* int3 exits to us (some software breakpoint is in) */
	bool hw_bp;        /* dr[] and dr7 are in use */
	uint64_t dr[GDB_NR_HW_BP];
	uint64_t dr7;
	/* where our int3s are: an int3 anywhere else is the guest's own */
	unsigned nr_sw;
	uint64_t sw_addr[GDB_MAX_SW_BP];
};

struct gdb_target_ops {
	/* 0 or -errno; s is the vCPU's whole state. */
	int (*get_state)(void *t, unsigned cpu, struct gdb_cpu_state *s);
	int (*set_state)(void *t, unsigned cpu, const struct gdb_cpu_state *s);
	/*
	 * Guest-virtual memory as vCPU cpu sees it (its page tables): how many
	 * bytes from the start could be read (stops at the first unmapped
	 * page), or -errno.
	 */
	int (*read_mem)(void *t, unsigned cpu, uint64_t gva, void *buf, size_t len);
	/* The same for writing; all or nothing per page: bytes written. */
	int (*write_mem)(void *t, unsigned cpu, uint64_t gva, const void *buf, size_t len);
	/*
	 * Runs the vCPUs as run[] says (nr_cpus entries) with debug. Returns
	 * 0 once they run (a stop event follows later), or -errno.
	 */
	int (*resume)(void *t, const enum gdb_run *run, const struct gdb_debug *debug);
	/* gdb asked to kill the guest: stop the VM. */
	void (*kill)(void *t);
};

/* Why the target stopped, as the target reports it. */
enum gdb_stop_kind {
	GDB_STOP_ATTACH,    /* gdb attached, or --gdb-wait before the first instruction */
	GDB_STOP_INTERRUPT, /* Ctrl-C */
	GDB_STOP_DEBUG,     /* a KVM_EXIT_DEBUG: exception, dr6, pc below */
	GDB_STOP_EXITED,    /* the guest's VM stopped with status */
};

struct gdb_stop {
	enum gdb_stop_kind kind;
	unsigned cpu;
	uint32_t exception; /* 1 (#DB) or 3 (#BP) */
	uint64_t dr6;
	uint64_t pc;
	int status;
};

struct gdb_sw_bp {
	uint64_t addr;
	uint8_t orig;
};

struct gdb_hw_bp {
	bool used;
	uint8_t type; /* Z packet type: 1 exec, 2 write, 3 read, 4 access */
	uint8_t len;
	uint64_t addr;
};

struct gdb_session {
	const struct gdb_target_ops *ops;
	void *target;
	unsigned nr_cpus;
	bool no_ack;           /* after QStartNoAckMode */
	int g_cpu;             /* Hg: the vCPU for g/G/p/P/m/M, or -1: the stopped one */
	int c_cpu;             /* Hc: for c/s, -1: all */
	unsigned stop_cpu;     /* the thread of the last stop reply */
	char last_stop[128];   /* the last stop reply, for '?' */
	struct gdb_sw_bp sw[GDB_MAX_SW_BP];
	unsigned nr_sw;
	struct gdb_hw_bp hw[GDB_NR_HW_BP];
	enum gdb_run run[GDB_MAX_CPUS];
};

/* What the caller does after gdb_session_packet. */
enum gdb_action {
	GDB_REPLY,   /* send the reply (maybe empty: "not supported") */
	GDB_RESUMED, /* the target runs: no reply until a stop event */
	GDB_DETACH,  /* send the reply ("OK"), then close the connection */
	GDB_KILLED,  /* the target was told to stop: close the connection */
};

struct gdb_reply {
	size_t len;
	uint8_t buf[GDB_PKT_MAX];
};

void gdb_session_init(struct gdb_session *s, const struct gdb_target_ops *ops,
		      void *target, unsigned nr_cpus);
/* Handles one decoded packet (the target is stopped). */
enum gdb_action gdb_session_packet(struct gdb_session *s, const uint8_t *pkt,
				   size_t len, struct gdb_reply *r);
/*
 * The target stopped (every vCPU parked, or the VM gone): writes the stop
 * reply ("T05thread:01;swbreak:;", "W00", ...) into r and remembers it for
 * '?'; the stopped vCPU becomes the current thread.
 */
void gdb_session_stopped(struct gdb_session *s, const struct gdb_stop *ev,
			 struct gdb_reply *r);
/* The guest-debug state the breakpoints in s call for. */
void gdb_session_debug(const struct gdb_session *s, struct gdb_debug *d);
/*
 * gdb is gone (detach, or the connection dropped): software breakpoints out
 * of guest memory, debug registers off, every vCPU running. 0 or -errno.
 */
int gdb_session_release(struct gdb_session *s);

#endif

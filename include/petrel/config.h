/*
 * What the user asked for, parsed from the command line before any KVM call
 * is made (so parsing is unit-testable). main.c owns the only instance.
 */
#ifndef PETREL_CONFIG_H
#define PETREL_CONFIG_H

struct start_times;

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_MAX_FEATURE_EDITS 64
#define CONFIG_DEFAULT_MEM (512 * 1024 * 1024ULL)
#define CONFIG_MAX_CPUS 255 /* xAPIC ids are 8 bits; 255 is broadcast */

struct cpu_feature_edit {
	char name[32];
	bool add; /* "+name" adds back (if KVM supports it), "-name" removes */
};

enum console_mode {
	CONSOLE_STDIO, /* COM1 <-> stdin/stdout (raw mode when stdin is a tty) */
	CONSOLE_NONE,  /* COM1 output dropped, no input */
	/*
	 * stdin/stdout <-> the virtio-console port (hvc0), with the same
	 * escapes; COM1 output is dropped and COM1 gets no input.
	 */
	CONSOLE_VIRTIO,
};

/* --irqchip: who models the IOAPIC, the 8259s and the PIT */
enum irqchip_mode {
	IRQCHIP_KERNEL, /* KVM's in-kernel irqchip and PIT (the default) */
	IRQCHIP_SPLIT,  /* LAPICs in KVM, the rest in petrel (irqchip_split.h) */
};

#define CONFIG_MAX_DISKS 8

enum disk_io {
	DISK_IO_DEFAULT, /* io_uring where the kernel allows it, else sync */
	DISK_IO_SYNC,    /* preadv/pwritev on the I/O thread */
	DISK_IO_URING,   /* io_uring (liburing); an error if unavailable */
};

enum virtio_transport_kind {
	VIRTIO_TRANSPORT_PCI,  /* the default: virtio-pci modern */
	VIRTIO_TRANSPORT_MMIO, /* virtio-mmio v2, described in the DSDT */
};

/* --disk PATH[,ro][,serial=S][,cache=none][,io=uring|sync][,transport=mmio] */
#define CONFIG_PATH_MAX 4096

struct disk_config {
	char path[CONFIG_PATH_MAX]; /* ",," in the option stands for a comma */
	bool readonly;
	bool cache_none;      /* O_DIRECT */
	char serial[21];      /* VIRTIO_BLK_ID_BYTES (20) + NUL; "" = none */
	enum disk_io io;
	enum virtio_transport_kind transport;
};

/* --vconsole socket=PATH|stdio[,transport=pci|mmio] */
struct vconsole_config {
	bool on;
	bool stdio;        /* the terminal (--console virtio), else the socket */
	char path[108];    /* sun_path */
	enum virtio_transport_kind transport;
};

/*
 * --net user[,hostfwd=...][,mac=..][,transport=..] | tap=NAME[,...] |
 * tap,fd=N[,...]: a virtio-net device and its backend (cli_net.c).
 */
#define CONFIG_MAX_NICS 4
#define CONFIG_MAX_HOSTFWDS 8

enum net_kind {
	NET_USER, /* libslirp */
	NET_TAP,  /* a tap by name, or an fd */
};

/* hostfwd=PROTO:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT */
struct hostfwd_config {
	bool udp;
	uint32_t host_addr;  /* IPv4, network order; 0: every address */
	uint32_t guest_addr; /* IPv4, network order (default 10.0.2.15) */
	uint16_t host_port, guest_port;
};

struct net_config {
	enum net_kind kind;
	char tap[16];  /* IFNAMSIZ; "" with fd >= 0 */
	int fd;        /* tap,fd=N; -1 otherwise */
	bool has_mac;
	uint8_t mac[6];
	struct hostfwd_config fwd[CONFIG_MAX_HOSTFWDS];
	unsigned nr_fwd;
	enum virtio_transport_kind transport;
};

/* --gdb tcp:[HOST:]PORT | unix:PATH, and --gdb-wait (cli_gdb.c) */
struct gdb_config {
	bool on;
	bool unix_socket;  /* unix:PATH, else TCP */
	char host[256];    /* TCP: default 127.0.0.1 */
	uint16_t port;
	char path[108];    /* sun_path */
	bool wait;         /* --gdb-wait: stopped before the first instruction */
};

#define CONFIG_CMDLINE_MAX 4096

struct sandbox;

struct vm_config {
	const char *kernel;
	const char *initrd;
	const char *cmdline;
	uint64_t mem_size;
	unsigned ncpus;
	struct cpu_feature_edit features[CONFIG_MAX_FEATURE_EDITS];
	unsigned nr_features;
	bool guest_decompress; /* run the bzImage's own decompressor in the guest */
	bool no_acpi;
	enum irqchip_mode irqchip;
	bool stats;            /* print exit statistics when the VM stops */
	enum console_mode console;
	uint16_t debug_exit_port; /* 0: none */
	bool emulation_assist;
	struct disk_config disks[CONFIG_MAX_DISKS];
	unsigned nr_disks;
	bool no_ioeventfd;        /* --no-ioeventfd: trap every queue notify */
	bool no_irqfd;            /* --no-irqfd: MSIs by KVM_SIGNAL_MSI ioctls */
	bool rng;                 /* --rng: a virtio-rng device */
	enum virtio_transport_kind rng_transport;
	struct vconsole_config vconsole;
	const char *api_socket;   /* --api-socket PATH: the control API; NULL: none */
	struct net_config nics[CONFIG_MAX_NICS];
	unsigned nr_nics;
	/* --trace EVENTS[:FILE]: trace.h's class bits, FILE (NULL: stderr) */
	unsigned trace_mask;
	const char *trace_path;
	struct gdb_config gdb;
	bool no_seccomp;          /* --seccomp=off: no syscall filters */
	bool seccomp_log;         /* --seccomp=log: forbidden calls logged, not stopped */
	const char *run_user;     /* --user NAME|UID (root only); NULL: stay */
	const char *run_group;    /* --group NAME|GID, with --user */
	/* the command line with console=hvc0 added (--console virtio) */
	char cmdline_buf[CONFIG_CMDLINE_MAX];
	/*
	 * Not an option: CLOCK_MONOTONIC (mono_clock_host_ns) when petrel
	 * started, which main takes before anything else and the boot marker
	 * measures from. 0: from when the devices are made (the guest kit).
	 */
	uint64_t start_ns;
	/* Not an option: main's record of its start's steps (NULL: none) */
	struct start_times *times;
	/* Not an option: main's sandbox (sandbox.h); NULL: no filters, no drop */
	const struct sandbox *sandbox;
};

enum cli_action {
	CLI_RUN,
	CLI_HELP,         /* print help for cli.help_topic and exit 0 */
	CLI_VERSION,
	CLI_CTL,          /* petrel ctl ...: api_ctl_main(argc, argv) */
};

struct cli {
	enum cli_action action;
	const char *help_topic; /* NULL: top level, "run": petrel run --help */
	struct vm_config cfg;
};

/*
 * Parses argv. On a usage error returns -EINVAL and writes a one-line
 * reason into err (the caller prints it and exits with EXIT_USAGE).
 */
int cli_parse(int argc, char **argv, struct cli *out, char *err, size_t errlen);

/* "512M", "4G", "1048576", "2g", "64K": bytes. 0 or -EINVAL/-ERANGE. */
int parse_size(const char *s, uint64_t *out);

/*
 * One --disk value: "PATH[,ro][,serial=S][,cache=none|writeback]
 * [,io=uring|sync][,transport=pci|mmio]" (",," is a comma in PATH).
 * 0, or -EINVAL with a reason in err. cli_disk.c.
 */
int cli_parse_disk(const char *arg, struct disk_config *d, char *err,
		   size_t errlen);
/* --rng's optional value: "transport=pci|mmio". */
int cli_parse_rng(const char *arg, struct vm_config *cfg, char *err,
		  size_t errlen);

/* --vconsole's value: "socket=PATH|stdio[,transport=pci|mmio]". */
int cli_parse_vconsole(const char *arg, struct vconsole_config *v, char *err,
		       size_t errlen);

/*
 * One --net value into nc (see struct net_config). 0, or -EINVAL with a
 * reason in err. cli_net.c.
 */
int cli_parse_net(const char *arg, struct net_config *nc, char *err,
		  size_t errlen);
/*
 * The MAC of NIC index when the user gave none: locally administered,
 * stable for the same NIC index and backend (tap name), so a guest keeps its
 * DHCP lease across boots. cli_net.c.
 */
void net_default_mac(const struct net_config *nc, unsigned index, uint8_t mac[6]);

/*
 * --gdb's value: "tcp:PORT", "tcp:HOST:PORT" or "unix:PATH". 0, or -EINVAL
 * with a reason in err. cli_gdb.c.
 */
int cli_parse_gdb(const char *arg, struct gdb_config *g, char *err, size_t errlen);

/* The text of `petrel --help` and `petrel run --help`. */
const char *cli_help(const char *topic);

#endif

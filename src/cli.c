#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "petrel/config.h"
#include "petrel/debug_exit.h"
#include "petrel/layout.h"
#include "petrel/trace.h"
#include "petrel/util.h"

static const char top_help[] =
	"usage: petrel run --kernel IMAGE [options]\n"
	"       petrel ctl SOCKET COMMAND [ARGS] [--json]\n"
	"       petrel --help | --version\n"
	"\n"
	"petrel is a small virtual machine monitor on Linux KVM. It boots Linux\n"
	"kernels (bzImage or ELF vmlinux) with a serial console on the terminal.\n"
	"\n"
	"commands:\n"
	"  run         create a VM and run it until the guest stops\n"
	"  ctl         talk to a running petrel's control API (run --api-socket)\n"
	"\n"
	"`petrel run --help` lists the options of run, `petrel ctl --help` the\n"
	"commands of ctl.\n"
	"\n"
	"exit status:\n"
	"  0  the guest powered off or reset itself\n"
	"  1  petrel could not build or run the VM (VMM error)\n"
	"  2  usage error\n"
	"  3  the guest crashed: triple fault, VM entry failure, unhandled exit\n"
	"  4  KVM could not emulate a guest instruction (emulation failure)\n"
	"  5  stopped by the user (console escape Ctrl-A x) or by a signal\n"
	"  killed by SIGSYS (159 in a shell): a thread made a syscall its seccomp\n"
	"     filter forbids; the message before it names the syscall and thread\n";

static const char run_help[] =
	"usage: petrel run --kernel IMAGE [options]\n"
	"\n"
	"  -k, --kernel PATH       kernel: bzImage, ELF vmlinux or a Multiboot\n"
	"                          kernel (required)\n"
	"  -i, --initrd PATH       initial ramdisk, loaded high in low memory\n"
	"                          (Multiboot: passed as module 0)\n"
	"  -c, --cmdline STRING    kernel command line (default: \"console=ttyS0\")\n"
	"  -m, --mem SIZE          guest RAM, e.g. 512M, 4G (default 512M)\n"
	"  -n, --cpus N            number of vCPUs (default 1)\n"
	"      --cpu-features LIST comma-separated CPUID edits: -name removes a\n"
	"                          feature, +name (or name) adds it back if KVM\n"
	"                          supports it; e.g. --cpu-features=-cx16,-xsave.\n"
	"                          KVM's paravirtual features have QEMU's names:\n"
	"                          -kvmclock, -kvm-pv-eoi, ...; -kvm hides KVM's\n"
	"                          CPUID leaves altogether, -vmware-cpuid-freq the\n"
	"                          TSC/APIC frequency leaf 0x40000010.\n"
	"                          `--cpu-features=help` lists the names\n"
	"      --guest-decompress  boot a bzImage the classic way: its own\n"
	"                          decompressor runs in the guest (default: petrel\n"
	"                          decompresses it on the host and enters the\n"
	"                          kernel's 64-bit entry point directly)\n"
	"      --no-acpi           do not build ACPI tables (MP table only)\n"
	"      --irqchip kernel|split\n"
	"                          who models the IOAPIC, the 8259 pair and the\n"
	"                          PIT: KVM (kernel, the default) or petrel\n"
	"                          (split: KVM keeps only the LAPICs; needs\n"
	"                          KVM_CAP_SPLIT_IRQCHIP). The guest sees the same\n"
	"                          machine either way\n"
	"      --console MODE      stdio (default), none, or virtio: the terminal\n"
	"                          is the virtio-console port /dev/hvc0 instead of\n"
	"                          COM1 (same as --vconsole stdio; see below)\n"
	"      --stats             print exit statistics to stderr when the VM stops,\n"
	"                          and the boot marker: when the guest wrote 123 to\n"
	"                          port 0x3f0 (\"boot marker at 812.4 ms\" after\n"
	"                          petrel started; the default initramfs does)\n"
	"      --debug-exit[=PORT] a port (default 0xf4) where a guest's outb, outw\n"
	"                          or outl of V ends petrel with status (V << 1) | 1,\n"
	"                          low 8 bits, like QEMU's isa-debug-exit,iosize=4.\n"
	"                          It claims PORT..PORT+3; a write that starts\n"
	"                          past PORT does nothing\n"
	"      --emulation-assist  for nested KVM hosts whose KVM emulates guest\n"
	"                          kernel code: when KVM cannot emulate a software\n"
	"                          interrupt (int3, int n, into, int1) at CPL0,\n"
	"                          petrel delivers it itself (counted in --stats).\n"
	"                          Off by default; real VMX/SVM hosts never need it\n"
	"      --disk PATH[,OPTS]  a virtio-blk disk backed by the raw image PATH\n"
	"                          (up to 8; the guest sees /dev/vda, /dev/vdb, ...).\n"
	"                          OPTS, comma-separated: ro (read-only),\n"
	"                          serial=S (up to 20 bytes, the guest's\n"
	"                          /sys/block/vda/serial), cache=none (O_DIRECT),\n"
	"                          io=uring|sync (default: io_uring where the host\n"
	"                          allows it), transport=pci|mmio (default pci).\n"
	"                          The image is locked: a second petrel cannot open\n"
	"                          it read-write. \",,\" in PATH is a comma\n"
	"      --rng[=transport=pci|mmio]\n"
	"                          a virtio-rng device fed by getrandom(2)\n"
	"                          (the guest's /dev/hwrng)\n"
	"      --vconsole socket=PATH|stdio[,transport=pci|mmio]\n"
	"                          a virtio-console device with one port, the\n"
	"                          guest's /dev/hvc0. socket=PATH: petrel listens\n"
	"                          on the Unix socket PATH (created; removed on\n"
	"                          exit), one client at a time, bytes both ways;\n"
	"                          guest output while no client is connected is\n"
	"                          kept for the next one up to 64 KiB, then\n"
	"                          dropped. stdio: the terminal, as --console\n"
	"                          virtio\n"
	"      --net BACKEND[,OPTS]\n"
	"                          a virtio-net NIC (up to 4; the guest's eth0,\n"
	"                          eth1, ...). BACKEND:\n"
	"                            user   user-mode networking (libslirp), no\n"
	"                                   root: the guest gets 10.0.2.15 by DHCP\n"
	"                                   (`udhcpc -i eth0`), the host is 10.0.2.2,\n"
	"                                   DNS 10.0.2.3\n"
	"                            tap=NAME  an existing tap (`sudo ip tuntap add\n"
	"                                   NAME mode tap user $USER`, then\n"
	"                                   `ip addr add 192.168.77.1/24 dev NAME`\n"
	"                                   and `ip link set NAME up`); in the\n"
	"                                   guest `ip addr add 192.168.77.2/24 dev\n"
	"                                   eth0 && ip link set eth0 up`\n"
	"                            tap,fd=N  a tap opened by the caller, fd N\n"
	"                          OPTS: hostfwd=tcp|udp:[HOSTADDR]:HOSTPORT-\n"
	"                          [GUESTADDR]:GUESTPORT (user only, repeatable;\n"
	"                          hostfwd=tcp::2222-:22 forwards the host's port\n"
	"                          2222 to the guest's 22), mac=52:54:00:12:34:56\n"
	"                          (default: stable, from the NIC's index and\n"
	"                          backend), transport=pci|mmio (default pci)\n"
	"      --no-ioeventfd      trap every virtqueue notification in petrel\n"
	"                          instead of having KVM signal the I/O thread\n"
	"                          (slower; for comparison and debugging)\n"
	"      --no-irqfd          raise virtio-pci interrupts (MSI-X) with an ioctl\n"
	"                          from petrel instead of an eventfd KVM listens on\n"
	"      --trace EVENTS[:FILE]\n"
	"                          one line per event to FILE (created or\n"
	"                          truncated) or stderr. EVENTS: comma-separated\n"
	"                          classes pio, mmio, irq, virtio, exits, kvm, or\n"
	"                          all; e.g. --trace pio,mmio:/tmp/t.log.\n"
	"                          `--trace help` says what each traces\n"
	"      --api-socket PATH   serve the control API (HTTP+JSON) on a Unix socket\n"
	"                          at PATH, mode 0600, removed at exit: `curl\n"
	"                          --unix-socket PATH http://localhost/vm`, or\n"
	"                          `petrel ctl PATH ...` (see petrel ctl --help)\n"
	"      --gdb tcp:[HOST:]PORT|unix:PATH\n"
	"                          a GDB stub: gdb connects with `target remote\n"
	"                          :PORT` (TCP listens on 127.0.0.1 unless HOST is\n"
	"                          given) or `target remote PATH` (a Unix socket,\n"
	"                          created; removed on exit). Threads are vCPUs;\n"
	"                          registers, memory through the guest's page\n"
	"                          tables, break, hbreak, watch, step, Ctrl-C.\n"
	"                          Attaching stops the guest; detach resumes it\n"
	"      --gdb-wait          with --gdb: the guest waits, before its first\n"
	"                          instruction, until gdb connects and continues\n"
	"      --seccomp=on|off|log|list\n"
	"                          on (the default): each thread (main, vCPUs, I/O,\n"
	"                          API, GDB stub, 8259 watchdog) runs under its own\n"
	"                          seccomp allow-list, and a syscall outside it\n"
	"                          kills petrel with a message naming the syscall\n"
	"                          and the thread. off gives that up: a guest that\n"
	"                          takes over petrel through a device bug could\n"
	"                          then make any syscall petrel's user may (open\n"
	"                          files, exec, connect). log: the filters only\n"
	"                          log a forbidden call (the kernel's audit log,\n"
	"                          dmesg) and let it through: for finding what a\n"
	"                          list lacks. list: print the lists\n"
	"                          (docs/security.md). Test aid:\n"
	"                          PETREL_SECCOMP_SELFTEST=KIND in the environment\n"
	"                          makes that kind's thread (main, vcpu, io, api\n"
	"                          on its first request, gdb, pic-watch) call a\n"
	"                          forbidden getppid once its filter is in\n"
	"      --user NAME|UID     started as root: once /dev/kvm, images, taps,\n"
	"                          sockets and trace files are open, switch to this\n"
	"                          user (and its group) and keep no capability.\n"
	"                          Refused when not root. The GDB stub's socket is\n"
	"                          made after the switch (a port >= 1024)\n"
	"      --group NAME|GID    with --user: this group instead of the user's\n"
	"                          (petrel always sets no_new_privs and, as root\n"
	"                          without --user, drops every capability)\n"
	"  -h, --help              this text\n"
	"\n"
	"console: COM1 (ttyS0) is connected to stdin/stdout; when stdin is a\n"
	"terminal it is put in raw mode and restored on exit. Type Ctrl-A x to\n"
	"quit, Ctrl-A Ctrl-A to send a literal Ctrl-A, Ctrl-A h for help.\n"
	"With --console virtio (or --vconsole stdio) the terminal is hvc0 with the\n"
	"same escapes, COM1's output is dropped and it gets no input, and petrel\n"
	"adds console=hvc0 to the kernel command line unless it already has a\n"
	"console= (without --cmdline the default becomes \"console=hvc0\").\n"
	"Messages from petrel itself go to stderr, prefixed \"petrel:\".\n";

const char *cli_help(const char *topic)
{
	if (topic && !strcmp(topic, "trace"))
		return trace_help();
	return topic && !strcmp(topic, "run") ? run_help : top_help;
}

int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -ERANGE;
	switch (toupper((unsigned char)*end)) {
	case '\0':
		break;
	case 'K': shift = 10; end++; break;
	case 'M': shift = 20; end++; break;
	case 'G': shift = 30; end++; break;
	case 'T': shift = 40; end++; break;
	default:
		return -EINVAL;
	}
	/* accept "512M", "512MB", "512MiB" */
	if (shift && (!strcasecmp(end, "B") || !strcasecmp(end, "iB")))
		end += strlen(end);
	if (*end)
		return -EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = (uint64_t)v << shift;
	return 0;
}

static int parse_features(const char *list, struct vm_config *cfg, char *err,
			  size_t errlen)
{
	const char *p = list;

	while (*p) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		struct cpu_feature_edit *e;
		bool add = true;

		if (n == 0) {
			p += 1;
			continue;
		}
		if (*p == '-' || *p == '+') {
			add = *p == '+';
			p++;
			n--;
		}
		if (n == 0 || n >= sizeof(e->name)) {
			snprintf(err, errlen, "--cpu-features: bad entry in \"%s\"", list);
			return -EINVAL;
		}
		if (cfg->nr_features == CONFIG_MAX_FEATURE_EDITS) {
			snprintf(err, errlen, "--cpu-features: more than %d entries",
				 CONFIG_MAX_FEATURE_EDITS);
			return -EINVAL;
		}
		e = &cfg->features[cfg->nr_features++];
		memcpy(e->name, p, n);
		e->name[n] = '\0';
		e->add = add;
		p += n;
	}
	return 0;
}

enum {
	OPT_CPU_FEATURES = 256,
	OPT_GUEST_DECOMPRESS,
	OPT_NO_ACPI,
	OPT_CONSOLE,
	OPT_STATS,
	OPT_DEBUG_EXIT,
	OPT_EMULATION_ASSIST,
	OPT_DISK,
	OPT_RNG,
	OPT_NO_IOEVENTFD,
	OPT_VCONSOLE,
	OPT_NO_IRQFD,
	OPT_NET,
	OPT_IRQCHIP,
	OPT_TRACE,
	OPT_API_SOCKET,
	OPT_GDB,
	OPT_GDB_WAIT,
	OPT_SECCOMP,
	OPT_USER,
	OPT_GROUP,
};

/* Whether the command line names a console= already. */
static bool has_console(const char *cmdline)
{
	for (const char *p = cmdline; (p = strstr(p, "console=")); p++)
		if (p == cmdline || p[-1] == ' ')
			return true;
	return false;
}

/*
 * --console virtio and --vconsole stdio are one request: the terminal on
 * hvc0. The guest's console follows unless the user chose one.
 */
static int settle_console(struct vm_config *cfg, bool user_cmdline, char *err,
			  size_t errlen)
{
	struct vconsole_config *v = &cfg->vconsole;

	if (cfg->console == CONSOLE_VIRTIO) {
		if (v->on && !v->stdio) {
			snprintf(err, errlen, "--console virtio puts the terminal on the virtio-console port; it cannot also be --vconsole socket=");
			return -EINVAL;
		}
		if (!v->on)
			*v = (struct vconsole_config){ .on = true, .stdio = true };
	} else if (v->on && v->stdio) {
		if (cfg->console == CONSOLE_NONE) {
			snprintf(err, errlen, "--vconsole stdio and --console none contradict each other");
			return -EINVAL;
		}
		cfg->console = CONSOLE_VIRTIO;
	}
	if (cfg->console != CONSOLE_VIRTIO)
		return 0;
	if (!user_cmdline) {
		cfg->cmdline = "console=hvc0";
	} else if (!has_console(cfg->cmdline)) {
		int n = snprintf(cfg->cmdline_buf, sizeof(cfg->cmdline_buf), "%s%sconsole=hvc0",
				 cfg->cmdline, cfg->cmdline[0] ? " " : "");

		if (n < 0 || (size_t)n >= sizeof(cfg->cmdline_buf)) {
			snprintf(err, errlen, "--cmdline: too long to add console=hvc0");
			return -EINVAL;
		}
		cfg->cmdline = cfg->cmdline_buf;
	}
	return 0;
}

/* What one --net cannot see: a host port or an fd taken twice across NICs. */
static int check_nics(const struct vm_config *cfg, char *err, size_t errlen)
{
	for (unsigned a = 0; a < cfg->nr_nics; a++)
		for (unsigned b = a + 1; b < cfg->nr_nics; b++) {
			const struct net_config *x = &cfg->nics[a], *y = &cfg->nics[b];

			if (x->kind == NET_TAP && y->kind == NET_TAP &&
			    ((x->tap[0] && !strcmp(x->tap, y->tap)) || (x->fd >= 0 && x->fd == y->fd))) {
				snprintf(err, errlen, "--net: two NICs on the same tap (%s)",
					 x->tap[0] ? x->tap : "fd");
				return -EINVAL;
			}
			for (unsigned i = 0; i < x->nr_fwd; i++)
				for (unsigned j = 0; j < y->nr_fwd; j++)
					if (x->fwd[i].udp == y->fwd[j].udp &&
					    x->fwd[i].host_port == y->fwd[j].host_port) {
						snprintf(err, errlen, "--net: host port %u is forwarded by two NICs",
							 x->fwd[i].host_port);
						return -EINVAL;
					}
		}
	return 0;
}

static int parse_run(int argc, char **argv, struct cli *out, char *err,
		     size_t errlen)
{
	static const struct option opts[] = {
		{ "kernel", required_argument, NULL, 'k' },
		{ "initrd", required_argument, NULL, 'i' },
		{ "cmdline", required_argument, NULL, 'c' },
		{ "mem", required_argument, NULL, 'm' },
		{ "cpus", required_argument, NULL, 'n' },
		{ "cpu-features", required_argument, NULL, OPT_CPU_FEATURES },
		{ "guest-decompress", no_argument, NULL, OPT_GUEST_DECOMPRESS },
		{ "no-acpi", no_argument, NULL, OPT_NO_ACPI },
		{ "console", required_argument, NULL, OPT_CONSOLE },
		{ "stats", no_argument, NULL, OPT_STATS },
		{ "debug-exit", optional_argument, NULL, OPT_DEBUG_EXIT },
		{ "emulation-assist", no_argument, NULL, OPT_EMULATION_ASSIST },
		{ "disk", required_argument, NULL, OPT_DISK },
		{ "rng", optional_argument, NULL, OPT_RNG },
		{ "no-ioeventfd", no_argument, NULL, OPT_NO_IOEVENTFD },
		{ "vconsole", required_argument, NULL, OPT_VCONSOLE },
		{ "no-irqfd", no_argument, NULL, OPT_NO_IRQFD },
		{ "net", required_argument, NULL, OPT_NET },
		{ "irqchip", required_argument, NULL, OPT_IRQCHIP },
		{ "trace", required_argument, NULL, OPT_TRACE },
		{ "api-socket", required_argument, NULL, OPT_API_SOCKET },
		{ "gdb", required_argument, NULL, OPT_GDB },
		{ "gdb-wait", no_argument, NULL, OPT_GDB_WAIT },
		{ "seccomp", required_argument, NULL, OPT_SECCOMP },
		{ "user", required_argument, NULL, OPT_USER },
		{ "group", required_argument, NULL, OPT_GROUP },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vm_config *cfg = &out->cfg;
	bool user_cmdline = false, trace_help_asked = false;
	char *end;
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":k:i:c:m:n:h", opts, NULL)) != -1) {
		switch (c) {
		case 'k': cfg->kernel = optarg; break;
		case 'i': cfg->initrd = optarg; break;
		case 'c': cfg->cmdline = optarg; user_cmdline = true; break;
		case 'm':
			if (parse_size(optarg, &cfg->mem_size) < 0) {
				snprintf(err, errlen, "--mem: \"%s\" is not a size (e.g. 512M, 4G)", optarg);
				return -EINVAL;
			}
			break;
		case 'n': {
			unsigned long n;
			errno = 0;
			n = strtoul(optarg, &end, 10);
			if (errno || *end || !isdigit((unsigned char)*optarg) || n == 0 ||
			    n > CONFIG_MAX_CPUS) {
				snprintf(err, errlen, "--cpus: \"%s\" is not a number from 1 to %d",
					 optarg, CONFIG_MAX_CPUS);
				return -EINVAL;
			}
			cfg->ncpus = (unsigned)n;
			break;
		}
		case OPT_CPU_FEATURES:
			if (parse_features(optarg, cfg, err, errlen) < 0)
				return -EINVAL;
			break;
		case OPT_GUEST_DECOMPRESS: cfg->guest_decompress = true; break;
		case OPT_NO_ACPI: cfg->no_acpi = true; break;
		case OPT_STATS: cfg->stats = true; break;
		case OPT_EMULATION_ASSIST: cfg->emulation_assist = true; break;
		case OPT_NO_IOEVENTFD: cfg->no_ioeventfd = true; break;
		case OPT_NO_IRQFD: cfg->no_irqfd = true; break;
		case OPT_DISK:
			if (cfg->nr_disks == CONFIG_MAX_DISKS) {
				snprintf(err, errlen, "--disk: at most %d disks", CONFIG_MAX_DISKS);
				return -EINVAL;
			}
			if (cli_parse_disk(optarg, &cfg->disks[cfg->nr_disks], err, errlen) < 0)
				return -EINVAL;
			cfg->nr_disks++;
			break;
		case OPT_RNG:
			if (cli_parse_rng(optarg, cfg, err, errlen) < 0)
				return -EINVAL;
			break;
		case OPT_API_SOCKET:
			if (!optarg[0]) {
				snprintf(err, errlen, "--api-socket: empty path");
				return -EINVAL;
			}
			cfg->api_socket = optarg;
			break;
		case OPT_NET:
			if (cfg->nr_nics == CONFIG_MAX_NICS) {
				snprintf(err, errlen, "--net: at most %d NICs", CONFIG_MAX_NICS);
				return -EINVAL;
			}
			if (cli_parse_net(optarg, &cfg->nics[cfg->nr_nics], err, errlen) < 0)
				return -EINVAL;
			cfg->nr_nics++;
			break;
		case OPT_TRACE: {
			/* repeated, the classes add up; FILE may be named once */
			const char *path;
			unsigned mask;
			int r = trace_parse(optarg, &mask, &path, err, errlen);

			if (r < 0)
				return -EINVAL;
			if (r == 1) {
				trace_help_asked = true;
				break;
			}
			if (path && cfg->trace_path && strcmp(path, cfg->trace_path)) {
				snprintf(err, errlen, "--trace: two trace files (%s and %s)",
					 cfg->trace_path, path);
				return -EINVAL;
			}
			cfg->trace_mask |= mask;
			if (path)
				cfg->trace_path = path;
			break;
		}
		case OPT_GDB:
			if (cli_parse_gdb(optarg, &cfg->gdb, err, errlen) < 0)
				return -EINVAL;
			break;
		case OPT_GDB_WAIT: cfg->gdb.wait = true; break;
		case OPT_SECCOMP:
			if (!strcmp(optarg, "on"))
				cfg->no_seccomp = false;
			else if (!strcmp(optarg, "off"))
				cfg->no_seccomp = true;
			else if (!strcmp(optarg, "log"))
				cfg->seccomp_log = true;
			else if (!strcmp(optarg, "list")) {
				out->action = CLI_HELP;
				out->help_topic = "seccomp";
				return 0;
			} else {
				snprintf(err, errlen, "--seccomp: \"%s\" is not on, off, log or list", optarg);
				return -EINVAL;
			}
			break;
		case OPT_USER:
		case OPT_GROUP:
			if (!*optarg) {
				snprintf(err, errlen, "--%s: empty name", c == OPT_USER ? "user" : "group");
				return -EINVAL;
			}
			*(c == OPT_USER ? &cfg->run_user : &cfg->run_group) = optarg;
			break;
		case OPT_VCONSOLE:
			if (cfg->vconsole.on) {
				snprintf(err, errlen, "--vconsole: one virtio-console at most");
				return -EINVAL;
			}
			if (cli_parse_vconsole(optarg, &cfg->vconsole, err, errlen) < 0)
				return -EINVAL;
			break;
		case OPT_DEBUG_EXIT: {
			unsigned long port = DEBUG_EXIT_DEFAULT_PORT;
			if (optarg) {
				errno = 0;
				port = strtoul(optarg, &end, 0);
				if (errno || *end || !*optarg || port == 0 || port > 0xffff) {
					snprintf(err, errlen, "--debug-exit: \"%s\" is not an I/O port (1-0xffff)", optarg);
					return -EINVAL;
				}
			}
			cfg->debug_exit_port = (uint16_t)port;
			break;
		}
		case OPT_IRQCHIP:
			if (!strcmp(optarg, "kernel"))
				cfg->irqchip = IRQCHIP_KERNEL;
			else if (!strcmp(optarg, "split"))
				cfg->irqchip = IRQCHIP_SPLIT;
			else {
				snprintf(err, errlen, "--irqchip: \"%s\" is not kernel or split", optarg);
				return -EINVAL;
			}
			break;
		case OPT_CONSOLE:
			if (!strcmp(optarg, "stdio"))
				cfg->console = CONSOLE_STDIO;
			else if (!strcmp(optarg, "none"))
				cfg->console = CONSOLE_NONE;
			else if (!strcmp(optarg, "virtio"))
				cfg->console = CONSOLE_VIRTIO;
			else {
				snprintf(err, errlen, "--console: \"%s\" is not stdio, none or virtio", optarg);
				return -EINVAL;
			}
			break;
		case 'h':
			out->action = CLI_HELP;
			out->help_topic = "run";
			return 0;
		case ':':
			snprintf(err, errlen, "option %s needs a value", argv[optind - 1]);
			return -EINVAL;
		default:
			snprintf(err, errlen, "unknown option %s (see petrel run --help)",
				 argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument \"%s\" (see petrel run --help)",
			 argv[optind]);
		return -EINVAL;
	}
	if (trace_help_asked) {
		out->action = CLI_HELP;
		out->help_topic = "trace";
		return 0;
	}
	/* "--cpu-features=help" is a request for the list, not a VM */
	if (cfg->nr_features == 1 && !strcmp(cfg->features[0].name, "help")) {
		out->action = CLI_HELP;
		out->help_topic = "cpu-features";
		return 0;
	}
	if (settle_console(cfg, user_cmdline, err, errlen) < 0)
		return -EINVAL;
	if (cfg->run_group && !cfg->run_user) {
		snprintf(err, errlen, "--group needs --user (the user to switch to)");
		return -EINVAL;
	}
	if (cfg->gdb.wait && !cfg->gdb.on) {
		snprintf(err, errlen, "--gdb-wait needs --gdb (a place for gdb to connect)");
		return -EINVAL;
	}
	unsigned mmio = cfg->rng && cfg->rng_transport == VIRTIO_TRANSPORT_MMIO;
	mmio += cfg->vconsole.on && cfg->vconsole.transport == VIRTIO_TRANSPORT_MMIO;
	for (unsigned i = 0; i < cfg->nr_disks; i++)
		mmio += cfg->disks[i].transport == VIRTIO_TRANSPORT_MMIO;
	for (unsigned i = 0; i < cfg->nr_nics; i++)
		mmio += cfg->nics[i].transport == VIRTIO_TRANSPORT_MMIO;
	if (check_nics(cfg, err, errlen) < 0)
		return -EINVAL;
	if (mmio > VIRTIO_MMIO_SLOTS) {
		snprintf(err, errlen, "%u devices with transport=mmio: at most %d fit (the others can use pci)",
			 mmio, VIRTIO_MMIO_SLOTS);
		return -EINVAL;
	}
	if (!cfg->kernel) {
		snprintf(err, errlen, "run: --kernel is required (see petrel run --help)");
		return -EINVAL;
	}
	if (cfg->mem_size < 16 * MiB || cfg->mem_size % (4 * KiB)) {
		snprintf(err, errlen, "--mem: %llu bytes; need at least 16M and a multiple of 4K",
			 (unsigned long long)cfg->mem_size);
		return -EINVAL;
	}
	return 0;
}

int cli_parse(int argc, char **argv, struct cli *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	out->cfg.mem_size = CONFIG_DEFAULT_MEM;
	out->cfg.ncpus = 1;
	out->cfg.cmdline = "console=ttyS0";
	out->cfg.console = CONSOLE_STDIO;
	err[0] = '\0';

	if (argc < 2) {
		snprintf(err, errlen, "no command given (see petrel --help)");
		return -EINVAL;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		out->action = CLI_HELP;
		out->help_topic = argc > 2 ? argv[2] : NULL;
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		out->action = CLI_VERSION;
		return 0;
	}
	if (!strcmp(argv[1], "ctl")) {
		/* its own small parser: api_ctl.c */
		out->action = CLI_CTL;
		return 0;
	}
	if (!strcmp(argv[1], "run")) {
		out->action = CLI_RUN;
		return parse_run(argc - 1, argv + 1, out, err, errlen);
	}
	snprintf(err, errlen, "unknown command \"%s\" (see petrel --help)", argv[1]);
	return -EINVAL;
}

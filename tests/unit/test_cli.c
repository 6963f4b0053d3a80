/* Command-line parsing and size suffixes: no KVM involved. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <arpa/inet.h>

#include "petrel/config.h"
#include "petrel/trace.h"
#include "petrel/util.h"

#define ARGV(...) ((char *[]){ "petrel", __VA_ARGS__, NULL })
#define ARGC(...) ((int)(sizeof((char *[]){ "petrel", __VA_ARGS__ }) / sizeof(char *)))
#define PARSE(cli, err, ...) cli_parse(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), cli, err, sizeof(err))

static void sizes(void **state)
{
	uint64_t v;
	(void)state;

	assert_int_equal(parse_size("512M", &v), 0);
	assert_int_equal(v, 512 * MiB);
	assert_int_equal(parse_size("4G", &v), 0);
	assert_int_equal(v, 4 * GiB);
	assert_int_equal(parse_size("2g", &v), 0);
	assert_int_equal(v, 2 * GiB);
	assert_int_equal(parse_size("64K", &v), 0);
	assert_int_equal(v, 64 * KiB);
	assert_int_equal(parse_size("1048576", &v), 0);
	assert_int_equal(v, 1048576);
	assert_int_equal(parse_size("512MiB", &v), 0);
	assert_int_equal(v, 512 * MiB);
	assert_int_equal(parse_size("1T", &v), 0);
	assert_int_equal(v, 1024 * GiB);
	assert_int_equal(parse_size("", &v), -EINVAL);
	assert_int_equal(parse_size("M", &v), -EINVAL);
	assert_int_equal(parse_size("-1G", &v), -EINVAL);
	assert_int_equal(parse_size("12X", &v), -EINVAL);
	assert_int_equal(parse_size("1.5G", &v), -EINVAL);
	assert_int_equal(parse_size("4GG", &v), -EINVAL);
	assert_int_equal(parse_size("99999999999999999999", &v), -ERANGE);
	assert_int_equal(parse_size("99999999999T", &v), -ERANGE);
}

static void run_full(void **state)
{
	struct cli c;
	char err[256];
	(void)state;

	assert_int_equal(PARSE(&c, err, "run", "--kernel", "bz", "--initrd", "rd",
			       "--cmdline", "console=ttyS0 quiet", "--mem", "1G",
			       "--cpus", "4", "--cpu-features=-cx16,-xsave,+avx",
			       "--guest-decompress", "--stats", "--console", "none"), 0);
	assert_int_equal(c.action, CLI_RUN);
	assert_string_equal(c.cfg.kernel, "bz");
	assert_string_equal(c.cfg.initrd, "rd");
	assert_string_equal(c.cfg.cmdline, "console=ttyS0 quiet");
	assert_int_equal(c.cfg.mem_size, 1 * GiB);
	assert_int_equal(c.cfg.ncpus, 4);
	assert_int_equal(c.cfg.nr_features, 3);
	assert_string_equal(c.cfg.features[0].name, "cx16");
	assert_false(c.cfg.features[0].add);
	assert_string_equal(c.cfg.features[1].name, "xsave");
	assert_false(c.cfg.features[1].add);
	assert_string_equal(c.cfg.features[2].name, "avx");
	assert_true(c.cfg.features[2].add);
	assert_true(c.cfg.guest_decompress);
	assert_true(c.cfg.stats);
	assert_int_equal(c.cfg.console, CONSOLE_NONE);
}

static void run_defaults(void **state)
{
	struct cli c;
	char err[256];
	(void)state;

	assert_int_equal(PARSE(&c, err, "run", "-k", "vmlinux"), 0);
	assert_int_equal(c.cfg.mem_size, 512 * MiB);
	assert_int_equal(c.cfg.ncpus, 1);
	assert_string_equal(c.cfg.cmdline, "console=ttyS0");
	assert_null(c.cfg.initrd);
	assert_false(c.cfg.guest_decompress);
	assert_int_equal(c.cfg.console, CONSOLE_STDIO);
}

/* --api-socket and the ctl command (api_ctl.c parses its own arguments) */
static void api_socket_and_ctl(void **state)
{
	struct cli c;
	char err[256];
	(void)state;

	assert_int_equal(PARSE(&c, err, "run", "-k", "bz", "--api-socket", "/tmp/a.sock"), 0);
	assert_string_equal(c.cfg.api_socket, "/tmp/a.sock");
	assert_int_equal(PARSE(&c, err, "run", "-k", "bz"), 0);
	assert_null(c.cfg.api_socket);
	assert_int_equal(PARSE(&c, err, "run", "-k", "bz", "--api-socket", ""), -EINVAL);
	assert_non_null(strstr(err, "empty path"));
	assert_int_equal(PARSE(&c, err, "run", "-k", "bz", "--api-socket"), -EINVAL);
	assert_int_equal(PARSE(&c, err, "ctl", "/tmp/a.sock", "vcpus"), 0);
	assert_int_equal(c.action, CLI_CTL);
	assert_non_null(strstr(cli_help(NULL), "petrel ctl SOCKET"));
	assert_non_null(strstr(cli_help("run"), "--api-socket PATH"));
}

static void help_and_version(void **state)
{
	struct cli c;
	char err[256];
	(void)state;

	assert_int_equal(PARSE(&c, err, "--help"), 0);
	assert_int_equal(c.action, CLI_HELP);
	assert_null(c.help_topic);
	assert_non_null(strstr(cli_help(NULL), "exit status"));
	assert_int_equal(PARSE(&c, err, "run", "--help"), 0);
	assert_int_equal(c.action, CLI_HELP);
	assert_string_equal(c.help_topic, "run");
	assert_non_null(strstr(cli_help("run"), "--cpu-features"));
	assert_non_null(strstr(cli_help("run"), "-kvmclock"));
	assert_non_null(strstr(cli_help("run"), "port 0x3f0"));
	assert_int_equal(PARSE(&c, err, "--version"), 0);
	assert_int_equal(c.action, CLI_VERSION);
	assert_int_equal(PARSE(&c, err, "run", "--cpu-features=help"), 0);
	assert_int_equal(c.action, CLI_HELP);
	assert_string_equal(c.help_topic, "cpu-features");
}

static void usage_errors(void **state)
{
	struct cli c;
	char err[256];
	(void)state;

	assert_int_equal(cli_parse(1, ARGV("x") , &c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "no command"));
	assert_int_equal(PARSE(&c, err, "launch"), -EINVAL);
	assert_non_null(strstr(err, "unknown command"));
	assert_int_equal(PARSE(&c, err, "run"), -EINVAL);
	assert_non_null(strstr(err, "--kernel is required"));
	assert_int_equal(PARSE(&c, err, "run", "-k", "x", "--mem", "lots"), -EINVAL);
	assert_non_null(strstr(err, "--mem"));
	assert_int_equal(PARSE(&c, err, "run", "-k", "x", "--mem", "8M"), -EINVAL);
	assert_non_null(strstr(err, "at least 16M"));
	assert_int_equal(PARSE(&c, err, "run", "-k", "x", "--cpus", "0"), -EINVAL);
	assert_int_equal(PARSE(&c, err, "run", "-k", "x", "--cpus", "256"), -EINVAL);
	assert_int_equal(PARSE(&c, err, "run", "-k", "x", "--cpus", "2x"), -EINVAL);
	assert_int_equal(PARSE(&c, err, "run", "-k", "x", "--cpus", "-1"), -EINVAL);
	assert_non_null(strstr(err, "--cpus"));
	assert_int_equal(PARSE(&c, err, "run", "-k", "x", "--bogus"), -EINVAL);
	assert_non_null(strstr(err, "unknown option --bogus"));
	assert_int_equal(PARSE(&c, err, "run", "-k"), -EINVAL);
	assert_non_null(strstr(err, "needs a value"));
	assert_int_equal(PARSE(&c, err, "run", "-k", "x", "extra"), -EINVAL);
	assert_non_null(strstr(err, "unexpected argument"));
	assert_int_equal(PARSE(&c, err, "run", "-k", "x", "--console", "tty9"), -EINVAL);
	assert_int_equal(PARSE(&c, err, "run", "-k", "x", "--cpu-features=-"), -EINVAL);
	assert_int_equal(PARSE(&c, err, "run", "-k", "x",
			       "--cpu-features=-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), -EINVAL);
}

static void disks_and_rng(void **state)
{
	struct cli c;
	char err[256];
	(void)state;

	assert_int_equal(PARSE(&c, err, "run", "-k", "x", "--disk", "a.img",
			       "--disk", "/b,,c.img,ro,serial=disk-2,cache=none,io=sync,transport=mmio",
			       "--rng"), 0);
	assert_int_equal(c.cfg.nr_disks, 2);
	assert_string_equal(c.cfg.disks[0].path, "a.img");
	assert_false(c.cfg.disks[0].readonly);
	assert_int_equal(c.cfg.disks[0].io, DISK_IO_DEFAULT);
	assert_int_equal(c.cfg.disks[0].transport, VIRTIO_TRANSPORT_PCI);
	assert_string_equal(c.cfg.disks[1].path, "/b,c.img");
	assert_true(c.cfg.disks[1].readonly);
	assert_true(c.cfg.disks[1].cache_none);
	assert_string_equal(c.cfg.disks[1].serial, "disk-2");
	assert_int_equal(c.cfg.disks[1].io, DISK_IO_SYNC);
	assert_int_equal(c.cfg.disks[1].transport, VIRTIO_TRANSPORT_MMIO);
	assert_true(c.cfg.rng);
	assert_int_equal(c.cfg.rng_transport, VIRTIO_TRANSPORT_PCI);
	assert_false(c.cfg.no_ioeventfd);
	assert_false(c.cfg.no_irqfd);
	assert_int_equal(PARSE(&c, err, "run", "-k", "x", "--rng=transport=mmio",
			       "--no-ioeventfd", "--no-irqfd"), 0);
	assert_true(c.cfg.no_irqfd);
	assert_int_equal(c.cfg.rng_transport, VIRTIO_TRANSPORT_MMIO);
	assert_true(c.cfg.no_ioeventfd);
	assert_int_equal(c.cfg.nr_disks, 0);

	assert_int_equal(PARSE(&c, err, "run", "-k", "x", "--disk", ",ro"), -EINVAL);
	assert_non_null(strstr(err, "no image path"));
	assert_int_equal(PARSE(&c, err, "run", "-k", "x", "--disk", "a,rw"), -EINVAL);
	assert_non_null(strstr(err, "unknown option \"rw\""));
	assert_int_equal(PARSE(&c, err, "run", "-k", "x", "--disk", "a,transport=usb"), -EINVAL);
	assert_int_equal(PARSE(&c, err, "run", "-k", "x", "--disk", "a,io=aio"), -EINVAL);
	assert_int_equal(PARSE(&c, err, "run", "-k", "x", "--disk",
			       "a,serial=123456789012345678901"), -EINVAL);
	assert_non_null(strstr(err, "longer than 20"));
	assert_int_equal(PARSE(&c, err, "run", "-k", "x", "--disk",
			       "a,serial=12345678901234567890"), 0);
	assert_int_equal(PARSE(&c, err, "run", "-k", "x", "--rng=pci"), -EINVAL);
	assert_non_null(strstr(err, "--rng"));
	assert_int_equal(PARSE(&c, err, "run", "-k", "x", "--disk", "1", "--disk", "2",
			       "--disk", "3", "--disk", "4", "--disk", "5", "--disk", "6",
			       "--disk", "7", "--disk", "8", "--disk", "9"), -EINVAL);
	assert_non_null(strstr(err, "at most 8"));
	char longpath[CONFIG_PATH_MAX + 8];
	memset(longpath, 'p', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(PARSE(&c, err, "run", "-k", "x", "--disk", longpath), -EINVAL);
	assert_non_null(strstr(err, "longer than"));
}

static void net(void **state)
{
	struct cli c;
	char err[256];
	uint8_t m1[6], m2[6];
	(void)state;

	assert_int_equal(PARSE(&c, err, "run", "-k", "x", "--net",
			       "user,hostfwd=tcp::2222-:22,hostfwd=udp:127.0.0.1:5353-10.0.2.16:53,mac=52:54:00:ab:cd:ef",
			       "--net", "tap=petrel0,transport=mmio", "--net", "tap,fd=7"), 0);
	assert_int_equal(c.cfg.nr_nics, 3);
	const struct net_config *u = &c.cfg.nics[0];
	assert_int_equal(u->kind, NET_USER);
	assert_int_equal(u->nr_fwd, 2);
	assert_false(u->fwd[0].udp);
	assert_int_equal(u->fwd[0].host_addr, 0);
	assert_int_equal(u->fwd[0].host_port, 2222);
	assert_int_equal(u->fwd[0].guest_addr, htonl(0x0a00020f));
	assert_int_equal(u->fwd[0].guest_port, 22);
	assert_true(u->fwd[1].udp);
	assert_int_equal(u->fwd[1].host_addr, htonl(0x7f000001));
	assert_int_equal(u->fwd[1].guest_addr, htonl(0x0a000210));
	assert_true(u->has_mac);
	assert_memory_equal(u->mac, "\x52\x54\x00\xab\xcd\xef", 6);
	assert_int_equal(u->transport, VIRTIO_TRANSPORT_PCI);
	assert_int_equal(c.cfg.nics[1].kind, NET_TAP);
	assert_string_equal(c.cfg.nics[1].tap, "petrel0");
	assert_int_equal(c.cfg.nics[1].fd, -1);
	assert_int_equal(c.cfg.nics[1].transport, VIRTIO_TRANSPORT_MMIO);
	assert_int_equal(c.cfg.nics[2].fd, 7);
	assert_string_equal(c.cfg.nics[2].tap, "");

	/* the default MAC: stable, unicast, locally administered, per NIC */
	net_default_mac(&c.cfg.nics[0], 0, m1);
	net_default_mac(&c.cfg.nics[0], 0, m2);
	assert_memory_equal(m1, m2, 6);
	assert_int_equal(m1[0] & 3, 2);
	net_default_mac(&c.cfg.nics[0], 1, m2);
	assert_memory_not_equal(m1, m2, 6);

	static const char *const bad[][2] = {
		{ "", "no backend" },
		{ "bridge", "does not start with a backend" },
		{ "user,hostfwd=tcp::2222", "is not tcp|udp" },
		{ "user,hostfwd=tcp::0-:22", "is not tcp|udp" },
		{ "user,hostfwd=tcp::70000-:22", "is not tcp|udp" },
		{ "user,hostfwd=sctp::2222-:22", "is not tcp|udp" },
		{ "user,hostfwd=tcp:1.2.3:2222-:22", "is not tcp|udp" },
		{ "user,hostfwd=tcp::2222-192.168.1.5:22", "10.0.2.0/24" },
		{ "user,hostfwd=tcp::2222-10.0.2.2:22", "10.0.2.0/24" },
		{ "user,hostfwd=tcp::2222-:22,hostfwd=tcp::2222-:23", "forwarded twice" },
		{ "user,mac=52:54:00:12:34", "not a MAC address" },
		{ "user,mac=52:54:00:12:34:zz", "not a MAC address" },
		{ "user,mac=01:00:5e:00:00:01", "multicast" },
		{ "user,mac=00:00:00:00:00:00", "multicast or zero" },
		{ "user,transport=usb", "not pci or mmio" },
		{ "user,fd=3", "unknown option" },
		{ "tap", "name the tap" },
		{ "tap=", "not an interface name" },
		{ "tap=averyveryverylongname", "not an interface name" },
		{ "tap=a,fd=3", "give one" },
		{ "tap,fd=x", "not a file descriptor" },
		{ "tap=a,hostfwd=tcp::1-:2", "unknown option" },
		{ "user,tap=x", "unknown option" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(PARSE(&c, err, "run", "-k", "x", "--net", (char *)bad[i][0]), -EINVAL);
		if (!strstr(err, bad[i][1]))
			fail_msg("--net %s: \"%s\" lacks \"%s\"", bad[i][0], err, bad[i][1]);
	}
	assert_int_equal(PARSE(&c, err, "run", "-k", "x", "--net", "user,hostfwd=tcp::80-:80",
			       "--net", "user,hostfwd=tcp::80-:81"), -EINVAL);
	assert_non_null(strstr(err, "two NICs"));
	assert_int_equal(PARSE(&c, err, "run", "-k", "x", "--net", "tap=t0", "--net", "tap=t0"), -EINVAL);
	assert_non_null(strstr(err, "same tap"));
	assert_int_equal(PARSE(&c, err, "run", "-k", "x", "--net", "user", "--net", "user",
			       "--net", "user", "--net", "user", "--net", "user"), -EINVAL);
	assert_non_null(strstr(err, "at most 4"));
}

static void vconsole(void **state)
{
	struct cli c;
	char err[256];
	(void)state;

	assert_int_equal(PARSE(&c, err, "run", "-k", "x", "--vconsole", "socket=/tmp/a,,b.sock"), 0);
	assert_true(c.cfg.vconsole.on);
	assert_false(c.cfg.vconsole.stdio);
	assert_string_equal(c.cfg.vconsole.path, "/tmp/a,b.sock");
	assert_int_equal(c.cfg.vconsole.transport, VIRTIO_TRANSPORT_PCI);
	/* a socket port leaves the terminal and the command line alone */
	assert_int_equal(c.cfg.console, CONSOLE_STDIO);
	assert_string_equal(c.cfg.cmdline, "console=ttyS0");

	assert_int_equal(PARSE(&c, err, "run", "-k", "x", "--vconsole",
			       "transport=mmio,socket=s"), 0);
	assert_int_equal(c.cfg.vconsole.transport, VIRTIO_TRANSPORT_MMIO);
	assert_string_equal(c.cfg.vconsole.path, "s");

	/* the terminal on hvc0: both spellings, console=hvc0 by default */
	assert_int_equal(PARSE(&c, err, "run", "-k", "x", "--console", "virtio"), 0);
	assert_int_equal(c.cfg.console, CONSOLE_VIRTIO);
	assert_true(c.cfg.vconsole.on);
	assert_true(c.cfg.vconsole.stdio);
	assert_string_equal(c.cfg.cmdline, "console=hvc0");
	assert_int_equal(PARSE(&c, err, "run", "-k", "x", "--vconsole", "stdio,transport=mmio",
			       "-c", "root=/dev/vda quiet"), 0);
	assert_int_equal(c.cfg.console, CONSOLE_VIRTIO);
	assert_int_equal(c.cfg.vconsole.transport, VIRTIO_TRANSPORT_MMIO);
	assert_string_equal(c.cfg.cmdline, "root=/dev/vda quiet console=hvc0");
	assert_int_equal(PARSE(&c, err, "run", "-k", "x", "--console", "virtio",
			       "--vconsole", "stdio", "-c", ""), 0);
	assert_string_equal(c.cfg.cmdline, "console=hvc0");
	/* the user's console= wins, wherever it is */
	assert_int_equal(PARSE(&c, err, "run", "-k", "x", "--console", "virtio",
			       "-c", "quiet console=ttyS0"), 0);
	assert_string_equal(c.cfg.cmdline, "quiet console=ttyS0");
	assert_int_equal(PARSE(&c, err, "run", "-k", "x", "--console", "virtio",
			       "-c", "netconsole=x"), 0);
	assert_string_equal(c.cfg.cmdline, "netconsole=x console=hvc0");

	assert_int_equal(PARSE(&c, err, "run", "-k", "x", "--console", "virtio",
			       "--vconsole", "socket=s"), -EINVAL);
	assert_non_null(strstr(err, "--console virtio"));
	assert_int_equal(PARSE(&c, err, "run", "-k", "x", "--console", "none",
			       "--vconsole", "stdio"), -EINVAL);
	assert_int_equal(PARSE(&c, err, "run", "-k", "x", "--vconsole", "socket=a",
			       "--vconsole", "socket=b"), -EINVAL);
	assert_non_null(strstr(err, "at most"));
	assert_int_equal(PARSE(&c, err, "run", "-k", "x", "--vconsole", "transport=pci"), -EINVAL);
	assert_non_null(strstr(err, "no backend"));
	assert_int_equal(PARSE(&c, err, "run", "-k", "x", "--vconsole", "socket="), -EINVAL);
	assert_int_equal(PARSE(&c, err, "run", "-k", "x", "--vconsole", "tcp=1"), -EINVAL);
	assert_non_null(strstr(err, "unknown option"));
	assert_int_equal(PARSE(&c, err, "run", "-k", "x", "--console", "serial"), -EINVAL);
	char longpath[128] = "socket=";
	memset(longpath + 7, 'p', 110);
	assert_int_equal(PARSE(&c, err, "run", "-k", "x", "--vconsole", longpath), -EINVAL);
	assert_non_null(strstr(err, "107 bytes"));
	/* an mmio console takes a slot like the others */
	assert_int_equal(PARSE(&c, err, "run", "-k", "x", "--disk", "1,transport=mmio",
			       "--disk", "2,transport=mmio", "--disk", "3,transport=mmio",
			       "--disk", "4,transport=mmio", "--disk", "5,transport=mmio",
			       "--disk", "6,transport=mmio", "--disk", "7,transport=mmio",
			       "--disk", "8,transport=mmio",
			       "--vconsole", "socket=s,transport=mmio"), -EINVAL);
	assert_non_null(strstr(err, "9 devices with transport=mmio"));
}

static void irqchip(void **state)
{
	struct cli c;
	char err[256];

	(void)state;
	assert_int_equal(PARSE(&c, err, "run", "-k", "x"), 0);
	assert_int_equal(c.cfg.irqchip, IRQCHIP_KERNEL);
	assert_int_equal(PARSE(&c, err, "run", "-k", "x", "--irqchip", "split"), 0);
	assert_int_equal(c.cfg.irqchip, IRQCHIP_SPLIT);
	assert_int_equal(PARSE(&c, err, "run", "-k", "x", "--irqchip=kernel"), 0);
	assert_int_equal(c.cfg.irqchip, IRQCHIP_KERNEL);
	assert_int_equal(PARSE(&c, err, "run", "-k", "x", "--irqchip", "userspace"), -EINVAL);
	assert_non_null(strstr(err, "--irqchip: \"userspace\" is not kernel or split"));
	assert_int_equal(PARSE(&c, err, "run", "-k", "x", "--irqchip"), -EINVAL);
}

/* --trace: classes add up over repeats, one file, help, bad classes */
static void trace(void **state)
{
	struct cli c;
	char err[256];
	(void)state;

	assert_int_equal(PARSE(&c, err, "run", "-k", "bz"), 0);
	assert_int_equal(c.cfg.trace_mask, 0);
	assert_null(c.cfg.trace_path);
	assert_int_equal(PARSE(&c, err, "run", "-k", "bz", "--trace", "pio,mmio:/tmp/t.log"), 0);
	assert_int_equal(c.cfg.trace_mask, TRACE_PIO | TRACE_MMIO);
	assert_string_equal(c.cfg.trace_path, "/tmp/t.log");
	assert_int_equal(PARSE(&c, err, "run", "-k", "bz", "--trace", "irq", "--trace=virtio:/f",
			       "--trace", "exits"), 0);
	assert_int_equal(c.cfg.trace_mask, TRACE_IRQ | TRACE_VIRTIO | TRACE_EXITS);
	assert_string_equal(c.cfg.trace_path, "/f");
	assert_int_equal(PARSE(&c, err, "run", "-k", "bz", "--trace", "all"), 0);
	assert_int_equal(c.cfg.trace_mask, TRACE_ALL);
	assert_null(c.cfg.trace_path);
	/* help needs no kernel, like --help */
	assert_int_equal(PARSE(&c, err, "run", "--trace", "help"), 0);
	assert_int_equal(c.action, CLI_HELP);
	assert_string_equal(c.help_topic, "trace");
	assert_non_null(strstr(cli_help("trace"), "exits"));
	assert_int_equal(PARSE(&c, err, "run", "-k", "bz", "--trace", "pio,disk"), -EINVAL);
	assert_non_null(strstr(err, "unknown event class \"disk\""));
	assert_int_equal(PARSE(&c, err, "run", "-k", "bz", "--trace", "pio:"), -EINVAL);
	assert_non_null(strstr(err, "no file name"));
	assert_int_equal(PARSE(&c, err, "run", "-k", "bz", "--trace", "pio:/a", "--trace", "irq:/b"),
			 -EINVAL);
	assert_non_null(strstr(err, "two trace files"));
	assert_int_equal(PARSE(&c, err, "run", "-k", "bz", "--trace"), -EINVAL);
	assert_non_null(strstr(err, "needs a value"));
	assert_non_null(strstr(cli_help("run"), "--trace EVENTS[:FILE]"));
}

static void gdb(void **state)
{
	struct cli c;
	char err[256];
	(void)state;

	assert_int_equal(PARSE(&c, err, "run", "-k", "x", "--gdb", "tcp:1234"), 0);
	assert_true(c.cfg.gdb.on);
	assert_false(c.cfg.gdb.unix_socket);
	assert_false(c.cfg.gdb.wait);
	assert_string_equal(c.cfg.gdb.host, "127.0.0.1");
	assert_int_equal(c.cfg.gdb.port, 1234);
	assert_int_equal(PARSE(&c, err, "run", "-k", "x", "--gdb", "tcp:0.0.0.0:65535",
			       "--gdb-wait"), 0);
	assert_string_equal(c.cfg.gdb.host, "0.0.0.0");
	assert_int_equal(c.cfg.gdb.port, 65535);
	assert_true(c.cfg.gdb.wait);
	assert_int_equal(PARSE(&c, err, "run", "-k", "x", "--gdb-wait", "--gdb", "unix:/tmp/g.sock"), 0);
	assert_true(c.cfg.gdb.unix_socket);
	assert_string_equal(c.cfg.gdb.path, "/tmp/g.sock");
	assert_true(c.cfg.gdb.wait);

	static char *const bad[] = {
		"tcp:", "tcp:0", "tcp:65536", "tcp:12x", "tcp::1234", "tcp:host:", "1234",
		"unix:", "udp:1234", "tcp:-1",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(PARSE(&c, err, "run", "-k", "x", "--gdb", bad[i]), -EINVAL);
		assert_non_null(strstr(err, "--gdb"));
	}
	char longpath[200];
	memset(longpath, 'a', sizeof(longpath));
	memcpy(longpath, "unix:", 5);
	longpath[sizeof(longpath) - 1] = 0;
	assert_int_equal(PARSE(&c, err, "run", "-k", "x", "--gdb", longpath), -EINVAL);
	assert_int_equal(PARSE(&c, err, "run", "-k", "x", "--gdb-wait"), -EINVAL);
	assert_non_null(strstr(err, "--gdb-wait needs --gdb"));
	assert_int_equal(PARSE(&c, err, "run", "-k", "x", "--gdb", "tcp:1", "--gdb", "tcp:2"),
			 -EINVAL);
	assert_non_null(strstr(err, "at most"));
	assert_int_equal(PARSE(&c, err, "run", "-k", "x", "--gdb"), -EINVAL);
	assert_non_null(strstr(cli_help("run"), "--gdb-wait"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sizes),
		cmocka_unit_test(run_full),
		cmocka_unit_test(run_defaults),
		cmocka_unit_test(help_and_version),
		cmocka_unit_test(api_socket_and_ctl),
		cmocka_unit_test(usage_errors),
		cmocka_unit_test(disks_and_rng),
		cmocka_unit_test(vconsole),
		cmocka_unit_test(net),
		cmocka_unit_test(irqchip),
		cmocka_unit_test(trace),
		cmocka_unit_test(gdb),
	};
	return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}

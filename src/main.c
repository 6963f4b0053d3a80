/*
 * petrel's entry point: command line -> struct vm_config -> checks and the
 * boot plan (no KVM yet, so bad input is explained on any host) -> VM ->
 * exit status. The only place that exits the process.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "petrel/api.h"
#include "petrel/blk_image.h"
#include "petrel/boot_plan.h"
#include "petrel/config.h"
#include "petrel/console.h"
#include "petrel/cpuid.h"
#include "petrel/exitcode.h"
#include "petrel/gdb_server.h"
#include "petrel/mono_clock.h"
#include "petrel/net_tap.h"
#include "petrel/sandbox.h"
#include "petrel/start_times.h"
#include "petrel/util.h"
#include "petrel/virtio_mmio.h"
#include "petrel/vm.h"

/*
 * Each --disk opens, all at once, as vm_create will open them (a missing
 * image, a directory, one another petrel writes, the same image twice):
 * said now, on any host, rather than after /dev/kvm. They are closed
 * again (locks dropped) and reopened by the devices.
 */
static int check_disks(const struct vm_config *cfg)
{
	struct blk_image imgs[CONFIG_MAX_DISKS];
	unsigned n = 0;
	int r = 0;

	while (n < cfg->nr_disks && (r = blk_image_open(&imgs[n], &cfg->disks[n])) == 0)
		n++;
	while (n--)
		blk_image_close(&imgs[n]);
	return r;
}

/*
 * Each --net tap the same way: a missing tap, or one we may not use, is
 * said before /dev/kvm (net_tap.c names the fix).
 */
static int check_nics(const struct vm_config *cfg)
{
	int r;

	for (unsigned i = 0; i < cfg->nr_nics; i++)
		if (cfg->nics[i].kind == NET_TAP &&
		    (r = net_tap_check(cfg->nics[i].tap, cfg->nics[i].fd)) < 0)
			return r;
	return 0;
}

/*
 * Everything about the input that needs no KVM: the CPU feature names and
 * the whole boot plan (kernel, initrd, command line, memory, vCPU count
 * against the firmware tables). The KVM-dependent limits stay in
 * vm_create.
 */
static int prepare(const struct vm_config *cfg, struct boot_plan *plan)
{
	struct virtio_mmio_slot slots[VIRTIO_MMIO_SLOTS];
	/* the DSDT describes the same list vm_virtio.c puts on the bus */
	int nr_mmio = virtio_mmio_slots(cfg, slots);

	if (nr_mmio < 0) {
		pt_err("at most %d virtio-mmio devices fit", VIRTIO_MMIO_SLOTS);
		return nr_mmio;
	}
	const struct boot_config bc = {
		.kernel = cfg->kernel,
		.initrd = cfg->initrd,
		.cmdline = cfg->cmdline,
		.mem_size = cfg->mem_size,
		.ncpus = cfg->ncpus,
		.no_acpi = cfg->no_acpi,
		.guest_decompress = cfg->guest_decompress,
		.nr_virtio_mmio = (unsigned)nr_mmio,
	};
	char err[256];
	int r;

	if ((r = cpuid_check_edits(cfg->features, cfg->nr_features, err,
				   sizeof(err))) < 0) {
		pt_err("%s", err);
		return r;
	}
	if ((r = check_disks(cfg)) < 0 || (r = check_nics(cfg)) < 0)
		return r;
	return boot_plan_build(plan, &bc);
}

int main(int argc, char **argv)
{
	/* first: the boot marker measures the guest's boot from here */
	const uint64_t start_ns = mono_clock_host_ns(NULL);
	struct cli cli;
	struct boot_plan plan;
	struct vm vm;
	struct start_times times;
	struct api_ctx api = { .listen_fd = -1 };
	struct api_server *api_server = NULL;
	struct gdb_server *gdb = NULL;
	struct sandbox sandbox;
	char err[256];
	sigset_t kick;
	int status, r;

	if (cli_parse(argc, argv, &cli, err, sizeof(err)) < 0) {
		fprintf(stderr, "petrel: %s\n", err);
		return EXIT_USAGE;
	}
	start_times_init(&times, start_ns);
	start_times_mark(&times, START_PARSED);
	cli.cfg.start_ns = start_ns;
	cli.cfg.times = &times;
	switch (cli.action) {
	case CLI_HELP:
		if (cli.help_topic && !strcmp(cli.help_topic, "cpu-features"))
			cpuid_list_features(stdout);
		else if (cli.help_topic && !strcmp(cli.help_topic, "seccomp"))
			sandbox_print_rules(stdout);
		else if (cli.help_topic && !strcmp(cli.help_topic, "ctl"))
			fputs(api_ctl_help(), stdout);
		else
			fputs(cli_help(cli.help_topic), stdout);
		return 0;
	case CLI_VERSION:
		printf("petrel %s\n", PETREL_VERSION);
		return 0;
	case CLI_CTL:
		return api_ctl_main(argc - 1, argv + 1);
	case CLI_RUN:
		break;
	}

	/* first: --user as non-root, or a kernel without seccomp, is said at once */
	if (sandbox_init(&sandbox, &cli.cfg) < 0)
		return EXIT_VMM_ERROR;
	cli.cfg.sandbox = &sandbox;
	memset(&plan, 0, sizeof(plan));
	if (prepare(&cli.cfg, &plan) < 0) {
		boot_plan_free(&plan);
		return EXIT_VMM_ERROR;
	}
	/* the socket before /dev/kvm, so a bad or busy path is said at once */
	if (cli.cfg.api_socket) {
		api.socket_path = cli.cfg.api_socket;
		api.listen_fd = api_socket_open(cli.cfg.api_socket);
		if (api.listen_fd < 0) {
			boot_plan_free(&plan);
			return EXIT_VMM_ERROR;
		}
	}
	start_times_mark(&times, START_PLANNED);

	/*
	 * Before any thread exists: the vCPU kick signal and the stop signals
	 * are blocked everywhere; vCPU threads unblock the kick, the I/O
	 * thread takes the stop signals through a signalfd.
	 */
	sigemptyset(&kick);
	sigaddset(&kick, SIGRTMIN);
	pthread_sigmask(SIG_BLOCK, &kick, NULL);
	console_block_signals();
	signal(SIGPIPE, SIG_IGN);

	r = vm_create(&vm, &cli.cfg, &plan);
	/* in guest RAM now: the host copy (the decompressed kernel) can go */
	boot_plan_free(&plan);
	if (r == 0 && api.listen_fd >= 0) {
		api.vm = &vm;
		r = api_server_start(&api_server, &api);
	}
	/* the stub listens (and, with --gdb-wait, pauses) before a vCPU runs */
	if (r >= 0 && cli.cfg.gdb.on)
		r = gdb_server_start(&gdb, &vm, &cli.cfg.gdb);
	if (r < 0) {
		/* the API may run already (the stub failed): it reads the VM */
		api_server_stop(api_server);
		if (api.listen_fd >= 0) {
			close(api.listen_fd);
			unlink(api.socket_path);
		}
		vm_destroy(&vm);
		console_restore_terminal();
		return EXIT_VMM_ERROR;
	}
	status = vm_run(&vm);
	/* before the VM goes: the API thread reads it */
	api_server_stop(api_server);
	gdb_server_finish(gdb, status);
	vm_destroy(&vm);
	console_restore_terminal();
	pt_info("%s (exit status %d)", vm.stop.reason[0] ? vm.stop.reason : "stopped",
		status);
	return status;
}

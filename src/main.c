/*
 * petrel's entry point: command line -> struct vm_config -> VM -> exit
 * status. The only place that exits the process.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "petrel/config.h"
#include "petrel/console.h"
#include "petrel/cpuid.h"
#include "petrel/exitcode.h"
#include "petrel/util.h"
#include "petrel/vm.h"

int main(int argc, char **argv)
{
	struct cli cli;
	struct vm vm;
	char err[256];
	sigset_t kick;
	int status;

	if (cli_parse(argc, argv, &cli, err, sizeof(err)) < 0) {
		fprintf(stderr, "petrel: %s\n", err);
		return EXIT_USAGE;
	}
	switch (cli.action) {
	case CLI_HELP:
		if (cli.help_topic && !strcmp(cli.help_topic, "cpu-features"))
			cpuid_list_features(stdout);
		else
			fputs(cli_help(cli.help_topic), stdout);
		return 0;
	case CLI_VERSION:
		printf("petrel %s\n", PETREL_VERSION);
		return 0;
	case CLI_RUN:
		break;
	}

	/*
	 * Before any thread exists: the vCPU kick signal and the stop signals
	 * are blocked everywhere; vCPU threads unblock the kick, the console
	 * thread takes the stop signals through a signalfd.
	 */
	sigemptyset(&kick);
	sigaddset(&kick, SIGRTMIN);
	pthread_sigmask(SIG_BLOCK, &kick, NULL);
	console_block_signals();
	signal(SIGPIPE, SIG_IGN);

	if (vm_create(&vm, &cli.cfg) < 0) {
		vm_destroy(&vm);
		console_restore_terminal();
		return EXIT_VMM_ERROR;
	}
	status = vm_run(&vm);
	vm_destroy(&vm);
	console_restore_terminal();
	pt_info("%s (exit status %d)", vm.stop.reason[0] ? vm.stop.reason : "stopped",
		status);
	return status;
}

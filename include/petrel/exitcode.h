/* petrel's exit statuses: documented in the README and in --help. */
#ifndef PETREL_EXITCODE_H
#define PETREL_EXITCODE_H

enum petrel_exit {
	EXIT_GUEST_OFF = 0,      /* guest powered off or reset itself */
	EXIT_VMM_ERROR = 1,      /* petrel could not build or run the VM */
	EXIT_USAGE = 2,          /* bad command line */
	EXIT_GUEST_CRASH = 3,    /* triple fault, entry failure, unhandled exit */
	EXIT_EMULATION = 4,      /* KVM internal error: emulation failure */
	EXIT_TERMINATED = 5,     /* user quit (console escape) or signal */
};

#endif

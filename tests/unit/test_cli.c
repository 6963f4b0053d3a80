/* Command-line parsing and size suffixes: no KVM involved. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "petrel/config.h"
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sizes),
		cmocka_unit_test(run_full),
		cmocka_unit_test(run_defaults),
		cmocka_unit_test(help_and_version),
		cmocka_unit_test(usage_errors),
	};
	return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}

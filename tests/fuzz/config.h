/* Stand-in for the autoconf config.h, used only by the fuzz build
 * (tests/fuzz/run.sh puts this directory first on the include path). */
#ifndef PRIVPOP_FUZZ_CONFIG_H
#define PRIVPOP_FUZZ_CONFIG_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#define PACKAGE_VERSION "fuzz"
#endif

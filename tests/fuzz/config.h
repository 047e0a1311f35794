/* Stand-in for the autoconf config.h, used only by the fuzz build
 * (tests/fuzz/run.sh puts this directory first on the include path). */
#ifndef PRIVPOP_FUZZ_CONFIG_H
#define PRIVPOP_FUZZ_CONFIG_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#define PACKAGE_VERSION "fuzz"
#define PRIVPOP_SYSCONFDIR "/fuzz/etc/privpop"
#define PRIVPOP_LIBEXECDIR "/fuzz/libexec/privpop"
#define PRIVPOP_RUNSTATEDIR "/fuzz/run"
#define PRIVPOP_STATEDIR "/fuzz/var/lib/privpop"
#define PRIVPOP_EMPTYDIR "/fuzz/var/lib/privpop/empty"
#define PRIVPOP_LANGDIR "/fuzz/share/privpop/lang"
#endif

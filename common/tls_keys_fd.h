/* The descriptor on which privpop-auth finds the TLS key snapshot
 * (after the IPC socket, the config and the penalty descriptors). */
#ifndef PRIVPOP_TLS_KEYS_FD_H
#define PRIVPOP_TLS_KEYS_FD_H

#define TLS_KEYS_FD	7

#endif

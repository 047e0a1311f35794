/*
 * The master's counters in the Prometheus text format (version 0.0.4):
 * one table of what each means (# HELP) and its kind (# TYPE), used by
 * privpopctl stats --prometheus and by the metrics process
 * (metrics_listen), so that both print the same.
 */
#ifndef PRIVPOP_METRICS_TEXT_H
#define PRIVPOP_METRICS_TEXT_H

#include <stddef.h>

#include "buf.h"

/* The longest counter name taken (after "privpop_"). */
#define METRICS_NAME_MAX	64

/* Whether name (len bytes) is a counter's name: 1 to METRICS_NAME_MAX
 * of a-z, 0-9 and _. */
int	metrics_name_ok(const char *name, size_t len);
/* Whether value (len bytes) is a counter's value: a decimal number of
 * at most INT64_MAX. */
int	metrics_value_ok(const char *value, size_t len);
/* Append one counter, "# HELP", "# TYPE" and "privpop_NAME VALUE", to
 * out: 0, or -1 when out is full.  A name the table lacks (a newer
 * master) is "untyped" and has no HELP.  name and value must have
 * passed the checks above. */
int	metrics_text_add(struct buf *out, const char *name, const char *value);
/* The whole stats text of the master (lines "NAME\tVALUE\n", control.c)
 * in Prometheus text into out: 0, or -1 when a line is malformed
 * (then out holds a part) or out is full. */
int	metrics_text_prometheus(const char *text, size_t len, struct buf *out);

#endif

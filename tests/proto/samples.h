/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * samples.h - valid control messages of every type, for the proto tests and
 * the fuzz seed-corpus generator (tests/fuzz/gen_corpus.c).
 */
#ifndef MAVPN_TESTS_PROTO_SAMPLES_H
#define MAVPN_TESTS_PROTO_SAMPLES_H

#include <stddef.h>

#include "proto/ctl.h"

/* Every message type, in enum order. */
extern const enum ctl_type sample_types[];
extern const size_t sample_ntypes;

enum sample_variant {
	SAMPLE_MIN,	/* required fields only, no repeats */
	SAMPLE_FULL,	/* every optional field, maximum repeat counts, longest strings */
	SAMPLE_MID,	/* a mix: some optional fields, a few repeats, v6 addresses */
	SAMPLE_NVARIANTS
};

/* Fill *m with a valid message of type t; seed varies the byte values. */
void sample_msg(struct ctl_msg *m, enum ctl_type t, enum sample_variant v, unsigned seed);

#endif

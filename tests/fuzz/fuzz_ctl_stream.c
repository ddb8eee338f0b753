// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_ctl_stream.c - ctl_frame_len over a byte stream, as the channel
 * reassembles frames. The stream arrives in chunks whose sizes come from
 * the first input byte; at every arrival point the answer must agree with
 * the answer for the whole stream (NEED_MORE before a frame is complete,
 * the same length after, the same header error once it is visible).
 * Each complete frame is decoded.
 */
#include <stdlib.h>

#include "proto/ctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ctl_msg m;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t chunk, pos;

	if (size < 1)
		return 0;
	chunk = 1 + data[0] % 64;
	data++;
	size--;

	pos = 0;
	while (pos < size) {
		const uint8_t *buf = data + pos;
		size_t left = size - pos, fl = 0, have;
		enum ctl_err all = ctl_frame_len(buf, left, &fl);

		for (have = 0; have < left; have += chunk) {
			size_t fl2 = 0;
			enum ctl_err e = ctl_frame_len(buf, have, &fl2);

			if (all == CTL_OK) {
				if (have < fl ? e != CTL_ERR_NEED_MORE : (e != CTL_OK || fl2 != fl))
					abort();
			} else if (all == CTL_ERR_NEED_MORE) {
				if (e != CTL_ERR_NEED_MORE)
					abort();
			} else if (e != CTL_ERR_NEED_MORE && e != all) {
				abort();
			}
		}
		if (all != CTL_OK)
			break;	/* need more, or the channel closes */
		if (fl < CTL_HDR_LEN || fl > CTL_MAX_FRAME || fl > left)
			abort();
		(void)ctl_decode(&m, buf, fl);
		pos += fl;
	}
	return 0;
}

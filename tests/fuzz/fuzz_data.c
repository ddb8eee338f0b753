// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz_data.c - data_parse, the gate every received datagram passes.
 * Accepted packets must report exactly what the header bytes say.
 */
#include <stdlib.h>
#include <string.h>

#include "proto/data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t rcv;
	uint64_t ctr;
	size_t pl;
	uint8_t hdr[DATA_HDR_LEN];

	if (data_parse(data, size, &rcv, &ctr, &pl) != DATA_OK)
		return 0;
	if (size < DATA_OVERHEAD || pl != size - DATA_OVERHEAD || pl > DATA_MAX_PAYLOAD)
		abort();
	/* rebuild the header from what was reported: same bytes */
	data_hdr_init(hdr, rcv);
	for (int i = 0; i < 8; i++)
		hdr[8 + i] = (uint8_t)(ctr >> (8 * i));
	if (memcmp(hdr, data, DATA_HDR_LEN) != 0)
		abort();
	return 0;
}

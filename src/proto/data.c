// SPDX-License-Identifier: GPL-2.0-only
/*
 * data.c - the one gate every received data datagram passes (data.h).
 */
#include "proto/data.h"

#include "proto/cursor.h"

enum data_err data_parse(const uint8_t *pkt, size_t len, uint32_t *receiver,
			 uint64_t *counter, size_t *payload_len)
{
	if (len < DATA_OVERHEAD)
		return DATA_ERR_SHORT;
	if (pkt[0] != DATA_TYPE)
		return DATA_ERR_TYPE;
	if (pkt[1] | pkt[2] | pkt[3])
		return DATA_ERR_RESERVED;
	if (len - DATA_OVERHEAD > DATA_MAX_PAYLOAD)
		return DATA_ERR_LONG;
	*receiver = get_u32le(pkt + 4);
	*counter = get_u64le(pkt + 8);
	*payload_len = len - DATA_OVERHEAD;
	return DATA_OK;
}

void data_hdr_init(uint8_t pkt[static DATA_HDR_LEN], uint32_t receiver)
{
	pkt[0] = DATA_TYPE;
	pkt[1] = pkt[2] = pkt[3] = 0;
	put_u32le(pkt + 4, receiver);
}

const char *data_strerror(enum data_err e)
{
	switch (e) {
	case DATA_OK:
		return "ok";
	case DATA_ERR_SHORT:
		return "datagram shorter than header + tag";
	case DATA_ERR_TYPE:
		return "not a data packet (type byte)";
	case DATA_ERR_RESERVED:
		return "reserved header bytes not zero";
	case DATA_ERR_LONG:
		return "payload too long";
	}
	return "unknown data error";
}

/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * data.h - the UDP data packet (DESIGN.md, Data packet).
 *
 *   0        1            4                  8                    16
 *   | type=1 | reserved 0 | receiver index LE | counter LE u64      | ciphertext | tag 16 |
 *
 * The whole 16-byte header is the AEAD's associated data; the nonce is the
 * counter (see crypto/session.h). A packet with an empty payload is a
 * keepalive. data_parse() is the one gate every received datagram passes
 * before anything else reads it.
 */
#ifndef MAVPN_PROTO_DATA_H
#define MAVPN_PROTO_DATA_H

#include <stddef.h>
#include <stdint.h>

#define DATA_HDR_LEN 16
#define DATA_TAG_LEN 16
#define DATA_OVERHEAD (DATA_HDR_LEN + DATA_TAG_LEN)
#define DATA_TYPE 1
/* Largest inner packet we carry: 64 KiB (a GSO super-packet) */
#define DATA_MAX_PAYLOAD 65535
/* UDP (8) + IPv6 (40) + our overhead: a tunnel MTU of 1420 fits 1500 */
#define DATA_DEFAULT_MTU 1420

struct data_hdr {
	uint8_t type;
	uint8_t reserved[3];
	uint32_t receiver;	/* little-endian on the wire */
	uint64_t counter;	/* little-endian on the wire */
} __attribute__((packed));
_Static_assert(sizeof(struct data_hdr) == DATA_HDR_LEN, "data header is 16 bytes");

enum data_err {
	DATA_OK = 0,
	DATA_ERR_SHORT,		/* shorter than header + tag */
	DATA_ERR_TYPE,		/* type byte is not DATA_TYPE */
	DATA_ERR_RESERVED,	/* reserved bytes not zero */
	DATA_ERR_LONG,		/* payload above DATA_MAX_PAYLOAD */
};

/* Validate a received datagram and read its receiver index and counter.
 * On DATA_OK, *payload_len = len - DATA_OVERHEAD (may be 0: keepalive). */
enum data_err data_parse(const uint8_t *pkt, size_t len, uint32_t *receiver,
			 uint64_t *counter, size_t *payload_len)
	__attribute__((warn_unused_result));

/* Write type, reserved and receiver index; the counter is left to
 * session_seal(). */
void data_hdr_init(uint8_t pkt[static DATA_HDR_LEN], uint32_t receiver);

const char *data_strerror(enum data_err e);

#endif

/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cursor.h - bounded read/write cursors over a byte buffer (private to
 * src/proto). Every read and write checks pos + n <= len first; a failed
 * check leaves the cursor unchanged and returns false, so callers never
 * touch a byte outside [buf, buf + len).
 */
#ifndef MAVPN_PROTO_CURSOR_H
#define MAVPN_PROTO_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct rcur {
	const uint8_t *buf;
	size_t len;
	size_t pos;
};

struct wcur {
	uint8_t *buf;
	size_t cap;
	size_t pos;
};

static inline void rcur_init(struct rcur *c, const uint8_t *buf, size_t len)
{
	c->buf = buf;
	c->len = len;
	c->pos = 0;
}

static inline size_t rcur_left(const struct rcur *c)
{
	return c->len - c->pos;
}

/* Take n bytes: *p points at them. */
static inline bool __attribute__((warn_unused_result))
rcur_take(struct rcur *c, size_t n, const uint8_t **p)
{
	if (n > c->len - c->pos)
		return false;
	*p = c->buf + c->pos;
	c->pos += n;
	return true;
}

static inline bool __attribute__((warn_unused_result))
rcur_u8(struct rcur *c, uint8_t *v)
{
	const uint8_t *p;

	if (!rcur_take(c, 1, &p))
		return false;
	*v = p[0];
	return true;
}

static inline bool __attribute__((warn_unused_result))
rcur_u16be(struct rcur *c, uint16_t *v)
{
	const uint8_t *p;

	if (!rcur_take(c, 2, &p))
		return false;
	*v = (uint16_t)((unsigned)p[0] << 8 | p[1]);
	return true;
}

static inline uint16_t get_u16be(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static inline uint32_t get_u32be(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t get_u64be(const uint8_t *p)
{
	return (uint64_t)get_u32be(p) << 32 | get_u32be(p + 4);
}

static inline uint32_t get_u32le(const uint8_t *p)
{
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static inline uint64_t get_u64le(const uint8_t *p)
{
	return (uint64_t)get_u32le(p + 4) << 32 | get_u32le(p);
}

static inline void put_u16be(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put_u32be(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline void put_u64be(uint8_t *p, uint64_t v)
{
	put_u32be(p, (uint32_t)(v >> 32));
	put_u32be(p + 4, (uint32_t)v);
}

static inline void put_u32le(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* Reserve n bytes for writing: *p points at them. */
static inline bool __attribute__((warn_unused_result))
wcur_take(struct wcur *c, size_t n, uint8_t **p)
{
	if (n > c->cap - c->pos)
		return false;
	*p = c->buf + c->pos;
	c->pos += n;
	return true;
}

static inline bool __attribute__((warn_unused_result))
wcur_put(struct wcur *c, const void *src, size_t n)
{
	uint8_t *p;

	if (!wcur_take(c, n, &p))
		return false;
	if (n)
		memcpy(p, src, n);
	return true;
}

#endif

/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ctl.h - control frames between node and keybroker (inside TLS).
 *
 * Frame:  version u8 (=1) | type u8 | flags u16 BE (=0) | body length u32 BE | body
 * Body:   fields, each  tag u8 | length u16 BE | value
 *
 * Every tag has one fixed type (CTL_FT_*), which fixes or bounds its length.
 * Per message type, a table lists its fields as required or optional and
 * single or repeated (with a maximum count). The decoder rejects: a frame
 * above CTL_MAX_FRAME, a wrong version, unknown type, non-zero flags, a field
 * that overruns the body, a length wrong for the field's type, a field the
 * message does not allow, a single field present twice, too many repeats,
 * a missing required field, a string with a NUL or non-printable byte.
 * Unknown tags are errors too: both ends ship together (version bumps the
 * frame version).
 *
 * Tag numbers, field types and which fields each message requires: the
 * table at the top of ctl.c. Optional fields: a has_* flag where the struct
 * has one; otherwise absent = empty string (reason) or af == 0 (refuse.dst).
 * Repeated fields may be absent (n_* = 0). These integers must not be 0:
 * hello.data_port, the sid of OFFER/GRANT/ACCEPT, welcome.keepalive_s and
 * key_life_s, session.life_s and aead (REVOKE/REFUSE sid may be 0). Names
 * are [a-z0-9][a-z0-9.-]*; reasons are printable ASCII. ctl_encode()
 * refuses (CTL_ERR_VALUE) what the decoder would refuse, so a frame it
 * writes always decodes.
 *
 * ENROLL_REQ carries a signature proving the node holds the key it enrolls
 * (ctl_enroll_sig_msg below).
 *
 * Secrets (session secret, token secret) travel in struct ctl_msg; whoever
 * holds one wipes it (ct_wipe(&msg, sizeof msg)) once done.
 */
#ifndef MAVPN_PROTO_CTL_H
#define MAVPN_PROTO_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CTL_VERSION 1
#define CTL_HDR_LEN 8
#define CTL_MAX_FRAME 8192	/* header included */
#define CTL_MAX_BODY (CTL_MAX_FRAME - CTL_HDR_LEN)

#define CTL_NAME_MAX 63		/* = PKI_NAME_MAX */
#define CTL_REASON_MAX 200
#define CTL_MAX_PREFIXES 16
#define CTL_MAX_ENDPOINTS 8
#define CTL_CERT_MAX 2048
#define CTL_SECRET_LEN 32
#define CTL_EPH_LEN 32
#define CTL_PUB_LEN 65
#define CTL_TOKEN_SECRET_LEN 16
#define CTL_SIG_MIN 8		/* shortest ECDSA DER signature */
#define CTL_SIG_MAX 72		/* = PKI_SIG_MAX */

enum ctl_type {
	CTL_ENROLL_REQ = 1,	/* node -> broker, server-only TLS */
	CTL_ENROLL_OK = 2,	/* broker -> node */
	CTL_ERROR = 3,		/* either way: request refused / channel about to close */
	CTL_HELLO = 10,		/* node -> broker, first frame on the mutual-TLS channel */
	CTL_WELCOME = 11,	/* broker -> node */
	CTL_PING = 12,		/* either way; answered with PONG, same nonce */
	CTL_PONG = 13,
	CTL_SESSION_REQ = 20,	/* node A -> broker */
	CTL_OFFER = 21,		/* broker -> node B (struct ctl_session) */
	CTL_ACCEPT = 22,	/* node B -> broker */
	CTL_GRANT = 23,		/* broker -> node A (struct ctl_session) */
	CTL_REFUSE = 24,	/* broker -> A (request refused), or B -> broker (offer declined) */
	CTL_REVOKE = 25,	/* broker -> node: erase the keys of a session / all with a peer */
	CTL_ROUTES = 26,	/* broker -> node: prefixes reachable through gateways changed */
};

/* Reasons carried by CTL_ERROR and CTL_REFUSE. */
enum ctl_code {
	CTL_CODE_NONE = 0,
	CTL_CODE_POLICY = 1,		/* denied by policy */
	CTL_CODE_OFFLINE = 2,		/* destination node not connected */
	CTL_CODE_UNKNOWN_DST = 3,	/* no node owns that address */
	CTL_CODE_TIMEOUT = 4,		/* destination did not answer the offer */
	CTL_CODE_LIMIT = 5,		/* rate / pending limit reached */
	CTL_CODE_INTERNAL = 6,
	CTL_CODE_REVOKED = 7,		/* node (or peer) revoked */
	CTL_CODE_UNKNOWN_NODE = 8,
	CTL_CODE_TOKEN_UNKNOWN = 9,
	CTL_CODE_TOKEN_USED = 10,
	CTL_CODE_TOKEN_EXPIRED = 11,
	CTL_CODE_PROTOCOL = 12,		/* malformed or unexpected frame */
	CTL_CODE_DECLINED = 13,		/* destination declined the offer */
	CTL_CODE_SHUTDOWN = 14,		/* broker stopping */
};

/* An IP address: af is 4 or 6; v4 uses a[0..4). Encoded as 4 or 16 bytes. */
struct ctl_ip {
	uint8_t af;
	uint8_t a[16];
};
struct ctl_prefix {
	struct ctl_ip ip;
	uint8_t len;		/* <= 32 / 128; host bits must be zero */
};
struct ctl_endpoint {
	struct ctl_ip ip;
	uint16_t port;		/* != 0 */
};

struct ctl_enroll_req {
	uint8_t token_secret[CTL_TOKEN_SECRET_LEN];
	uint8_t pub[CTL_PUB_LEN];	/* node identity key, P-256 uncompressed */
	uint8_t sig_len;		/* CTL_SIG_MIN..CTL_SIG_MAX */
	uint8_t sig[CTL_SIG_MAX];	/* proof of possession: pki_sign() by the key
					 * `pub` over ctl_enroll_sig_msg() */
};

struct ctl_enroll_ok {
	char name[CTL_NAME_MAX + 1];
	char broker_name[CTL_NAME_MAX + 1];	/* TLS server name to use from now on */
	struct ctl_ip vip4;
	bool has_vip6;
	struct ctl_ip vip6;
	struct ctl_prefix prefix4;	/* overlay prefixes */
	bool has_prefix6;
	struct ctl_prefix prefix6;
	uint8_t n_routes;		/* routes this node may advertise (gateway) */
	struct ctl_prefix routes[CTL_MAX_PREFIXES];
	uint16_t cert_len;
	uint8_t cert[CTL_CERT_MAX];	/* node certificate, DER */
	uint16_t ca_len;
	uint8_t ca[CTL_CERT_MAX];	/* CA certificate, DER */
};

struct ctl_error {
	uint16_t code;			/* enum ctl_code */
	char reason[CTL_REASON_MAX + 1];
};

struct ctl_hello {
	uint16_t data_port;
	uint32_t aead_mask;		/* AEAD_MASK() bits, crypto/aead.h */
	uint8_t n_endpoints;		/* local addresses the node listens on */
	struct ctl_endpoint endpoints[CTL_MAX_ENDPOINTS];
};

struct ctl_welcome {
	char name[CTL_NAME_MAX + 1];
	struct ctl_ip vip4;
	bool has_vip6;
	struct ctl_ip vip6;
	struct ctl_prefix prefix4;
	bool has_prefix6;
	struct ctl_prefix prefix6;
	struct ctl_endpoint observed;	/* source address the broker saw */
	uint16_t keepalive_s;		/* PING interval the broker expects */
	uint32_t key_life_s;		/* session key life the broker hands out */
	uint8_t n_routes;		/* gateway prefixes this node may reach: route them to the TUN */
	struct ctl_prefix routes[CTL_MAX_PREFIXES];
	uint8_t n_own_routes;		/* prefixes this node serves as a gateway */
	struct ctl_prefix own_routes[CTL_MAX_PREFIXES];
};

struct ctl_ping {
	uint64_t nonce;
};

struct ctl_session_req {
	uint32_t req_id;		/* chosen by the node, echoed in GRANT/REFUSE */
	struct ctl_ip dst;		/* the inner destination that triggered it */
	uint8_t eph[CTL_EPH_LEN];	/* initiator's ephemeral X25519 public */
	uint32_t index;			/* initiator's receiver index */
	uint32_t aead_mask;
};

/* OFFER (to the responder, about the initiator) and GRANT (to the
 * initiator, about the responder) carry the same fields. */
struct ctl_session {
	uint32_t req_id;		/* GRANT: the initiator's req_id; OFFER: 0 */
	uint64_t sid;			/* session id minted by the broker, != 0 */
	char peer_name[CTL_NAME_MAX + 1];
	struct ctl_ip peer_vip4;
	bool has_peer_vip6;
	struct ctl_ip peer_vip6;
	uint8_t n_allowed;		/* the peer's allowed inner sources: VIPs + approved routes */
	struct ctl_prefix allowed[CTL_MAX_PREFIXES];
	uint8_t n_endpoints;		/* where to send: observed first, then local ones */
	struct ctl_endpoint endpoints[CTL_MAX_ENDPOINTS];
	uint8_t secret[CTL_SECRET_LEN];	/* S */
	uint8_t peer_eph[CTL_EPH_LEN];	/* OFFER: e_A; GRANT: e_B */
	uint32_t peer_index;		/* the peer's receiver index: put it in our data headers */
	uint8_t aead;			/* enum aead_alg */
	uint32_t life_s;		/* key life in seconds */
};

struct ctl_accept {
	uint64_t sid;
	uint8_t eph[CTL_EPH_LEN];	/* responder's ephemeral X25519 public */
	uint32_t index;			/* responder's receiver index */
};

struct ctl_refuse {
	uint32_t req_id;		/* broker -> A: the request; B -> broker: 0 */
	uint64_t sid;			/* B -> broker: the offer declined; else 0 */
	struct ctl_ip dst;		/* broker -> A: the destination asked for */
	uint16_t code;			/* enum ctl_code */
	char reason[CTL_REASON_MAX + 1];
};

struct ctl_revoke {
	uint64_t sid;			/* one session, or 0 = every session with peer */
	char peer_name[CTL_NAME_MAX + 1];
	uint16_t code;			/* CTL_CODE_POLICY or CTL_CODE_REVOKED */
};

struct ctl_routes {
	uint8_t n_routes;
	struct ctl_prefix routes[CTL_MAX_PREFIXES];
};

struct ctl_msg {
	enum ctl_type type;
	union {
		struct ctl_enroll_req enroll_req;
		struct ctl_enroll_ok enroll_ok;
		struct ctl_error error;
		struct ctl_hello hello;
		struct ctl_welcome welcome;
		struct ctl_ping ping;		/* PING and PONG */
		struct ctl_session_req session_req;
		struct ctl_session session;	/* OFFER and GRANT */
		struct ctl_accept accept;
		struct ctl_refuse refuse;
		struct ctl_revoke revoke;
		struct ctl_routes routes;
	} u;
};

enum ctl_err {
	CTL_OK = 0,
	CTL_ERR_NEED_MORE,	/* ctl_frame_len: not a whole frame yet (not an error) */
	CTL_ERR_TOO_BIG,	/* frame length above CTL_MAX_FRAME */
	CTL_ERR_VERSION,
	CTL_ERR_TYPE,		/* unknown message type */
	CTL_ERR_FLAGS,
	CTL_ERR_TRUNCATED,	/* field runs past the end of the body */
	CTL_ERR_FIELD_LEN,	/* length wrong for the field's type */
	CTL_ERR_FIELD_UNKNOWN,	/* tag not allowed in this message */
	CTL_ERR_FIELD_DUP,	/* single field repeated / too many repeats */
	CTL_ERR_FIELD_MISSING,	/* required field absent */
	CTL_ERR_VALUE,		/* bad value (string chars, prefix host bits, port 0, ...) */
	CTL_ERR_SPACE,		/* ctl_encode: output buffer too small */
};

/*
 * For stream reassembly: given the bytes received so far, CTL_OK with
 * *frame_len = the length of the first frame when it is complete,
 * CTL_ERR_NEED_MORE when more bytes are needed, or an error when the header
 * is already bad (version, flags, length) -- close the channel then.
 */
enum ctl_err ctl_frame_len(const uint8_t *buf, size_t len, size_t *frame_len)
	__attribute__((warn_unused_result));

/* Decode exactly one frame (buf, len = its whole length). On error, *m is
 * wiped. */
enum ctl_err ctl_decode(struct ctl_msg *m, const uint8_t *buf, size_t len)
	__attribute__((warn_unused_result));

/* Encode m into out; returns the frame length or -(enum ctl_err). Counts
 * (n_*) and lengths above their maxima are CTL_ERR_VALUE. */
ssize_t ctl_encode(const struct ctl_msg *m, uint8_t *out, size_t cap)
	__attribute__((warn_unused_result));

const char *ctl_strerror(enum ctl_err e);
const char *ctl_type_name(enum ctl_type t);	/* "SESSION_REQ", ...; "?" if unknown */
const char *ctl_code_name(enum ctl_code c);	/* "denied by policy", ... */

/*
 * Proof of possession of the node key in ENROLL_REQ: the node signs, with
 * the private key of `pub`, the message
 *     "mavpn enroll v1" || token_secret (16) || pub (65)
 * (CTL_ENROLL_SIG_MSG_LEN bytes, no terminating NUL) and the broker checks
 * that signature before it touches the registry. Writes the message to out;
 * out holds the token secret: ct_wipe it once signed / verified.
 */
#define CTL_ENROLL_SIG_LABEL "mavpn enroll v1"
#define CTL_ENROLL_SIG_MSG_LEN (sizeof(CTL_ENROLL_SIG_LABEL) - 1 + CTL_TOKEN_SECRET_LEN + CTL_PUB_LEN)
void ctl_enroll_sig_msg(uint8_t out[static CTL_ENROLL_SIG_MSG_LEN],
			const uint8_t secret[static CTL_TOKEN_SECRET_LEN],
			const uint8_t pub[static CTL_PUB_LEN]);

/* Helpers shared by both ends. */
void ctl_ip_from_v4(struct ctl_ip *ip, const uint8_t a[4]);
void ctl_ip_from_v6(struct ctl_ip *ip, const uint8_t a[16]);
/* 16-byte form: IPv6 as is, IPv4 as ::ffff:a.b.c.d (the KDF's VIP form). */
void ctl_ip_to16(const struct ctl_ip *ip, uint8_t out[16]);
bool ctl_ip_eq(const struct ctl_ip *a, const struct ctl_ip *b);
/* Text forms: "10.0.0.1", "fd00::1", "10.0.0.0/24", "192.0.2.1:4500",
 * "[2001:db8::1]:4500". Parse returns 0, or -1 on any malformed input
 * (including host bits set in a prefix). Format returns out. */
int ctl_ip_parse(struct ctl_ip *ip, const char *s) __attribute__((warn_unused_result));
int ctl_prefix_parse(struct ctl_prefix *p, const char *s) __attribute__((warn_unused_result));
int ctl_endpoint_parse(struct ctl_endpoint *e, const char *s) __attribute__((warn_unused_result));
#define CTL_ADDRSTRLEN 56
const char *ctl_ip_fmt(const struct ctl_ip *ip, char out[static CTL_ADDRSTRLEN]);
const char *ctl_prefix_fmt(const struct ctl_prefix *p, char out[static CTL_ADDRSTRLEN]);
const char *ctl_endpoint_fmt(const struct ctl_endpoint *e, char out[static CTL_ADDRSTRLEN]);
bool ctl_prefix_contains(const struct ctl_prefix *p, const struct ctl_ip *ip);
/* af is 4 or 6, len <= 32 / 128 and every host bit is zero. */
bool ctl_prefix_valid(const struct ctl_prefix *p);
/* A node name: 1..CTL_NAME_MAX chars of [a-z0-9.-], the first [a-z0-9]. */
bool ctl_name_valid(const char *s);

#endif

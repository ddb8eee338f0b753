// SPDX-License-Identifier: GPL-2.0-only
/* Crypto core: X25519 against RFC 7748 sections 5.2 and 6.1. */
#include <criterion/criterion.h>
#include <string.h>

#include "crypto/x25519.h"
#include "test_core_util.h"

static void check_mul(const char *k_hex, const char *u_hex, const char *out_hex)
{
	uint8_t k[32], u[32], out[32], want[32];

	unhex(k, sizeof(k), k_hex);
	unhex(u, sizeof(u), u_hex);
	unhex(want, sizeof(want), out_hex);
	cr_assert_eq(x25519(out, k, u), 0);
	cr_assert_arr_eq(out, want, 32);
}

Test(x25519, rfc7748_5_2_vector1)
{
	check_mul("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
		  "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
		  "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");
}

/* The u-coordinate has its top bit set: it must be masked, not rejected. */
Test(x25519, rfc7748_5_2_vector2_top_bit)
{
	check_mul("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
		  "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
		  "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957");
}

/* RFC 7748 5.2 iterated form: k = X25519(k, u), u = old k; starting from 9. */
Test(x25519, rfc7748_5_2_iterated_1_and_1000)
{
	uint8_t k[32] = { 9 }, u[32] = { 9 }, r[32], want1[32], want1000[32];

	unhex(want1, 32, "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079");
	unhex(want1000, 32, "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51");
	for (int i = 1; i <= 1000; i++) {
		cr_assert_eq(x25519(r, k, u), 0, "iteration %d", i);
		memcpy(u, k, 32);
		memcpy(k, r, 32);
		if (i == 1)
			cr_assert_arr_eq(k, want1, 32);
	}
	cr_assert_arr_eq(k, want1000, 32);
}

Test(x25519, rfc7748_6_1_diffie_hellman)
{
	uint8_t a[32], b[32], apub[32], bpub[32], want_a[32], want_b[32], want_k[32];
	uint8_t k1[32], k2[32];

	unhex(a, 32, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
	unhex(want_a, 32, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
	unhex(b, 32, "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
	unhex(want_b, 32, "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
	unhex(want_k, 32, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
	x25519_public(apub, a);
	x25519_public(bpub, b);
	cr_assert_arr_eq(apub, want_a, 32);
	cr_assert_arr_eq(bpub, want_b, 32);
	cr_assert_eq(x25519(k1, a, bpub), 0);
	cr_assert_eq(x25519(k2, b, apub), 0);
	cr_assert_arr_eq(k1, want_k, 32);
	cr_assert_arr_eq(k2, want_k, 32);
}

/* Points of small order (0, 1, an order-8 point, p-1, p, p+1): the shared
 * value is all zero, which x25519() must refuse and zero its output. */
Test(x25519, low_order_points_rejected)
{
	static const char *const pts[] = {
		"0000000000000000000000000000000000000000000000000000000000000000",
		"0100000000000000000000000000000000000000000000000000000000000000",
		"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	};
	uint8_t k[32], u[32], out[32];

	unhex(k, 32, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
	for (size_t i = 0; i < sizeof(pts) / sizeof(pts[0]); i++) {
		unhex(u, 32, pts[i]);
		memset(out, 0x77, sizeof(out));
		cr_assert_eq(x25519(out, k, u), -1, "point %zu accepted", i);
		cr_assert(all_zero(out, 32), "point %zu: output not zeroed", i);
	}
}

Test(x25519, eph_generate_and_clear)
{
	struct x25519_eph a, b;
	uint8_t pub[32];

	cr_assert_eq(x25519_eph_generate(&a), 0);
	cr_assert_eq(x25519_eph_generate(&b), 0);
	cr_assert(memcmp(a.priv, b.priv, 32) != 0);
	x25519_public(pub, a.priv);
	cr_assert_arr_eq(pub, a.pub, 32);
	x25519_eph_clear(&a);
	cr_assert(all_zero(&a, sizeof(a)));
}

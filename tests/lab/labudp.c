// SPDX-License-Identifier: GPL-2.0-only
/*
 * labudp - hostile-underlay helper for the lab scenarios (tests/lab/).
 *
 *   labudp garbage IP PORT COUNT      random datagrams: pure noise, and noise
 *                                     behind a plausible data header
 *   labudp replay PCAP IP PORT [flip] resend the UDP payloads of a capture
 *                                     (tcpdump -w, Ethernet) sent to PORT;
 *                                     with "flip", one random bit of each is
 *                                     flipped first
 *
 * Sends only to the address given (a lab namespace address). Prints the
 * number of datagrams sent.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

static int open_dst(const char *ip, const char *port, struct sockaddr_in *sa)
{
	int fd;

	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)atoi(port));
	if (inet_pton(AF_INET, ip, &sa->sin_addr) != 1) {
		fprintf(stderr, "labudp: bad IPv4 address '%s'\n", ip);
		exit(2);
	}
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("labudp: socket");
		exit(1);
	}
	return fd;
}

static uint32_t rnd(void)
{
	uint32_t v;

	if (getrandom(&v, sizeof(v), 0) != sizeof(v))
		abort();
	return v;
}

static int garbage(const char *ip, const char *port, long count)
{
	struct sockaddr_in sa;
	uint8_t buf[1500];
	int fd = open_dst(ip, port, &sa);
	long i, sent = 0;

	for (i = 0; i < count; i++) {
		size_t len = 1 + rnd() % sizeof(buf);

		if (getrandom(buf, len, 0) != (ssize_t)len)
			abort();
		if (i % 2 && len >= 32) {	/* plausible header: type 1, reserved 0 */
			buf[0] = 1;
			buf[1] = buf[2] = buf[3] = 0;
		}
		if (sendto(fd, buf, len, 0, (struct sockaddr *)&sa, sizeof(sa)) == (ssize_t)len)
			sent++;
		if (i % 64 == 63)
			usleep(1000);
	}
	printf("%ld\n", sent);
	close(fd);
	return 0;
}

static uint32_t rd32(const uint8_t *p, int swap)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return swap ? __builtin_bswap32(v) : v;
}

static int replay(const char *pcap, const char *ip, const char *port, int flip)
{
	struct sockaddr_in sa;
	static uint8_t rec[65536 + 64];
	uint8_t gh[24], rh[16];
	int fd = open_dst(ip, port, &sa), swap;
	uint16_t want = (uint16_t)atoi(port);
	long sent = 0;
	FILE *f = fopen(pcap, "rb");

	if (!f) {
		fprintf(stderr, "labudp: cannot open '%s': %s\n", pcap, strerror(errno));
		return 1;
	}
	if (fread(gh, 1, sizeof(gh), f) != sizeof(gh)) {
		fprintf(stderr, "labudp: '%s': not a pcap file\n", pcap);
		return 1;
	}
	swap = rd32(gh, 0) == 0xd4c3b2a1u || rd32(gh, 0) == 0x4d3cb2a1u;
	if (rd32(gh, swap) != 0xa1b2c3d4u && rd32(gh, swap) != 0xa1b23c4du) {
		fprintf(stderr, "labudp: '%s': bad pcap magic\n", pcap);
		return 1;
	}
	if (rd32(gh + 20, swap) != 1) {
		fprintf(stderr, "labudp: '%s': link type %u, want Ethernet\n", pcap, rd32(gh + 20, swap));
		return 1;
	}
	while (fread(rh, 1, sizeof(rh), f) == sizeof(rh)) {
		uint32_t caplen = rd32(rh + 8, swap);
		size_t ihl, off;
		uint16_t dport, ulen;

		if (caplen > sizeof(rec) || fread(rec, 1, caplen, f) != caplen)
			break;
		/* Ethernet (14) / IPv4 / UDP only */
		if (caplen < 14 + 20 + 8 || rec[12] != 0x08 || rec[13] != 0x00)
			continue;
		if ((rec[14] >> 4) != 4 || rec[14 + 9] != 17)
			continue;
		ihl = (size_t)(rec[14] & 0x0f) * 4;
		off = 14 + ihl;
		if (ihl < 20 || off + 8 > caplen)
			continue;
		dport = (uint16_t)(rec[off + 2] << 8 | rec[off + 3]);
		ulen = (uint16_t)(rec[off + 4] << 8 | rec[off + 5]);
		if (dport != want || ulen < 8 || off + ulen > caplen)
			continue;
		if (flip && ulen > 8) {
			size_t n = ulen - 8u, bit = rnd() % (n * 8);

			rec[off + 8 + bit / 8] ^= (uint8_t)(1u << (bit % 8));
		}
		if (sendto(fd, rec + off + 8, ulen - 8u, 0, (struct sockaddr *)&sa, sizeof(sa)) > 0)
			sent++;
	}
	fclose(f);
	printf("%ld\n", sent);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "garbage"))
		return garbage(argv[2], argv[3], atol(argv[4]));
	if ((argc == 5 || argc == 6) && !strcmp(argv[1], "replay"))
		return replay(argv[2], argv[3], argv[4], argc == 6 && !strcmp(argv[5], "flip"));
	fprintf(stderr, "usage: labudp garbage IP PORT COUNT\n"
			"       labudp replay PCAP IP PORT [flip]\n");
	return 2;
}

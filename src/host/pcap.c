/* I2C capture in the pcap format (host.h, "Capture"), readable by tshark and Wireshark.
 *
 * File layout (docs/CAPTURES.md has it byte by byte):
 *   file header, 24 bytes, in this machine's byte order (readers detect it from the magic):
 *     magic 0xA1B2C3D4 (microsecond timestamps), version 2.4, zone 0, sigfigs 0,
 *     snap length 65535, link type 209 (LINKTYPE_I2C_LINUX);
 *   per transaction, a 16-byte record header (seconds, microseconds, captured length, original
 *   length, same byte order) and the packet:
 *     byte 0      bit 7 = 0 (a data packet, not a controller event), bits 6..0 = bus number
 *     bytes 1..4  flags, big-endian: bit 0 set for a read (the Linux I2C_M_RD bit)
 *     byte 5      the address byte as on the wire: addr7 << 1 | R/W
 *     bytes 6..   the bytes written or read; none when the address was not acknowledged.
 *
 * Invariants: a record is written whole or the capture becomes failed (sticky, reported by
 * close); records are written under the lock, so one capture may be shared by several threads
 * (served devices); every record is flushed to the file as it is written, so a capture read
 * while the program runs, or after it is killed, ends on a record boundary of its last flush. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "common/bytes.h"
#include "vsafe/host.h"

#define PCAP_MAGIC_USEC 0xA1B2C3D4u
#define PCAP_SNAPLEN 65535u
#define PCAP_I2C_HDR 5u /* bus byte + 4 flag bytes */

struct vsafe_pcap {
    FILE *f;
    pthread_mutex_t lock;
    int failed;
    unsigned long records;
};

static void put_native32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, sizeof v);
}

static void put_native16(uint8_t *p, uint16_t v)
{
    memcpy(p, &v, sizeof v);
}

int vsafe_pcap_open(vsafe_pcap_t **p, const char *path)
{
    if (p == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    *p = NULL;
    if (path == NULL || path[0] == '\0') {
        return VSAFE_ERR_ARGUMENT;
    }
    vsafe_pcap_t *c = calloc(1, sizeof *c);
    if (c == NULL) {
        return VSAFE_ERR_NO_MEMORY;
    }
    c->f = fopen(path, "wb");
    if (c->f == NULL) {
        free(c);
        return VSAFE_ERR_IO;
    }
    if (pthread_mutex_init(&c->lock, NULL) != 0) {
        fclose(c->f);
        free(c);
        return VSAFE_ERR_NO_MEMORY;
    }
    uint8_t hdr[24];
    put_native32(hdr, PCAP_MAGIC_USEC);
    put_native16(hdr + 4, 2);
    put_native16(hdr + 6, 4);
    put_native32(hdr + 8, 0);  /* timestamps are UTC */
    put_native32(hdr + 12, 0); /* accuracy: not stated */
    put_native32(hdr + 16, PCAP_SNAPLEN);
    put_native32(hdr + 20, VSAFE_PCAP_LINKTYPE);
    if (fwrite(hdr, sizeof hdr, 1, c->f) != 1 || fflush(c->f) != 0) {
        pthread_mutex_destroy(&c->lock);
        fclose(c->f);
        free(c);
        return VSAFE_ERR_IO;
    }
    *p = c;
    return VSAFE_OK;
}

int vsafe_pcap_record(vsafe_pcap_t *p, uint8_t bus, uint8_t addr7, int is_read, const uint8_t *data,
                           size_t len, int acked)
{
    if (p == NULL || bus > 0x7Fu || addr7 > 0x7Fu || (len > 0 && data == NULL)) {
        return VSAFE_ERR_ARGUMENT;
    }
    if (!acked) {
        len = 0; /* the address was not acknowledged: no byte moved after it */
    }
    if (len > PCAP_SNAPLEN - PCAP_I2C_HDR - 1u) {
        return VSAFE_ERR_ARGUMENT;
    }
    struct timeval tv;
    gettimeofday(&tv, NULL);
    uint32_t pkt_len = (uint32_t)(PCAP_I2C_HDR + 1u + len);
    uint8_t rec[16 + PCAP_I2C_HDR + 1];
    put_native32(rec, (uint32_t)tv.tv_sec);
    put_native32(rec + 4, (uint32_t)tv.tv_usec);
    put_native32(rec + 8, pkt_len);
    put_native32(rec + 12, pkt_len);
    rec[16] = bus; /* bit 7 clear: data, not an event */
    vsafe_put_be32(rec + 17, is_read ? VSAFE_PCAP_FLAG_READ : 0u);
    rec[21] = (uint8_t)(addr7 << 1 | (is_read ? 1u : 0u));

    pthread_mutex_lock(&p->lock);
    int rc = VSAFE_OK;
    if (p->failed) {
        rc = VSAFE_ERR_IO;
    } else if (fwrite(rec, sizeof rec, 1, p->f) != 1 || (len > 0 && fwrite(data, len, 1, p->f) != 1) ||
               fflush(p->f) != 0) {
        p->failed = 1;
        rc = VSAFE_ERR_IO;
    } else {
        p->records++;
    }
    pthread_mutex_unlock(&p->lock);
    return rc;
}

unsigned long vsafe_pcap_count(vsafe_pcap_t *p)
{
    if (p == NULL) {
        return 0;
    }
    pthread_mutex_lock(&p->lock);
    unsigned long n = p->records;
    pthread_mutex_unlock(&p->lock);
    return n;
}

int vsafe_pcap_close(vsafe_pcap_t *p)
{
    if (p == NULL) {
        return VSAFE_OK;
    }
    int rc = p->failed ? VSAFE_ERR_IO : VSAFE_OK;
    if (fclose(p->f) != 0) {
        rc = VSAFE_ERR_IO;
    }
    pthread_mutex_destroy(&p->lock);
    free(p);
    return rc;
}

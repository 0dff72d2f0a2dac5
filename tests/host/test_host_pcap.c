/* pcap capture of the host transport (host.h, "Capture"). The file is parsed here from the
 * documented layout (docs/CAPTURES.md), independently of the writer; the expected transactions
 * are what the test's own bus callbacks saw, not what the capture code reports. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vsafe/host.h"
#include "vsafe/se_wire.h"

#define MAX_TX 64

typedef struct {
    int is_read;
    int acked;
    uint8_t bytes[800];
    size_t len;
} tx_t;

typedef struct {
    vsafe_se_t *se;
    tx_t tx[MAX_TX];
    size_t ntx;
    int nack_next_read; /* the next read attempt is NACKed once */
} bus_t;

static void log_tx(bus_t *b, int is_read, const uint8_t *buf, size_t len, int rc)
{
    assert_true(b->ntx < MAX_TX);
    tx_t *t = &b->tx[b->ntx++];
    t->is_read = is_read;
    t->acked = rc == 0;
    t->len = rc == 0 ? len : 0;
    if (rc == 0) {
        memcpy(t->bytes, buf, len);
    }
}

static int bus_write(void *ctx, uint8_t addr7, const uint8_t *buf, size_t len)
{
    bus_t *b = ctx;
    int rc = vsafe_se_i2c_write(b->se, addr7, buf, len);
    log_tx(b, 0, buf, len, rc);
    b->nack_next_read = 1;
    return rc;
}

static int bus_read(void *ctx, uint8_t addr7, uint8_t *buf, size_t len)
{
    bus_t *b = ctx;
    int rc;
    if (b->nack_next_read) {
        b->nack_next_read = 0;
        rc = VSAFE_I2C_NACK; /* "still processing", as a device with its timing model on */
    } else {
        rc = vsafe_se_i2c_read(b->se, addr7, buf, len);
    }
    log_tx(b, 1, buf, len, rc);
    return rc;
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint8_t *buf = malloc(1 << 20);
    assert_non_null(buf);
    *len = fread(buf, 1, 1 << 20, f);
    fclose(f);
    return buf;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The file header of a little-endian writer (this test runs on x86-64 and AArch64 hosts). */
static void check_file_header(const uint8_t *f, size_t n)
{
    assert_true(n >= 24);
    static const uint8_t want[24] = {0xD4, 0xC3, 0xB2, 0xA1, 2, 0, 4, 0, 0, 0, 0, 0,
                                     0,    0,    0,    0,    0xFF, 0xFF, 0, 0, 209, 0, 0, 0};
    assert_memory_equal(f, want, sizeof want);
}

static void tmp_path(char *path, size_t cap)
{
    snprintf(path, cap, "/tmp/vsafe_test_pcap_%ld.pcap", (long)getpid());
}

/* Records written by hand come back exactly as documented: pseudo-header, address byte, data;
 * a NACK is the address byte alone. */
static void test_record_layout(void **state)
{
    (void)state;
    char path[128];
    tmp_path(path, sizeof path);
    vsafe_pcap_t *p = NULL;
    assert_int_equal(vsafe_pcap_open(&p, path), VSAFE_OK);
    const uint8_t w[3] = {0x00, 0xAB, 0xCD};
    const uint8_t r[5] = {0x00, 0x00, 0x02, 0x12, 0x34};
    assert_int_equal(vsafe_pcap_record(p, 5, 0x20, 0, w, sizeof w, 1), VSAFE_OK);
    assert_int_equal(vsafe_pcap_record(p, 5, 0x20, 1, r, sizeof r, 0), VSAFE_OK);
    assert_int_equal(vsafe_pcap_record(p, 127, 0x7F, 1, r, sizeof r, 1), VSAFE_OK);
    assert_int_equal(vsafe_pcap_record(p, 128, 0x20, 0, w, sizeof w, 1), VSAFE_ERR_ARGUMENT);
    assert_int_equal(vsafe_pcap_record(p, 0, 0x80, 0, w, sizeof w, 1), VSAFE_ERR_ARGUMENT);
    assert_int_equal(vsafe_pcap_count(p), 3);
    assert_int_equal(vsafe_pcap_close(p), VSAFE_OK);

    size_t n = 0;
    uint8_t *f = slurp(path, &n);
    unlink(path);
    check_file_header(f, n);
    const uint8_t rec1[] = {5, 0, 0, 0, 0, 0x40, 0x00, 0xAB, 0xCD};
    const uint8_t rec2[] = {5, 0, 0, 0, 1, 0x41};
    const uint8_t rec3[] = {127, 0, 0, 0, 1, 0xFF, 0x00, 0x00, 0x02, 0x12, 0x34};
    const uint8_t *recs[] = {rec1, rec2, rec3};
    const size_t lens[] = {sizeof rec1, sizeof rec2, sizeof rec3};
    size_t off = 24;
    for (size_t i = 0; i < 3; i++) {
        assert_true(off + 16 + lens[i] <= n);
        assert_int_equal(le32(f + off + 8), lens[i]);  /* captured length */
        assert_int_equal(le32(f + off + 12), lens[i]); /* original length */
        assert_true(le32(f + off + 4) < 1000000u);     /* microseconds */
        assert_memory_equal(f + off + 16, recs[i], lens[i]);
        off += 16 + lens[i];
    }
    assert_int_equal(off, n);
    free(f);
}

/* Every transaction of a host handle, ACKed or NACKed, in order, with the bytes the bus moved. */
static void test_transport_capture(void **state)
{
    (void)state;
    static bus_t b;
    memset(&b, 0, sizeof b);
    vsafe_se_options_t o = {.profile = "spl05", .state_path = NULL};
    assert_int_equal(vsafe_se_open(&b.se, &o), 0);
    vsafe_host_t *h = NULL;
    vsafe_host_transport_t t = {.write = bus_write, .read = bus_read, .ctx = &b};
    assert_int_equal(vsafe_host_open(&h, &t), VSAFE_OK);
    char path[128];
    tmp_path(path, sizeof path);
    vsafe_pcap_t *p = NULL;
    assert_int_equal(vsafe_pcap_open(&p, path), VSAFE_OK);
    vsafe_host_set_pcap(h, p);
    const uint8_t msg[4] = {'p', 'c', 'a', 'p'};
    uint8_t back[4] = {0};
    assert_int_equal(vsafe_host_echo(h, msg, sizeof msg, back), VSAFE_OK);
    assert_memory_equal(back, msg, sizeof msg);
    vsafe_host_set_pcap(h, NULL);
    assert_int_equal(vsafe_host_echo(h, msg, sizeof msg, back), VSAFE_OK); /* not captured */
    assert_int_equal(vsafe_pcap_close(p), VSAFE_OK);
    vsafe_host_close(h);
    vsafe_se_close(b.se);

    size_t n = 0;
    uint8_t *f = slurp(path, &n);
    unlink(path);
    check_file_header(f, n);
    size_t captured = b.ntx / 2; /* the second echo made as many transactions as the first */
    assert_true(captured >= 4); /* write, NACKed read, header read, whole read */
    size_t nacks = 0;
    size_t off = 24;
    for (size_t i = 0; i < captured; i++) {
        const tx_t *x = &b.tx[i];
        size_t want_len = 6 + x->len;
        assert_true(off + 16 + want_len <= n);
        assert_int_equal(le32(f + off + 8), want_len);
        const uint8_t *pk = f + off + 16;
        assert_int_equal(pk[0], 0); /* bus 0, a data packet */
        assert_int_equal(pk[1] | pk[2] | pk[3], 0);
        assert_int_equal(pk[4], x->is_read ? 1 : 0);
        assert_int_equal(pk[5], 0x20 << 1 | (x->is_read ? 1 : 0));
        assert_memory_equal(pk + 6, x->bytes, x->len);
        nacks += !x->acked;
        off += 16 + want_len;
    }
    assert_int_equal(nacks, 1);
    assert_int_equal(off, n); /* nothing after the first echo */
    assert_int_equal(b.tx[0].is_read, 0);
    assert_int_equal(b.tx[0].bytes[0], 0x00); /* Echo */
    assert_memory_equal(b.tx[0].bytes + 1, msg, sizeof msg);
    free(f);
}

/* A capture that cannot be written is refused at open, never silently empty. */
static void test_unwritable(void **state)
{
    (void)state;
    vsafe_pcap_t *p = (vsafe_pcap_t *)1;
    assert_int_equal(vsafe_pcap_open(&p, "/nonexistent-dir/x.pcap"), VSAFE_ERR_IO);
    assert_null(p);
    if (access("/dev/full", W_OK) == 0) {
        assert_int_equal(vsafe_pcap_open(&p, "/dev/full"), VSAFE_ERR_IO);
        assert_null(p);
    }
    assert_int_equal(vsafe_pcap_open(&p, ""), VSAFE_ERR_ARGUMENT);
    assert_int_equal(vsafe_pcap_close(NULL), VSAFE_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_layout),
        cmocka_unit_test(test_transport_capture),
        cmocka_unit_test(test_unwritable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

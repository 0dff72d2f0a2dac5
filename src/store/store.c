/* The power-fail-safe store: A/B halves, each a snapshot followed by an append-only journal of
 * delta records. Byte format: docs/NVM-FORMAT.md. No heap, no I/O: NVM only through vsafe_nvm_t.
 *
 * Invariants (the proof obligations of every function below):
 *  I1  The state a mount recovers is: the valid snapshot with the highest sequence number among
 *      the two halves, plus the valid delta records that follow it in the same half with
 *      consecutive sequence numbers, applied in order, stopping at the first record that fails.
 *  I2  A record is valid only if its magic, kind, version, lengths, header CRC, body CRC and commit
 *      unit all check out. The commit unit is programmed last (after a sync when the geometry may
 *      reorder, unless one_sync: then the body CRC catches a commit unit that landed alone), so a
 *      record whose programming was interrupted never validates. All-erased and
 *      all-zero bytes fail the magic and the commit word by construction.
 *  I3  A commit never programs a byte that is not erased, and never erases the half holding the
 *      newest valid state. Compaction erases the *other* half and writes there a snapshot of the
 *      new state with seq+1: until its commit unit lands, I1 still selects the old half.
 *  I4  The RAM image changes only after the NVM commit returned success (and so only after sync):
 *      a response built from the RAM image is never ahead of NVM.
 *  I5  After any NVM error inside a commit the store is failed (sticky) until mounted again: NVM
 *      may hold a half-written record whose position the RAM bookkeeping no longer describes.
 *  I6  If anything non-erased follows the last valid record of the active half (a torn record),
 *      need_compact is set and the next commit writes a fresh snapshot instead of appending:
 *      flash cannot be re-programmed without an erase.
 *  I7  Mount never needs a second image-sized buffer: snapshot CRCs are checked by streaming small
 *      chunks before the chosen one is loaded; deltas are at most VSAFE_TXN_CAP bytes.
 *  I8  Nothing is ever reset silently: blank NVM is VSAFE_ERR_STORE_EMPTY, damaged NVM with no
 *      valid snapshot is VSAFE_ERR_STORE_CORRUPT, a newer format is VSAFE_ERR_STORE_VERSION.
 *
 * States of one store:
 *
 *    (blank) --format--> MOUNTED(tail clean) --commit: append delta--> MOUNTED(tail clean)
 *                            |      ^   ^                                   |
 *                            |      |   +---- commit: no room / need_compact: compact to other
 *                            |      |         half (erase, snapshot seq+1) --+
 *                        NVM error  |
 *                            v    mount (recovery, I1; torn tail -> need_compact, I6)
 *                         FAILED ---+
 */
#include "store/store.h"

#include <string.h>

#define STORE_MAGIC 0x5652u        /* "VR": vsafe record */
#define STORE_VERSION 1u
#define STORE_KIND_SNAPSHOT 1u
#define STORE_KIND_DELTA 2u
#define STORE_HDR_LEN 28u
#define STORE_COMMIT_SALT 0x434D5431u /* "CMT1" */
#define STORE_CHUNK 256u              /* streaming buffer; the largest program unit supported */
#define STORE_SLACK 512u              /* padding bound used when sizing an NVM */

/* ---- CRC-32C (Castagnoli, reflected 0x82F63B78, init and xorout 0xFFFFFFFF) ---- */
static const uint32_t crc32c_table[256] = {
#define C1(c) (((c) & 1u) ? (((c) >> 1) ^ 0x82F63B78u) : ((c) >> 1))
#define C8(c) C1(C1(C1(C1(C1(C1(C1(C1(c))))))))
#define T4(n) C8((n) + 0u), C8((n) + 1u), C8((n) + 2u), C8((n) + 3u)
#define T16(n) T4((n) + 0u), T4((n) + 4u), T4((n) + 8u), T4((n) + 12u)
#define T64(n) T16((n) + 0u), T16((n) + 16u), T16((n) + 32u), T16((n) + 48u)
    T64(0u), T64(64u), T64(128u), T64(192u)
#undef T64
#undef T16
#undef T4
#undef C8
#undef C1
};

static uint32_t crc_run(uint32_t reg, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        reg = (reg >> 8) ^ crc32c_table[(reg ^ p[i]) & 0xFFu];
    }
    return reg;
}
#define CRC_INIT 0xFFFFFFFFu
#define CRC_FINAL(r) ((r) ^ 0xFFFFFFFFu)

static uint32_t get32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* ---- Transactions ---- */
void vsafe_txn_begin(vsafe_txn_t *txn)
{
    txn->len = 0;
    txn->count = 0;
    txn->error = 0;
}

void vsafe_txn_put(vsafe_txn_t *txn, uint32_t off, const void *data, uint32_t len)
{
    if (txn->error != 0 || len == 0u) {
        return;
    }
    if (len > 0xFFFFu || len > VSAFE_TXN_CAP || txn->len + 6u + len > VSAFE_TXN_CAP || txn->count == 0xFFFFu) {
        txn->error = VSAFE_ERR_STORE_FULL;
        return;
    }
    uint8_t *p = txn->buf + txn->len;
    put32(p, off);
    p[4] = (uint8_t)(len >> 8);
    p[5] = (uint8_t)len;
    memcpy(p + 6, data, len);
    txn->len += 6u + len;
    txn->count++;
}

void vsafe_txn_put_u8(vsafe_txn_t *txn, uint32_t off, uint8_t v) { vsafe_txn_put(txn, off, &v, 1u); }

void vsafe_txn_put_u16(vsafe_txn_t *txn, uint32_t off, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    vsafe_txn_put(txn, off, b, 2u);
}

void vsafe_txn_put_u32(vsafe_txn_t *txn, uint32_t off, uint32_t v)
{
    uint8_t b[4];
    put32(b, v);
    vsafe_txn_put(txn, off, b, 4u);
}

/* A patch list is well formed when it parses to the last byte, every patch is non-empty and
 * inside the image. */
static bool patches_valid(const uint8_t *p, uint32_t len, uint32_t image_len)
{
    uint32_t pos = 0;
    while (pos < len) {
        if (len - pos < 6u) {
            return false;
        }
        uint32_t off = get32(p + pos);
        uint32_t n = ((uint32_t)p[pos + 4] << 8) | p[pos + 5];
        pos += 6u;
        if (n == 0u || n > len - pos || off > image_len || n > image_len - off) {
            return false;
        }
        pos += n;
    }
    return len > 0u;
}

static void patches_apply(uint8_t *image, const uint8_t *p, uint32_t len)
{
    uint32_t pos = 0;
    while (pos < len) {
        uint32_t off = get32(p + pos);
        uint32_t n = ((uint32_t)p[pos + 4] << 8) | p[pos + 5];
        memcpy(image + off, p + pos + 6, n);
        pos += 6u + n;
    }
}

/* image[off .. off+n) with the patches of txn (may be NULL) overlaid, into out. */
static void overlay_chunk(const uint8_t *image, const vsafe_txn_t *txn, uint32_t off, uint8_t *out, uint32_t n)
{
    memcpy(out, image + off, n);
    if (txn == NULL) {
        return;
    }
    uint32_t pos = 0;
    while (pos < txn->len) {
        uint32_t poff = get32(txn->buf + pos);
        uint32_t pn = ((uint32_t)txn->buf[pos + 4] << 8) | txn->buf[pos + 5];
        const uint8_t *pd = txn->buf + pos + 6;
        pos += 6u + pn;
        uint32_t lo = poff > off ? poff : off;
        uint32_t hi = (poff + pn) < (off + n) ? (poff + pn) : (off + n);
        if (lo < hi) {
            memcpy(out + (lo - off), pd + (lo - poff), hi - lo);
        }
    }
}

/* ---- Geometry ---- */
static uint32_t round_up(uint32_t v, uint32_t unit) { return (v + unit - 1u) / unit * unit; }

static bool geometry_ok(const vsafe_nvm_geometry_t *g)
{
    return g->prog_unit != 0u && (g->prog_unit & (g->prog_unit - 1u)) == 0u && g->prog_unit <= STORE_CHUNK &&
           g->page_size != 0u && g->page_size % g->prog_unit == 0u && g->page_count >= 2u &&
           (uint64_t)g->page_size * g->page_count <= 0xFFFFFFFFull;
}

static uint32_t half_size(const vsafe_nvm_geometry_t *g) { return (g->page_count / 2u) * g->page_size; }
static uint32_t commit_size(const vsafe_nvm_geometry_t *g) { return round_up(4u, g->prog_unit); }
static uint32_t record_size(const vsafe_nvm_geometry_t *g, uint32_t body_len)
{
    return round_up(STORE_HDR_LEN + body_len, g->prog_unit) + commit_size(g);
}

uint32_t vsafe_store_nvm_bytes(uint32_t image_len, uint32_t journal_bytes, uint32_t page_size)
{
    if (journal_bytes == 0u) {
        journal_bytes = VSAFE_STORE_JOURNAL_DEFAULT;
    }
    if (page_size == 0u) {
        return 0;
    }
    uint64_t half = (uint64_t)STORE_HDR_LEN + image_len + STORE_SLACK + journal_bytes;
    half = (half + page_size - 1u) / page_size * page_size;
    if (2u * half > 0xFFFFFFFFull) {
        return 0;
    }
    return (uint32_t)(2u * half);
}

/* ---- Record header ---- */
typedef struct {
    uint8_t kind;
    uint8_t version;
    uint32_t seq;
    uint32_t body_len;
    uint32_t tag;
    uint32_t half_bytes;
    uint32_t body_crc;
    uint32_t hdr_crc;
} rec_hdr_t;

static void hdr_encode(uint8_t out[STORE_HDR_LEN], rec_hdr_t *h)
{
    out[0] = (uint8_t)(STORE_MAGIC >> 8);
    out[1] = (uint8_t)STORE_MAGIC;
    out[2] = h->kind;
    out[3] = h->version;
    put32(out + 4, h->seq);
    put32(out + 8, h->body_len);
    put32(out + 12, h->tag);
    put32(out + 16, h->half_bytes);
    put32(out + 20, h->body_crc);
    h->hdr_crc = CRC_FINAL(crc_run(CRC_INIT, out, 24u));
    put32(out + 24, h->hdr_crc);
}

enum { HDR_BAD = 0, HDR_OK = 1, HDR_NEWER = 2 };

static int hdr_decode(const uint8_t in[STORE_HDR_LEN], rec_hdr_t *h)
{
    if ((((uint32_t)in[0] << 8) | in[1]) != STORE_MAGIC) {
        return HDR_BAD;
    }
    h->kind = in[2];
    h->version = in[3];
    h->seq = get32(in + 4);
    h->body_len = get32(in + 8);
    h->tag = get32(in + 12);
    h->half_bytes = get32(in + 16);
    h->body_crc = get32(in + 20);
    h->hdr_crc = get32(in + 24);
    if (CRC_FINAL(crc_run(CRC_INIT, in, 24u)) != h->hdr_crc) {
        return HDR_BAD;
    }
    if (h->version != STORE_VERSION) {
        return HDR_NEWER;
    }
    if ((h->kind != STORE_KIND_SNAPSHOT && h->kind != STORE_KIND_DELTA) || h->body_len == 0u) {
        return HDR_BAD;
    }
    return HDR_OK;
}

static uint32_t commit_word(const rec_hdr_t *h)
{
    uint8_t b[12];
    put32(b, h->hdr_crc);
    put32(b + 4, h->body_crc);
    put32(b + 8, h->seq);
    uint32_t w = CRC_FINAL(crc_run(CRC_INIT, b, sizeof b)) ^ STORE_COMMIT_SALT;
    if (w == 0u || w == 0xFFFFFFFFu) {
        w = STORE_COMMIT_SALT;
    }
    return w;
}

static void commit_unit(const vsafe_nvm_geometry_t *g, const rec_hdr_t *h, uint8_t *out)
{
    memset(out, 0, commit_size(g));
    put32(out, commit_word(h));
}

/* ---- NVM access with accounting ---- */
static int nvm_prog(vsafe_store_t *st, uint32_t addr, const uint8_t *buf, uint32_t len)
{
    st->counters.program_ops++;
    st->counters.bytes_programmed += len;
    return st->nvm->prog(st->nvm->ctx, addr, buf, len);
}

static int nvm_erase_half(vsafe_store_t *st, const vsafe_nvm_t *nvm, uint32_t half)
{
    uint32_t pages = nvm->geo.page_count / 2u;
    for (uint32_t i = 0; i < pages; i++) {
        int rc;
        if (st != NULL) {
            st->counters.erase_ops++;
        }
        rc = nvm->erase(nvm->ctx, half * pages + i);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

/* Streams bytes to consecutive NVM addresses in STORE_CHUNK programs. */
typedef struct {
    vsafe_store_t *st;
    uint32_t addr;
    uint32_t fill;
    uint8_t buf[STORE_CHUNK];
} writer_t;

static int wr_put(writer_t *w, const uint8_t *p, uint32_t n)
{
    while (n > 0u) {
        uint32_t take = STORE_CHUNK - w->fill;
        if (take > n) {
            take = n;
        }
        memcpy(w->buf + w->fill, p, take);
        w->fill += take;
        p += take;
        n -= take;
        if (w->fill == STORE_CHUNK) {
            int rc = nvm_prog(w->st, w->addr, w->buf, STORE_CHUNK);
            if (rc != 0) {
                return rc;
            }
            w->addr += STORE_CHUNK;
            w->fill = 0;
        }
    }
    return 0;
}

/* Pads with zero bytes to the program unit and programs what is buffered. */
static int wr_flush(writer_t *w)
{
    uint32_t unit = w->st->nvm->geo.prog_unit;
    uint32_t n = round_up(w->fill, unit);
    if (n == 0u) {
        return 0;
    }
    memset(w->buf + w->fill, 0, n - w->fill);
    int rc = nvm_prog(w->st, w->addr, w->buf, n);
    w->addr += n;
    w->fill = 0;
    return rc;
}

/* Writes one complete record at addr: header, body (from the image with txn overlaid for a
 * snapshot, the patch list for a delta), padding, commit unit last (I2). */
static int write_record(vsafe_store_t *st, uint32_t addr, rec_hdr_t *h, const vsafe_txn_t *txn)
{
    const vsafe_nvm_t *nvm = st->nvm;
    uint8_t tmp[STORE_CHUNK];
    uint8_t hb[STORE_HDR_LEN];
    int rc;

    if (h->kind == STORE_KIND_SNAPSHOT) {
        uint32_t crc = CRC_INIT;
        for (uint32_t off = 0; off < st->image_len; off += STORE_CHUNK) {
            uint32_t n = st->image_len - off < STORE_CHUNK ? st->image_len - off : STORE_CHUNK;
            overlay_chunk(st->image, txn, off, tmp, n);
            crc = crc_run(crc, tmp, n);
        }
        h->body_crc = CRC_FINAL(crc);
    } else {
        h->body_crc = CRC_FINAL(crc_run(CRC_INIT, txn->buf, txn->len));
    }
    hdr_encode(hb, h);

    writer_t w = {.st = st, .addr = addr, .fill = 0};
    rc = wr_put(&w, hb, STORE_HDR_LEN);
    if (h->kind == STORE_KIND_SNAPSHOT) {
        for (uint32_t off = 0; rc == 0 && off < st->image_len; off += STORE_CHUNK) {
            uint32_t n = st->image_len - off < STORE_CHUNK ? st->image_len - off : STORE_CHUNK;
            overlay_chunk(st->image, txn, off, tmp, n);
            rc = wr_put(&w, tmp, n);
        }
    } else if (rc == 0) {
        rc = wr_put(&w, txn->buf, txn->len);
    }
    if (rc != 0) {
        return rc;
    }
    /* Pad the body to the program unit so the commit unit gets a unit of its own. */
    uint32_t unit = nvm->geo.prog_unit;
    if (w.fill % unit != 0u) {
        uint32_t pad = unit - w.fill % unit;
        memset(tmp, 0, pad);
        rc = wr_put(&w, tmp, pad);
        if (rc != 0) {
            return rc;
        }
    }
    commit_unit(&nvm->geo, h, tmp);
    if (nvm->geo.may_reorder && !st->one_sync) {
        rc = wr_flush(&w);
        if (rc == 0) {
            rc = nvm->sync(nvm->ctx);
        }
        if (rc == 0) {
            rc = nvm_prog(st, w.addr, tmp, commit_size(&nvm->geo));
        }
    } else {
        rc = wr_put(&w, tmp, commit_size(&nvm->geo));
        if (rc == 0) {
            rc = wr_flush(&w);
        }
    }
    if (rc == 0) {
        rc = nvm->sync(nvm->ctx);
    }
    return rc;
}

/* ---- Reading and validating records ---- */
/* The bytes after a record's body: zero padding to the program unit, then the commit unit.
 * Both must be exactly as written, so a flipped padding bit invalidates the record too. */
static int read_trailer_ok(const vsafe_nvm_t *nvm, uint32_t rec_addr, const rec_hdr_t *h, bool *ok)
{
    uint8_t want[2u * STORE_CHUNK];
    uint8_t got[2u * STORE_CHUNK];
    uint32_t body_end = STORE_HDR_LEN + h->body_len;
    uint32_t pad = round_up(body_end, nvm->geo.prog_unit) - body_end;
    uint32_t n = pad + commit_size(&nvm->geo);
    int rc = nvm->read(nvm->ctx, rec_addr + body_end, got, n);
    if (rc != 0) {
        return rc;
    }
    memset(want, 0, pad);
    commit_unit(&nvm->geo, h, want + pad);
    *ok = memcmp(want, got, n) == 0;
    return 0;
}

static int range_erased(const vsafe_nvm_t *nvm, uint32_t addr, uint32_t end, bool *erased)
{
    uint8_t b[STORE_CHUNK];
    *erased = true;
    while (addr < end) {
        uint32_t n = end - addr < STORE_CHUNK ? end - addr : STORE_CHUNK;
        int rc = nvm->read(nvm->ctx, addr, b, n);
        if (rc != 0) {
            return rc;
        }
        for (uint32_t i = 0; i < n; i++) {
            if (b[i] != nvm->geo.erased) {
                *erased = false;
                return 0;
            }
        }
        addr += n;
    }
    return 0;
}

/* Validates the snapshot at the start of half. *valid is set when every check of I2 passes.
 * Returns VSAFE_ERR_STORE_VERSION for an intact header of another format version. */
static int check_snapshot(const vsafe_nvm_t *nvm, uint32_t half, rec_hdr_t *h, bool *valid)
{
    uint8_t b[STORE_CHUNK];
    uint32_t hb = half_size(&nvm->geo);
    uint32_t base = half * hb;
    int rc = nvm->read(nvm->ctx, base, b, STORE_HDR_LEN);
    *valid = false;
    if (rc != 0) {
        return rc;
    }
    int d = hdr_decode(b, h);
    if (d == HDR_NEWER) {
        return VSAFE_ERR_STORE_VERSION;
    }
    if (d != HDR_OK || h->kind != STORE_KIND_SNAPSHOT || h->body_len > hb ||
        record_size(&nvm->geo, h->body_len) > hb) {
        return 0;
    }
    uint32_t crc = CRC_INIT;
    for (uint32_t off = 0; off < h->body_len; off += STORE_CHUNK) {
        uint32_t n = h->body_len - off < STORE_CHUNK ? h->body_len - off : STORE_CHUNK;
        rc = nvm->read(nvm->ctx, base + STORE_HDR_LEN + off, b, n);
        if (rc != 0) {
            return rc;
        }
        crc = crc_run(crc, b, n);
    }
    if (CRC_FINAL(crc) != h->body_crc) {
        return 0;
    }
    bool ok = false;
    rc = read_trailer_ok(nvm, base, h, &ok);
    if (rc != 0) {
        return rc;
    }
    *valid = ok;
    return 0;
}

typedef struct {
    uint32_t half;
    rec_hdr_t snap;
    uint32_t other_seq;
    /* filled by replay */
    uint32_t tail;
    uint32_t seq;
    uint32_t records;
    bool tail_clean;
} scan_t;

/* Finds the newest valid snapshot (I1, I8). */
static int find_newest(const vsafe_nvm_t *nvm, scan_t *s)
{
    rec_hdr_t h[2];
    bool v[2];
    memset(s, 0, sizeof *s);
    if (nvm == NULL || !geometry_ok(&nvm->geo)) {
        return VSAFE_ERR_ARGUMENT;
    }
    for (uint32_t i = 0; i < 2u; i++) {
        int rc = check_snapshot(nvm, i, &h[i], &v[i]);
        if (rc != 0) {
            return rc;
        }
    }
    if (!v[0] && !v[1]) {
        bool erased = false;
        int rc = range_erased(nvm, 0, 2u * half_size(&nvm->geo), &erased);
        if (rc != 0) {
            return rc;
        }
        return erased ? VSAFE_ERR_STORE_EMPTY : VSAFE_ERR_STORE_CORRUPT;
    }
    uint32_t best = (v[0] && (!v[1] || h[0].seq > h[1].seq)) ? 0u : 1u;
    s->half = best;
    s->snap = h[best];
    s->other_seq = v[best ^ 1u] ? h[best ^ 1u].seq : 0u;
    uint32_t hb = half_size(&nvm->geo);
    if (s->snap.half_bytes > hb) {
        return VSAFE_ERR_STORE_TRUNCATED;
    }
    if (s->snap.half_bytes != hb) {
        return VSAFE_ERR_STORE_MISMATCH;
    }
    return 0;
}

/* Loads the chosen snapshot into image (if not NULL) and replays the deltas after it (I1, I6, I7).
 * With image NULL the records are only validated. */
static int replay(const vsafe_nvm_t *nvm, scan_t *s, uint8_t *image)
{
    const vsafe_nvm_geometry_t *g = &nvm->geo;
    uint32_t hb = half_size(g);
    uint32_t base = s->half * hb;
    uint32_t image_len = s->snap.body_len;
    uint8_t body[VSAFE_TXN_CAP];
    int rc;

    if (image != NULL) {
        rc = nvm->read(nvm->ctx, base + STORE_HDR_LEN, image, image_len);
        if (rc != 0) {
            return rc;
        }
        if (CRC_FINAL(crc_run(CRC_INIT, image, image_len)) != s->snap.body_crc) {
            return VSAFE_ERR_NVM_READ; /* it verified a moment ago: the NVM is not reading stably */
        }
    }
    uint32_t pos = record_size(g, image_len);
    uint32_t expect = s->snap.seq + 1u;
    s->records = 0;
    s->seq = s->snap.seq;
    while (pos + STORE_HDR_LEN <= hb) {
        uint8_t hbuf[STORE_HDR_LEN];
        rec_hdr_t h;
        rc = nvm->read(nvm->ctx, base + pos, hbuf, STORE_HDR_LEN);
        if (rc != 0) {
            return rc;
        }
        int d = hdr_decode(hbuf, &h);
        if (d == HDR_NEWER) {
            return VSAFE_ERR_STORE_VERSION;
        }
        if (d != HDR_OK || h.kind != STORE_KIND_DELTA || h.seq != expect || h.body_len > VSAFE_TXN_CAP ||
            h.tag != s->snap.tag || h.half_bytes != hb || record_size(g, h.body_len) > hb - pos) {
            break;
        }
        rc = nvm->read(nvm->ctx, base + pos + STORE_HDR_LEN, body, h.body_len);
        if (rc != 0) {
            return rc;
        }
        if (CRC_FINAL(crc_run(CRC_INIT, body, h.body_len)) != h.body_crc ||
            !patches_valid(body, h.body_len, image_len)) {
            break;
        }
        bool ok = false;
        rc = read_trailer_ok(nvm, base + pos, &h, &ok);
        if (rc != 0) {
            return rc;
        }
        if (!ok) {
            break;
        }
        if (image != NULL) {
            patches_apply(image, body, h.body_len);
        }
        pos += record_size(g, h.body_len);
        s->seq = expect++;
        s->records++;
    }
    s->tail = pos;
    return range_erased(nvm, base + pos, base + hb, &s->tail_clean);
}

/* ---- Public API ---- */
int vsafe_store_probe(const vsafe_nvm_t *nvm, uint32_t *image_len, uint32_t *layout_tag)
{
    scan_t s;
    int rc = find_newest(nvm, &s);
    if (rc != 0) {
        return rc;
    }
    *image_len = s.snap.body_len;
    *layout_tag = s.snap.tag;
    return 0;
}

int vsafe_store_format(vsafe_store_t *st, const vsafe_nvm_t *nvm, uint8_t *image, uint32_t image_len,
                       uint32_t layout_tag)
{
    if (st == NULL || image == NULL || image_len == 0u) {
        return VSAFE_ERR_ARGUMENT;
    }
    memset(st, 0, sizeof *st);
    st->nvm = nvm;
    st->image = image;
    st->image_len = image_len;
    st->layout_tag = layout_tag;
    if (nvm == NULL) {
        return 0;
    }
    if (!geometry_ok(&nvm->geo)) {
        return VSAFE_ERR_ARGUMENT;
    }
    st->half_bytes = half_size(&nvm->geo);
    if (record_size(&nvm->geo, image_len) > st->half_bytes) {
        return VSAFE_ERR_STORE_FULL;
    }
    int rc = nvm_erase_half(st, nvm, 0u);
    if (rc == 0) {
        rc = nvm_erase_half(st, nvm, 1u);
    }
    rec_hdr_t h = {.kind = STORE_KIND_SNAPSHOT, .version = STORE_VERSION, .seq = 1u, .body_len = image_len,
                   .tag = layout_tag, .half_bytes = st->half_bytes};
    if (rc == 0) {
        rc = write_record(st, 0u, &h, NULL);
    }
    if (rc != 0) {
        st->failed = VSAFE_ERR_STORE_FAILED;
        return rc;
    }
    st->seq = 1u;
    st->half = 0u;
    st->tail = record_size(&nvm->geo, image_len);
    st->counters.commits++;
    return 0;
}

int vsafe_store_mount(vsafe_store_t *st, const vsafe_nvm_t *nvm, uint8_t *image, uint32_t image_len,
                      uint32_t layout_tag)
{
    scan_t s;
    if (st == NULL || image == NULL || nvm == NULL) {
        return VSAFE_ERR_ARGUMENT;
    }
    memset(st, 0, sizeof *st);
    int rc = find_newest(nvm, &s);
    if (rc != 0) {
        return rc;
    }
    if (s.snap.body_len != image_len || s.snap.tag != layout_tag) {
        return VSAFE_ERR_STORE_MISMATCH;
    }
    rc = replay(nvm, &s, image);
    if (rc != 0) {
        return rc;
    }
    st->nvm = nvm;
    st->image = image;
    st->image_len = image_len;
    st->layout_tag = layout_tag;
    st->seq = s.seq;
    st->half = s.half;
    st->half_bytes = half_size(&nvm->geo);
    st->tail = s.tail;
    st->need_compact = !s.tail_clean;
    return 0;
}

/* Writes the new state (image with txn overlaid) as a snapshot into the other half (I3). */
static int compact(vsafe_store_t *st, const vsafe_txn_t *txn)
{
    uint32_t other = st->half ^ 1u;
    int rc = nvm_erase_half(st, st->nvm, other);
    if (rc != 0) {
        return rc;
    }
    rec_hdr_t h = {.kind = STORE_KIND_SNAPSHOT, .version = STORE_VERSION, .seq = st->seq + 1u,
                   .body_len = st->image_len, .tag = st->layout_tag, .half_bytes = st->half_bytes};
    rc = write_record(st, other * st->half_bytes, &h, txn);
    if (rc != 0) {
        return rc;
    }
    st->half = other;
    st->seq = h.seq;
    st->tail = record_size(&st->nvm->geo, st->image_len);
    st->need_compact = false;
    st->counters.compactions++;
    return 0;
}

void vsafe_store_set_one_sync(vsafe_store_t *st, bool one_sync) { st->one_sync = one_sync; }

int vsafe_store_commit(vsafe_store_t *st, const vsafe_txn_t *txn)
{
    if (st->failed != 0) {
        return VSAFE_ERR_STORE_FAILED;
    }
    if (txn->error != 0) {
        return txn->error;
    }
    if (txn->count == 0u) {
        return 0;
    }
    if (!patches_valid(txn->buf, txn->len, st->image_len)) {
        return VSAFE_ERR_ARGUMENT;
    }
    if (st->nvm != NULL) {
        int rc;
        uint32_t need = record_size(&st->nvm->geo, txn->len);
        if (st->need_compact || need > st->half_bytes - st->tail) {
            rc = compact(st, txn);
        } else {
            rec_hdr_t h = {.kind = STORE_KIND_DELTA, .version = STORE_VERSION, .seq = st->seq + 1u,
                           .body_len = txn->len, .tag = st->layout_tag, .half_bytes = st->half_bytes};
            rc = write_record(st, st->half * st->half_bytes + st->tail, &h, txn);
            if (rc == 0) {
                st->seq = h.seq;
                st->tail += need;
            }
        }
        if (rc != 0) {
            st->failed = VSAFE_ERR_STORE_FAILED;
            return rc;
        }
    }
    patches_apply(st->image, txn->buf, txn->len);
    st->counters.commits++;
    return 0;
}

int vsafe_store_inspect(const vsafe_nvm_t *nvm, vsafe_store_report_t *report)
{
    scan_t s;
    memset(report, 0, sizeof *report);
    int rc = find_newest(nvm, &s);
    if (rc == 0 || rc == VSAFE_ERR_STORE_TRUNCATED || rc == VSAFE_ERR_STORE_MISMATCH) {
        report->format_version = STORE_VERSION;
        report->layout_tag = s.snap.tag;
        report->image_len = s.snap.body_len;
        report->snapshot_seq = s.snap.seq;
        report->seq = s.snap.seq;
        report->active_half = s.half;
        report->other_half_seq = s.other_seq;
    }
    if (nvm != NULL && geometry_ok(&nvm->geo)) {
        report->journal_size = half_size(&nvm->geo);
    }
    if (rc == 0) {
        rc = replay(nvm, &s, NULL);
        if (rc == 0) {
            report->seq = s.seq;
            report->records = s.records;
            report->journal_used = s.tail;
            report->tail_clean = s.tail_clean;
        }
    }
    report->status = rc;
    return rc;
}

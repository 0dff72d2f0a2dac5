/* The power-fail-safe store: A/B halves, each a snapshot followed by an append-only journal of
 * delta records. Byte format: docs/NVM-FORMAT.md. No heap, no I/O: NVM only through vsafe_nvm_t.
 *
 * Invariants (the proof obligations of every function below; recovery's own, R1..R7, open
 * store_recover.c):
 *  I1  The state a mount recovers is the newest acknowledged one, never an older one: the newest
 *      valid snapshot (sequence numbers compared wrap-safely), plus the delta records after it in
 *      the same half with consecutive sequence numbers. A record with one flipped bit is
 *      corrected; the only record that may be left out is a torn newest one that a power cut can
 *      explain; anything else is refused as VSAFE_ERR_STORE_DAMAGED (store_recover.c, R1..R4).
 *  I2  A record is valid only if its magic, kind, version, lengths, header CRC, body CRC, zero
 *      padding and commit unit all check out. The commit unit is programmed last (after a sync
 *      when the geometry may reorder, unless one_sync: then the body CRC catches a commit unit
 *      that landed alone), so a record whose programming was interrupted never validates.
 *      All-erased and all-zero bytes fail the magic and the commit word by construction.
 *  I3  A commit never programs a byte that is not erased, and never erases the half holding the
 *      newest valid state. Compaction erases the *other* half and writes there a snapshot of the
 *      new state with seq+1: until its commit unit lands, I1 still selects the old half.
 *  I4  The RAM image changes only after the NVM commit returned success (and so only after sync):
 *      a response built from the RAM image is never ahead of NVM.
 *  I5  After any NVM error inside a commit the store is failed (sticky) until mounted again: NVM
 *      may hold a half-written record whose position the RAM bookkeeping no longer describes.
 *  I6  If anything non-erased follows the last valid record of the active half (a torn record),
 *      or a bit was corrected anywhere, need_compact is set and the next commit writes a fresh
 *      snapshot instead of appending: flash cannot be re-programmed without an erase, and the
 *      corrected bit is left only in a superseded half, erased by the compaction after.
 *  I7  Mount never needs a second image-sized buffer: the chosen snapshot is read straight into
 *      the caller's image (and corrected there); deltas are at most VSAFE_TXN_CAP bytes.
 *  I8  Nothing is ever reset silently: blank NVM is VSAFE_ERR_STORE_EMPTY, NVM with no valid
 *      snapshot is VSAFE_ERR_STORE_CORRUPT, a newer format is VSAFE_ERR_STORE_VERSION.
 *  I9  Sequence numbers wrap (0xFFFFFFFF + 1 = 0); they are only ever compared with
 *      store_seq_newer, which is exact while the two differ by less than 2^31 (the halves differ
 *      by one journal at most).
 *
 * States of one store:
 *
 *    (blank) --format--> MOUNTED(tail clean) --commit: append delta--> MOUNTED(tail clean)
 *                            |      ^   ^                                   |
 *                            |      |   +---- commit: no room / need_compact: compact to other
 *                            |      |         half (erase, snapshot seq+1) --+
 *                        NVM error  |
 *                            v    mount (recovery, I1; torn tail or corrected bit -> need_compact, I6)
 *                         FAILED ---+        mount of damage -> VSAFE_ERR_STORE_DAMAGED: nothing
 *                                            opens until the user salvages (vsafe_store_salvage)
 */
#include "store/store.h"
#include "store/store_int.h"

#include <string.h>

#include "common/bytes.h"

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
    vsafe_put_be32(p, off);
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
    vsafe_put_be32(b, v);
    vsafe_txn_put(txn, off, b, 4u);
}

/* A patch list is well formed when it parses to the last byte, every patch is non-empty and
 * inside the image. */
bool store_patches_valid(const uint8_t *p, uint32_t len, uint32_t image_len)
{
    uint32_t pos = 0;
    while (pos < len) {
        if (len - pos < 6u) {
            return false;
        }
        uint32_t off = vsafe_get_be32(p + pos);
        uint32_t n = ((uint32_t)p[pos + 4] << 8) | p[pos + 5];
        pos += 6u;
        if (n == 0u || n > len - pos || off > image_len || n > image_len - off) {
            return false;
        }
        pos += n;
    }
    return len > 0u;
}

void store_patches_apply(uint8_t *image, const uint8_t *p, uint32_t len)
{
    uint32_t pos = 0;
    while (pos < len) {
        uint32_t off = vsafe_get_be32(p + pos);
        uint32_t n = ((uint32_t)p[pos + 4] << 8) | p[pos + 5];
        memcpy(image + off, p + pos + 6, n);
        pos += 6u + n;
    }
}

/* What a record writes over the RAM image: spans first, then the patches of txn (either may be
 * absent). */
typedef struct {
    const vsafe_txn_t *txn;
    const vsafe_store_span_t *spans;
    unsigned n_spans;
} overlay_t;

/* image[off .. off+n) with the overlay applied, into out. */
static void overlay_chunk(const uint8_t *image, const overlay_t *ov, uint32_t off, uint8_t *out, uint32_t n)
{
    memcpy(out, image + off, n);
    for (unsigned i = 0; i < ov->n_spans; i++) {
        const vsafe_store_span_t *sp = &ov->spans[i];
        uint32_t lo = sp->off > off ? sp->off : off;
        uint32_t hi = (sp->off + sp->len) < (off + n) ? (sp->off + sp->len) : (off + n);
        if (lo < hi) {
            if (sp->data != NULL) {
                memcpy(out + (lo - off), sp->data + (lo - sp->off), hi - lo);
            } else {
                memset(out + (lo - off), sp->fill, hi - lo);
            }
        }
    }
    const vsafe_txn_t *txn = ov->txn;
    if (txn == NULL) {
        return;
    }
    uint32_t pos = 0;
    while (pos < txn->len) {
        uint32_t poff = vsafe_get_be32(txn->buf + pos);
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
bool store_geometry_ok(const vsafe_nvm_geometry_t *g)
{
    return g->prog_unit != 0u && (g->prog_unit & (g->prog_unit - 1u)) == 0u && g->prog_unit <= STORE_CHUNK &&
           g->page_size != 0u && g->page_size % g->prog_unit == 0u && g->page_count >= 2u &&
           (uint64_t)g->page_size * g->page_count <= 0xFFFFFFFFull;
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
void store_hdr_encode(uint8_t out[STORE_HDR_LEN], rec_hdr_t *h)
{
    out[0] = (uint8_t)(STORE_MAGIC >> 8);
    out[1] = (uint8_t)STORE_MAGIC;
    out[2] = h->kind;
    out[3] = h->version;
    vsafe_put_be32(out + 4, h->seq);
    vsafe_put_be32(out + 8, h->body_len);
    vsafe_put_be32(out + 12, h->tag);
    vsafe_put_be32(out + 16, h->half_bytes);
    vsafe_put_be32(out + 20, h->body_crc);
    h->hdr_crc = CRC_FINAL(store_crc_run(CRC_INIT, out, 24u));
    vsafe_put_be32(out + 24, h->hdr_crc);
}

int store_hdr_decode(const uint8_t in[STORE_HDR_LEN], rec_hdr_t *h)
{
    if ((((uint32_t)in[0] << 8) | in[1]) != STORE_MAGIC) {
        return HDR_BAD;
    }
    h->kind = in[2];
    h->version = in[3];
    h->seq = vsafe_get_be32(in + 4);
    h->body_len = vsafe_get_be32(in + 8);
    h->tag = vsafe_get_be32(in + 12);
    h->half_bytes = vsafe_get_be32(in + 16);
    h->body_crc = vsafe_get_be32(in + 20);
    h->hdr_crc = vsafe_get_be32(in + 24);
    if (CRC_FINAL(store_crc_run(CRC_INIT, in, 24u)) != h->hdr_crc) {
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

uint32_t store_commit_word(const rec_hdr_t *h)
{
    uint8_t b[12];
    vsafe_put_be32(b, h->hdr_crc);
    vsafe_put_be32(b + 4, h->body_crc);
    vsafe_put_be32(b + 8, h->seq);
    uint32_t w = CRC_FINAL(store_crc_run(CRC_INIT, b, sizeof b)) ^ STORE_COMMIT_SALT;
    if (w == 0u || w == 0xFFFFFFFFu) {
        w = STORE_COMMIT_SALT;
    }
    return w;
}

void store_commit_unit(const vsafe_nvm_geometry_t *g, const rec_hdr_t *h, uint8_t *out)
{
    memset(out, 0, store_commit_size(g));
    vsafe_put_be32(out, store_commit_word(h));
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
    uint32_t n = store_round_up(w->fill, unit);
    if (n == 0u) {
        return 0;
    }
    memset(w->buf + w->fill, 0, n - w->fill);
    int rc = nvm_prog(w->st, w->addr, w->buf, n);
    w->addr += n;
    w->fill = 0;
    return rc;
}

/* Writes one complete record at addr: header, body (from the image with the overlay for a
 * snapshot, the patch list of ov->txn for a delta), padding, commit unit last (I2). */
static int write_record(vsafe_store_t *st, uint32_t addr, rec_hdr_t *h, const overlay_t *ov)
{
    const vsafe_txn_t *txn = ov->txn;
    const vsafe_nvm_t *nvm = st->nvm;
    uint8_t tmp[STORE_CHUNK];
    uint8_t hb[STORE_HDR_LEN];
    int rc;

    if (h->kind == STORE_KIND_SNAPSHOT) {
        uint32_t crc = CRC_INIT;
        for (uint32_t off = 0; off < st->image_len; off += STORE_CHUNK) {
            uint32_t n = st->image_len - off < STORE_CHUNK ? st->image_len - off : STORE_CHUNK;
            overlay_chunk(st->image, ov, off, tmp, n);
            crc = store_crc_run(crc, tmp, n);
        }
        h->body_crc = CRC_FINAL(crc);
    } else {
        h->body_crc = CRC_FINAL(store_crc_run(CRC_INIT, txn->buf, txn->len));
    }
    store_hdr_encode(hb, h);

    writer_t w = {.st = st, .addr = addr, .fill = 0};
    rc = wr_put(&w, hb, STORE_HDR_LEN);
    if (h->kind == STORE_KIND_SNAPSHOT) {
        for (uint32_t off = 0; rc == 0 && off < st->image_len; off += STORE_CHUNK) {
            uint32_t n = st->image_len - off < STORE_CHUNK ? st->image_len - off : STORE_CHUNK;
            overlay_chunk(st->image, ov, off, tmp, n);
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
    store_commit_unit(&nvm->geo, h, tmp);
    if (nvm->geo.may_reorder && !st->one_sync) {
        rc = wr_flush(&w);
        if (rc == 0) {
            rc = nvm->sync(nvm->ctx);
        }
        if (rc == 0) {
            rc = nvm_prog(st, w.addr, tmp, store_commit_size(&nvm->geo));
        }
    } else {
        rc = wr_put(&w, tmp, store_commit_size(&nvm->geo));
        if (rc == 0) {
            rc = wr_flush(&w);
        }
    }
    if (rc == 0) {
        rc = nvm->sync(nvm->ctx);
    }
    return rc;
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
    if (!store_geometry_ok(&nvm->geo)) {
        return VSAFE_ERR_ARGUMENT;
    }
    st->half_bytes = store_half_size(&nvm->geo);
    if (store_record_size(&nvm->geo, image_len) > st->half_bytes) {
        return VSAFE_ERR_STORE_FULL;
    }
    int rc = nvm_erase_half(st, nvm, 0u);
    if (rc == 0) {
        rc = nvm_erase_half(st, nvm, 1u);
    }
    rec_hdr_t h = {.kind = STORE_KIND_SNAPSHOT, .version = STORE_VERSION, .seq = 1u, .body_len = image_len,
                   .tag = layout_tag, .half_bytes = st->half_bytes};
    const overlay_t none = {NULL, NULL, 0};
    if (rc == 0) {
        rc = write_record(st, 0u, &h, &none);
    }
    if (rc != 0) {
        st->failed = VSAFE_ERR_STORE_FAILED;
        return rc;
    }
    st->seq = 1u;
    st->half = 0u;
    st->tail = store_record_size(&nvm->geo, image_len);
    st->counters.commits++;
    return 0;
}

/* Writes the new state (image with the overlay) as a snapshot into the other half (I3). */
static int compact_overlay(vsafe_store_t *st, const overlay_t *ov)
{
    uint32_t other = st->half ^ 1u;
    int rc = nvm_erase_half(st, st->nvm, other);
    if (rc != 0) {
        return rc;
    }
    rec_hdr_t h = {.kind = STORE_KIND_SNAPSHOT, .version = STORE_VERSION, .seq = st->seq + 1u,
                   .body_len = st->image_len, .tag = st->layout_tag, .half_bytes = st->half_bytes};
    rc = write_record(st, other * st->half_bytes, &h, ov);
    if (rc != 0) {
        return rc;
    }
    st->half = other;
    st->seq = h.seq;
    st->tail = store_record_size(&st->nvm->geo, st->image_len);
    st->need_compact = false;
    st->counters.compactions++;
    return 0;
}

int store_compact(vsafe_store_t *st, const vsafe_txn_t *txn)
{
    const overlay_t ov = {txn, NULL, 0};
    return compact_overlay(st, &ov);
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
    if (!store_patches_valid(txn->buf, txn->len, st->image_len)) {
        return VSAFE_ERR_ARGUMENT;
    }
    if (st->nvm != NULL) {
        int rc;
        uint32_t need = store_record_size(&st->nvm->geo, txn->len);
        if (st->need_compact || need > st->half_bytes - st->tail) {
            rc = store_compact(st, txn);
        } else {
            rec_hdr_t h = {.kind = STORE_KIND_DELTA, .version = STORE_VERSION, .seq = st->seq + 1u,
                           .body_len = txn->len, .tag = st->layout_tag, .half_bytes = st->half_bytes};
            const overlay_t ov = {txn, NULL, 0};
            rc = write_record(st, st->half * st->half_bytes + st->tail, &h, &ov);
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
    store_patches_apply(st->image, txn->buf, txn->len);
    st->counters.commits++;
    return 0;
}


int vsafe_store_commit_resize(vsafe_store_t *st, uint32_t new_len, const vsafe_txn_t *txn)
{
    return vsafe_store_commit_spans(st, new_len, txn, NULL, 0);
}

int vsafe_store_commit_spans(vsafe_store_t *st, uint32_t new_len, const vsafe_txn_t *txn,
                             const vsafe_store_span_t *spans, unsigned n_spans)
{
    if (st->failed != 0) {
        return VSAFE_ERR_STORE_FAILED;
    }
    if (txn->error != 0) {
        return txn->error;
    }
    if (new_len < st->image_len || (txn->count != 0u && !store_patches_valid(txn->buf, txn->len, new_len)) ||
        n_spans > VSAFE_STORE_SPAN_MAX || (n_spans != 0u && spans == NULL)) {
        return VSAFE_ERR_ARGUMENT;
    }
    for (unsigned i = 0; i < n_spans; i++) {
        if (spans[i].off > new_len || spans[i].len > new_len - spans[i].off) {
            return VSAFE_ERR_ARGUMENT;
        }
    }
    if (st->nvm != NULL) {
        if (store_record_size(&st->nvm->geo, new_len) > st->half_bytes) {
            return VSAFE_ERR_STORE_FULL;
        }
        /* I3 as for a compaction: the old half keeps the old state until the new snapshot's
         * commit unit lands; recovery then picks the newest snapshot whatever its length. The
         * record is a snapshot however little changed: a delta longer than VSAFE_TXN_CAP could
         * not be replayed by a mount (I7). */
        uint32_t old_len = st->image_len;
        st->image_len = new_len;
        const overlay_t ov = {txn, spans, n_spans};
        int rc = compact_overlay(st, &ov);
        if (rc != 0) {
            st->image_len = old_len;
            st->failed = VSAFE_ERR_STORE_FAILED;
            return rc;
        }
    } else {
        st->image_len = new_len;
    }
    for (unsigned i = 0; i < n_spans; i++) {
        if (spans[i].data != NULL) {
            memcpy(st->image + spans[i].off, spans[i].data, spans[i].len);
        } else {
            memset(st->image + spans[i].off, spans[i].fill, spans[i].len);
        }
    }
    store_patches_apply(st->image, txn->buf, txn->len);
    st->counters.commits++;
    return 0;
}

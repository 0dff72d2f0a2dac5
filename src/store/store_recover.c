/* Recovery: mount, probe, inspect and salvage (docs/NVM-FORMAT.md §6). No heap, no I/O: NVM only
 * through vsafe_nvm_t, and only reads, except vsafe_store_salvage, which the user asks for.
 *
 * Invariants (see also the list at the top of store.c):
 *  R1  A mount yields exactly the newest acknowledged state or an error; never an older state.
 *  R2  A record with exactly one flipped bit (header, body, padding or commit unit) is corrected:
 *      CRC-32C has a Hamming distance of at least 3 at every record length, so one bit is located
 *      without ambiguity from the CRC syndrome (store_crc_locate), and the rest of the record must
 *      then check out exactly. A corrected mount sets need_compact.
 *  R3  The only record that may be discarded is a torn newest one: it is followed by nothing valid
 *      (no intact header with a sequence number at or after its own), and its pattern is one a
 *      power cut can leave under the geometry's write model. A commit unit that landed proves the
 *      record was written whole when programs reach NVM in order (and, with reordering, when the
 *      two-sync policy is used); only with may_reorder, where the one-sync policy lets the commit
 *      unit land before the body, may a record with a landed commit unit be torn.
 *  R4  Anything else that fails (a record with newer records after it, a newest record that no cut
 *      can explain, a snapshot newer than the state found) is VSAFE_ERR_STORE_DAMAGED, with the
 *      half, offset and sequence number in st->recovery.
 *  R5  A read error is returned as it is; it is never taken for an invalid record.
 *  R6  A superseded snapshot (older than the chosen one, proved by its intact header) is not needed
 *      for the state: damage in its body does not stop a mount (inspect reports it).
 *  R7  Sequence numbers compare wrap-safely (store_seq_newer).
 */
#include <string.h>

#include "common/bytes.h"
#include "store/store.h"
#include "store/store_int.h"

typedef struct {
    const vsafe_nvm_t *nvm;
    const vsafe_nvm_geometry_t *g;
    uint32_t hb; /* bytes per half */
    vsafe_store_recovery_t *rec;
    bool seen; /* rec->newest_seen_seq holds a sequence number */
} rctx_t;

/* One record as read: its header (possibly corrected) and what its checks found. */
typedef struct {
    rec_hdr_t h;
    bool erased_hdr;     /* all header bytes erased */
    bool usable;         /* header intact or corrected by one bit */
    bool newer;          /* intact header of another format version */
    bool fixed;          /* one bit already corrected in this record */
    uint32_t fix_off;    /* its offset from the record's start */
    unsigned fix_bit;
    bool commit_landed;  /* the commit unit is exactly the one the (usable) header implies */
} rec_t;

static int rd(rctx_t *c, uint32_t addr, uint8_t *buf, uint32_t len)
{
    return c->nvm->read(c->nvm->ctx, addr, buf, len);
}

static unsigned popcount8(uint8_t v)
{
    unsigned n = 0;
    for (; v != 0u; v &= (uint8_t)(v - 1u)) {
        n++;
    }
    return n;
}

static bool one_bit(uint32_t v) { return v != 0u && (v & (v - 1u)) == 0u; }

static void note_fix(rctx_t *c, uint32_t half, uint32_t seq, uint32_t addr, unsigned bit)
{
    vsafe_store_recovery_t *r = c->rec;
    r->corrected_bits++;
    if (r->fixes < VSAFE_STORE_FIX_MAX) {
        r->fix[r->fixes].half = half;
        r->fix[r->fixes].seq = seq;
        r->fix[r->fixes].offset = addr;
        r->fix[r->fixes].bit = (uint8_t)bit;
        r->fixes++;
    }
}

static void note_seen(rctx_t *c, uint32_t seq)
{
    if (!c->seen || store_seq_newer(seq, c->rec->newest_seen_seq)) {
        c->rec->newest_seen_seq = seq;
        c->seen = true;
    }
}

static void note_damage(rctx_t *c, vsafe_store_damage_t what, uint32_t half, uint32_t addr, bool seq_known,
                        uint32_t seq)
{
    vsafe_store_recovery_t *r = c->rec;
    if (r->damage != VSAFE_STORE_DAMAGE_NONE) {
        return; /* the first one found is reported */
    }
    r->damage = what;
    r->damage_half = half;
    r->damage_offset = addr;
    r->damage_seq_known = seq_known;
    r->damage_seq = seq_known ? seq : 0u;
}

/* Reads the header at addr; corrects one flipped bit in it if that makes it intact (R2). */
static int read_header(rctx_t *c, uint32_t addr, rec_t *r)
{
    uint8_t b[STORE_HDR_LEN];
    memset(r, 0, sizeof *r);
    int rc = rd(c, addr, b, STORE_HDR_LEN);
    if (rc != 0) {
        return rc;
    }
    r->erased_hdr = true;
    for (uint32_t i = 0; i < STORE_HDR_LEN; i++) {
        r->erased_hdr &= b[i] == c->g->erased;
    }
    if (r->erased_hdr) {
        return 0;
    }
    int d = store_hdr_decode(b, &r->h);
    if (d == HDR_BAD) {
        uint32_t syn = CRC_FINAL(store_crc_run(CRC_INIT, b, 24u)) ^ vsafe_get_be32(b + 24);
        uint32_t byte = 0;
        unsigned bit = 0;
        bool found = false;
        if (one_bit(syn)) { /* the stored CRC itself took the flip */
            for (bit = 0; (syn >> bit) != 1u; bit++) {
            }
            byte = 24u + 3u - bit / 8u;
            bit %= 8u;
            found = true;
        } else {
            found = store_crc_locate(syn, 24u, &byte, &bit);
        }
        if (found) {
            b[byte] ^= (uint8_t)(1u << bit);
            d = store_hdr_decode(b, &r->h);
            if (d != HDR_BAD) {
                r->fixed = true;
                r->fix_off = byte;
                r->fix_bit = bit;
            }
        }
    }
    r->newer = d == HDR_NEWER;
    r->usable = d == HDR_OK;
    return 0;
}

/* Checks the body (copied to dst when not NULL, else streamed), padding and commit unit of the
 * record at addr whose header r holds, correcting one flipped bit if that is all that is wrong.
 * *ok when the record checks out (after at most one correction in all). */
static int check_rest(rctx_t *c, uint32_t addr, rec_t *r, uint8_t *dst, bool *ok)
{
    uint8_t tmp[2u * STORE_CHUNK];
    uint8_t want[2u * STORE_CHUNK];
    uint32_t n = r->h.body_len;
    uint32_t crc = CRC_INIT;
    int rc;
    *ok = false;
    for (uint32_t off = 0; off < n; off += STORE_CHUNK) {
        uint32_t k = n - off < STORE_CHUNK ? n - off : STORE_CHUNK;
        uint8_t *p = dst != NULL ? dst + off : tmp;
        rc = rd(c, addr + STORE_HDR_LEN + off, p, k);
        if (rc != 0) {
            return rc;
        }
        crc = store_crc_run(crc, p, k);
    }
    uint32_t body_end = STORE_HDR_LEN + n;
    uint32_t pad = store_round_up(body_end, c->g->prog_unit) - body_end;
    uint32_t tl = pad + store_commit_size(c->g);
    rc = rd(c, addr + body_end, tmp, tl);
    if (rc != 0) {
        return rc;
    }
    memset(want, 0, pad);
    store_commit_unit(c->g, &r->h, want + pad);
    unsigned diff = 0;
    uint32_t diff_at = 0;
    for (uint32_t i = 0; i < tl; i++) {
        unsigned d = popcount8((uint8_t)(tmp[i] ^ want[i]));
        if (d != 0u && diff == 0u) {
            diff_at = i;
        }
        diff += d;
    }
    r->commit_landed = memcmp(tmp + pad, want + pad, tl - pad) == 0;
    unsigned budget = r->fixed ? 0u : 1u;
    uint32_t syn = CRC_FINAL(crc) ^ r->h.body_crc;
    if (syn != 0u) {
        uint32_t byte;
        unsigned bit;
        if (budget == 0u || diff != 0u || !store_crc_locate(syn, n, &byte, &bit)) {
            return 0;
        }
        if (dst != NULL) {
            dst[byte] ^= (uint8_t)(1u << bit);
        }
        r->fixed = true;
        r->fix_off = STORE_HDR_LEN + byte;
        r->fix_bit = bit;
    } else if (diff != 0u) {
        if (diff > budget) {
            return 0;
        }
        unsigned bit = 0;
        while (((tmp[diff_at] ^ want[diff_at]) >> bit) != 1u) {
            bit++;
        }
        r->fixed = true;
        r->fix_off = body_end + diff_at;
        r->fix_bit = bit;
    }
    *ok = true;
    return 0;
}

static int range_erased(rctx_t *c, uint32_t addr, uint32_t end, bool *erased)
{
    uint8_t b[STORE_CHUNK];
    *erased = true;
    while (addr < end) {
        uint32_t n = end - addr < STORE_CHUNK ? end - addr : STORE_CHUNK;
        int rc = rd(c, addr, b, n);
        if (rc != 0) {
            return rc;
        }
        uint64_t pat, w;
        memset(&pat, c->g->erased, sizeof pat);
        uint32_t i = 0;
        for (; i + 8u <= n; i += 8u) {
            memcpy(&w, b + i, sizeof w);
            if (w != pat) {
                break;
            }
        }
        for (; i < n; i++) {
            if (b[i] != c->g->erased) {
                *erased = false;
                return 0;
            }
        }
        addr += n;
    }
    return 0;
}

/* Looks in [base+from, base+end) for an intact record header at a program-unit boundary whose
 * sequence number is not older than min_seq: evidence that something was committed after.
 * With found NULL it only notes every sequence number it sees. */
static int scan_later(rctx_t *c, uint32_t base, uint32_t from, uint32_t end, uint32_t min_seq, bool *found,
                      uint32_t *at)
{
    uint8_t b[STORE_CHUNK + STORE_HDR_LEN];
    uint32_t unit = c->g->prog_unit;
    if (found != NULL) {
        *found = false;
    }
    for (uint32_t a = store_round_up(from, unit); a + STORE_HDR_LEN <= end; a += STORE_CHUNK) {
        uint32_t n = end - a < (uint32_t)sizeof b ? end - a : (uint32_t)sizeof b;
        int rc = rd(c, base + a, b, n);
        if (rc != 0) {
            return rc;
        }
        for (uint32_t o = 0; o < STORE_CHUNK && o + STORE_HDR_LEN <= n; o += unit) {
            rec_hdr_t h;
            if (vsafe_get_be16(b + o) == STORE_MAGIC && store_hdr_decode(b + o, &h) == HDR_OK) {
                note_seen(c, h.seq);
                if (found != NULL && !store_seq_newer(min_seq, h.seq)) {
                    *found = true;
                    *at = base + a + o;
                    return 0;
                }
            }
        }
    }
    return 0;
}

/* R3: could a power cut have left this failed record (whose header is r) as it is? */
static bool cut_can_leave(rctx_t *c, const rec_t *r)
{
    return !(r->usable && r->commit_landed) || c->g->may_reorder;
}

typedef struct {
    /* inputs */
    uint8_t *image;       /* NULL: validate only */
    uint32_t image_len;   /* expected image length (0: any) */
    uint32_t tag;         /* expected layout tag (0: any) */
    bool full;            /* inspect/salvage: also check the superseded snapshot, find every seq */
    bool salvage;         /* stop at damage in the journal instead of refusing */
    /* outputs */
    uint32_t half;
    rec_hdr_t snap;
    bool other_valid;
    uint32_t other_seq;
    uint32_t seq;
    uint32_t records;
    uint32_t tail;
    bool tail_clean;
    bool journal_damaged; /* salvage: the state stops before a damaged record */
} scan_t;

static int check_geometry(rctx_t *c, const rec_hdr_t *h)
{
    if (h->half_bytes > c->hb) {
        return VSAFE_ERR_STORE_TRUNCATED;
    }
    return h->half_bytes != c->hb ? VSAFE_ERR_STORE_MISMATCH : 0;
}

/* Replays the journal of the chosen half (s->half, s->snap) into s->image (R1..R5). */
static int replay(rctx_t *c, scan_t *s)
{
    uint32_t base = s->half * c->hb;
    uint32_t pos = store_record_size(c->g, s->snap.body_len);
    uint32_t expect = s->snap.seq + 1u;
    uint8_t body[VSAFE_TXN_CAP];
    rec_t r;
    bool failed = false;
    int rc;
    s->seq = s->snap.seq;
    s->records = 0;
    while (pos + STORE_HDR_LEN <= c->hb) {
        rc = read_header(c, base + pos, &r);
        if (rc != 0) {
            return rc;
        }
        if (r.newer) {
            return VSAFE_ERR_STORE_VERSION;
        }
        if (r.erased_hdr) {
            break;
        }
        note_seen(c, r.h.seq);
        bool ok = false;
        if (r.usable && r.h.kind == STORE_KIND_DELTA && r.h.seq == expect && r.h.body_len <= VSAFE_TXN_CAP &&
            r.h.tag == s->snap.tag && r.h.half_bytes == c->hb &&
            store_record_size(c->g, r.h.body_len) <= c->hb - pos) {
            rc = check_rest(c, base + pos, &r, body, &ok);
            if (rc != 0) {
                return rc;
            }
            ok = ok && store_patches_valid(body, r.h.body_len, s->snap.body_len);
        }
        if (!ok) {
            failed = true;
            break;
        }
        if (r.fixed) {
            note_fix(c, s->half, r.h.seq, base + pos + r.fix_off, r.fix_bit);
        }
        if (s->image != NULL) {
            store_patches_apply(s->image, body, r.h.body_len);
        }
        pos += store_record_size(c->g, r.h.body_len);
        s->seq = expect++;
        s->records++;
    }
    s->tail = pos;
    rc = range_erased(c, base + pos, base + c->hb, &s->tail_clean);
    if (rc != 0 || s->tail_clean) {
        return rc;
    }
    /* Something that is not a valid next record follows the state: torn newest or damage? */
    bool later = false;
    uint32_t at = 0;
    rc = scan_later(c, base, pos + c->g->prog_unit, c->hb, expect, &later, &at);
    if (rc != 0) {
        return rc;
    }
    if (failed && r.usable && store_seq_newer(r.h.seq, expect) && r.h.seq - expect < 0x10000u) {
        later = true; /* an intact header claims a sequence number after the one missing */
    }
    if (later) {
        note_damage(c, VSAFE_STORE_DAMAGE_RECORD, s->half, base + pos, true, expect);
    } else if (failed && r.usable && r.h.seq == expect && !cut_can_leave(c, &r)) {
        note_damage(c, VSAFE_STORE_DAMAGE_NEWEST, s->half, base + pos, true, expect);
    } else {
        c->rec->torn = true;
        c->rec->torn_half = s->half;
        c->rec->torn_offset = base + pos;
        return 0;
    }
    if (s->salvage) {
        s->journal_damaged = true;
        return 0;
    }
    return VSAFE_ERR_STORE_DAMAGED;
}

/* The half not chosen: superseded, blank, a torn compaction, or damage (R3, R4, R6). */
static int judge_other(rctx_t *c, scan_t *s, rec_t *o, bool o_failed)
{
    uint32_t oh = s->half ^ 1u;
    uint32_t base = oh * c->hb;
    int rc;
    if (o->erased_hdr) {
        return 0;
    }
    if (o->usable && store_seq_newer(s->snap.seq, o->h.seq)) {
        s->other_valid = o->h.kind == STORE_KIND_SNAPSHOT;
        s->other_seq = o->h.seq;
        if (o->fixed) {
            note_fix(c, oh, o->h.seq, base + o->fix_off, o->fix_bit);
        }
        if (s->full && s->other_valid && !o_failed && o->h.body_len <= c->hb &&
            store_record_size(c->g, o->h.body_len) <= c->hb) {
            bool ok = false;
            rc = check_rest(c, base, o, NULL, &ok);
            if (rc != 0) {
                return rc;
            }
            c->rec->stale_damage = !ok;
        } else if (o_failed) {
            c->rec->stale_damage = true;
        }
        return 0;
    }
    /* Not provably older: it can only be what a compaction that power cut short left, with
     * nothing committed after it. A compaction writes seq = newest + 1 at its time: if it is
     * newest + 1 now, the commit unit must not prove it whole (R3); if it is older than that, a
     * later commit appended that sequence number to this half, so it was never the state. */
    uint32_t next = s->seq + 1u;
    bool later = false;
    uint32_t at = 0;
    uint32_t from = o->usable && o->h.kind == STORE_KIND_SNAPSHOT && o->h.body_len <= c->hb
                        ? store_record_size(c->g, o->h.body_len)
                        : c->g->prog_unit;
    rc = scan_later(c, base, from, c->hb, next, &later, &at);
    if (rc != 0) {
        return rc;
    }
    bool torn = !later;
    if (o->usable) {
        torn = torn && o->h.kind == STORE_KIND_SNAPSHOT && !store_seq_newer(o->h.seq, next) &&
               (o->h.seq != next || cut_can_leave(c, o));
    }
    if (torn) {
        c->rec->torn = true;
        c->rec->torn_half = oh;
        c->rec->torn_offset = base;
        return 0;
    }
    note_damage(c, VSAFE_STORE_DAMAGE_SNAPSHOT, oh, base, o->usable, o->h.seq);
    return s->salvage ? 0 : VSAFE_ERR_STORE_DAMAGED;
}

static int recover(const vsafe_nvm_t *nvm, scan_t *s, vsafe_store_recovery_t *rec)
{
    rctx_t c = {.nvm = nvm, .rec = rec};
    rec_t head[2];
    bool failed[2] = {false, false};
    int rc;
    memset(rec, 0, sizeof *rec);
    if (nvm == NULL || !store_geometry_ok(&nvm->geo)) {
        return VSAFE_ERR_ARGUMENT;
    }
    c.g = &nvm->geo;
    c.hb = store_half_size(c.g);
    for (uint32_t i = 0; i < 2u; i++) {
        rc = read_header(&c, i * c.hb, &head[i]);
        if (rc != 0) {
            return rc;
        }
        if (head[i].newer) {
            return VSAFE_ERR_STORE_VERSION;
        }
        if (head[i].usable) {
            note_seen(&c, head[i].h.seq);
        }
    }
    bool cand[2];
    for (uint32_t i = 0; i < 2u; i++) {
        cand[i] = head[i].usable && head[i].h.kind == STORE_KIND_SNAPSHOT &&
                  head[i].h.body_len <= c.hb && store_record_size(c.g, head[i].h.body_len) <= c.hb;
    }
    uint32_t first = (cand[0] && (!cand[1] || store_seq_newer(head[0].h.seq, head[1].h.seq))) ? 0u : 1u;
    int chosen = -1;
    for (uint32_t k = 0; k < 2u && chosen < 0; k++) {
        uint32_t i = k == 0u ? first : first ^ 1u;
        if (!cand[i]) {
            continue;
        }
        if (k == 0u) {
            rc = check_geometry(&c, &head[i].h);
            if (rc != 0) {
                s->half = i;
                s->snap = head[i].h;
                s->seq = s->snap.seq;
                return rc;
            }
        }
        if (k == 0u && s->image_len != 0u && head[i].h.body_len != s->image_len && cand[i ^ 1u] &&
            head[i ^ 1u].h.body_len == s->image_len) {
            /* A resize (vsafe_store_commit_resize) that power cut short leaves a newer snapshot of
             * another length whose record never completed: it is not the state. */
            rec_t copy = head[i];
            bool whole = false;
            rc = check_rest(&c, i * c.hb, &copy, NULL, &whole);
            if (rc != 0) {
                return rc;
            }
            if (!whole) {
                failed[i] = true;
                continue;
            }
        }
        if ((s->image_len != 0u && head[i].h.body_len != s->image_len) || (s->tag != 0u && head[i].h.tag != s->tag) ||
            head[i].h.half_bytes != c.hb) {
            return VSAFE_ERR_STORE_MISMATCH;
        }
        bool ok = false;
        rc = check_rest(&c, i * c.hb, &head[i], s->image, &ok);
        if (rc != 0) {
            return rc;
        }
        if (ok) {
            chosen = (int)i;
        } else {
            failed[i] = true;
        }
    }
    if (chosen < 0) {
        bool erased = false;
        rc = range_erased(&c, 0, 2u * c.hb, &erased);
        if (rc != 0) {
            return rc;
        }
        if (erased) {
            return VSAFE_ERR_STORE_EMPTY;
        }
        uint32_t h = cand[first] ? first : (head[0].erased_hdr ? 1u : 0u);
        note_damage(&c, VSAFE_STORE_DAMAGE_NO_SNAPSHOT, h, h * c.hb, head[h].usable, head[h].h.seq);
        return VSAFE_ERR_STORE_CORRUPT;
    }
    s->half = (uint32_t)chosen;
    s->snap = head[chosen].h;
    s->seq = s->snap.seq;
    if (head[chosen].fixed) {
        note_fix(&c, s->half, s->snap.seq, s->half * c.hb + head[chosen].fix_off, head[chosen].fix_bit);
    }
    rc = replay(&c, s);
    if (rc == 0) {
        rc = judge_other(&c, s, &head[chosen ^ 1], failed[chosen ^ 1]);
    }
    if (!s->full || (rc != 0 && rc != VSAFE_ERR_STORE_DAMAGED)) {
        return rc;
    }
    /* every readable sequence number, so that inspect and salvage can say what is given up */
    uint32_t at;
    int rc2 = scan_later(&c, 0, c.g->prog_unit, c.hb, 0, NULL, &at);
    if (rc2 == 0) {
        rc2 = scan_later(&c, c.hb, c.g->prog_unit, c.hb, 0, NULL, &at);
    }
    return rc2 != 0 ? rc2 : rc;
}

/* ---- Public API ---- */
int vsafe_store_probe(const vsafe_nvm_t *nvm, uint32_t *image_len, uint32_t *layout_tag)
{
    vsafe_store_recovery_t rec;
    rctx_t c = {.nvm = nvm, .rec = &rec};
    rec_t head[2];
    memset(&rec, 0, sizeof rec);
    if (nvm == NULL || !store_geometry_ok(&nvm->geo)) {
        return VSAFE_ERR_ARGUMENT;
    }
    c.g = &nvm->geo;
    c.hb = store_half_size(c.g);
    int best = -1;
    for (uint32_t i = 0; i < 2u; i++) {
        int rc = read_header(&c, i * c.hb, &head[i]);
        if (rc != 0) {
            return rc;
        }
        if (head[i].newer) {
            return VSAFE_ERR_STORE_VERSION;
        }
        if (head[i].usable && head[i].h.kind == STORE_KIND_SNAPSHOT &&
            (best < 0 || store_seq_newer(head[i].h.seq, head[best].h.seq))) {
            best = (int)i;
        }
    }
    if (best < 0) {
        bool erased = false;
        int rc = range_erased(&c, 0, 2u * c.hb, &erased);
        if (rc != 0) {
            return rc;
        }
        return erased ? VSAFE_ERR_STORE_EMPTY : VSAFE_ERR_STORE_CORRUPT;
    }
    uint32_t other = (uint32_t)best ^ 1u;
    if (head[other].usable && head[other].h.kind == STORE_KIND_SNAPSHOT &&
        head[other].h.body_len != head[best].h.body_len && head[best].h.body_len <= c.hb &&
        store_record_size(c.g, head[best].h.body_len) <= c.hb) {
        /* The newest snapshot has another length than the older one (a resize): it is the state
         * only if its record is whole, else the resize was cut short and the older one is. */
        rec_t copy = head[best];
        bool whole = false;
        int rc = check_rest(&c, (uint32_t)best * c.hb, &copy, NULL, &whole);
        if (rc != 0) {
            return rc;
        }
        if (!whole) {
            best = (int)other;
        }
    }
    *image_len = head[best].h.body_len;
    *layout_tag = head[best].h.tag;
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
    memset(&s, 0, sizeof s);
    s.image = image;
    s.image_len = image_len;
    s.tag = layout_tag;
    if (image_len == 0u || layout_tag == 0u) {
        return VSAFE_ERR_ARGUMENT;
    }
    int rc = recover(nvm, &s, &st->recovery);
    if (rc != 0) {
        return rc;
    }
    st->nvm = nvm;
    st->image = image;
    st->image_len = image_len;
    st->layout_tag = layout_tag;
    st->seq = s.seq;
    st->half = s.half;
    st->half_bytes = store_half_size(&nvm->geo);
    st->tail = s.tail;
    /* A torn tail cannot be appended to; a corrected bit is erased by writing a fresh snapshot. */
    st->need_compact = !s.tail_clean || st->recovery.corrected_bits != 0u;
    return 0;
}

static void report_fill(vsafe_store_report_t *report, const scan_t *s, int rc)
{
    if (rc == 0 || rc == VSAFE_ERR_STORE_DAMAGED || rc == VSAFE_ERR_STORE_TRUNCATED ||
        rc == VSAFE_ERR_STORE_MISMATCH) {
        report->format_version = STORE_VERSION;
        report->layout_tag = s->snap.tag;
        report->image_len = s->snap.body_len;
        report->snapshot_seq = s->snap.seq;
        report->seq = s->seq;
        report->active_half = s->half;
        report->other_half_seq = s->other_seq;
        report->other_half_valid = s->other_valid;
        report->records = s->records;
        report->journal_used = s->tail;
        report->tail_clean = s->tail_clean;
    }
    report->status = rc;
}

int vsafe_store_inspect(const vsafe_nvm_t *nvm, vsafe_store_report_t *report)
{
    scan_t s;
    memset(report, 0, sizeof *report);
    memset(&s, 0, sizeof s);
    s.full = true;
    if (nvm != NULL && store_geometry_ok(&nvm->geo)) {
        report->journal_size = store_half_size(&nvm->geo);
    }
    int rc = recover(nvm, &s, &report->recovery);
    report_fill(report, &s, rc);
    return rc;
}

int vsafe_store_salvage(const vsafe_nvm_t *nvm, uint8_t *image, uint32_t image_cap, vsafe_store_report_t *report)
{
    uint32_t len = 0, tag = 0;
    memset(report, 0, sizeof *report);
    int rc = vsafe_store_probe(nvm, &len, &tag);
    if (rc == 0 && (image == NULL || image_cap < len)) {
        rc = VSAFE_ERR_BUFFER_TOO_SMALL;
    }
    if (rc != 0) {
        report->status = rc;
        return rc;
    }
    scan_t s;
    memset(&s, 0, sizeof s);
    s.image = image;
    s.image_len = len; /* the image buffer holds len bytes: another length is refused */
    s.tag = tag;
    s.full = true;
    s.salvage = true;
    report->journal_size = store_half_size(&nvm->geo);
    rc = recover(nvm, &s, &report->recovery);
    report_fill(report, &s, rc);
    if (rc != 0 || report->recovery.damage == VSAFE_STORE_DAMAGE_NONE) {
        return rc;
    }
    const vsafe_store_recovery_t *r = &report->recovery;
    uint32_t newest = store_seq_newer(r->newest_seen_seq, s.seq) ? r->newest_seen_seq : s.seq;
    report->lost_first = s.seq + 1u;
    report->lost_last = newest;
    report->lost_count = newest - s.seq;
    if (report->lost_count == 0u && r->damage_seq_known && store_seq_newer(r->damage_seq, s.seq)) {
        report->lost_last = r->damage_seq;
        report->lost_count = r->damage_seq - s.seq;
    }
    /* Make the salvaged state the newest: a snapshot above every sequence number seen, in the
     * other half (the one holding the salvaged base is kept until that snapshot is complete). */
    vsafe_store_t st;
    memset(&st, 0, sizeof st);
    st.nvm = nvm;
    st.image = image;
    st.image_len = s.snap.body_len;
    st.layout_tag = s.snap.tag;
    st.seq = report->lost_count != 0u ? report->lost_last : s.seq;
    st.half = s.half;
    st.half_bytes = store_half_size(&nvm->geo);
    rc = store_compact(&st, NULL);
    if (rc == 0) {
        report->salvage_seq = st.seq;
    }
    report->status = rc;
    return rc;
}

/* ---- vsafe_store_describe: a line of text without stdio (the core does no I/O) ---- */
typedef struct {
    char *out;
    size_t cap;
    size_t len;
} text_t;

static void t_str(text_t *t, const char *s)
{
    for (; *s != '\0'; s++) {
        if (t->len + 1u < t->cap) {
            t->out[t->len] = *s;
        }
        t->len++;
    }
}

static void t_num(text_t *t, uint32_t v, bool hex)
{
    char b[12];
    int n = 0;
    uint32_t base = hex ? 16u : 10u;
    do {
        b[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v != 0u);
    if (hex) {
        t_str(t, "0x");
    }
    while (n > 0) {
        char one[2] = {b[--n], '\0'};
        t_str(t, one);
    }
}

static void t_where(text_t *t, uint32_t half, uint32_t offset)
{
    t_str(t, half == 0u ? "half A" : "half B");
    t_str(t, ", byte ");
    t_num(t, offset, true);
}

size_t vsafe_store_describe(const vsafe_store_recovery_t *r, char *out, size_t cap)
{
    text_t t = {.out = out, .cap = cap, .len = 0};
    static const char *const what[] = {
        "", "a record fails its checks and newer records follow it", "the newest record is damaged in a way no power cut can leave",
        "a snapshot newer than the state found is damaged", "no snapshot passes its checks"};
    if (r->damage != VSAFE_STORE_DAMAGE_NONE) {
        t_str(&t, "damaged: ");
        t_str(&t, what[r->damage <= VSAFE_STORE_DAMAGE_NO_SNAPSHOT ? r->damage : 0]);
        t_str(&t, " (");
        if (r->damage_seq_known) {
            t_str(&t, "record seq ");
            t_num(&t, r->damage_seq, false);
            t_str(&t, ", ");
        }
        t_where(&t, r->damage_half, r->damage_offset);
        t_str(&t, ")");
    } else if (r->corrected_bits != 0u) {
        t_str(&t, "corrected ");
        t_num(&t, r->corrected_bits, false);
        t_str(&t, r->corrected_bits == 1u ? " flipped bit" : " flipped bits");
        for (uint32_t i = 0; i < r->fixes; i++) {
            t_str(&t, i == 0u ? ": " : "; ");
            t_str(&t, "record seq ");
            t_num(&t, r->fix[i].seq, false);
            t_str(&t, ", ");
            t_where(&t, r->fix[i].half, r->fix[i].offset);
            t_str(&t, " bit ");
            t_num(&t, r->fix[i].bit, false);
        }
    } else if (r->torn) {
        t_str(&t, "torn newest record (power cut, nothing acknowledged lost) at ");
        t_where(&t, r->torn_half, r->torn_offset);
    } else {
        t_str(&t, "clean");
    }
    if (cap > 0u) {
        out[t.len < cap ? t.len : cap - 1u] = '\0';
    }
    return t.len < cap ? t.len : (cap > 0u ? cap - 1u : 0u);
}

/* Internals shared by the store's two files: store.c (transactions, writing) and store_recover.c
 * (mount, inspect, salvage). Byte format: docs/NVM-FORMAT.md. Not a public header. */
#ifndef VSAFE_STORE_INT_H
#define VSAFE_STORE_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"

#define STORE_MAGIC 0x5652u        /* "VR": vsafe record */
#define STORE_VERSION 1u
#define STORE_KIND_SNAPSHOT 1u
#define STORE_KIND_DELTA 2u
#define STORE_HDR_LEN 28u
#define STORE_COMMIT_SALT 0x434D5431u /* "CMT1" */
#define STORE_CHUNK 256u              /* streaming buffer and program size; the largest program unit */
#define STORE_SLACK 512u              /* padding bound used when sizing an NVM */

/* ---- CRC-32C ---- */
#define CRC_INIT 0xFFFFFFFFu
#define CRC_FINAL(r) ((r) ^ 0xFFFFFFFFu)
uint32_t store_crc_run(uint32_t reg, const uint8_t *p, size_t n);
/* Where a single flipped bit sits in a message of n bytes whose CRC-32C (as stored) differs from
 * the recomputed one by syndrome (stored ^ recomputed, non-zero). Uses linearity: the syndrome of
 * bit b of byte i is the register step x^(8*(n-1-i)) applied to the syndrome of that bit in the
 * last byte, so walking the syndrome backwards byte by byte finds i in n steps. true and
 * byte and bit set when one bit of the message explains it. */
bool store_crc_locate(uint32_t syndrome, uint32_t n, uint32_t *byte, unsigned *bit);
/* The CRC register one zero byte back (the inverse of one table step). */
uint32_t store_crc_unstep_byte(uint32_t reg);

/* ---- Geometry ---- */
static inline uint32_t store_round_up(uint32_t v, uint32_t unit) { return (v + unit - 1u) / unit * unit; }
bool store_geometry_ok(const vsafe_nvm_geometry_t *g);
static inline uint32_t store_half_size(const vsafe_nvm_geometry_t *g) { return (g->page_count / 2u) * g->page_size; }
static inline uint32_t store_commit_size(const vsafe_nvm_geometry_t *g) { return store_round_up(4u, g->prog_unit); }
static inline uint32_t store_record_size(const vsafe_nvm_geometry_t *g, uint32_t body_len)
{
    return store_round_up(STORE_HDR_LEN + body_len, g->prog_unit) + store_commit_size(g);
}
/* Wrap-safe order of sequence numbers (they may pass 0xFFFFFFFF -> 0): a is newer than b. */
static inline bool store_seq_newer(uint32_t a, uint32_t b) { return (int32_t)(a - b) > 0; }

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

enum { HDR_BAD = 0, HDR_OK = 1, HDR_NEWER = 2 };

void store_hdr_encode(uint8_t out[STORE_HDR_LEN], rec_hdr_t *h);
int store_hdr_decode(const uint8_t in[STORE_HDR_LEN], rec_hdr_t *h);
uint32_t store_commit_word(const rec_hdr_t *h);
void store_commit_unit(const vsafe_nvm_geometry_t *g, const rec_hdr_t *h, uint8_t *out);

bool store_patches_valid(const uint8_t *p, uint32_t len, uint32_t image_len);
void store_patches_apply(uint8_t *image, const uint8_t *p, uint32_t len);

/* Writes the current image with txn (may be NULL) overlaid as a snapshot of seq into the other
 * half and makes it the active one (used by commit and by salvage). */
int store_compact(vsafe_store_t *st, const vsafe_txn_t *txn);

#endif

/* The power-fail-safe store: a fixed-size state image kept in RAM and in NVM, changed only by
 * transactions that commit atomically. Used by the device core and by the MCU model.
 *
 * A transaction is a list of byte patches (offset, bytes) onto the image, staged in a caller-held
 * vsafe_txn_t. vsafe_store_commit makes the whole list durable in one NVM commit and only then
 * applies it to the RAM image, so a command either changes everything it staged or nothing.
 * On-NVM format: docs/NVM-FORMAT.md. No heap, no I/O: NVM is reached through vsafe_nvm_t. */
#ifndef VSAFE_STORE_H
#define VSAFE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vsafe/se_port.h"

/* Bytes of staged patches one transaction may hold: a full frame of data plus metadata. */
#define VSAFE_TXN_CAP 1280u

typedef struct {
    uint8_t buf[VSAFE_TXN_CAP]; /* serialised patches: offset u32 BE, length u16 BE, bytes */
    uint32_t len;
    uint16_t count;
    int error; /* sticky: VSAFE_ERR_STORE_FULL when a put did not fit */
} vsafe_txn_t;

void vsafe_txn_begin(vsafe_txn_t *txn);
/* Stages image[off .. off+len) = data. Later puts win over earlier ones on overlap. */
void vsafe_txn_put(vsafe_txn_t *txn, uint32_t off, const void *data, uint32_t len);
void vsafe_txn_put_u8(vsafe_txn_t *txn, uint32_t off, uint8_t v);
void vsafe_txn_put_u16(vsafe_txn_t *txn, uint32_t off, uint16_t v); /* big-endian */
void vsafe_txn_put_u32(vsafe_txn_t *txn, uint32_t off, uint32_t v); /* big-endian */
static inline bool vsafe_txn_empty(const vsafe_txn_t *txn) { return txn->count == 0u; }

typedef struct {
    uint64_t commits;
    uint64_t bytes_programmed;
    uint64_t program_ops;
    uint64_t erase_ops;
    uint64_t compactions;
} vsafe_store_counters_t;

/* What a mount found besides the state itself (docs/NVM-FORMAT.md §6). Offsets are NVM byte
 * addresses (for the file backend: file offsets). */
#define VSAFE_STORE_FIX_MAX 8u
typedef struct {
    uint32_t half;   /* 0 = A, 1 = B */
    uint32_t seq;    /* sequence number of the record the bit belongs to */
    uint32_t offset; /* NVM byte address of the corrected byte */
    uint8_t bit;     /* bit 0..7 of that byte */
} vsafe_store_fix_t;

typedef enum {
    VSAFE_STORE_DAMAGE_NONE = 0,
    VSAFE_STORE_DAMAGE_RECORD,       /* a record fails its checks and newer records follow it */
    VSAFE_STORE_DAMAGE_NEWEST,       /* the newest record fails in a way no power cut can leave */
    VSAFE_STORE_DAMAGE_SNAPSHOT,     /* a snapshot newer than the state found fails its checks */
    VSAFE_STORE_DAMAGE_NO_SNAPSHOT   /* no snapshot passes its checks */
} vsafe_store_damage_t;

typedef struct {
    uint32_t corrected_bits;            /* single-bit errors corrected (the state is exact) */
    uint32_t fixes;                     /* entries of fix[] filled (at most VSAFE_STORE_FIX_MAX) */
    vsafe_store_fix_t fix[VSAFE_STORE_FIX_MAX];
    bool torn;                          /* a torn newest record was discarded: a power cut during a
                                           commit that was never acknowledged; nothing lost */
    uint32_t torn_half, torn_offset;    /* where it starts */
    bool stale_damage;                  /* the superseded snapshot of the other half fails its checks
                                           (inspect only; the state does not depend on it) */
    vsafe_store_damage_t damage;        /* why a mount was refused (VSAFE_ERR_STORE_DAMAGED) */
    uint32_t damage_half, damage_offset, damage_seq; /* the damaged record: half, NVM address, seq
                                           (damage_seq_known false when its header is unreadable) */
    bool damage_seq_known;
    uint32_t newest_seen_seq;           /* highest sequence number in any readable header */
} vsafe_store_recovery_t;

typedef struct vsafe_store {
    const vsafe_nvm_t *nvm; /* NULL: volatile (RAM only, commits just apply) */
    uint8_t *image;
    uint32_t image_len;
    uint32_t layout_tag;    /* whose image this is: VSAFE_STORE_TAG_SE, VSAFE_STORE_TAG_MCU */
    /* journal position (private to store.c) */
    uint32_t seq;           /* sequence number of the newest valid record */
    uint32_t half;          /* active half: 0 or 1 */
    uint32_t half_bytes;    /* size of each half in bytes */
    uint32_t tail;          /* next free byte inside the active half */
    bool need_compact;      /* tail is not clean: the next commit writes a fresh snapshot */
    int failed;             /* sticky error after an NVM failure mid-commit */
    bool one_sync;          /* one sync per record even if the NVM may reorder (vsafe_store_set_one_sync) */
    vsafe_store_counters_t counters;
    vsafe_store_recovery_t recovery; /* what the last mount found (filled on failure too) */
} vsafe_store_t;

#define VSAFE_STORE_TAG_SE 0x56534531u  /* "VSE1" */
#define VSAFE_STORE_TAG_MCU 0x564D4331u /* "VMC1" */

/* Journal bytes per half when vsafe_store_nvm_bytes is given 0: low write amplification. */
#define VSAFE_STORE_JOURNAL_DEFAULT 65536u

/* Smallest NVM (in bytes) the store needs for an image of image_len bytes with a journal of
 * journal_bytes per half (0 = VSAFE_STORE_JOURNAL_DEFAULT), for any program unit up to 256 bytes.
 * The file backend sizes itself with this. 0 if it would not fit in 32 bits. */
uint32_t vsafe_store_nvm_bytes(uint32_t image_len, uint32_t journal_bytes, uint32_t page_size);

/* Reads the newest valid snapshot header without mounting: the image length and layout tag it
 * holds. VSAFE_ERR_STORE_EMPTY if the NVM has no valid state (blank), VSAFE_ERR_STORE_CORRUPT if
 * it holds records that all fail their checksum, VSAFE_ERR_STORE_VERSION for an unknown version. */
VSAFE_MUST_CHECK int vsafe_store_probe(const vsafe_nvm_t *nvm, uint32_t *image_len, uint32_t *layout_tag);

/* Erases the NVM and writes image as the first snapshot. image must stay valid while mounted.
 * nvm NULL = volatile store. */
VSAFE_MUST_CHECK int vsafe_store_format(vsafe_store_t *st, const vsafe_nvm_t *nvm, uint8_t *image,
                                        uint32_t image_len, uint32_t layout_tag);

/* Recovers the newest committed state into image (image_len must match the stored one), never an
 * older one: a single flipped bit in any record is corrected (st->recovery says where; the next
 * commit then writes a fresh snapshot), a torn newest record left by a power cut is discarded,
 * and anything else is refused with VSAFE_ERR_STORE_DAMAGED (st->recovery says what and where).
 * Returns VSAFE_ERR_STORE_EMPTY, _CORRUPT (no snapshot passes), _DAMAGED, _VERSION, _MISMATCH,
 * _TRUNCATED, or the NVM's read error (a read error is never taken for an invalid record). */
VSAFE_MUST_CHECK int vsafe_store_mount(vsafe_store_t *st, const vsafe_nvm_t *nvm, uint8_t *image,
                                       uint32_t image_len, uint32_t layout_tag);

/* Makes txn durable as one atomic record, then applies it to the RAM image.
 * On error the RAM image is unchanged; after an NVM error the store is failed (sticky
 * VSAFE_ERR_STORE_FAILED) until mounted again, since NVM may hold a half-written record. */
VSAFE_MUST_CHECK int vsafe_store_commit(vsafe_store_t *st, const vsafe_txn_t *txn);

/* Grows the image to new_len bytes in one atomic commit (an image format migration). The caller
 * has written the appended bytes image[image_len .. new_len) (the buffer must hold new_len bytes);
 * they are not part of the state until this returns VSAFE_OK. txn patches anywhere in
 * [0, new_len). Writes the new, longer image with txn overlaid as a fresh snapshot (sequence + 1)
 * into the other half, exactly as a compaction does, and only then applies txn and takes the new
 * length. Power may fail anywhere: a mount then finds either the old state of the old length or
 * the new one, nothing else (tests/store: store_resize). VSAFE_ERR_ARGUMENT when new_len is below
 * the current length or a patch lies outside it, VSAFE_ERR_STORE_FULL when the new snapshot does
 * not fit a half (nothing written); NVM errors fail the store (sticky) as in vsafe_store_commit.
 * A volatile store just applies txn and takes the new length. */
VSAFE_MUST_CHECK int vsafe_store_commit_resize(vsafe_store_t *st, uint32_t new_len, const vsafe_txn_t *txn);

/* A run of image bytes a large commit writes without staging them in a transaction:
 * image[off .. off+len) = data, or every byte = fill when data is NULL. */
typedef struct {
    uint32_t off;
    uint32_t len;
    const uint8_t *data;
    uint8_t fill;
} vsafe_store_span_t;
#define VSAFE_STORE_SPAN_MAX 8u

/* vsafe_store_commit_resize with up to VSAFE_STORE_SPAN_MAX spans besides txn, for a commit too
 * large for a transaction (a firmware image, an erased region, a migration that moves a region):
 * the spans, then txn's patches over them, at new_len bytes (>= the current length; equal = no
 * resize), written as one fresh snapshot into the other half, however little changed (a delta
 * longer than VSAFE_TXN_CAP would not be replayable by a mount's bounded buffer). The span data
 * must stay valid and unchanged during the call and must not overlap any span's target. Power may
 * fail anywhere: a mount finds the old state or the new one. Errors as vsafe_store_commit_resize;
 * VSAFE_ERR_ARGUMENT also for a span outside [0, new_len) or more than VSAFE_STORE_SPAN_MAX. */
VSAFE_MUST_CHECK int vsafe_store_commit_spans(vsafe_store_t *st, uint32_t new_len, const vsafe_txn_t *txn,
                                              const vsafe_store_span_t *spans, unsigned n_spans);

/* Sync policy for an NVM that may reorder (geometry.may_reorder), set after format or mount.
 * false (default): header and body, sync, commit unit, sync: two syncs per command.
 * true: the whole record then one sync, as on an in-order NVM. Still safe: a record whose commit
 * unit reached NVM before its body fails its body CRC and is not replayed (proved by the
 * store_powercut test under the REORDERED model); the cost is relying on CRC-32C rather than on
 * ordering. Halves the syncs of the file backend. */
void vsafe_store_set_one_sync(vsafe_store_t *st, bool one_sync);

/* What `vsafe check` reports, read without changing anything. */
typedef struct {
    int status;               /* 0 if a valid state was found, else the mount error */
    uint32_t format_version;
    uint32_t layout_tag;
    uint32_t image_len;
    uint32_t snapshot_seq;    /* sequence of the snapshot the state is built on */
    uint32_t seq;             /* newest valid record */
    uint32_t records;         /* valid journal records replayed after the snapshot */
    uint32_t active_half;
    uint32_t journal_used;    /* bytes used in the active half */
    uint32_t journal_size;    /* bytes in one half */
    bool tail_clean;          /* no partial record after the last valid one */
    uint32_t other_half_seq;  /* its snapshot's seq when other_half_valid */
    bool other_half_valid;    /* the other half holds a snapshot (older, superseded) */
    vsafe_store_recovery_t recovery; /* corrections, torn record, damage: where */
    /* salvage only: the commits given up (sequence numbers lost_first..lost_last, lost_count of
     * them), and the sequence number of the snapshot salvage wrote */
    uint32_t lost_first, lost_last, lost_count;
    uint32_t salvage_seq;
} vsafe_store_report_t;

/* Fills report (always, as far as the NVM could be read) and returns report->status. Reads
 * only: never programs, erases or syncs. */
VSAFE_MUST_CHECK int vsafe_store_inspect(const vsafe_nvm_t *nvm, vsafe_store_report_t *report);

/* The explicit way out of VSAFE_ERR_STORE_DAMAGED, for a user who asks for it: recovers the longest
 * intact prefix (the newest valid snapshot and the journal records after it up to the first that
 * is damaged), then writes it as a fresh snapshot with a sequence number above every readable one
 * into the other half, so that it mounts normally afterwards. image (image_cap bytes, at least the
 * stored image length) receives the salvaged state. report says what was lost (lost_* fields).
 * On NVM that mounts cleanly it writes nothing and returns VSAFE_OK with lost_count 0.
 * VSAFE_ERR_STORE_CORRUPT/_EMPTY when no snapshot is intact; NVM errors. Power may fail anywhere:
 * until the new snapshot's commit unit lands, the NVM still holds what it held. */
VSAFE_MUST_CHECK int vsafe_store_salvage(const vsafe_nvm_t *nvm, uint8_t *image, uint32_t image_cap,
                                         vsafe_store_report_t *report);

/* One line (NUL-terminated, truncated to cap) saying what recovery found: the damage and where,
 * the corrections, or the torn record. Returns the length written. */
size_t vsafe_store_describe(const vsafe_store_recovery_t *r, char *out, size_t cap);

#endif

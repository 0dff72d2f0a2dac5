/* Symmetric key slots as the image holds them (se/layout_svc.h), the key information record of
 * the provisioning commands, and the hash identifiers: lookups shared by the key-service handlers
 * (symkeys.c, aes.c, mac.c, derive.c, envelope.c, hash.c). Layer 2: reads the image only; never
 * stages, never calls a handler. */
#ifndef VSAFE_SE_SYMSLOT_H
#define VSAFE_SE_SYMSLOT_H

#include <stdbool.h>
#include <stdint.h>

#include "common/cursor.h"
#include "se/core.h"

#define VSAFE_SE_HASH_ID_LEN 11u

/* Key types, modes, usage bits (byte 1 of USAGE) and lock values of the symmetric key table. */
enum { VSAFE_SYM_AES128 = 0, VSAFE_SYM_AES256 = 1, VSAFE_SYM_GENERIC = 2 };
enum { VSAFE_SYM_CCM = 0, VSAFE_SYM_CMAC = 1, VSAFE_SYM_ECB = 2, VSAFE_SYM_GCM = 3, VSAFE_SYM_HKDF = 4,
       VSAFE_SYM_HMAC = 5 };
#define VSAFE_SYM_USE_MAC_VERIFY 0x01u
#define VSAFE_SYM_USE_MAC_GEN 0x02u
#define VSAFE_SYM_USE_DECRYPT 0x04u
#define VSAFE_SYM_USE_ENCRYPT 0x08u
#define VSAFE_SYM_USE_DECRYPT_CHUNKS 0x10u
#define VSAFE_SYM_USE_ENCRYPT_CHUNKS 0x20u
#define VSAFE_SYM_USE_DERIVE 0x40u
enum { VSAFE_SYM_UNLOCKED = 0, VSAFE_SYM_LOCKED = 1, VSAFE_SYM_ERASABLE = 2 };

/* Provisioning control fields, byte 0 (Query 0x4B). */
#define VSAFE_SYM_CTRL_ECDHE_ANON 0x01u
#define VSAFE_SYM_CTRL_WRAPPED_ANON 0x02u
#define VSAFE_SYM_CTRL_PUT_KEY 0x04u
#define VSAFE_SYM_CTRL_CHANGE_RIGHT 0x08u
#define VSAFE_SYM_CTRL_PLAINTEXT 0x10u
#define VSAFE_SYM_CTRL_DERIVED 0x20u

/* A key information record: LOCK [SLOT] KEY_TYPE MODE USAGE(2) PARAMS, PARAMS as long as MODE
 * says (CCM* 2: TAG_LEN CTR_BYTE; CMAC 1: MIN_MAC_LEN; ECB 0; GCM 1: TAG_LEN; HKDF 2: FLAGS
 * GENERIC_KEY_LEN; HMAC 2: MIN_MAC_LEN GENERIC_KEY_LEN). */
typedef struct {
    uint8_t lock;
    uint8_t slot;       /* 0 when the record has no slot byte */
    uint8_t type;
    uint8_t mode;
    uint8_t usage[2];
    uint8_t params[2];
    uint8_t params_len;
    uint8_t key_len;    /* 16, 32, or GENERIC_KEY_LEN */
} vsafe_se_keyinfo_t;

/* Takes a record from in (with_slot: the SLOT byte is there). 0x02 when in is too short, 0x03
 * for a MODE out of range (its PARAMS length is then unknown); nothing else is checked. */
uint8_t vsafe_se_keyinfo_take(vsafe_cursor_t *in, bool with_slot, vsafe_se_keyinfo_t *ki);
/* The record's own checks, in the device's order: GENERIC_KEY_LEN outside 16..32 0x02; type out
 * of range 0x03; MODE/KEY_TYPE combination 0x1C; usage bits not allowed for MODE 0x1B; tag or MAC
 * length 0x1D; LOCK or another enumerated parameter out of range 0x03. */
uint8_t vsafe_se_keyinfo_check(const vsafe_se_keyinfo_t *ki);
/* Bytes of the record's PARAMS for a mode (0..5); 0xFF for a mode out of range. */
uint8_t vsafe_se_sym_params_len(uint8_t mode);

/* Symmetric slot records. */
unsigned vsafe_se_sym_count(const vsafe_se_core_t *core);
/* The record of slot (< count) in the image. */
const uint8_t *vsafe_se_sym_rec(const vsafe_se_core_t *core, unsigned slot);
uint32_t vsafe_se_sym_rec_off(const vsafe_se_core_t *core, unsigned slot);
bool vsafe_se_sym_present(const uint8_t *rec);
uint8_t vsafe_se_sym_lock(const uint8_t *rec);

/* Looks up a slot for a service: 0x10 slot out of the table, 0x0A empty; *rec set on 0x00. */
uint8_t vsafe_se_sym_use(const vsafe_se_core_t *core, unsigned slot, const uint8_t **rec);

/* Stages the whole key of slot (attributes, key, CCM* counter 0; the control fields untouched)
 * in core->txn. key holds ki->key_len bytes (or fewer: key_len bytes given are what is kept). */
void vsafe_se_sym_stage_key(vsafe_se_core_t *core, const vsafe_se_keyinfo_t *ki, const uint8_t *key,
                            uint8_t key_len);
/* Stages slot empty (control fields untouched). */
void vsafe_se_sym_stage_erase(vsafe_se_core_t *core, unsigned slot);

/* Takes the 11-byte hash identifier: enum vsafe_hash, 0 for one not supported (SHA-1, SHA-224,
 * anything unknown), or -1 when in is too short (nothing taken). */
int vsafe_se_hash_id_take(vsafe_cursor_t *in);

/* The HKDF salt of the KEK and symmetric key derivations (STSELib's STSAFEA_KEK_HKDF_SALT). */
extern const uint8_t vsafe_se_kek_salt[32];

#endif

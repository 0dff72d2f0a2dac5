/* regress_wipe_removed_by_compiler: a wipe before free must survive optimisation.
 *
 * The finding: vsafe_se_close and vsafe_mcu_close cleared the device objects with memset just
 * before free, and at -O2 the compiler deleted those stores (a store to memory that is freed next
 * is dead), so host keys, decrypted payloads, the staged transaction and the MCU's OBK contents
 * went back to the allocator intact.
 *
 * How this test sees it: the executable defines malloc, calloc, realloc and free (interposing
 * the C library's, for the library, OpenSSL and cmocka alike). Every block is recorded with its
 * requested size; free first scans the block for the secrets the test put into the device, and
 * only then hands it to the C library. The device objects returned by the open functions must
 * moreover be all zero when they are freed. The test first checks that the secrets really are on
 * the heap while the devices are open (so an absence at free means they were wiped, not that
 * they were never there).
 *
 * Built at the project's normal optimisation (RelWithDebInfo, -O2), where the old memset was
 * removed. Not built under the sanitizers, which bring their own allocator. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vsafe/host.h"
#include "vsafe/mcu.h"
#include "vsafe/se.h"
#include "vsafe/se_wire.h"
#include "vsafe/sim.h"

/* ---- The recording allocator ---- */

void *__libc_malloc(size_t n);
void *__libc_calloc(size_t count, size_t n);
void *__libc_realloc(void *p, size_t n);
void __libc_free(void *p);

#define TRACK_SLOTS (1u << 16)
#define MAX_SECRETS 8u
#define MAX_WATCHED 4u

typedef struct {
    void *p;
    size_t n;
} block_t;

typedef struct {
    const char *name;
    const uint8_t *bytes;
    size_t len;
} secret_t;

static struct {
    bool on;
    block_t blocks[TRACK_SLOTS]; /* open addressing; p == NULL: empty, p == TOMBSTONE: removed */
    size_t live;
    secret_t secret[MAX_SECRETS];
    size_t secrets;
    unsigned freed_with_secret[MAX_SECRETS];
    size_t freed_bytes_with_secret[MAX_SECRETS];
    void *watched[MAX_WATCHED]; /* must be all zero when freed */
    size_t watched_count;
    unsigned watched_freed;
    unsigned watched_not_zero;
    unsigned untracked_frees;
} A;

static char tombstone;
#define TOMBSTONE ((void *)&tombstone)

static size_t slot_of(const void *p)
{
    uintptr_t x = (uintptr_t)p;
    x ^= x >> 17;
    x *= 0x9E3779B97F4A7C15ull;
    return (size_t)(x >> 40) & (TRACK_SLOTS - 1u);
}

static void track(void *p, size_t n)
{
    if (p == NULL) {
        return;
    }
    size_t i = slot_of(p);
    for (size_t k = 0; k < TRACK_SLOTS; k++, i = (i + 1u) & (TRACK_SLOTS - 1u)) {
        if (A.blocks[i].p == NULL || A.blocks[i].p == TOMBSTONE) {
            A.blocks[i].p = p;
            A.blocks[i].n = n;
            A.live++;
            return;
        }
    }
    abort(); /* more live blocks than the table holds: enlarge TRACK_SLOTS */
}

/* Removes p from the table; returns its requested size, or its usable size when not tracked. */
static size_t untrack(void *p)
{
    size_t i = slot_of(p);
    for (size_t k = 0; k < TRACK_SLOTS; k++, i = (i + 1u) & (TRACK_SLOTS - 1u)) {
        if (A.blocks[i].p == NULL) {
            break;
        }
        if (A.blocks[i].p == p) {
            size_t n = A.blocks[i].n;
            A.blocks[i].p = TOMBSTONE;
            A.live--;
            return n;
        }
    }
    A.untracked_frees++;
    return malloc_usable_size(p);
}

static bool contains(const uint8_t *hay, size_t n, const uint8_t *needle, size_t len)
{
    if (len == 0 || n < len) {
        return false;
    }
    for (size_t i = 0; i + len <= n; i++) {
        if (hay[i] == needle[0] && memcmp(hay + i, needle, len) == 0) {
            return true;
        }
    }
    return false;
}

/* A secret counts as present when any 8-byte piece of it is (a half-done wipe is no wipe). */
static bool has_secret(const uint8_t *p, size_t n, const secret_t *s)
{
    for (size_t off = 0; off + 8u <= s->len; off += 8u) {
        if (contains(p, n, s->bytes + off, 8u)) {
            return true;
        }
    }
    return false;
}

static void inspect(void *p, size_t n)
{
    for (size_t s = 0; s < A.secrets; s++) {
        if (has_secret(p, n, &A.secret[s])) {
            A.freed_with_secret[s]++;
            A.freed_bytes_with_secret[s] += n;
        }
    }
    for (size_t w = 0; w < A.watched_count; w++) {
        if (A.watched[w] == p) {
            A.watched_freed++;
            const uint8_t *b = p;
            for (size_t i = 0; i < n; i++) {
                if (b[i] != 0) {
                    A.watched_not_zero++;
                    break;
                }
            }
            A.watched[w] = NULL;
        }
    }
}

void *malloc(size_t n)
{
    void *p = __libc_malloc(n);
    if (A.on) {
        track(p, n);
    }
    return p;
}

void *calloc(size_t count, size_t n)
{
    void *p = __libc_calloc(count, n);
    if (A.on) {
        track(p, count * n); /* the C library refused an overflowing product already */
    }
    return p;
}

void free(void *p)
{
    if (p == NULL) {
        return;
    }
    if (A.on) {
        size_t n = untrack(p);
        inspect(p, n);
    }
    __libc_free(p);
}

/* Moves through malloc + copy + free so that the old block is inspected like any other. */
void *realloc(void *p, size_t n)
{
    if (!A.on) {
        return __libc_realloc(p, n);
    }
    if (p == NULL) {
        return malloc(n);
    }
    if (n == 0) {
        free(p);
        return NULL;
    }
    void *q = __libc_malloc(n);
    if (q == NULL) {
        return NULL;
    }
    size_t i = slot_of(p), old = 0;
    bool found = false;
    for (size_t k = 0; k < TRACK_SLOTS; k++, i = (i + 1u) & (TRACK_SLOTS - 1u)) {
        if (A.blocks[i].p == NULL) {
            break;
        }
        if (A.blocks[i].p == p) {
            old = A.blocks[i].n;
            found = true;
            break;
        }
    }
    if (!found) {
        old = malloc_usable_size(p);
    }
    memcpy(q, p, old < n ? old : n);
    track(q, n);
    free(p);
    return q;
}

/* Live blocks that currently hold secret s. */
static unsigned live_with_secret(size_t s)
{
    unsigned k = 0;
    for (size_t i = 0; i < TRACK_SLOTS; i++) {
        void *p = A.blocks[i].p;
        if (p != NULL && p != TOMBSTONE && has_secret(p, A.blocks[i].n, &A.secret[s])) {
            k++;
        }
    }
    return k;
}

static void start_recording(void)
{
    memset(A.freed_with_secret, 0, sizeof A.freed_with_secret);
    memset(A.freed_bytes_with_secret, 0, sizeof A.freed_bytes_with_secret);
    A.secrets = 0;
    A.watched_count = 0;
    A.watched_freed = 0;
    A.watched_not_zero = 0;
    A.on = true;
}

static void add_secret(const char *name, const uint8_t *bytes, size_t len)
{
    assert_true(A.secrets < MAX_SECRETS);
    assert_int_equal(len % 8u, 0);
    A.secret[A.secrets++] = (secret_t){name, bytes, len};
}

static void watch(void *p)
{
    assert_true(A.watched_count < MAX_WATCHED);
    A.watched[A.watched_count++] = p;
}

/* Every secret was on the heap before close, and no freed block held any of them. */
static void check_report(const char *what, const unsigned *live_before)
{
    bool bad = false;
    for (size_t s = 0; s < A.secrets; s++) {
        printf("%s: %-18s live blocks before close %u, freed blocks holding it %u (%zu bytes)\n", what,
               A.secret[s].name, live_before[s], A.freed_with_secret[s], A.freed_bytes_with_secret[s]);
        if (live_before[s] == 0) {
            fail_msg("%s: %s was never on the heap: the test proves nothing", what, A.secret[s].name);
        }
        bad |= A.freed_with_secret[s] != 0;
    }
    printf("%s: device objects freed %u, not all zero %u\n", what, A.watched_freed, A.watched_not_zero);
    assert_int_equal(A.watched_freed, A.watched_count);
    if (bad) {
        fail_msg("%s: a secret went back to the allocator unwiped", what);
    }
    assert_int_equal(A.watched_not_zero, 0);
}

/* ---- Secrets (distinct patterns that occur nowhere else) ---- */

static const uint8_t MAC_KEY[16] = {0x6B, 0x13, 0xA7, 0x59, 0xE2, 0x0C, 0x94, 0x3D,
                                    0xF1, 0x48, 0x2A, 0xB6, 0x7E, 0xC5, 0x01, 0x9F};
static const uint8_t CIPHER_KEY[16] = {0xD4, 0x27, 0x8E, 0x61, 0x3B, 0xF9, 0x05, 0xAC,
                                       0x72, 0x1E, 0xC8, 0x56, 0x9A, 0xE3, 0x40, 0xBD};
static const uint8_t PLAINTEXT[32] = "vsafe wipe test: zone plaintext";
static const uint8_t OBK_SECRET[32] = "vsafe wipe test: OBK secret 3-S";

/* ---- The devices ---- */

static void regress_wipe_se_close(void **state)
{
    (void)state;
    start_recording();
    add_secret("host MAC key", MAC_KEY, sizeof MAC_KEY);
    add_secret("host cipher key", CIPHER_KEY, sizeof CIPHER_KEY);
    add_secret("zone plaintext", PLAINTEXT, sizeof PLAINTEXT);

    vsafe_se_t *se = NULL;
    vsafe_host_t *h = NULL;
    vsafe_se_options_t o = {.profile = "spl05", .state_path = NULL};
    vsafe_se_open_ext_t ext = {.rng_seed = 7};
    assert_int_equal(vsafe_se_open_ex(&se, &o, &ext), VSAFE_OK);
    watch(se);
    assert_int_equal(vsafe_host_open_se(&h, se), VSAFE_OK);
    watch(h);
    assert_int_equal(vsafe_host_init(h), VSAFE_OK);
    assert_int_equal(vsafe_host_provision_plaintext(h, VSAFE_HOST_KEY_AES128, MAC_KEY, CIPHER_KEY), VSAFE_OK);
    assert_int_equal(vsafe_host_session_open(h, MAC_KEY, CIPHER_KEY, VSAFE_HOST_KEY_AES128), VSAFE_OK);
    /* Reads of the zone come back encrypted; the Update carries the plaintext under a C-MAC. */
    assert_int_equal(vsafe_host_put_command_enc(h, VSAFE_HOST_PROT_TABLE, VSAFE_SE_CMD_READ, 0, VSAFE_SE_ENC_RSP),
                     VSAFE_OK);
    assert_int_equal(vsafe_host_update_zone(h, VSAFE_HOST_PROT_MAC, 2, 0, PLAINTEXT, sizeof PLAINTEXT, 1), VSAFE_OK);
    uint8_t back[sizeof PLAINTEXT];
    assert_int_equal(vsafe_host_read_zone(h, VSAFE_HOST_PROT_TABLE, 2, 0, back, sizeof back), VSAFE_OK);
    assert_memory_equal(back, PLAINTEXT, sizeof back);
    memset(back, 0, sizeof back);

    unsigned live[MAX_SECRETS];
    for (size_t s = 0; s < A.secrets; s++) {
        live[s] = live_with_secret(s);
    }
    vsafe_host_session_close(h);
    vsafe_host_close(h);
    vsafe_se_close(se);
    A.on = false;
    check_report("se+host", live);
}

static void regress_wipe_mcu_close(void **state)
{
    (void)state;
    start_recording();
    add_secret("OBK HDPL3-S", OBK_SECRET, sizeof OBK_SECRET);

    vsafe_mcu_t *m = NULL;
    vsafe_mcu_options_t o = {.rng_seed = 11, .power_on_reset = 1};
    assert_int_equal(vsafe_mcu_open(&m, &o), VSAFE_OK);
    watch(m);
    assert_int_equal(vsafe_mcu_program_state(m, VSAFE_MCU_STATE_PROVISIONING), VSAFE_OK);
    assert_int_equal(vsafe_mcu_reset(m), VSAFE_OK);
    assert_int_equal(vsafe_mcu_state(m), VSAFE_MCU_STATE_PROVISIONING);
    assert_int_equal(vsafe_mcu_obk_write(m, VSAFE_MCU_SECURE, VSAFE_MCU_OBK_HDPL3_S, 0, OBK_SECRET, sizeof OBK_SECRET),
                     VSAFE_OK);
    unsigned live[MAX_SECRETS] = {live_with_secret(0)};
    vsafe_mcu_close(m);
    A.on = false;
    check_report("mcu", live);
}

/* The simulated NVM (the CLI's --cut-after runs a state file in it) holds the whole device image,
 * host keys included, and with may_reorder a log of the bytes of unsynced operations. */
static void regress_wipe_sim_nvm_free(void **state)
{
    (void)state;
    start_recording();
    add_secret("host MAC key", MAC_KEY, sizeof MAC_KEY);
    add_secret("host cipher key", CIPHER_KEY, sizeof CIPHER_KEY);
    vsafe_nvm_geometry_t g = {.prog_unit = 16, .page_size = 4096, .page_count = 64, .erased = 0xFF, .may_reorder = 1};
    vsafe_sim_nvm_t *sim = NULL;
    assert_int_equal(vsafe_sim_nvm_new(&sim, &g, 5), VSAFE_OK);
    vsafe_se_t *se = NULL;
    vsafe_host_t *h = NULL;
    vsafe_se_options_t o = {.profile = "spl05", .state_path = NULL};
    vsafe_se_open_ext_t ext = {.rng_seed = 3, .nvm = vsafe_sim_nvm_port(sim)};
    assert_int_equal(vsafe_se_open_ex(&se, &o, &ext), VSAFE_OK);
    assert_int_equal(vsafe_host_open_se(&h, se), VSAFE_OK);
    assert_int_equal(vsafe_host_init(h), VSAFE_OK);
    assert_int_equal(vsafe_host_provision_plaintext(h, VSAFE_HOST_KEY_AES128, MAC_KEY, CIPHER_KEY), VSAFE_OK);
    unsigned live[MAX_SECRETS];
    for (size_t i = 0; i < A.secrets; i++) {
        live[i] = live_with_secret(i);
    }
    vsafe_host_close(h);
    vsafe_se_close(se);
    vsafe_sim_nvm_free(sim);
    A.on = false;
    check_report("sim nvm", live);
}

/* ---- The stack ----
 * The host library's temporaries live on the stack of the caller's thread. After a call returns,
 * the bytes its frames left lie below the caller's stack pointer until something else overwrites
 * them; the stack is cleared first so that only that one call can have left them. Reading below
 * the stack pointer is outside C, but it is how the residue can be seen at all; the positive
 * control below shows the scan finds what an unwiped temporary leaves. */

#define STACK_PROBE (64u * 1024u)

__attribute__((noinline)) static void stack_clear(void)
{
    volatile uint8_t area[STACK_PROBE];
    for (size_t i = 0; i < sizeof area; i++) {
        area[i] = 0;
    }
}

/* Runs fn below an 8 KiB pad, so that its frames lie deeper than the scan's own frame will. */
__attribute__((noinline)) static void deep_call(void (*fn)(void *), void *ctx)
{
    volatile uint8_t pad[8192];
    pad[0] = 0;
    fn(ctx);
    pad[sizeof pad - 1] = 1;
}

/* Whether any 8-byte piece of s lies in the dead stack below this function's frame (its own
 * frame, at most a few hundred bytes, is left out). */
__attribute__((noinline)) static bool stack_has(const secret_t *s)
{
    const uint8_t *top = (const uint8_t *)__builtin_frame_address(0) - 2048;
    const uint8_t *low = top - (STACK_PROBE - 4096);
    return has_secret(low, (size_t)(top - low), s);
}

typedef struct {
    vsafe_host_t *h;
    int rc;
} op_t;

/* What a temporary that is not wiped leaves behind. */
static void op_unwiped_temporary(void *ctx)
{
    (void)ctx;
    volatile uint8_t tmp[sizeof PLAINTEXT];
    for (size_t i = 0; i < sizeof tmp; i++) {
        tmp[i] = PLAINTEXT[i];
    }
}

static void op_session_open(void *ctx)
{
    op_t *op = ctx;
    op->rc = vsafe_host_session_open(op->h, MAC_KEY, CIPHER_KEY, VSAFE_HOST_KEY_AES128);
}

static uint8_t read_back[sizeof PLAINTEXT]; /* static: the caller's own copy is not on the scanned stack */

/* Refused by the device (beyond the zone's end), after the payload was encrypted and sent. */
static void op_encrypted_update_refused(void *ctx)
{
    op_t *op = ctx;
    op->rc = vsafe_host_update_zone(op->h, VSAFE_HOST_PROT_TABLE, 2, 0x8000, PLAINTEXT, sizeof PLAINTEXT, 1);
}

static void op_encrypted_read(void *ctx)
{
    op_t *op = ctx;
    op->rc = vsafe_host_read_zone(op->h, VSAFE_HOST_PROT_TABLE, 2, 0, read_back, sizeof read_back);
}

static void regress_host_plaintext_on_stack(void **state)
{
    (void)state;
    const secret_t plain = {"zone plaintext", PLAINTEXT, sizeof PLAINTEXT};
    const secret_t mac = {"host MAC key", MAC_KEY, sizeof MAC_KEY};
    const secret_t cipher = {"host cipher key", CIPHER_KEY, sizeof CIPHER_KEY};
    /* The scan sees an unwiped temporary, and nothing after a clear. */
    stack_clear();
    deep_call(op_unwiped_temporary, NULL);
    assert_true(stack_has(&plain));
    stack_clear();
    assert_false(stack_has(&plain));

    vsafe_se_t *se = NULL;
    vsafe_se_options_t o = {.profile = "spl05", .state_path = NULL};
    vsafe_se_open_ext_t ext = {.rng_seed = 9};
    op_t op = {0};
    assert_int_equal(vsafe_se_open_ex(&se, &o, &ext), VSAFE_OK);
    assert_int_equal(vsafe_host_open_se(&op.h, se), VSAFE_OK);
    assert_int_equal(vsafe_host_init(op.h), VSAFE_OK);
    assert_int_equal(vsafe_host_provision_plaintext(op.h, VSAFE_HOST_KEY_AES128, MAC_KEY, CIPHER_KEY), VSAFE_OK);
    /* Reads answer encrypted, Updates are sent encrypted (one Put: the flags are one-time programmable). */
    const vsafe_host_cmd_ac_t enc[2] = {{.header = VSAFE_SE_CMD_READ, .enc = VSAFE_SE_ENC_RSP},
                                        {.header = VSAFE_SE_CMD_UPDATE, .enc = VSAFE_SE_ENC_CMD}};
    assert_int_equal(vsafe_host_put_command_table(op.h, VSAFE_HOST_PROT_NONE, VSAFE_SE_TAG_CMD_ENC, enc, 2), VSAFE_OK);
    stack_clear();
    deep_call(op_session_open, &op);
    assert_int_equal(op.rc, VSAFE_OK);
    bool keys_after_open = stack_has(&mac) || stack_has(&cipher);
    assert_int_equal(vsafe_host_update_zone(op.h, VSAFE_HOST_PROT_TABLE, 2, 0, PLAINTEXT, sizeof PLAINTEXT, 1),
                     VSAFE_OK);

    /* An error path: an encrypted Update the device refuses. */
    stack_clear();
    deep_call(op_encrypted_update_refused, &op);
    assert_int_equal(op.rc, VSAFE_DEV_STATUS(VSAFE_SE_ST_BOUNDARY_EXCEEDED));
    bool plain_after_refusal = stack_has(&plain);

    /* An encrypted read: afterwards the plaintext is only in the caller's buffer. */
    stack_clear();
    deep_call(op_encrypted_read, &op);
    assert_int_equal(op.rc, VSAFE_OK);
    assert_memory_equal(read_back, PLAINTEXT, sizeof read_back);
    bool plain_after_read = stack_has(&plain);
    bool keys_after_read = stack_has(&mac) || stack_has(&cipher);
    vsafe_host_close(op.h);
    vsafe_se_close(se);
    printf("stack: keys after session open %s; plaintext after a refused encrypted Update %s; after an encrypted "
           "read: plaintext %s, keys %s\n",
           keys_after_open ? "FOUND" : "none", plain_after_refusal ? "FOUND" : "none",
           plain_after_read ? "FOUND" : "none", keys_after_read ? "FOUND" : "none");
    assert_false(keys_after_open);
    assert_false(plain_after_refusal);
    assert_false(plain_after_read);
    assert_false(keys_after_read);
}

/* The board opens the channel with the host keys it reads from the MCU's OBK: the record it read
 * them into must not stay on the stack (it did: its memset was a dead store at -O2). */
typedef struct {
    vsafe_mcu_t *m;
    vsafe_host_t *h;
    int rc;
} board_op_t;

static void op_board_session_open(void *ctx)
{
    board_op_t *op = ctx;
    op->rc = vsafe_board_session_open(op->m, op->h);
}

static uint8_t board_rec[VSAFE_MCU_HOSTKEY_LEN]; /* static: the test's own copy of the keys */

static void regress_board_keys_on_stack(void **state)
{
    (void)state;
    board_op_t op = {0};
    vsafe_se_t *se = NULL;
    vsafe_se_options_t so = {.profile = "spl05", .state_path = NULL};
    vsafe_mcu_options_t mo = {.rng_seed = 13, .power_on_reset = 1};
    assert_int_equal(vsafe_mcu_open(&op.m, &mo), VSAFE_OK);
    assert_int_equal(vsafe_mcu_program_state(op.m, VSAFE_MCU_STATE_PROVISIONING), VSAFE_OK);
    assert_int_equal(vsafe_mcu_reset(op.m), VSAFE_OK);
    assert_int_equal(vsafe_se_open(&se, &so), VSAFE_OK);
    assert_int_equal(vsafe_host_open_se(&op.h, se), VSAFE_OK);
    assert_int_equal(vsafe_host_init(op.h), VSAFE_OK);
    assert_int_equal(vsafe_board_provision_hostkeys(op.m, op.h, false), VSAFE_OK);
    assert_int_equal(vsafe_mcu_obk_read(op.m, VSAFE_MCU_SECURE, VSAFE_MCU_OBK_HDPL3_S, 0, board_rec, sizeof board_rec),
                     VSAFE_OK);
    const secret_t mac = {"board MAC key", board_rec + 8, 16};
    const secret_t cipher = {"board cipher key", board_rec + 40, 16};

    stack_clear();
    deep_call(op_board_session_open, &op);
    assert_int_equal(op.rc, VSAFE_OK);
    bool found = stack_has(&mac) || stack_has(&cipher);
    vsafe_host_close(op.h);
    vsafe_se_close(se);
    vsafe_mcu_close(op.m);
    printf("stack: host keys after vsafe_board_session_open %s\n", found ? "FOUND" : "none");
    assert_false(found);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(regress_wipe_se_close),
        cmocka_unit_test(regress_wipe_mcu_close),
        cmocka_unit_test(regress_wipe_sim_nvm_free),
        cmocka_unit_test(regress_host_plaintext_on_stack),
        cmocka_unit_test(regress_board_keys_on_stack),
    };
    return cmocka_run_group_tests_name("regress_wipe_removed_by_compiler", tests, NULL, NULL);
}

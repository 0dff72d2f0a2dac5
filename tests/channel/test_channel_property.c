/* Property test: random sequences of protected (C-MAC/R-MAC, optionally encrypted) and unprotected
 * Read / Update / Decrement / AC-change / command-table Put commands against the reference model
 * of the device (tests/model/model.h, which states the protocol rules it encodes: zones,
 * counters, ACs and change rights, the command table, the host C-MAC counter).
 * When several refusals apply at once the protocol does not fix which one wins: any of them is
 * accepted (nothing may change but the MAC counter), and the observed precedence is printed.
 *
 * The host library's side (include/vsafe/host.h): PROT_NONE is always sent plain, PROT_MAC always
 * MACed (encrypted when the table says so), PROT_TABLE MACed when the table requires it; a MACed
 * command with no session open fails host-side with VSAFE_ERR_HOST_NO_SESSION; Decrement with
 * amount 0 is refused host-side (VSAFE_ERR_ARGUMENT). Amount 0 is therefore also sent as a raw
 * frame, plain (vsafe_host_raw) or protected through the independent test host (chan_host.h).
 *
 * Key services ride the same channel: SHA-256 hashes, CMAC generation and GCM encryption by
 * chunks (keys written plainly before the run), each frame with its own protection; results
 * against OpenSSL, the model seeing only their C-MAC counter steps.
 *
 * After every step the partition table and the key slot counter are compared with the model;
 * every CHECK_EVERY steps the contents of every readable zone too. File-backed runs also
 * close and reopen the device and the host (state and counter must persist).
 *
 * Environment: VSAFE_PROP_SEED (master seed, decimal or 0x-hex), VSAFE_PROP_RUNS, VSAFE_PROP_STEPS.
 * On a failure the message names the seed, run, step and the step's description. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "chan_host.h"
#include "model.h"
#include "vsafe/host.h"

#define NZ 12
#define CHECK_EVERY 25
#define DEFAULT_SEED 0x5AFE2024C0FFEEULL
#define DEFAULT_RUNS 20
#define DEFAULT_STEPS 300
#define READ_MAX 600
#define UPDATE_MAX 600
#define DEC_DATA_MAX 80

enum { C_DEC = MODEL_TCMD_DECREMENT, C_READ = MODEL_TCMD_READ, C_UPD = MODEL_TCMD_UPDATE };
#define cmd_code model_tcmd_code
static const char *cmd_name[3] = {"Decrement", "Read", "Update"};

typedef model_zone_t mz_t;

typedef struct {
    vsafe_se_t *se;
    vsafe_host_t *h;
    int file;
    char dir[64], path[128];
    unsigned key_type;
    uint8_t mac_key[32], cipher_key[32];
    th_t th;
    model_t m;
    int session; /* the host library has a session open */
    uint64_t seed;
    int run, step;
    char desc[256];
} ctx_t;

/* ---- PRNG ---- */
static uint64_t rs;
static uint64_t rnd(void)
{
    rs ^= rs >> 12;
    rs ^= rs << 25;
    rs ^= rs >> 27;
    return rs * 0x2545F4914F6CDD1DULL;
}
static uint32_t rn(uint32_t n) { return n == 0 ? 0 : (uint32_t)(rnd() % n); }
static void rbytes(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        p[i] = (uint8_t)rnd();
    }
}

/* ---- failure ---- */
static ctx_t *cur;
#define FAILF(...)                                                                                              \
    do {                                                                                                        \
        char msg_[512];                                                                                         \
        snprintf(msg_, sizeof msg_, __VA_ARGS__);                                                               \
        print_error("PROPERTY FAILURE: VSAFE_PROP_SEED=0x%llx run %d (%s) step %d: %s\n  -> %s\n",               \
                    (unsigned long long)cur->seed, cur->run, cur->file ? "file" : "volatile", cur->step,        \
                    cur->desc, msg_);                                                                           \
        fail();                                                                                                 \
    } while (0)

static const char *sname(int rc) { return rc == 0 ? "OK" : vsafe_status_name(rc); }

/* ---- precedence statistics for multi-refusal steps ---- */
typedef struct {
    uint32_t mask;
    uint32_t got[32];
} prec_t;
static prec_t prec[64];
static size_t nprec;
static unsigned long n_multi, n_single, n_ok, n_hosterr, n_macd, n_enc, single_got[32];

static void prec_note(uint32_t mask, int w)
{
    size_t i;
    for (i = 0; i < nprec && prec[i].mask != mask; i++) {
    }
    if (i == nprec) {
        if (nprec == sizeof prec / sizeof prec[0]) {
            return;
        }
        prec[nprec++].mask = mask;
    }
    prec[i].got[w]++;
}

/* ---- model helpers ---- */
static mz_t *zget(ctx_t *c, uint8_t z) { return z < NZ ? &c->m.z[z] : NULL; }
#define BIT(w) (1u << (w))

typedef struct {
    int host_err; /* expected host-side status, 0 = reaches the device */
    int macd;     /* the command reaches the device with a C-MAC */
    uint32_t errs; /* acceptable device refusals (bit = wire status); 0 = must succeed */
} exp_t;

static const char *prot_name(vsafe_host_prot_t p)
{
    return p == VSAFE_HOST_PROT_NONE ? "NONE" : p == VSAFE_HOST_PROT_MAC ? "MAC" : "TABLE";
}

static vsafe_host_prot_t gen_prot(void)
{
    uint32_t r = rn(10);
    return r < 4 ? VSAFE_HOST_PROT_NONE : r < 8 ? VSAFE_HOST_PROT_MAC : VSAFE_HOST_PROT_TABLE;
}

/* Host library protection (host.h): whether the command reaches the device C-MAC'd. cmd = -1: a
 * command absent from the table (Put attribute), FREE and unencrypted. The device's refusals
 * (the command-table check included) are the model's. */
static exp_t prot_resolve(ctx_t *c, int cmd, vsafe_host_prot_t prot)
{
    exp_t e = {0, 0, 0};
    uint8_t ac = cmd >= 0 ? c->m.cmd_ac[cmd] : VSAFE_SE_CMD_AC_FREE;
    uint8_t enc = cmd >= 0 ? c->m.cmd_enc[cmd] : 0;
    int mac = prot == VSAFE_HOST_PROT_MAC || (prot == VSAFE_HOST_PROT_TABLE && (ac != VSAFE_SE_CMD_AC_FREE || enc));
    if (mac && !c->session) {
        e.host_err = VSAFE_ERR_HOST_NO_SESSION;
        return e;
    }
    e.macd = mac;
    if (mac && enc) {
        n_enc++;
    }
    return e;
}

/* Checks rc against the expectation and, when the command reached the device, applies it to the
 * model (MAC counter step, and its effects when it succeeded). Returns 1 when it succeeded. */
static int settle(ctx_t *c, const exp_t *e, int rc, const model_op_t *op)
{
    if (e->host_err) {
        n_hosterr++;
        if (rc != e->host_err) {
            FAILF("expected host-side %s, got %s (%d)", sname(e->host_err), sname(rc), rc);
        }
        return 0;
    }
    if (e->macd) {
        n_macd++;
    }
    if (e->errs == 0) {
        n_ok++;
        if (rc != VSAFE_OK) {
            FAILF("expected OK, got %s (%d)", sname(rc), rc);
        }
        model_apply(&c->m, op, 1);
        return 1;
    }
    int w = vsafe_status_wire(rc);
    if (w < 0 || w > 31 || (e->errs & BIT(w)) == 0) {
        char exp[200] = "";
        for (int i = 0; i < 32; i++) {
            if (e->errs & BIT(i)) {
                size_t l = strlen(exp);
                snprintf(exp + l, sizeof exp - l, "%s%s", l ? " or " : "", vsafe_se_wire_status_name((uint8_t)i));
            }
        }
        FAILF("expected %s, got %s (%d)", exp, sname(rc), rc);
    }
    if ((e->errs & (e->errs - 1)) != 0) {
        n_multi++;
        prec_note(e->errs, w);
    } else {
        n_single++;
        single_got[w]++;
    }
    model_apply(&c->m, op, 0);
    return 0;
}

/* ---- generators ---- */
static uint8_t gen_zone(void)
{
    uint32_t r = rn(20);
    if (r == 0) {
        return (uint8_t)(NZ + rn(256 - NZ)); /* missing */
    }
    return (uint8_t)rn(NZ);
}

static uint16_t gen_off(uint16_t L)
{
    switch (rn(8)) {
    case 0:
        return 0;
    case 1:
        return (uint16_t)(L - rn(L < 16 ? L + 1u : 17u)); /* near the end */
    case 2:
        return (uint16_t)(L + rn(4)); /* at / just past the end */
    case 3:
        return (uint16_t)(0xFFFFu - rn(32)); /* far out */
    default:
        return (uint16_t)rn(L);
    }
}

static size_t gen_len(uint16_t off, uint16_t L, size_t max, int allow0)
{
    size_t len;
    size_t fit = off <= L ? (size_t)(L - off) : 0;
    switch (rn(6)) {
    case 0:
        len = allow0 ? 0 : 1;
        break;
    case 1:
        len = fit; /* exactly to the end */
        break;
    case 2:
        len = fit + 1; /* one past */
        break;
    case 3:
        len = 1 + rn((uint32_t)max);
        break;
    default:
        len = 1 + rn(32);
        break;
    }
    if (len > max) {
        len = max;
    }
    if (len == 0 && !allow0) {
        len = 1;
    }
    if ((size_t)off + len > 0x10000u) {
        len = 0x10000u - off;
    }
    return len;
}

static uint8_t gen_ac(void)
{
    uint32_t r = rn(16);
    if (r < 6) {
        return VSAFE_SE_AC_ALWAYS;
    }
    if (r < 11) {
        return VSAFE_SE_AC_HOST;
    }
    if (r < 14) {
        return VSAFE_SE_AC_NEVER;
    }
    return (uint8_t)(2 + rn(5)); /* 2..6: "Never" too */
}

static uint32_t gen_amount(ctx_t *c, uint8_t z)
{
    uint32_t ctr = z < NZ ? c->m.z[z].ctr : 1000;
    switch (rn(12)) {
    case 0:
        return 0;
    case 1:
        return ctr + 1 != 0 ? ctr + 1 : 0xFFFFFFFFu; /* one too many */
    case 2:
        return 0xFFFFFFFFu;
    case 3:
        return rn(40) == 0 ? ctr : (ctr > 1000 ? ctr / 2 + 1 : 1); /* occasionally drain to 0 */
    case 4:
        return ctr > 3 ? ctr - rn(3) : 1 + rn(3);
    default:
        return 1 + rn(100);
    }
}

/* ---- operations ---- */
static void op_read(ctx_t *c, uint8_t z, uint16_t off, size_t len, vsafe_host_prot_t prot)
{
    mz_t *mz = zget(c, z);
    int counter_zone = mz != NULL ? mz->type == VSAFE_SE_ZONE_COUNTER : (int)rn(2);
    snprintf(c->desc, sizeof c->desc, "read%s zone %u off %u len %zu prot %s", counter_zone ? "-counter" : "", z, off,
             len, prot_name(prot));
    exp_t e = prot_resolve(c, C_READ, prot);
    model_op_t op = {.kind = MODEL_OP_READ, .macd = e.macd, .zone = z, .off = off, .len = len};
    if (!e.host_err) {
        e.errs = model_refusals(&c->m, &op);
    }
    static uint8_t out[READ_MAX + 16];
    uint32_t ctr = 0xA5A5A5A5u;
    int rc = counter_zone ? vsafe_host_read_counter_zone(c->h, prot, z, off, out, len, &ctr)
                          : vsafe_host_read_zone(c->h, prot, z, off, out, len);
    if (settle(c, &e, rc, &op)) {
        if (len > 0 && memcmp(out, mz->data + off, len) != 0) {
            size_t i = 0;
            while (out[i] == mz->data[off + i]) {
                i++;
            }
            FAILF("data differs at byte %zu (zone offset %zu): model %02x, device %02x", i, off + i,
                  mz->data[off + i], out[i]);
        }
        if (counter_zone && ctr != mz->ctr) {
            FAILF("counter: model %u, device %u", mz->ctr, ctr);
        }
    }
}

static void op_update(ctx_t *c, uint8_t z, uint16_t off, size_t len, int atomic, vsafe_host_prot_t prot, int change,
                      uint8_t ac, int cr)
{
    if (change) {
        snprintf(c->desc, sizeof c->desc, "update+change-update-ac(ac %u cr %d) zone %u off %u len %zu %s prot %s", ac,
                 cr, z, off, len, atomic ? "atomic" : "non-atomic", prot_name(prot));
    } else {
        snprintf(c->desc, sizeof c->desc, "update zone %u off %u len %zu %s prot %s", z, off, len,
                 atomic ? "atomic" : "non-atomic", prot_name(prot));
    }
    static uint8_t data[UPDATE_MAX];
    rbytes(data, len);
    exp_t e = prot_resolve(c, C_UPD, prot);
    model_op_t op = {.kind = MODEL_OP_UPDATE, .macd = e.macd, .zone = z, .off = off, .len = len, .data = data,
                     .change = change, .ac = ac, .cr = cr};
    if (!e.host_err) {
        e.errs = model_refusals(&c->m, &op);
    }
    int rc = change ? vsafe_host_change_update_ac(c->h, prot, z, ac, cr, off, data, len, atomic)
                    : vsafe_host_update_zone(c->h, prot, z, off, data, len, atomic);
    (void)settle(c, &e, rc, &op);
}

/* After a successful Decrement (already applied to the model): the counter the device returned. */
static void check_dec(ctx_t *c, uint8_t z, uint32_t got_ctr)
{
    mz_t *mz = zget(c, z);
    if (got_ctr != mz->ctr) {
        FAILF("new counter: model %u, device %u", mz->ctr, got_ctr);
    }
}

static void op_dec(ctx_t *c, uint8_t z, uint32_t amount, uint16_t off, size_t len, vsafe_host_prot_t prot,
                   int change, uint8_t ac, int cr)
{
    if (change) {
        snprintf(c->desc, sizeof c->desc,
                 "decrement+change-update-ac(ac %u cr %d) zone %u amount %u off %u len %zu prot %s", ac, cr, z, amount,
                 off, len, prot_name(prot));
    } else {
        snprintf(c->desc, sizeof c->desc, "decrement zone %u amount %u off %u len %zu prot %s", z, amount, off, len,
                 prot_name(prot));
    }
    uint8_t data[DEC_DATA_MAX];
    rbytes(data, len);
    exp_t e = prot_resolve(c, C_DEC, prot);
    model_op_t op = {.kind = MODEL_OP_DECREMENT, .macd = e.macd, .zone = z, .off = off, .len = len, .data = data,
                     .amount = amount, .change = change, .ac = ac, .cr = cr};
    if (amount == 0) {
        e = (exp_t){VSAFE_ERR_ARGUMENT, 0, 0}; /* host.h: amount 0 refused host-side */
    } else if (!e.host_err) {
        e.errs = model_refusals(&c->m, &op);
    }
    uint32_t nc = 0xA5A5A5A5u;
    int rc = change ? vsafe_host_change_decrement_ac(c->h, prot, z, ac, cr, amount, off, data, len, &nc)
                    : vsafe_host_decrement(c->h, prot, z, amount, off, data, len, &nc);
    if (settle(c, &e, rc, &op)) {
        check_dec(c, z, nc);
    }
}

/* A Decrement frame built here (so amount 0 reaches the device): plain through vsafe_host_raw, or
 * protected through the independent test host, then the library's session is resynchronised. */
static void op_raw_dec(ctx_t *c, uint8_t z, uint32_t amount, uint16_t off, size_t len, int macd)
{
    snprintf(c->desc, sizeof c->desc, "raw decrement zone %u amount %u off %u len %zu %s", z, amount, off, len,
             macd ? "C-MAC (test host)" : "plain");
    uint8_t frame[16 + DEC_DATA_MAX];
    size_t n = 0;
    frame[n++] = VSAFE_SE_CMD_DECREMENT;
    frame[n++] = 0;
    frame[n++] = z;
    vsafe_put_be16(frame + n, off);
    n += 2;
    vsafe_put_be32(frame + n, amount);
    n += 4;
    rbytes(frame + n, len);
    n += len;
    exp_t e = {0, macd, 0};
    model_op_t op = {.kind = MODEL_OP_DECREMENT, .macd = macd, .zone = z, .off = off, .len = len, .data = frame + 9,
                     .amount = amount};
    e.errs = model_refusals(&c->m, &op);
    uint32_t nc = 0xA5A5A5A5u;
    int rc;
    if (!macd) {
        uint8_t rsp[32];
        size_t rl = 0;
        rc = vsafe_host_raw(c->h, frame, n, rsp, sizeof rsp, &rl);
        if (rc == VSAFE_OK) {
            if (rl != 4) {
                FAILF("raw decrement: response payload of %zu bytes", rl);
            }
            nc = vsafe_get_be32(rsp);
        }
    } else {
        c->th.counter = c->m.mac_ctr;
        int st = th_cmd(&c->th, (uint8_t)(VSAFE_SE_HDR_PROT | frame[0]), 0, frame + 1, n - 1,
                        c->m.cmd_enc[C_DEC]);
        if (st < 0) {
            FAILF("test host transport/CRC/R-MAC failure %d", st);
        }
        rc = st == 0 ? VSAFE_OK : VSAFE_DEV_STATUS(st);
        if (st == 0) {
            if (c->th.data_len != 4) {
                FAILF("protected decrement: response payload of %zu bytes", c->th.data_len);
            }
            nc = vsafe_get_be32(c->th.data);
        }
    }
    if (settle(c, &e, rc, &op)) {
        check_dec(c, z, nc);
    }
    if (macd && c->th.counter != c->m.mac_ctr) {
        FAILF("test host counter %u, model %u", c->th.counter, c->m.mac_ctr);
    }
    if (macd && c->session) {
        int rs2 = vsafe_host_session_open(c->h, c->mac_key, c->cipher_key, c->key_type);
        if (rs2 != VSAFE_OK) {
            FAILF("session reopen after raw command: %s", sname(rs2));
        }
    }
}

static void op_change_read_ac(ctx_t *c, uint8_t z, uint8_t ac, int cr, vsafe_host_prot_t prot)
{
    snprintf(c->desc, sizeof c->desc, "change-read-ac zone %u ac %u cr %d prot %s", z, ac, cr, prot_name(prot));
    exp_t e = prot_resolve(c, C_READ, prot);
    model_op_t op = {.kind = MODEL_OP_CHANGE_READ_AC, .macd = e.macd, .zone = z, .ac = ac, .cr = cr};
    if (!e.host_err) {
        e.errs = model_refusals(&c->m, &op);
    }
    int rc = vsafe_host_change_read_ac(c->h, prot, z, ac, cr);
    (void)settle(c, &e, rc, &op);
}

static void op_put(ctx_t *c, uint8_t tag, vsafe_host_prot_t prot, int force_host)
{
    vsafe_host_cmd_ac_t rec[3];
    size_t n = 0;
    char what[96] = "";
    for (int i = 0; i < 3; i++) {
        if (n == 0 && i == 2 ? 1 : rn(2)) {
            rec[n] = (vsafe_host_cmd_ac_t){.header = cmd_code[i], .ext = (uint8_t)i};
            if (tag == VSAFE_SE_TAG_CMD_AC) {
                rec[n].ac = force_host || rn(3) ? VSAFE_SE_CMD_AC_HOST : VSAFE_SE_CMD_AC_FREE;
            } else {
                rec[n].enc = (uint8_t)rn(4);
            }
            size_t l = strlen(what);
            snprintf(what + l, sizeof what - l, " %s=%u", cmd_name[i], tag == VSAFE_SE_TAG_CMD_AC ? rec[n].ac : rec[n].enc);
            n++;
        }
    }
    snprintf(c->desc, sizeof c->desc, "put %s%s prot %s", tag == VSAFE_SE_TAG_CMD_AC ? "command-AC" : "command-enc",
             what, prot_name(prot));
    exp_t e = prot_resolve(c, -1, prot);
    model_op_t op = {.kind = tag == VSAFE_SE_TAG_CMD_AC ? MODEL_OP_PUT_CMD_AC : MODEL_OP_PUT_CMD_ENC,
                     .macd = e.macd, .nrec = n};
    /* ext carried the command index only for us: the real records are standard commands */
    for (size_t i = 0; i < n; i++) {
        op.rec_cmd[i] = rec[i].ext;
        op.rec_val[i] = tag == VSAFE_SE_TAG_CMD_AC ? rec[i].ac : rec[i].enc;
        rec[i].ext = 0;
    }
    if (!e.host_err) {
        e.errs = model_refusals(&c->m, &op);
    }
    int rc = vsafe_host_put_command_table(c->h, prot, tag, rec, n);
    (void)settle(c, &e, rc, &op);
}

/* ---- key services (MODEL_OP_SERVICE) ---- */

static const uint8_t svc_cmac_key[16] = {0x2B, 0x7E, 0x15, 0x16, 0x28, 0xAE, 0xD2, 0xA6,
                                         0xAB, 0xF7, 0x15, 0x88, 0x09, 0xCF, 0x4F, 0x3C};
static const uint8_t svc_gcm_key[32] = {0xFE, 0xFF, 0xE9, 0x92, 0x86, 0x65, 0x73, 0x1C, 0x6D, 0x6A, 0x8F,
                                        0x94, 0x67, 0x30, 0x83, 0x08, 0xFE, 0xFF, 0xE9, 0x92, 0x86, 0x65,
                                        0x73, 0x1C, 0x6D, 0x6A, 0x8F, 0x94, 0x67, 0x30, 0x83, 0x08};

/* Slot 0: AES-128 CMAC (MAC generate), slot 1: AES-256 GCM by chunks, tag 16; written plain, so
 * the model (which does not track symmetric keys) sees nothing. */
static void svc_setup(ctx_t *c)
{
    static const uint8_t ctrl[3] = {0x10, 0xFF, 0xFF};
    vsafe_host_symkey_info_t cm = {.slot = 0, .key_type = VSAFE_HOST_SYM_AES128, .mode = VSAFE_HOST_SYM_CMAC,
                                   .usage = VSAFE_HOST_SYM_USE_MAC_GENERATE, .min_mac_len = 4};
    vsafe_host_symkey_info_t gc = {.slot = 1, .key_type = VSAFE_HOST_SYM_AES256, .mode = VSAFE_HOST_SYM_GCM,
                                   .usage = VSAFE_HOST_SYM_USE_ENCRYPT_CHUNKS, .tag_len = 16};
    int rc;
    if ((rc = vsafe_host_put_symkey_ctrl(c->h, 0, ctrl)) != VSAFE_OK ||
        (rc = vsafe_host_put_symkey_ctrl(c->h, 1, ctrl)) != VSAFE_OK ||
        (rc = vsafe_host_symkey_write_plain(c->h, VSAFE_HOST_PROT_NONE, &cm, svc_cmac_key, 16)) != VSAFE_OK ||
        (rc = vsafe_host_symkey_write_plain(c->h, VSAFE_HOST_PROT_NONE, &gc, svc_gcm_key, 32)) != VSAFE_OK) {
        FAILF("key-service setup: %s", sname(rc));
    }
}

/* One frame of a key service, sent as e says: settles it; 1 when it succeeded. */
static int svc_frame(ctx_t *c, int rc_of_call, const exp_t *e)
{
    model_op_t op = {.kind = MODEL_OP_SERVICE, .macd = e->macd};
    return settle(c, e, rc_of_call, &op);
}

static void op_service(ctx_t *c)
{
    uint8_t msg[300], out[300], want[64], tag[16];
    size_t len = 1 + rn(sizeof msg - 1);
    rbytes(msg, len);
    vsafe_host_prot_t p1 = gen_prot(), p2 = gen_prot();
    exp_t e1 = prot_resolve(c, -1, p1), e2 = prot_resolve(c, -1, p2);
    uint32_t kind = rn(3);
    if (kind == 0) {
        size_t dl = 0, a = len / 2;
        unsigned wl = 0;
        snprintf(c->desc, sizeof c->desc, "hash SHA-256 %zu bytes (%zu at Start, prot %s / %s)", len, a + 1,
                 prot_name(p1), prot_name(p2));
        if (!svc_frame(c, vsafe_host_hash_start(c->h, p1, VSAFE_HASH_SHA256, msg, a + 1), &e1)) {
            return;
        }
        int rc = vsafe_host_hash_finish(c->h, p2, VSAFE_HASH_SHA256, msg + a + 1, len - a - 1, out, sizeof out, &dl);
        if (!svc_frame(c, rc, &e2)) {
            /* the context stays open; the next hash Start replaces it */
            return;
        }
        if (EVP_Digest(msg, len, want, &wl, EVP_sha256(), NULL) != 1 || dl != 32 || memcmp(out, want, 32) != 0) {
            FAILF("hash differs from OpenSSL's");
        }
    } else if (kind == 1) {
        size_t ml = 4 + rn(13);
        size_t n = len > 255 ? 255 : len;
        snprintf(c->desc, sizeof c->desc, "CMAC of %zu bytes, %zu-byte MAC, prot %s", n, ml, prot_name(p1));
        if (!svc_frame(c, vsafe_host_mac_generate(c->h, p1, 0, msg, n, out, ml), &e1)) {
            return;
        }
        EVP_MAC *m = EVP_MAC_fetch(NULL, "CMAC", NULL);
        EVP_MAC_CTX *mc = EVP_MAC_CTX_new(m);
        OSSL_PARAM prm[] = {OSSL_PARAM_construct_utf8_string("cipher", "AES-128-CBC", 0), OSSL_PARAM_construct_end()};
        size_t ol = 0;
        int ok = EVP_MAC_init(mc, svc_cmac_key, 16, prm) == 1 && EVP_MAC_update(mc, msg, n) == 1 &&
                 EVP_MAC_final(mc, want, &ol, 16) == 1;
        EVP_MAC_CTX_free(mc);
        EVP_MAC_free(m);
        if (!ok || memcmp(out, want, ml) != 0) {
            FAILF("CMAC differs from OpenSSL's");
        }
    } else {
        uint8_t iv[12], ct[300];
        size_t a = rn((uint32_t)len + 1);
        rbytes(iv, sizeof iv);
        snprintf(c->desc, sizeof c->desc, "GCM by chunks, %zu bytes (%zu at Start, prot %s / %s)", len, a,
                 prot_name(p1), prot_name(p2));
        vsafe_host_aead_t g = {.mode = VSAFE_AEAD_GCM, .slot = 1, .nonce = iv, .nonce_len = 12, .aad = NULL,
                               .aad_len = 0, .tag_len = 16};
        if (!svc_frame(c, vsafe_host_aead_start(c->h, p1, 1, &g, 0, 0, msg, a, out, NULL), &e1)) {
            return;
        }
        int rc = vsafe_host_aead_finish_encrypt(c->h, p2, NULL, 0, msg + a, len - a, out + a, tag, 16);
        if (!svc_frame(c, rc, &e2)) {
            return;
        }
        EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
        int l = 0, ok = EVP_EncryptInit_ex(x, EVP_aes_256_gcm(), NULL, svc_gcm_key, iv) == 1 &&
                        EVP_EncryptUpdate(x, ct, &l, msg, (int)len) == 1 && EVP_EncryptFinal_ex(x, ct + l, &l) == 1 &&
                        EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_GET_TAG, 16, want) == 1;
        EVP_CIPHER_CTX_free(x);
        if (!ok || memcmp(out, ct, len) != 0 || memcmp(tag, want, 16) != 0) {
            FAILF("GCM by chunks differs from OpenSSL's");
        }
    }
}

static void op_session(ctx_t *c, int open)
{
    snprintf(c->desc, sizeof c->desc, "host session %s", open ? "open" : "close");
    if (!open) {
        vsafe_host_session_close(c->h);
        c->session = 0;
        return;
    }
    int rc = vsafe_host_session_open(c->h, c->mac_key, c->cipher_key, c->key_type);
    if (rc != VSAFE_OK) {
        FAILF("session open: %s", sname(rc));
    }
    c->session = 1;
}

static void dev_open(ctx_t *c)
{
    vsafe_se_options_t o = {.profile = NULL, .state_path = c->path};
    int rc = vsafe_se_open(&c->se, c->file ? &o : NULL);
    if (rc != VSAFE_OK) {
        FAILF("vsafe_se_open: %s", sname(rc));
    }
    if ((rc = vsafe_host_open_se(&c->h, c->se)) != VSAFE_OK || (rc = vsafe_host_init(c->h)) != VSAFE_OK) {
        FAILF("host open/init: %s", sname(rc));
    }
    c->th.xctx = c->se;
}

static void dev_close(ctx_t *c)
{
    vsafe_host_close(c->h);
    vsafe_se_close(c->se);
    c->h = NULL;
    c->se = NULL;
}

static void op_reopen(ctx_t *c)
{
    snprintf(c->desc, sizeof c->desc, "close and reopen device + host%s", c->session ? " + session" : "");
    dev_close(c);
    dev_open(c);
    if (c->session) {
        int rc = vsafe_host_session_open(c->h, c->mac_key, c->cipher_key, c->key_type);
        if (rc != VSAFE_OK) {
            FAILF("session open after reopen: %s", sname(rc));
        }
    }
}

/* ---- comparisons ---- */
static void check_state(ctx_t *c)
{
    vsafe_host_zone_t zs[NZ + 4];
    size_t count = 0;
    int rc = vsafe_host_zones(c->h, zs, NZ + 4, &count);
    if (rc != VSAFE_OK || count != NZ) {
        FAILF("partition query: %s, %zu zones", sname(rc), count);
    }
    for (size_t i = 0; i < NZ; i++) {
        const mz_t *mz = &c->m.z[i];
        const vsafe_host_zone_t *d = &zs[i];
        if (d->index != i || d->type != mz->type || d->length != mz->len || d->read_ac != mz->rac ||
            d->update_ac != mz->uac || d->read_ac_cr != mz->rcr || d->update_ac_cr != mz->ucr ||
            (mz->type == VSAFE_SE_ZONE_COUNTER && d->counter != mz->ctr)) {
            FAILF("zone %zu: model type %u len %u rac %u/cr%u uac %u/cr%u ctr %u; device idx %u type %u len %u rac "
                  "%u/cr%u uac %u/cr%u ctr %u",
                  i, mz->type, mz->len, mz->rac, mz->rcr, mz->uac, mz->ucr, mz->ctr, d->index, d->type, d->length,
                  d->read_ac, d->read_ac_cr, d->update_ac, d->update_ac_cr, d->counter);
        }
    }
    vsafe_host_key_slot_t ks;
    if ((rc = vsafe_host_query_key_slot(c->h, &ks)) != VSAFE_OK) {
        FAILF("key slot query: %s", sname(rc));
    }
    if (!ks.present || ks.key_type != c->key_type || ks.counter != c->m.mac_ctr) {
        FAILF("key slot: model present 1 type %u counter %u; device present %d type %u counter %u", c->key_type,
              c->m.mac_ctr, ks.present, ks.key_type, ks.counter);
    }
    if (c->session) {
        uint32_t hc = 0;
        if (vsafe_host_session_counter(c->h, &hc) != VSAFE_OK || hc != c->m.mac_ctr) {
            FAILF("host library session counter %u, model %u", hc, c->m.mac_ctr);
        }
    }
}

static void check_table(ctx_t *c, int expect_factory)
{
    vsafe_host_cmd_table_t t;
    if (vsafe_host_command_table(c->h, &t) != VSAFE_OK) {
        FAILF("command table");
    }
    if (t.change_rights != c->m.table_cr || t.count != 41) {
        FAILF("command table: change rights %02x (model %02x), %zu records (factory 41)", t.change_rights,
              c->m.table_cr, t.count);
    }
    for (size_t i = 0; i < t.count; i++) {
        uint8_t ac = VSAFE_SE_CMD_AC_FREE, enc = 0;
        for (int k = 0; k < 3; k++) {
            if (t.rec[i].header == cmd_code[k] && !expect_factory) {
                ac = c->m.cmd_ac[k];
                enc = c->m.cmd_enc[k];
            }
        }
        if (t.rec[i].ac != ac || t.rec[i].enc != enc) {
            FAILF("command table record %02x/%02x: ac %u enc %u, model ac %u enc %u", t.rec[i].header, t.rec[i].ext,
                  t.rec[i].ac, t.rec[i].enc, ac, enc);
        }
    }
}

/* Reads back every zone the model says is readable with what is available, in single commands. */
static void check_contents(ctx_t *c)
{
    int plain_ok = c->m.cmd_ac[C_READ] == VSAFE_SE_CMD_AC_FREE && c->m.cmd_enc[C_READ] == 0;
    for (uint8_t z = 0; z < NZ; z++) {
        mz_t *mz = &c->m.z[z];
        vsafe_host_prot_t prot;
        if (mz->rac == VSAFE_SE_AC_ALWAYS && plain_ok && (!c->session || rn(2))) {
            prot = VSAFE_HOST_PROT_NONE;
        } else if (mz->rac <= VSAFE_SE_AC_HOST && c->session) {
            prot = VSAFE_HOST_PROT_MAC;
        } else {
            continue;
        }
        for (uint16_t off = 0; off < mz->len; off += 512) {
            size_t len = mz->len - off < 512 ? mz->len - off : 512;
            op_read(c, z, off, len, prot);
        }
    }
}

/* ---- one run ---- */
static void random_step(ctx_t *c)
{
    uint32_t r = rn(100);
    vsafe_host_prot_t prot = gen_prot();
    uint8_t z = gen_zone();
    mz_t *mz = zget(c, z);
    uint16_t L = mz ? mz->len : 1000;
    if (r < 18) { /* read a data zone (or a missing one) */
        if (mz && mz->type == VSAFE_SE_ZONE_COUNTER) {
            z = (uint8_t)(rn(2) ? rn(5) : 9 + rn(3));
            L = c->m.z[z].len;
        }
        uint16_t off = gen_off(L);
        op_read(c, z, off, gen_len(off, L, READ_MAX, 1), prot);
    } else if (r < 28) { /* read a counter zone */
        if (mz && mz->type == VSAFE_SE_ZONE_DATA) {
            z = (uint8_t)(5 + rn(4));
            L = c->m.z[z].len;
        }
        uint16_t off = gen_off(L);
        op_read(c, z, off, gen_len(off, L, DEC_DATA_MAX, 1), prot);
    } else if (r < 46) { /* update, any zone */
        uint16_t off = gen_off(L);
        op_update(c, z, off, gen_len(off, L, UPDATE_MAX, 0), (int)rn(2), prot, 0, 0, 0);
    } else if (r < 62) { /* decrement, mostly counter zones */
        if (mz && mz->type == VSAFE_SE_ZONE_DATA && rn(4)) {
            z = (uint8_t)(5 + rn(4));
            L = c->m.z[z].len;
        }
        uint16_t off = gen_off(L);
        size_t len = gen_len(off, L, DEC_DATA_MAX, 1);
        op_dec(c, z, gen_amount(c, z), off, len, prot, 0, 0, 0);
    } else if (r < 70) {
        op_change_read_ac(c, z, gen_ac(), (int)rn(2), prot);
    } else if (r < 78) { /* update-AC change, through Update or Decrement */
        uint8_t ac = gen_ac();
        int cr = (int)rn(2);
        int use_dec = mz ? (mz->type == VSAFE_SE_ZONE_COUNTER) ^ (rn(8) == 0) : (int)rn(2);
        uint16_t off = rn(3) ? (uint16_t)rn(L) : gen_off(L);
        if (use_dec) {
            uint32_t amount = rn(6) ? 1 + rn(3) : gen_amount(c, z);
            op_dec(c, z, amount, off, gen_len(off, L, DEC_DATA_MAX, 1), prot, 1, ac, cr);
        } else {
            op_update(c, z, off, gen_len(off, L, UPDATE_MAX, 1), (int)rn(2), prot, 1, ac, cr);
        }
    } else if (r < 88) { /* raw Decrement frame: amount 0 reaches the device */
        if (mz && mz->type == VSAFE_SE_ZONE_DATA && rn(3)) {
            z = (uint8_t)(5 + rn(4));
            L = c->m.z[z].len;
        }
        uint16_t off = gen_off(L);
        uint32_t amount = rn(2) ? 0 : gen_amount(c, z);
        op_raw_dec(c, z, amount, off, gen_len(off, L, DEC_DATA_MAX, 1), (int)rn(2));
    } else if (r < 91) {
        op_put(c, rn(2) ? VSAFE_SE_TAG_CMD_AC : VSAFE_SE_TAG_CMD_ENC, prot, 0);
    } else if (r < 95) {
        if (rn(3) == 0) {
            op_service(c);
        } else {
            op_session(c, !c->session || rn(3) == 0);
        }
    } else if (c->file) {
        op_reopen(c);
    } else {
        uint16_t off = gen_off(L);
        op_read(c, z, off, gen_len(off, L, READ_MAX, 1), prot);
    }
}

static void rm_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (d != NULL) {
        struct dirent *e;
        char p[600];
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
                snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
                unlink(p);
            }
        }
        closedir(d);
    }
    rmdir(dir);
}

static void one_run(ctx_t *c, int steps)
{
    model_t *m = &c->m;
    c->session = 0;
    c->step = -1;
    snprintf(c->desc, sizeof c->desc, "setup");
    if (c->file) {
        snprintf(c->dir, sizeof c->dir, "/tmp/vsafe_prop_XXXXXX");
        if (mkdtemp(c->dir) == NULL) {
            FAILF("mkdtemp");
        }
        snprintf(c->path, sizeof c->path, "%s/state.img", c->dir);
    }
    dev_open(c);
    /* Factory state of the model, checked against the device. */
    model_init_spl05(m);
    if (m->zone_count != NZ) {
        FAILF("model has %zu zones, test expects %d", m->zone_count, NZ);
    }
    check_table(c, 1);
    svc_setup(c);
    vsafe_host_key_slot_t ks;
    int rc = vsafe_host_query_key_slot(c->h, &ks);
    if (rc != VSAFE_OK || ks.present) {
        FAILF("fresh device: key slot query %s present %d", sname(rc), ks.present);
    }
    /* zone 0 holds the device certificate (SPL05 partitioning) if the profile provides one: its content is the
     * one thing taken from the device (it is read-only: Update AC Never, no change right) */
    if ((rc = vsafe_host_read_zone(c->h, VSAFE_HOST_PROT_NONE, 0, 0, m->z[0].data, 1000)) != VSAFE_OK) {
        FAILF("zone 0 read: %s", sname(rc));
    }
    /* host key */
    c->key_type = rn(2) ? VSAFE_HOST_KEY_AES256 : VSAFE_HOST_KEY_AES128;
    size_t kl = c->key_type == VSAFE_HOST_KEY_AES256 ? 32 : 16;
    rbytes(c->mac_key, sizeof c->mac_key);
    rbytes(c->cipher_key, sizeof c->cipher_key);
    if ((rc = vsafe_host_provision_plaintext(c->h, c->key_type, c->mac_key, c->cipher_key)) != VSAFE_OK) {
        FAILF("provision plaintext: %s", sname(rc));
    }
    model_op_t kop = {.kind = MODEL_OP_WRITE_HOST_KEY, .key_type = (uint8_t)c->key_type};
    model_apply(m, &kop, 1); /* counter 0 after provisioning */
    char mh[65], ch[65];
    for (size_t i = 0; i < kl; i++) {
        snprintf(mh + 2 * i, 3, "%02X", c->mac_key[i]);
        snprintf(ch + 2 * i, 3, "%02X", c->cipher_key[i]);
    }
    th_session(&c->th, mh, ch, 0); /* the project's rule: the session counter is 0 after provisioning */
    op_session(c, 1);
    check_state(c);
    check_contents(c);
    /* Some zones Host-protected, through the same modelled steps */
    for (uint8_t z = 1; z < NZ; z++) {
        c->step = -100 - z;
        if (rn(10) < 3) {
            op_change_read_ac(c, z, VSAFE_SE_AC_HOST, rn(3) != 0, VSAFE_HOST_PROT_MAC);
        }
        if (rn(10) < 3) {
            uint8_t b = (uint8_t)rnd();
            if (m->z[z].type == VSAFE_SE_ZONE_COUNTER) {
                op_dec(c, z, 1, 0, 0, VSAFE_HOST_PROT_MAC, 1, VSAFE_SE_AC_HOST, rn(3) != 0);
            } else {
                op_update(c, z, 0, 1, (int)rn(2), VSAFE_HOST_PROT_MAC, 1, VSAFE_SE_AC_HOST, rn(3) != 0);
            }
            (void)b;
        }
    }
    /* Some commands HOST / encrypted through the command table (one-time Puts) */
    c->step = -2;
    if (rn(2)) {
        op_put(c, VSAFE_SE_TAG_CMD_AC, rn(2) ? VSAFE_HOST_PROT_MAC : VSAFE_HOST_PROT_NONE, 1);
    }
    if (rn(5) < 2) {
        op_put(c, VSAFE_SE_TAG_CMD_ENC, rn(2) ? VSAFE_HOST_PROT_MAC : VSAFE_HOST_PROT_NONE, 0);
    }
    op_session(c, 0);
    op_session(c, 1);
    check_table(c, 0);
    check_state(c);

    for (c->step = 0; c->step < steps; c->step++) {
        random_step(c);
        check_state(c);
        if (c->step % CHECK_EVERY == CHECK_EVERY - 1) {
            char saved[256];
            memcpy(saved, c->desc, sizeof saved);
            snprintf(c->desc, sizeof c->desc, "periodic check after: %.200s", saved);
            check_table(c, 0);
            check_contents(c);
            check_state(c);
        }
    }
    snprintf(c->desc, sizeof c->desc, "final check");
    check_contents(c);
    check_state(c);
    if (c->file) {
        op_reopen(c);
        check_table(c, 0);
        check_contents(c);
        check_state(c);
    }
    dev_close(c);
    if (c->file) {
        rm_tree(c->dir);
    }
}

static uint64_t env_u64(const char *name, uint64_t dflt)
{
    const char *v = getenv(name);
    return v != NULL && *v ? strtoull(v, NULL, 0) : dflt;
}

static void test_property(void **state)
{
    (void)state;
    static ctx_t c;
    memset(&c, 0, sizeof c);
    cur = &c;
    c.seed = env_u64("VSAFE_PROP_SEED", DEFAULT_SEED);
    int runs = (int)env_u64("VSAFE_PROP_RUNS", DEFAULT_RUNS);
    int steps = (int)env_u64("VSAFE_PROP_STEPS", DEFAULT_STEPS);
    printf("channel property test: VSAFE_PROP_SEED=0x%llx, %d runs x %d steps\n", (unsigned long long)c.seed, runs,
           steps);
    th_init(&c.th, th_se_xfer, NULL);
    for (c.run = 0; c.run < runs; c.run++) {
        rs = c.seed ^ (0x9E3779B97F4A7C15ULL * (uint64_t)(c.run + 1));
        if (rs == 0) {
            rs = 1;
        }
        c.file = c.run % 4 == 3;
        one_run(&c, steps);
    }
    th_free(&c.th);
    printf("steps ending OK %lu, single refusal %lu, several refusals %lu, host-side %lu\n", n_ok, n_single, n_multi,
           n_hosterr);
    printf("C-MAC'd commands %lu (of which encrypted per the table %lu); single refusals:", n_macd, n_enc);
    for (int w = 0; w < 32; w++) {
        if (single_got[w]) {
            printf(" %s x%lu", vsafe_se_wire_status_name((uint8_t)w), single_got[w]);
        }
    }
    printf("\n");
    printf("observed precedence when several refusals applied:\n");
    for (size_t i = 0; i < nprec; i++) {
        printf(" ");
        for (int w = 0; w < 32; w++) {
            if (prec[i].mask & BIT(w)) {
                printf(" %s", vsafe_se_wire_status_name((uint8_t)w));
            }
        }
        printf("  ->");
        for (int w = 0; w < 32; w++) {
            if (prec[i].got[w]) {
                printf(" %s x%u", vsafe_se_wire_status_name((uint8_t)w), prec[i].got[w]);
            }
        }
        printf("\n");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_property)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}

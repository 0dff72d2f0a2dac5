/* vsafe's STSELib platform layer (vsafe_stse.h): STSELib's platform functions over a vsafe device.
 *
 * How STSELib drives the bus, and what this layer does with it:
 *  - a command frame is handed over in pieces: send_start(total length), send_continue for each
 *    piece but the last, send_stop(last piece). The pieces are gathered here and the whole frame
 *    goes to the device in ONE I2C write at send_stop, as the device requires (one write = one
 *    command frame). A write the device does not acknowledge is STSE_PLATFORM_BUS_ACK_ERROR,
 *    which STSELib retries after a delay.
 *  - a response is read with receive_start(n): here the I2C read of n bytes happens (the device
 *    restarts every read at byte 0 of its response), then receive_continue / receive_stop copy
 *    consecutive pieces out of what was read. A NACKed read is STSE_PLATFORM_BUS_ACK_ERROR.
 *  - the frame CRC (CRC-16/X-25) is computed in pieces: Crc16_Calculate starts it over the first
 *    piece, each Crc16_Accumulate continues it; both return the CRC of everything so far.
 * Invariants: the gathered frame never exceeds its buffer nor the length announced at
 * send_start (else STSE_PLATFORM_BUFFER_ERR and nothing is written); a piece is never copied
 * beyond the bytes actually read; the layer's state is one bus (STSELib's bus ID is ignored:
 * every call goes to the one device, at the address STSELib gives).
 * Over a served device (VSAFE_CONNECT, docs/SOCKET.md): each frame is one TRANSCEIVE request, a
 * write and the whole response in one step that no other client of the device can interleave;
 * the response is kept here and STSELib's reads are answered from it as the bus answers them
 * (from byte 0 each time, 0xFF past its end). A command that got no response (power lost) leaves
 * reads NACKed until the next write, as on the bus (TRANSCEIVE STATUS 2 or 3).
 * Randomness comes from OpenSSL (RAND_bytes). Not thread-safe, as STSELib itself. */
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* STSELib's platform header; vsafe's own tests compile the layer against a stand-in of its
 * declarations instead (-DVSAFE_STSE_PLATFORM_HEADER, tests/stselib). */
#ifndef VSAFE_STSE_PLATFORM_HEADER
#define VSAFE_STSE_PLATFORM_HEADER "core/stse_platform.h"
#endif
#include VSAFE_STSE_PLATFORM_HEADER
#include "vsafe/host.h"
#include "vsafe/se_wire.h"
#include "vsafe_stse.h"

#define VSAFE_STSE_BUF 1024u /* a command frame is at most 752 + 2 CRC bytes; a response 752 + 5 */

/* Requests of the socket protocol (docs/SOCKET.md) the layer sends, and a TRANSCEIVE status. */
#define STSE_SOCK_TRANSCEIVE 0x12u
#define STSE_SOCK_POWER 0x20u
#define STSE_SOCK_NO_RESPONSE 2 /* write ACKed, no response (busy too long) */
#define STSE_SOCK_POWER_LOST 3  /* write ACKed, power lost during the command */

static struct {
    vsafe_host_conn_t *conn;     /* VSAFE_CONNECT: the served device (when no in-process one is in use) */
    uint8_t rsp[VSAFE_STSE_BUF]; /* the served device's last response */
    size_t rsp_len;              /* 0: none to read (reads are NACKed) */
    uint8_t rsp_addr;
    vsafe_se_t *se;        /* the device in use */
    vsafe_se_t *own;       /* the one the layer opened (closed by vsafe_stse_shutdown) */
    vsafe_pcap_t *pcap;    /* VSAFE_STSE_PCAP */
    int open_failed;       /* reported once */
    uint8_t tx[VSAFE_STSE_BUF];
    size_t tx_len, tx_expected;
    uint8_t rx[VSAFE_STSE_BUF];
    size_t rx_len, rx_pos;
    uint16_t crc; /* vsafe_crc16 final value of everything accumulated */
} g;

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

void vsafe_stse_use_device(vsafe_se_t *se)
{
    g.se = se != NULL ? se : g.own;
}

static void open_capture(void)
{
    const char *cap = env("VSAFE_STSE_PCAP");
    if (cap != NULL && g.pcap == NULL && vsafe_pcap_open(&g.pcap, cap) != VSAFE_OK) {
        fprintf(stderr, "vsafe stselib layer: cannot write the capture %s\n", cap);
        g.pcap = NULL;
    }
}

vsafe_se_t *vsafe_stse_device(void)
{
    if (g.se != NULL || g.open_failed || env("VSAFE_CONNECT") != NULL) {
        return g.se;
    }
    vsafe_se_options_t o = {.profile = env("VSAFE_STSE_PROFILE"), .state_path = env("VSAFE_STSE_STATE")};
    int rc = vsafe_se_open(&g.own, &o);
    if (rc != 0) {
        fprintf(stderr, "vsafe stselib layer: cannot open the device%s%s: %s (%s)\n", o.state_path ? " " : "",
                o.state_path ? o.state_path : "", vsafe_status_name(rc), vsafe_status_message(rc));
        g.own = NULL;
        g.open_failed = 1;
        return NULL;
    }
    open_capture();
    g.se = g.own;
    return g.se;
}

/* The device is reachable: the in-process one in use, else the served one (connected on first
 * use), else one opened from the environment. */
static int bus_ready(void)
{
    if (g.se != NULL || g.conn != NULL) {
        return 1;
    }
    const char *addr = env("VSAFE_CONNECT");
    if (addr == NULL) {
        return vsafe_stse_device() != NULL;
    }
    if (g.open_failed) {
        return 0;
    }
    char why[256] = "";
    int rc = vsafe_host_conn_open(&g.conn, addr, env("VSAFE_STSE_DEVICE"), why, sizeof why);
    if (rc != 0) {
        fprintf(stderr, "vsafe stselib layer: cannot reach %s: %s%s%s\n", addr, vsafe_status_name(rc), why[0] ? ": " : "",
                why);
        g.conn = NULL;
        g.open_failed = 1;
        return 0;
    }
    open_capture();
    return 1;
}

/* One bus write: 0 ACK, VSAFE_I2C_NACK, or < 0. */
static int bus_write(uint8_t addr, const uint8_t *buf, size_t len)
{
    if (!bus_ready()) {
        return VSAFE_ERR_STATE;
    }
    if (g.se != NULL) {
        return vsafe_se_i2c_write(g.se, addr, buf, len);
    }
    uint8_t args[1 + VSAFE_STSE_BUF];
    args[0] = addr;
    memcpy(args + 1, buf, len);
    int32_t st = 0;
    size_t got = 0;
    g.rsp_len = 0;
    int rc = vsafe_host_conn_request(g.conn, STSE_SOCK_TRANSCEIVE, args, 1 + len, &st, g.rsp, sizeof g.rsp, &got);
    if (rc != VSAFE_OK) {
        return rc;
    }
    if (st == 0 && got <= sizeof g.rsp) {
        g.rsp_len = got;
        g.rsp_addr = addr;
        return 0;
    }
    if (st == STSE_SOCK_NO_RESPONSE || st == STSE_SOCK_POWER_LOST) {
        return 0; /* the write was acknowledged; the reads that follow are NACKed */
    }
    return st == VSAFE_I2C_NACK ? VSAFE_I2C_NACK : st < 0 ? (int)st : VSAFE_ERR_HOST_FRAME;
}

/* One bus read of len bytes: 0 ACK, VSAFE_I2C_NACK, or < 0. */
static int bus_read(uint8_t addr, uint8_t *buf, size_t len)
{
    if (!bus_ready()) {
        return VSAFE_ERR_STATE;
    }
    if (g.se != NULL) {
        return vsafe_se_i2c_read(g.se, addr, buf, len);
    }
    if (g.rsp_len == 0 || addr != g.rsp_addr) {
        return VSAFE_I2C_NACK;
    }
    size_t n = len < g.rsp_len ? len : g.rsp_len;
    memcpy(buf, g.rsp, n);
    memset(buf + n, 0xFF, len - n);
    return 0;
}

void vsafe_stse_shutdown(void)
{
    if (g.se == g.own) {
        g.se = NULL;
    }
    vsafe_se_close(g.own);
    g.own = NULL;
    vsafe_host_conn_close(g.conn);
    g.conn = NULL;
    g.rsp_len = 0;
    g.open_failed = 0;
    if (g.pcap != NULL && vsafe_pcap_close(g.pcap) != VSAFE_OK) {
        fprintf(stderr, "vsafe stselib layer: the capture is incomplete\n");
    }
    g.pcap = NULL;
}

static void capture(uint8_t addr, int is_read, const uint8_t *buf, size_t len, int rc)
{
    if (g.pcap != NULL && (rc == 0 || rc == VSAFE_I2C_NACK) &&
        vsafe_pcap_record(g.pcap, 0, addr, is_read, buf, len, rc == 0) != VSAFE_OK) {
        fprintf(stderr, "vsafe stselib layer: capture write failed\n");
    }
}

/* ---- I2C ---- */

stse_ReturnCode_t stse_platform_i2c_init(PLAT_UI8 busID)
{
    (void)busID;
    return bus_ready() ? STSE_OK : STSE_PLATFORM_BUS_ERR;
}

/* The virtual device never sleeps: there is nothing to wake. */
stse_ReturnCode_t stse_platform_i2c_wake(PLAT_UI8 busID, PLAT_UI8 devAddr, PLAT_UI16 speed)
{
    (void)busID;
    (void)devAddr;
    (void)speed;
    return STSE_OK;
}

stse_ReturnCode_t stse_platform_i2c_send_start(PLAT_UI8 busID, PLAT_UI8 devAddr, PLAT_UI16 speed,
                                               PLAT_UI16 FrameLength)
{
    (void)busID;
    (void)devAddr;
    (void)speed;
    g.tx_len = 0;
    g.tx_expected = 0;
    if (FrameLength > VSAFE_STSE_BUF) {
        return STSE_PLATFORM_BUFFER_ERR;
    }
    g.tx_expected = FrameLength;
    return STSE_OK;
}

/* A NULL piece stands for that many zero bytes (STSELib's filler elements have no buffer). */
static stse_ReturnCode_t gather(const PLAT_UI8 *piece, PLAT_UI16 size)
{
    if (size > g.tx_expected - g.tx_len) {
        return STSE_PLATFORM_BUFFER_ERR;
    }
    if (piece != NULL) {
        memcpy(g.tx + g.tx_len, piece, size);
    } else {
        memset(g.tx + g.tx_len, 0, size);
    }
    g.tx_len += size;
    return STSE_OK;
}

stse_ReturnCode_t stse_platform_i2c_send_continue(PLAT_UI8 busID, PLAT_UI8 devAddr, PLAT_UI16 speed,
                                                  PLAT_UI8 *pElement, PLAT_UI16 element_size)
{
    (void)busID;
    (void)devAddr;
    (void)speed;
    return gather(pElement, element_size);
}

stse_ReturnCode_t stse_platform_i2c_send_stop(PLAT_UI8 busID, PLAT_UI8 devAddr, PLAT_UI16 speed,
                                              PLAT_UI8 *pElement, PLAT_UI16 element_size)
{
    (void)busID;
    (void)speed;
    stse_ReturnCode_t ret = gather(pElement, element_size);
    if (ret != STSE_OK) {
        return ret;
    }
    if (g.tx_len != g.tx_expected) {
        return STSE_PLATFORM_BUFFER_ERR; /* fewer bytes than announced: never send a short frame */
    }
    int rc = bus_write(devAddr, g.tx, g.tx_len);
    capture(devAddr, 0, g.tx, g.tx_len, rc);
    return rc == 0 ? STSE_OK : rc == VSAFE_I2C_NACK ? STSE_PLATFORM_BUS_ACK_ERROR : STSE_PLATFORM_BUS_ERR;
}

stse_ReturnCode_t stse_platform_i2c_receive_start(PLAT_UI8 busID, PLAT_UI8 devAddr, PLAT_UI16 speed,
                                                  PLAT_UI16 frame_Length)
{
    (void)busID;
    (void)speed;
    g.rx_len = 0;
    g.rx_pos = 0;
    if (frame_Length == 0 || frame_Length > VSAFE_STSE_BUF) {
        return STSE_PLATFORM_BUFFER_ERR;
    }
    int rc = bus_read(devAddr, g.rx, frame_Length);
    capture(devAddr, 1, g.rx, frame_Length, rc);
    if (rc != 0) {
        return rc == VSAFE_I2C_NACK ? STSE_PLATFORM_BUS_ACK_ERROR : STSE_PLATFORM_BUS_ERR;
    }
    g.rx_len = frame_Length;
    return STSE_OK;
}

/* A NULL destination skips the bytes (STSELib discards parts of a response it does not keep). */
static stse_ReturnCode_t hand_out(PLAT_UI8 *dest, PLAT_UI16 size)
{
    if (size > g.rx_len - g.rx_pos) {
        return STSE_PLATFORM_BUFFER_ERR;
    }
    if (dest != NULL) {
        memcpy(dest, g.rx + g.rx_pos, size);
    }
    g.rx_pos += size;
    return STSE_OK;
}

stse_ReturnCode_t stse_platform_i2c_receive_continue(PLAT_UI8 busID, PLAT_UI8 devAddr, PLAT_UI16 speed,
                                                     PLAT_UI8 *pElement, PLAT_UI16 element_size)
{
    (void)busID;
    (void)devAddr;
    (void)speed;
    return hand_out(pElement, element_size);
}

stse_ReturnCode_t stse_platform_i2c_receive_stop(PLAT_UI8 busID, PLAT_UI8 devAddr, PLAT_UI16 speed,
                                                 PLAT_UI8 *pElement, PLAT_UI16 element_size)
{
    (void)busID;
    (void)devAddr;
    (void)speed;
    stse_ReturnCode_t ret = hand_out(pElement, element_size);
    g.rx_len = 0;
    g.rx_pos = 0;
    return ret;
}

/* ---- CRC-16 of frames ---- */

stse_ReturnCode_t stse_platform_crc16_init(void)
{
    g.crc = 0;
    return STSE_OK;
}

PLAT_UI16 stse_platform_Crc16_Calculate(PLAT_UI8 *pbuffer, PLAT_UI16 length)
{
    g.crc = vsafe_crc16(pbuffer, length);
    return g.crc;
}

PLAT_UI16 stse_platform_Crc16_Accumulate(PLAT_UI8 *pbuffer, PLAT_UI16 length)
{
    g.crc = vsafe_crc16_continue(g.crc, pbuffer, length);
    return g.crc;
}

/* ---- Delay ---- */

stse_ReturnCode_t stse_platform_delay_init(void)
{
    return STSE_OK;
}

void stse_platform_Delay_ms(PLAT_UI16 delay_val)
{
    const char *d = env("VSAFE_STSE_DELAY");
    if (d != NULL && strcmp(d, "0") == 0) {
        return;
    }
    struct timespec ts = {.tv_sec = delay_val / 1000u, .tv_nsec = (long)(delay_val % 1000u) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* ---- Power ----
 * The device's power line: off closes a device the layer opened from a state file (volatile
 * session state is lost, the NVM image stays, exactly as at a power loss), on opens it again;
 * a served device gets the protocol's POWER request. A volatile in-process device, or one given
 * by vsafe_stse_use_device, stays as it is. */

static stse_ReturnCode_t served_power(int on)
{
    uint8_t arg = on ? 1u : 0u;
    int32_t st = 0;
    size_t got = 0;
    uint8_t none[1];
    g.rsp_len = 0;
    int rc = vsafe_host_conn_request(g.conn, STSE_SOCK_POWER, &arg, 1, &st, none, 0, &got);
    return rc == VSAFE_OK && st == 0 ? STSE_OK : STSE_PLATFORM_POWER_ERROR;
}

stse_ReturnCode_t stse_platform_power_init(void)
{
    return STSE_OK;
}

stse_ReturnCode_t stse_platform_power_ctrl_init(void)
{
    return STSE_OK;
}

stse_ReturnCode_t stse_platform_power_off(PLAT_UI8 busID, PLAT_UI8 devAddr)
{
    (void)busID;
    (void)devAddr;
    if (g.se == NULL && env("VSAFE_CONNECT") != NULL) {
        return bus_ready() ? served_power(0) : STSE_PLATFORM_POWER_ERROR;
    }
    if (g.own != NULL && g.se == g.own && env("VSAFE_STSE_STATE") != NULL) {
        vsafe_se_close(g.own);
        g.own = NULL;
        g.se = NULL;
    }
    return STSE_OK;
}

stse_ReturnCode_t stse_platform_power_on(PLAT_UI8 busID, PLAT_UI8 devAddr)
{
    (void)busID;
    (void)devAddr;
    if (g.se == NULL && env("VSAFE_CONNECT") != NULL) {
        return bus_ready() ? served_power(1) : STSE_PLATFORM_POWER_ERROR;
    }
    return vsafe_stse_device() != NULL ? STSE_OK : STSE_PLATFORM_POWER_ERROR;
}

/* ---- Randomness and crypto initialisation ---- */

stse_ReturnCode_t stse_platform_generate_random_init(void)
{
    return RAND_status() == 1 ? STSE_OK : STSE_PLATFORM_SERVICES_INIT_ERROR;
}

PLAT_UI32 stse_platform_generate_random(void)
{
    uint8_t b[4] = {0};
    if (RAND_bytes(b, sizeof b) != 1) {
        /* No random bytes: fail loudly rather than hand out a predictable value. */
        fprintf(stderr, "vsafe stselib layer: OpenSSL RAND_bytes failed\n");
        abort();
    }
    return (PLAT_UI32)b[0] << 24 | (PLAT_UI32)b[1] << 16 | (PLAT_UI32)b[2] << 8 | b[3];
}

/* Weak: a firmware with its own crypto callbacks (and their initialisation) replaces it. The layer
 * itself needs no crypto set-up (OpenSSL initialises on first use). */
__attribute__((weak)) stse_ReturnCode_t stse_platform_crypto_init(void)
{
    return STSE_OK;
}

/* The device server end to end: `vsafe serve` runs as a child process; the tests speak the socket
 * protocol byte by byte (server_util.h, built from docs/SOCKET.md) and drive devices through the
 * host library's socket transport. Expected values come from the protocol document and from the
 * commands the tests send (a counter decremented k times from what it read before), never from
 * the server's code.
 * Usage: test_server VSAFE_CLI */
#include <pthread.h>

#include "server_util.h"
#include "vsafe/mcu.h"
#include "vsafe/se_port.h"
#include "vsafe/se_wire.h"

#define COUNTER_ZONE 5
#define DATA_ZONE 1

static uint32_t read_counter(vsafe_host_t *h, uint8_t zone)
{
    uint32_t c = 0;
    uint8_t b[1];
    if (vsafe_host_read_counter_zone(h, VSAFE_HOST_PROT_TABLE, zone, 0, b, 0, &c) != VSAFE_OK) {
        return 0;
    }
    return c;
}

static void dir_path(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", su_tmp, name);
}

/* ---- serve + connect: the documented bytes, the host library over the socket ---- */
static void test_roundtrip(void)
{
    char dev[300], sock[300];
    dir_path(dev, sizeof dev, "rt");
    dir_path(sock, sizeof sock, "rt.sock");
    CHECK(su_make_device(dev) == VSAFE_OK, "device");
    su_server_t s;
    const char *args[] = {"--device", dev, "--socket", sock, NULL};
    CHECK(su_start(&s, args) == 0, "server did not start");
    CHECK(strcmp(s.addr, sock) == 0, "ready line '%s' is not the socket path", s.addr);
    int fd = su_connect(sock);
    CHECK(fd >= 0, "connect");
    uint8_t d[1100];
    size_t n = 0;
    /* HELLO without a name: VERSION_MAX 1, durability power (0), powered, NAME "rt", PROFILE
     * "spl05" (the device was made from the default profile). */
    CHECK(su_call(fd, 0x01, NULL, 0, d, sizeof d, &n) == 0, "hello");
    CHECK(n == 12 && d[0] == 1 && d[1] == 0 && (d[2] & 1) && d[3] == 2 && memcmp(d + 4, "rt", 2) == 0 && d[6] == 5 &&
              memcmp(d + 7, "spl05", 5) == 0,
          "hello data (%zu bytes)", n);
    /* Generate random 4 bytes (frame 02 00 04 + CRC) by TRANSCEIVE: status 00, LEN 6, CRC. */
    uint8_t tx[] = {0x20, 0x02, 0x00, 0x04, 0x35, 0x50};
    CHECK(su_call(fd, 0x12, tx, sizeof tx, d, sizeof d, &n) == 0, "transceive");
    CHECK(n == 9 && d[0] == 0x00 && d[1] == 0 && d[2] == 6, "random response (%zu bytes)", n);
    /* The same through I2C_WRITE and I2C_READ: 5 bytes, then LEN + 3 from byte 0 again. */
    CHECK(su_call(fd, 0x10, tx, sizeof tx, d, sizeof d, &n) == 0 && n == 0, "i2c write ACK");
    uint8_t rd5[] = {0x20, 0x00, 0x05}, rd9[] = {0x20, 0x00, 0x09};
    uint8_t first[5];
    CHECK(su_call(fd, 0x11, rd5, sizeof rd5, first, sizeof first, &n) == 0 && n == 5, "read 5");
    CHECK(su_call(fd, 0x11, rd9, sizeof rd9, d, sizeof d, &n) == 0 && n == 9 && memcmp(d, first, 5) == 0,
          "read 9 restarts at byte 0");
    /* Another address: NACK, as on the bus. */
    uint8_t other[] = {0x21, 0x00, 0x05};
    CHECK(su_call(fd, 0x11, other, sizeof other, d, sizeof d, &n) == 1, "wrong address NACKs");
    close(fd);
    /* The host library over the socket: a decrement by 3 moves the counter by 3. */
    vsafe_host_t *h = su_host(sock, NULL);
    CHECK(h != NULL, "host over socket");
    if (h != NULL) {
        uint32_t before = read_counter(h, COUNTER_ZONE), after = 0;
        CHECK(vsafe_host_decrement(h, VSAFE_HOST_PROT_TABLE, COUNTER_ZONE, 3, 0, NULL, 0, &after) == VSAFE_OK,
              "decrement");
        CHECK(after == before - 3 && read_counter(h, COUNTER_ZONE) == before - 3, "counter %u -> %u", before, after);
        /* A device refusal comes back as the device's status. */
        uint32_t c = 0;
        int rc = vsafe_host_decrement(h, VSAFE_HOST_PROT_TABLE, DATA_ZONE, 1, 0, NULL, 0, &c);
        CHECK(rc < 0 && strcmp(vsafe_status_name(rc), "WRONG_ZONE_TYPE") == 0, "refusal: %s", vsafe_status_name(rc));
        vsafe_host_close(h);
    }
    CHECK(su_stop(&s, SIGTERM) == 0, "SIGTERM: exit 0");
    struct stat sb;
    CHECK(lstat(sock, &sb) != 0, "socket removed at a clean stop");
}

/* ---- two clients on one device, interleaved; malformed and oversized requests in between ---- */
static void test_two_clients_and_malformed(void)
{
    char dev[300], sock[300];
    dir_path(dev, sizeof dev, "two");
    dir_path(sock, sizeof sock, "two.sock");
    CHECK(su_make_device(dev) == VSAFE_OK, "device");
    su_server_t s;
    const char *args[] = {"--device", dev, "--socket", sock, NULL};
    CHECK(su_start(&s, args) == 0, "server");
    vsafe_host_t *a = su_host(sock, NULL), *b = su_host(sock, NULL);
    CHECK(a != NULL && b != NULL, "two hosts");
    if (a == NULL || b == NULL) {
        su_stop(&s, SIGKILL);
        return;
    }
    uint32_t start = read_counter(a, COUNTER_ZONE);
    int bad = su_connect(sock);
    uint8_t d[2048];
    size_t n = 0;
    uint8_t op = 0;
    int32_t st = 0;
    for (int i = 0; i < 20; i++) {
        uint32_t c = 0;
        CHECK(vsafe_host_decrement(i % 2 ? a : b, VSAFE_HOST_PROT_TABLE, COUNTER_ZONE, 1, 0, NULL, 0, &c) == 0, "dec");
        CHECK(c == start - (uint32_t)i - 1, "interleaved decrement %d gives %u", i, c);
        /* Malformed requests on a third connection between the commands. */
        switch (i) {
        case 1: /* unknown version: error, connection goes on */
            CHECK(su_send(bad, 9, 0x24, NULL, 0) == 0 && su_recv(bad, &op, &st, d, sizeof d, &n) == 0 &&
                      st == VSAFE_ERR_PROTO_VERSION, "version 9 -> %d", st);
            break;
        case 3: /* unknown request */
            CHECK(su_call(bad, 0x7e, NULL, 0, d, sizeof d, &n) == VSAFE_ERR_PROTO_REQUEST, "unknown op");
            break;
        case 5: { /* values out of range, arguments too long or too short */
            uint8_t seven = 7, cut_bad[] = {0, 0, 0, 1, 9}, read0[] = {0x20, 0, 0}, hello_bad[] = "../x";
            CHECK(su_call(bad, 0x20, &seven, 1, d, sizeof d, &n) == VSAFE_ERR_PROTO_MALFORMED, "power 7");
            CHECK(su_call(bad, 0x22, cut_bad, sizeof cut_bad, d, sizeof d, &n) == VSAFE_ERR_PROTO_MALFORMED, "model 9");
            CHECK(su_call(bad, 0x11, read0, sizeof read0, d, sizeof d, &n) == VSAFE_ERR_PROTO_MALFORMED, "read 0");
            CHECK(su_call(bad, 0x01, hello_bad, 4, d, sizeof d, &n) == VSAFE_ERR_PROTO_MALFORMED, "name ../x");
            CHECK(su_call(bad, 0x24, &seven, 1, d, sizeof d, &n) == VSAFE_ERR_PROTO_MALFORMED, "leftover byte");
            CHECK(su_call(bad, 0x20, NULL, 0, d, sizeof d, &n) == VSAFE_ERR_PROTO_MALFORMED, "short power");
            uint8_t big[1100] = {0x20};
            CHECK(su_call(bad, 0x10, big, sizeof big, d, sizeof d, &n) == VSAFE_ERR_PROTO_MALFORMED, "i2c > 1024");
            CHECK(su_call(bad, 0x01, (const uint8_t *)"nosuch", 6, d, sizeof d, &n) == VSAFE_ERR_SERVER_NO_DEVICE,
                  "unknown device name");
            break;
        }
        case 7: { /* oversized LEN: error reply (OP 0x80), then the connection is closed */
            uint8_t huge[] = {0x00, 0x20, 0x00, 0x00, 1, 0x24};
            CHECK(su_write_all(bad, huge, sizeof huge) == 0, "send huge");
            CHECK(su_recv(bad, &op, &st, d, sizeof d, &n) == 0 && st == VSAFE_ERR_PROTO_TOO_LONG && op == 0x80,
                  "too long -> %d op %02x", st, op);
            CHECK(su_recv(bad, &op, &st, d, sizeof d, &n) == -1, "connection closed after an oversized LEN");
            close(bad);
            bad = su_connect(sock);
            break;
        }
        case 9: { /* LEN 1: shorter than any header */
            uint8_t tiny[] = {0, 0, 0, 1, 1};
            CHECK(su_write_all(bad, tiny, sizeof tiny) == 0 && su_recv(bad, &op, &st, d, sizeof d, &n) == 0 &&
                      st == VSAFE_ERR_PROTO_MALFORMED, "LEN 1");
            close(bad);
            bad = su_connect(sock);
            break;
        }
        case 11: { /* garbage bytes */
            uint8_t junk[64];
            for (size_t k = 0; k < sizeof junk; k++) {
                junk[k] = (uint8_t)(k * 37 + 11);
            }
            (void)su_write_all(bad, junk, sizeof junk);
            close(bad);
            bad = su_connect(sock);
            break;
        }
        case 13: { /* a client that disappears mid-request: half a decrement frame */
            int k = su_connect(sock);
            uint8_t part[] = {0, 0, 0, 40, 1, 0x12, 0x20, 0x1F};
            CHECK(k >= 0 && su_write_all(k, part, sizeof part) == 0, "partial");
            close(k);
            break;
        }
        default:
            break;
        }
    }
    CHECK(read_counter(a, COUNTER_ZONE) == start - 20 && read_counter(b, COUNTER_ZONE) == start - 20,
          "both clients see the 20 decrements and nothing else");
    /* A client that sends a whole command and leaves without reading: the command completes. */
    int k = su_connect(sock);
    uint8_t frame[64];
    size_t fl = 0;
    {
        /* Decrement (0x04): OPT=0, zone, offset 00 00, amount 00 00 00 01, CRC. */
        uint8_t f[] = {0x04, 0x00, COUNTER_ZONE, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01};
        memcpy(frame + 1, f, sizeof f);
        uint16_t crc = vsafe_crc16(f, sizeof f);
        frame[0] = 0x20;
        frame[1 + sizeof f] = (uint8_t)(crc >> 8);
        frame[2 + sizeof f] = (uint8_t)crc;
        fl = 3 + sizeof f;
    }
    CHECK(su_send(k, 1, 0x10, frame, fl) == 0, "send decrement and leave");
    close(k);
    uint32_t now = start - 20;
    for (int tries = 0; tries < 100 && (now = read_counter(a, COUNTER_ZONE)) == start - 20; tries++) {
        usleep(10000);
    }
    CHECK(now == start - 21, "the abandoned command completed: %u", now);
    vsafe_host_close(a);
    vsafe_host_close(b);
    close(bad);
    CHECK(su_stop(&s, SIGTERM) == 0, "stop");
}

/* ---- stale socket replaced, live one refused; pid file; SIGINT ---- */
static void test_socket_in_use(void)
{
    char dev[300], dev2[300], sock[300], pid[300];
    dir_path(dev, sizeof dev, "inuse");
    dir_path(dev2, sizeof dev2, "inuse2");
    dir_path(sock, sizeof sock, "inuse.sock");
    dir_path(pid, sizeof pid, "inuse.pid");
    CHECK(su_make_device(dev) == VSAFE_OK && su_make_device(dev2) == VSAFE_OK, "devices");
    su_server_t s1, s2, s3;
    const char *a1[] = {"--device", dev, "--socket", sock, "--pid-file", pid, NULL};
    /* Readiness under systemd: READY=1 on the datagram socket named by NOTIFY_SOCKET. */
    char nsock[300];
    dir_path(nsock, sizeof nsock, "notify.sock");
    int nfd = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un na = {.sun_family = AF_UNIX};
    memcpy(na.sun_path, nsock, strlen(nsock) + 1);
    CHECK(nfd >= 0 && bind(nfd, (struct sockaddr *)&na, sizeof na) == 0, "notify socket");
    setenv("NOTIFY_SOCKET", nsock, 1);
    CHECK(su_start(&s1, a1) == 0, "first server");
    unsetenv("NOTIFY_SOCKET");
    char note[512] = "";
    struct pollfd pf = {nfd, POLLIN, 0};
    if (poll(&pf, 1, 2000) == 1) {
        ssize_t nr = recv(nfd, note, sizeof note - 1, 0);
        note[nr > 0 ? nr : 0] = '\0';
    }
    CHECK(strstr(note, "READY=1") != NULL, "sd_notify datagram: '%s'", note);
    close(nfd);
    FILE *f = fopen(pid, "r");
    long p = 0;
    CHECK(f != NULL && fscanf(f, "%ld", &p) == 1 && p == (long)s1.pid, "pid file holds %ld", p);
    if (f != NULL) {
        fclose(f);
    }
    const char *a2[] = {"--device", dev2, "--socket", sock, NULL};
    CHECK(su_start(&s2, a2) == 1, "second server on a live socket exits 1");
    CHECK(su_log_has(&s2, "in use by a running server"), "clear refusal message");
    vsafe_host_t *h = su_host(sock, NULL);
    CHECK(h != NULL, "the first server still serves");
    vsafe_host_close(h);
    CHECK(su_stop(&s1, SIGKILL) == 256 + SIGKILL, "kill -9");
    struct stat sb;
    CHECK(lstat(sock, &sb) == 0 && S_ISSOCK(sb.st_mode), "the killed server left its socket");
    CHECK(su_start(&s3, a2) == 0, "a new server replaces the stale socket");
    CHECK(su_log_has(&s3, "stale"), "says it replaced a stale socket");
    h = su_host(sock, NULL);
    CHECK(h != NULL, "the new server serves");
    vsafe_host_close(h);
    CHECK(su_stop(&s3, SIGINT) == 0, "SIGINT: exit 0");
    /* A path that is not a socket is never deleted. */
    FILE *plain = fopen(sock, "w");
    if (plain != NULL) {
        fclose(plain);
    }
    CHECK(su_start(&s2, a2) == 1, "refused on a regular file");
    CHECK(lstat(sock, &sb) == 0 && S_ISREG(sb.st_mode), "the regular file is left alone");
    unlink(sock);
}

/* ---- power off/on: volatile state lost, NVM kept; reset; timing; snapshot/restore; stats ---- */
static void test_control(void)
{
    char dev[300], sock[300];
    dir_path(dev, sizeof dev, "ctl");
    dir_path(sock, sizeof sock, "ctl.sock");
    CHECK(su_make_device(dev) == VSAFE_OK, "device");
    su_server_t s;
    const char *args[] = {"--device", dev, "--socket", sock, NULL};
    CHECK(su_start(&s, args) == 0, "server");
    int c = su_connect(sock);
    vsafe_host_t *h = su_host(sock, NULL);
    CHECK(c >= 0 && h != NULL, "connections");
    if (c < 0 || h == NULL) {
        su_stop(&s, SIGKILL);
        return;
    }
    uint8_t d[256], chunk[8] = "abcdefgh", off = 0, on = 1;
    size_t n = 0;
    /* Control run: a hash started is continued. */
    CHECK(vsafe_host_hash_start(h, VSAFE_HOST_PROT_TABLE, VSAFE_HASH_SHA256, chunk, sizeof chunk) == 0, "hash start");
    CHECK(vsafe_host_hash_process(h, VSAFE_HOST_PROT_TABLE, chunk, sizeof chunk) == 0, "hash process, powered");
    /* Power off: NACKs; power on: the hash context is gone, the counter is not. */
    uint32_t before = read_counter(h, COUNTER_ZONE);
    CHECK(vsafe_host_decrement(h, VSAFE_HOST_PROT_TABLE, COUNTER_ZONE, 2, 0, NULL, 0, NULL) == 0, "decrement");
    CHECK(su_call(c, 0x20, &off, 1, d, sizeof d, &n) == 0, "power off");
    CHECK(su_stat(c, ST_POWERED) == 0, "stats say powered off");
    uint8_t rd5[] = {0x20, 0x00, 0x05};
    CHECK(su_call(c, 0x11, rd5, sizeof rd5, d, sizeof d, &n) == 1, "read NACKed while off");
    int rc = vsafe_host_decrement(h, VSAFE_HOST_PROT_TABLE, COUNTER_ZONE, 1, 0, NULL, 0, NULL);
    CHECK(rc == VSAFE_ERR_HOST_NACK, "a command while off: %s", vsafe_status_name(rc));
    CHECK(su_call(c, 0x20, &on, 1, d, sizeof d, &n) == 0, "power on");
    CHECK(su_call(c, 0x11, rd5, sizeof rd5, d, sizeof d, &n) == 1, "no response after power on");
    rc = vsafe_host_hash_process(h, VSAFE_HOST_PROT_TABLE, chunk, sizeof chunk);
    CHECK(rc != VSAFE_OK && rc <= -500, "hash context lost at power off: %s", vsafe_status_name(rc));
    CHECK(read_counter(h, COUNTER_ZONE) == before - 2, "the decrement survived the power cycle");
    /* Reset drops it too. */
    CHECK(vsafe_host_hash_start(h, VSAFE_HOST_PROT_TABLE, VSAFE_HASH_SHA256, chunk, sizeof chunk) == 0, "hash start");
    CHECK(su_call(c, 0x21, NULL, 0, d, sizeof d, &n) == 0, "reset");
    CHECK(vsafe_host_hash_process(h, VSAFE_HOST_PROT_TABLE, chunk, sizeof chunk) != VSAFE_OK, "lost at reset");
    CHECK(su_stat(c, ST_POWER_CYCLES) == 2, "two power cycles counted");

    /* Stats: k decrements are k commands and k commits, all durable (power). */
    uint64_t cmd0 = su_stat(c, ST_COMMANDS), com0 = su_stat(c, ST_COMMITS), dur0 = su_stat(c, ST_DURABLE);
    uint64_t bytes0 = su_stat(c, ST_NVM_BYTES);
    for (int i = 0; i < 7; i++) {
        CHECK(vsafe_host_decrement(h, VSAFE_HOST_PROT_TABLE, COUNTER_ZONE, 1, 0, NULL, 0, NULL) == 0, "dec");
    }
    CHECK(su_stat(c, ST_COMMANDS) - cmd0 == 7, "commands +7 (got %llu)", (unsigned long long)(su_stat(c, 0) - cmd0));
    CHECK(su_stat(c, ST_COMMITS) - com0 == 7, "commits +7");
    CHECK(su_stat(c, ST_DURABLE) - dur0 == 7, "durable +7");
    CHECK(su_stat(c, ST_NVM_BYTES) > bytes0, "NVM bytes grew");
    (void)read_counter(h, COUNTER_ZONE);
    CHECK(su_stat(c, ST_COMMITS) - com0 == 7, "a read commits nothing");

    /* Timing on: the server waits out the busy time inside TRANSCEIVE; reads poll NACK. */
    CHECK(su_call(c, 0x23, &on, 1, d, sizeof d, &n) == 0 && su_stat(c, ST_TIMING) == 1, "timing on");
    double t0 = su_now();
    CHECK(vsafe_host_decrement(h, VSAFE_HOST_PROT_TABLE, COUNTER_ZONE, 1, 0, NULL, 0, NULL) == 0, "timed dec");
    double took = su_now() - t0;
    CHECK(took >= 0.003, "decrement with the timing model took %.4f s (>= its processing time)", took);
    CHECK(su_call(c, 0x23, &off, 1, d, sizeof d, &n) == 0 && su_stat(c, ST_TIMING) == 0, "timing off");

    /* Snapshot and restore. */
    uint8_t *blob = malloc(1u << 20);
    size_t blen = 0;
    uint32_t saved = read_counter(h, COUNTER_ZONE);
    CHECK(su_call(c, 0x25, NULL, 0, blob, 1u << 20, &blen) == 0, "state get");
    CHECK(blen > 12 && memcmp(blob, "VSAFEST1", 8) == 0 &&
              ((size_t)blob[8] << 24 | (size_t)blob[9] << 16 | (size_t)blob[10] << 8 | blob[11]) == blen - 12 &&
              (blen - 12) % 4096 == 0,
          "blob layout (%zu bytes)", blen);
    CHECK(vsafe_host_decrement(h, VSAFE_HOST_PROT_TABLE, COUNTER_ZONE, 5, 0, NULL, 0, NULL) == 0, "dec 5");
    CHECK(read_counter(h, COUNTER_ZONE) == saved - 5, "moved");
    CHECK(su_call(c, 0x26, blob, blen, d, sizeof d, &n) == 0, "state set");
    CHECK(read_counter(h, COUNTER_ZONE) == saved, "restored counter");
    /* A damaged blob is refused and changes nothing. */
    memset(blob + 12, 0x00, blen - 12);
    CHECK(su_call(c, 0x26, blob, blen, d, sizeof d, &n) == VSAFE_ERR_SERVER_STATE_BLOB, "zeroed blob refused");
    memcpy(blob, "XXXXXXXX", 8);
    CHECK(su_call(c, 0x26, blob, blen, d, sizeof d, &n) == VSAFE_ERR_SERVER_STATE_BLOB, "bad magic refused");
    CHECK(read_counter(h, COUNTER_ZONE) == saved, "the refused blobs changed nothing");
    free(blob);
    vsafe_host_close(h);
    close(c);
    CHECK(su_stop(&s, SIGTERM) == 0, "stop");
}

/* ---- cut-after N under every write model: the recovered state is the old or the new, never mixed ---- */
static void test_cuts(void)
{
    char dev[300], sock[300];
    dir_path(dev, sizeof dev, "cut");
    dir_path(sock, sizeof sock, "cut.sock");
    CHECK(su_make_device(dev) == VSAFE_OK, "device");
    su_server_t s;
    const char *args[] = {"--device", dev, "--socket", sock, NULL};
    CHECK(su_start(&s, args) == 0, "server");
    int c = su_connect(sock);
    vsafe_host_t *h = su_host(sock, NULL);
    if (c < 0 || h == NULL) {
        CHECK(0, "connections");
        su_stop(&s, SIGKILL);
        return;
    }
    uint8_t *base = malloc(1u << 20);
    size_t blen = 0;
    uint8_t d[256];
    size_t n = 0;
    CHECK(su_call(c, 0x25, NULL, 0, base, 1u << 20, &blen) == 0, "base state");
    uint8_t old_data[64], new_data[64], got[64];
    CHECK(vsafe_host_read_zone(h, VSAFE_HOST_PROT_TABLE, DATA_ZONE, 0, old_data, sizeof old_data) == 0, "read");
    for (size_t i = 0; i < sizeof new_data; i++) {
        new_data[i] = (uint8_t)(old_data[i] ^ 0xA5 ^ i);
    }
    uint32_t old_counter = read_counter(h, COUNTER_ZONE);
    uint64_t cuts0 = su_stat(c, ST_CUTS);
    unsigned total_cuts = 0;
    for (uint8_t model = 1; model <= 4; model++) {
        unsigned cuts_model = 0;
        int finished = 0;
        for (uint32_t nth = 1; nth <= 40 && !finished; nth++) {
            /* From the same base each time: an atomic update, then a decrement with data. */
            CHECK(su_call(c, 0x26, base, blen, d, sizeof d, &n) == 0, "restore base");
            uint8_t cut[5] = {(uint8_t)(nth >> 24), (uint8_t)(nth >> 16), (uint8_t)(nth >> 8), (uint8_t)nth, model};
            CHECK(su_call(c, 0x22, cut, sizeof cut, d, sizeof d, &n) == 0, "arm cut");
            CHECK(su_stat(c, ST_CUT_ARMED) == nth, "cut armed with %u left", nth);
            int r1 = vsafe_host_update_zone(h, VSAFE_HOST_PROT_TABLE, DATA_ZONE, 0, new_data, sizeof new_data, 1);
            int r2 = r1 == 0 ? vsafe_host_decrement(h, VSAFE_HOST_PROT_TABLE, COUNTER_ZONE, 1, 0, new_data, 8, NULL)
                             : 0;
            int was_cut = r1 == VSAFE_ERR_POWER_LOSS || r2 == VSAFE_ERR_POWER_LOSS;
            CHECK((r1 == 0 || r1 == VSAFE_ERR_POWER_LOSS) && (r2 == 0 || r2 == VSAFE_ERR_POWER_LOSS),
                  "model %u cut %u: %s / %s", model, nth, vsafe_status_name(r1), vsafe_status_name(r2));
            /* After the cut the device is powered again on what the cut left. */
            CHECK(vsafe_host_read_zone(h, VSAFE_HOST_PROT_TABLE, DATA_ZONE, 0, got, sizeof got) == 0, "read back");
            int is_old = memcmp(got, old_data, sizeof got) == 0, is_new = memcmp(got, new_data, sizeof got) == 0;
            CHECK(is_old || is_new, "model %u cut %u: zone holds neither the old nor the new data", model, nth);
            CHECK(r1 == 0 ? is_new : 1, "an acknowledged update is kept");
            uint32_t cnt = read_counter(h, COUNTER_ZONE);
            uint8_t cdata[8];
            uint32_t c2 = 0;
            CHECK(vsafe_host_read_counter_zone(h, VSAFE_HOST_PROT_TABLE, COUNTER_ZONE, 0, cdata, 8, &c2) == 0, "cz");
            CHECK(cnt == old_counter || cnt == old_counter - 1, "counter %u is old or new", cnt);
            CHECK(cnt == old_counter - 1 ? memcmp(cdata, new_data, 8) == 0 : 1, "counter and its data together");
            CHECK(r1 == 0 && r2 == 0 ? cnt == old_counter - 1 : 1, "an acknowledged decrement is kept");
            CHECK(r1 != 0 ? cnt == old_counter : 1, "nothing after the cut ran");
            cuts_model += (unsigned)was_cut;
            finished = !was_cut; /* fewer NVM operations than nth: the commands completed */
            if (finished) {
                /* The unfired cut stays armed: disarm it. */
                uint8_t dis[5] = {0, 0, 0, 0, 1};
                CHECK(su_call(c, 0x22, dis, sizeof dis, d, sizeof d, &n) == 0 && su_stat(c, ST_CUT_ARMED) == 0,
                      "disarm");
            }
        }
        CHECK(cuts_model >= 2 && finished, "model %u: %u cuts, then a run without one", model, cuts_model);
        total_cuts += cuts_model;
    }
    CHECK(su_stat(c, ST_CUTS) - cuts0 == total_cuts, "stats count the %u cuts", total_cuts);
    printf("cuts: %u power cuts over 4 write models, every recovered state old or new\n", total_cuts);
    free(base);
    vsafe_host_close(h);
    close(c);
    CHECK(su_stop(&s, SIGTERM) == 0, "stop");
}

/* ---- many devices: group commit, durability levels ---- */
typedef struct {
    const char *sock;
    char name[16];
    int count;
    double min_latency, max_latency;
    int ok;
} worker_t;

static void *worker(void *arg)
{
    worker_t *w = arg;
    vsafe_host_t *h = su_host(w->sock, w->name);
    w->min_latency = 1e9;
    w->ok = h != NULL;
    for (int i = 0; h != NULL && i < w->count; i++) {
        double t0 = su_now();
        w->ok &= vsafe_host_decrement(h, VSAFE_HOST_PROT_TABLE, COUNTER_ZONE, 1, 0, NULL, 0, NULL) == VSAFE_OK;
        double dt = su_now() - t0;
        w->min_latency = dt < w->min_latency ? dt : w->min_latency;
        w->max_latency = dt > w->max_latency ? dt : w->max_latency;
    }
    vsafe_host_close(h);
    return NULL;
}

/* Runs `devices` workers of `count` decrements each; returns server sync calls and durable commands. */
static void run_fleet(const char *sock, int devices, int count, worker_t *w, uint64_t *syncs, uint64_t *durable)
{
    int c = su_connect(sock);
    CHECK(su_hello(c, "dev0") == 0, "hello dev0");
    uint64_t s0 = su_stat(c, ST_SERVER_SYNC_CALLS), d0 = su_stat(c, ST_SERVER_DURABLE);
    pthread_t t[16];
    for (int i = 0; i < devices; i++) {
        w[i].sock = sock;
        snprintf(w[i].name, sizeof w[i].name, "dev%d", i);
        w[i].count = count;
        pthread_create(&t[i], NULL, worker, &w[i]);
    }
    for (int i = 0; i < devices; i++) {
        pthread_join(t[i], NULL);
        CHECK(w[i].ok, "worker %d", i);
    }
    *syncs = su_stat(c, ST_SERVER_SYNC_CALLS) - s0;
    *durable = su_stat(c, ST_SERVER_DURABLE) - d0;
    close(c);
}

static void test_group_commit(void)
{
    enum { DEVICES = 8, COUNT = 6, DELAY_MS = 40 };
    char root[300], sock[300], dev[400];
    dir_path(root, sizeof root, "fleet");
    dir_path(sock, sizeof sock, "fleet.sock");
    mkdir(root, 0700);
    for (int i = 0; i < DEVICES; i++) {
        snprintf(dev, sizeof dev, "%s/dev%d", root, i);
        CHECK(su_make_device(dev) == VSAFE_OK, "device %d", i);
    }
    worker_t w[DEVICES];
    uint64_t syncs = 0, durable = 0;
    const char *modes[3][9] = {
        {"--root", root, "--socket", sock, "--sync-delay-ms", "40", NULL},
        {"--root", root, "--socket", sock, "--sync-delay-ms", "40", "--no-group-commit", NULL},
        {"--root", root, "--socket", sock, "--sync-delay-ms", "40", "--durability", "process", NULL}};
    for (int m = 0; m < 3; m++) {
        su_server_t s;
        memset(w, 0, sizeof w);
        CHECK(su_start(&s, modes[m]) == 0, "server mode %d", m);
        /* Devices of a --root server need a name. */
        int c = su_connect(sock);
        uint8_t d[128];
        size_t n = 0;
        CHECK(su_call(c, 0x24, NULL, 0, d, sizeof d, &n) == VSAFE_ERR_SERVER_NO_DEVICE, "no device before HELLO");
        CHECK(su_call(c, 0x02, NULL, 0, d, sizeof d, &n) == 0 && n == DEVICES * 5 + (m ? 5 : 0),
              "LIST names the devices (%zu bytes)", n);
        close(c);
        if (m == 0) {
            /* A device directory made after the start is opened by the first HELLO naming it. */
            char late[400];
            snprintf(late, sizeof late, "%s/late", root);
            CHECK(su_make_device(late) == VSAFE_OK, "late device");
            vsafe_host_t *lh = su_host(sock, "late");
            CHECK(lh != NULL && read_counter(lh, COUNTER_ZONE) == 0xFFFFFFFFu, "late device served");
            vsafe_host_close(lh);
            /* A blank state file is refused, never formatted by the server. */
            char blank[400];
            snprintf(blank, sizeof blank, "%s/blank", root);
            mkdir(blank, 0700);
            snprintf(blank, sizeof blank, "%s/blank/se.nvm", root);
            FILE *bf = fopen(blank, "w");
            for (int i = 0; bf != NULL && i < 8 * 4096; i++) {
                fputc(0xFF, bf);
            }
            if (bf != NULL) {
                fclose(bf);
            }
            int bc = su_connect(sock);
            int bst = su_hello(bc, "blank");
            CHECK(bst == VSAFE_ERR_STORE_EMPTY, "blank device refused: %d", bst);
            close(bc);
        }
        run_fleet(sock, DEVICES, COUNT, w, &syncs, &durable);
        double min_lat = 1e9, max_lat = 0;
        for (int i = 0; i < DEVICES; i++) {
            min_lat = w[i].min_latency < min_lat ? w[i].min_latency : min_lat;
            max_lat = w[i].max_latency > max_lat ? w[i].max_latency : max_lat;
        }
        unsigned total = DEVICES * COUNT;
        printf("mode %s: %u commands, %llu durable, %llu sync calls, latency %.1f..%.1f ms\n",
               m == 0 ? "group commit" : m == 1 ? "no group commit" : "durability process", total,
               (unsigned long long)durable, (unsigned long long)syncs, min_lat * 1e3, max_lat * 1e3);
        if (m == 0) {
            CHECK(durable == total, "every decrement durable (%llu)", (unsigned long long)durable);
            /* Shared rounds: far fewer sync calls than commands (8 devices at once). */
            CHECK(syncs * 2 <= total, "group commit: %llu sync calls for %u commands", (unsigned long long)syncs,
                  total);
            /* Each reply waited for the round that synced its command. */
            CHECK(min_lat >= DELAY_MS / 1000.0, "a reply came %.1f ms after its command, before its sync",
                  min_lat * 1e3);
        } else if (m == 1) {
            CHECK(durable == total && syncs == total, "one sync per command: %llu for %u", (unsigned long long)syncs,
                  total);
            CHECK(min_lat >= DELAY_MS / 1000.0, "each reply after its own sync");
        } else {
            CHECK(durable == 0 && syncs == 0, "process durability: no sync (%llu)", (unsigned long long)syncs);
            CHECK(min_lat < DELAY_MS / 1000.0, "process durability does not wait for a sync");
        }
        CHECK(su_stop(&s, SIGTERM) == 0, "stop");
    }
    /* Every command of the three runs is on the devices' NVM. */
    for (int i = 0; i < DEVICES; i++) {
        char p[500];
        snprintf(p, sizeof p, "%s/dev%d/se.nvm", root, i);
        vsafe_se_t *se = NULL;
        vsafe_se_options_t o = {.profile = NULL, .state_path = p};
        vsafe_host_t *h = NULL;
        CHECK(vsafe_se_open(&se, &o) == 0 && vsafe_host_open_se(&h, se) == 0 && vsafe_host_init(h) == 0, "open");
        CHECK(read_counter(h, COUNTER_ZONE) == 0xFFFFFFFFu - 3 * COUNT, "device %d holds all 3 x %d decrements", i,
              COUNT);
        vsafe_host_close(h);
        vsafe_se_close(se);
    }
}

/* ---- durability process survives a crash of the server process (SIGKILL) ---- */
static void test_process_kill(void)
{
    char dev[300], sock[300];
    dir_path(dev, sizeof dev, "proc");
    dir_path(sock, sizeof sock, "proc.sock");
    CHECK(su_make_device(dev) == VSAFE_OK, "device");
    char p[400];
    snprintf(p, sizeof p, "%s/durability", dev);
    FILE *f = fopen(p, "w");
    if (f != NULL) {
        fputs("process\n", f);
        fclose(f);
    }
    su_server_t s;
    const char *args[] = {"--device", dev, "--socket", sock, NULL};
    CHECK(su_start(&s, args) == 0, "server");
    int c = su_connect(sock);
    CHECK(su_stat(c, ST_DURABILITY) == 1, "durability taken from DIR/durability");
    close(c);
    vsafe_host_t *h = su_host(sock, NULL);
    uint32_t start = h != NULL ? read_counter(h, COUNTER_ZONE) : 0;
    for (int i = 0; h != NULL && i < 25; i++) {
        CHECK(vsafe_host_decrement(h, VSAFE_HOST_PROT_TABLE, COUNTER_ZONE, 1, 0, NULL, 0, NULL) == 0, "dec");
    }
    vsafe_host_close(h);
    CHECK(su_stop(&s, SIGKILL) == 256 + SIGKILL, "killed");
    CHECK(su_start(&s, args) == 0, "restarted on the stale socket");
    h = su_host(sock, NULL);
    CHECK(h != NULL && read_counter(h, COUNTER_ZONE) == start - 25, "all 25 acknowledged decrements kept");
    vsafe_host_close(h);
    CHECK(su_stop(&s, SIGTERM) == 0, "stop");
}

/* ---- DA_EXCHANGE (docs/SOCKET.md, "Debug authentication"): Discovery over the socket answers
 * what the MCU answers in process on the same board; malformed frames and a board without an
 * MCU are refused ---- */
static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void test_da(void)
{
    char dev[300], sock[300], mcu_path[400], bare[300];
    dir_path(dev, sizeof dev, "da");
    dir_path(sock, sizeof sock, "da.sock");
    dir_path(bare, sizeof bare, "da-bare");
    CHECK(su_make_device(dev) == VSAFE_OK && su_make_device(bare) == VSAFE_OK, "devices");
    snprintf(mcu_path, sizeof mcu_path, "%s/mcu.nvm", dev);
    /* Discovery as the document writes it: an 8-byte header, command 0x0001 little-endian at
     * bytes 2..3, no TLVs. */
    const uint8_t disc[8] = {0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00};
    uint8_t local[4096];
    size_t local_n = 0;
    vsafe_mcu_t *mcu = NULL;
    vsafe_mcu_options_t o = {.state_path = mcu_path, .rng_seed = 12};
    CHECK(vsafe_mcu_open(&mcu, &o) == VSAFE_OK, "create the board's MCU");
    int local_rc = mcu != NULL ? vsafe_mcu_da_request(mcu, disc, sizeof disc, local, sizeof local, &local_n) : -1;
    vsafe_mcu_close(mcu);
    CHECK(local_rc == VSAFE_OK && local_n > 8, "in-process discovery (%d, %zu bytes)", local_rc, local_n);

    su_server_t s;
    const char *args[] = {"--device", dev, "--socket", sock, NULL};
    CHECK(su_start(&s, args) == 0, "server did not start");
    int fd = su_connect(sock);
    CHECK(fd >= 0, "connect");
    uint8_t d[4200];
    size_t n = 0;
    CHECK(su_call(fd, 0x30, disc, sizeof disc, d, sizeof d, &n) == 0, "DA_EXCHANGE discovery");
    CHECK(n == 4 + local_n && be32(d) == 0 && memcmp(d + 4, local, local_n) == 0,
          "discovery over the socket (%zu bytes) differs from in process (%zu)", n, local_n);
    /* Twice the same: the exchange does not depend on the connection. */
    CHECK(su_call(fd, 0x30, disc, sizeof disc, d, sizeof d, &n) == 0 && n == 4 + local_n &&
              memcmp(d + 4, local, local_n) == 0,
          "second discovery");
    /* A frame shorter than the 8-byte header: refused by the parser, the MCU never sees it. */
    CHECK(su_call(fd, 0x30, disc, 7, d, sizeof d, &n) == VSAFE_ERR_PROTO_MALFORMED, "7-byte DA frame refused");
    CHECK(su_call(fd, 0x30, NULL, 0, d, sizeof d, &n) == VSAFE_ERR_PROTO_MALFORMED, "empty DA frame refused");
    /* The MCU itself refuses an unknown command (0x00FF) with a response and a failing OUTCOME. */
    const uint8_t bad[8] = {0x00, 0x00, 0xFF, 0x00, 0x00, 0x00, 0x00, 0x00};
    CHECK(su_call(fd, 0x30, bad, sizeof bad, d, sizeof d, &n) == 0 && n >= 4 + 8 && (int32_t)be32(d) < 0,
          "unknown DA command: outcome %d", n >= 4 ? (int32_t)be32(d) : 0);
    close(fd);
    CHECK(su_stop(&s, SIGTERM) == 0, "stop");

    /* A board without mcu.nvm: an error reply, and no mcu.nvm created. */
    const char *args2[] = {"--device", bare, "--socket", sock, NULL};
    CHECK(su_start(&s, args2) == 0, "server (bare) did not start");
    fd = su_connect(sock);
    CHECK(fd >= 0, "connect bare");
    CHECK(su_call(fd, 0x30, disc, sizeof disc, d, sizeof d, &n) == VSAFE_ERR_NOT_FOUND, "no MCU refused");
    close(fd);
    CHECK(su_stop(&s, SIGTERM) == 0, "stop bare");
    snprintf(mcu_path, sizeof mcu_path, "%s/mcu.nvm", bare);
    CHECK(access(mcu_path, F_OK) != 0, "the refusal created no mcu.nvm");
}

/* A request frame as docs/LIFECYCLE.md and SOCKET.md write it, built here by hand: 2 reserved,
 * COMMAND u16 LE, DATA_COUNT u32 LE (words), then at most one TLV {2 reserved, TYPE u16 LE,
 * LENGTH u32 LE, value padded to a word}. */
static size_t da_frame(uint16_t cmd, uint16_t type, const uint8_t *v, size_t len, uint8_t *out)
{
    size_t padded = (len + 3u) & ~(size_t)3u, n = v != NULL ? 8u + padded : 0u;
    memset(out, 0, 8 + n);
    out[2] = (uint8_t)cmd, out[3] = (uint8_t)(cmd >> 8);
    out[4] = (uint8_t)(n / 4u);
    if (v != NULL) {
        out[10] = (uint8_t)type, out[11] = (uint8_t)(type >> 8);
        out[12] = (uint8_t)len, out[13] = (uint8_t)(len >> 8);
        memcpy(out + 16, v, len);
    }
    return 8 + n;
}

/* The ADAC status (bytes 2..3 LE) of the response frame after OUTCOME in a DA_EXCHANGE reply. */
static unsigned adac_status(const uint8_t *d, size_t n)
{
    return n >= 4 + 8 ? (unsigned)(d[6] | d[7] << 8) : 0xFFFFu;
}

/* One Discovery TLV value from a DA_EXCHANGE reply (d: OUTCOME then the frame). */
static const uint8_t *disc_tlv(const uint8_t *d, size_t n, uint16_t type, size_t *len)
{
    for (size_t p = 4 + 8; p + 8 <= n;) {
        size_t l = (size_t)(d[p + 4] | d[p + 5] << 8);
        if ((unsigned)(d[p + 2] | d[p + 3] << 8) == type && p + 8 + l <= n) {
            *len = l;
            return d + p + 8;
        }
        p += 8 + ((l + 3u) & ~(size_t)3u);
    }
    return NULL;
}

/* A whole ADAC exchange over DA_EXCHANGE, step by step: Start, one Authentication Response per
 * certificate (NEED_MORE_DATA), the token (success, debug opens), Lock Debug; then a token signed
 * by the wrong key is refused and counted. The credentials are made here with the host library;
 * the expected statuses are the document's. */
static int da_run(int fd, uint8_t (*chain)[VSAFE_DA_CERT_LEN], const vsafe_da_key_t *signer, unsigned bit,
                  int32_t *outcome)
{
    uint8_t f[8 + 8 + 256], d[4200], nonce[32], perm[16] = {0}, token[VSAFE_DA_TOKEN_LEN];
    size_t n = 0, fl = da_frame(0x0002, 0, NULL, 0, f);
    CHECK(su_call(fd, 0x30, f, fl, d, sizeof d, &n) == 0 && be32(d) == 0 && adac_status(d, n) == 0, "Start");
    CHECK(n == 4 + 8 + 36 && d[4 + 8] == 1, "challenge: %zu bytes", n);
    if (n != 4 + 8 + 36) {
        return -1;
    }
    memcpy(nonce, d + 4 + 12, 32);
    for (int i = 0; i < 3; i++) {
        fl = da_frame(0x0003, 0x0201, chain[i], VSAFE_DA_CERT_LEN, f);
        CHECK(su_call(fd, 0x30, f, fl, d, sizeof d, &n) == 0 && be32(d) == 0 && adac_status(d, n) == 0x0002,
              "certificate %d: outcome %d, ADAC status 0x%04X (want NEED_MORE_DATA)", i, (int32_t)be32(d),
              adac_status(d, n));
    }
    perm[bit / 8] = (uint8_t)(1u << (bit % 8));
    CHECK(vsafe_da_token_make(signer, nonce, perm, token) == VSAFE_OK, "token");
    fl = da_frame(0x0003, 0x0200, token, sizeof token, f);
    CHECK(su_call(fd, 0x30, f, fl, d, sizeof d, &n) == 0, "token request");
    *outcome = (int32_t)be32(d);
    return (int)adac_status(d, n);
}

static void test_da_exchange(void)
{
    char dev[300], sock[300], mcu_path[400];
    dir_path(dev, sizeof dev, "dax");
    dir_path(sock, sizeof sock, "dax.sock");
    CHECK(su_make_device(dev) == VSAFE_OK, "device");
    snprintf(mcu_path, sizeof mcu_path, "%s/mcu.nvm", dev);
    /* The board: TrustZone on, PROVISIONING, a certificate DA configuration for a fresh root, CLOSED. */
    vsafe_da_key_t *k[3] = {NULL, NULL, NULL};
    uint8_t chain[3][VSAFE_DA_CERT_LEN], mask[16] = {0x77, 0x50}, pub[64], cfg[VSAFE_DA_CONFIG_LEN];
    for (int i = 0; i < 3; i++) {
        CHECK(vsafe_da_key_generate(&k[i]) == VSAFE_OK, "key %d", i);
    }
    CHECK(vsafe_da_cert_make(k[0], k[0], VSAFE_DA_ROLE_ROOT, 0, NULL, mask, chain[0]) == VSAFE_OK &&
              vsafe_da_cert_make(k[1], k[0], VSAFE_DA_ROLE_INTERMEDIATE, 0, NULL, mask, chain[1]) == VSAFE_OK &&
              vsafe_da_cert_make(k[2], k[1], VSAFE_DA_ROLE_LEAF, 0, NULL, mask, chain[2]) == VSAFE_OK &&
              vsafe_da_key_public(k[0], pub) == VSAFE_OK && vsafe_da_config_cert(pub, mask, cfg) == VSAFE_OK,
          "chain and configuration");
    vsafe_mcu_t *mcu = NULL;
    vsafe_mcu_options_t o = {.state_path = mcu_path, .rng_seed = 21};
    CHECK(vsafe_mcu_open(&mcu, &o) == VSAFE_OK && vsafe_mcu_set_trustzone(mcu, true) == VSAFE_OK &&
              vsafe_mcu_program_state(mcu, VSAFE_MCU_STATE_PROVISIONING) == VSAFE_OK && vsafe_mcu_reset(mcu) == VSAFE_OK &&
              vsafe_mcu_obk_write(mcu, VSAFE_MCU_SECURE, VSAFE_MCU_OBK_HDPL1, 0, cfg, sizeof cfg) == VSAFE_OK &&
              vsafe_mcu_program_state(mcu, VSAFE_MCU_STATE_CLOSED) == VSAFE_OK && vsafe_mcu_reset(mcu) == VSAFE_OK,
          "board set-up");
    vsafe_mcu_close(mcu);

    su_server_t s;
    const char *args[] = {"--device", dev, "--socket", sock, NULL};
    CHECK(su_start(&s, args) == 0, "server did not start");
    int fd = su_connect(sock);
    CHECK(fd >= 0, "connect");
    uint8_t f[16], d[4200];
    size_t n = 0, fl, vl = 0;
    const uint8_t *v;
    static const uint8_t zero16[16];
    fl = da_frame(0x0001, 0, NULL, 0, f);
    CHECK(su_call(fd, 0x30, f, fl, d, sizeof d, &n) == 0 && be32(d) == 0, "Discovery");
    v = disc_tlv(d, n, 0x80F2, &vl);
    CHECK(v != NULL && vl == 4 && v[0] == VSAFE_MCU_STATE_CLOSED, "product state CLOSED");
    v = disc_tlv(d, n, 0x80F4, &vl);
    CHECK(v != NULL && vl == 4 && v[0] == 16, "16 attempts left");
    v = disc_tlv(d, n, 0x80F5, &vl);
    CHECK(v != NULL && vl == 16 && memcmp(v, zero16, 16) == 0, "no debug granted yet");

    /* Non-secure debug at HDPL3 (bit 6), the right leaf key: granted. */
    int32_t outcome = -1;
    CHECK(da_run(fd, chain, k[2], VSAFE_DA_PERM_DEBUG_NS_HDPL1 + 2, &outcome) == 0 && outcome == 0,
          "token with the leaf key: outcome %d", outcome);
    CHECK(su_call(fd, 0x30, f, fl, d, sizeof d, &n) == 0 && be32(d) == 0, "Discovery after the grant");
    v = disc_tlv(d, n, 0x80F5, &vl);
    CHECK(v != NULL && vl == 16 && v[0] == 0x40 && memcmp(v + 1, zero16, 15) == 0, "debug grant is bit 6");
    v = disc_tlv(d, n, 0x80F4, &vl);
    CHECK(v != NULL && v[0] == 16, "a granted exchange costs no attempt");
    /* Lock Debug closes it. */
    uint8_t lock[8];
    size_t ll = da_frame(0x0006, 0, NULL, 0, lock);
    CHECK(su_call(fd, 0x30, lock, ll, d, sizeof d, &n) == 0 && be32(d) == 0 && adac_status(d, n) == 0, "Lock Debug");
    CHECK(su_call(fd, 0x30, f, fl, d, sizeof d, &n) == 0 && be32(d) == 0, "Discovery after Lock Debug");
    v = disc_tlv(d, n, 0x80F5, &vl);
    CHECK(v != NULL && vl == 16 && memcmp(v, zero16, 16) == 0, "Lock Debug cleared the grant");

    /* The token signed by the intermediate key instead of the leaf's: refused, and counted. */
    int st = da_run(fd, chain, k[1], VSAFE_DA_PERM_DEBUG_NS_HDPL1 + 2, &outcome);
    CHECK(outcome < 0 && st != 0 && st != 2, "wrong key: outcome %d, ADAC status 0x%04X", outcome, (unsigned)st);
    CHECK(su_call(fd, 0x30, f, fl, d, sizeof d, &n) == 0 && be32(d) == 0, "Discovery after the refusal");
    v = disc_tlv(d, n, 0x80F4, &vl);
    CHECK(v != NULL && v[0] == 15, "the refused attempt is counted (%u left)", v != NULL ? v[0] : 0u);
    close(fd);
    CHECK(su_stop(&s, SIGTERM) == 0, "stop");

    /* The board as the server left it, in process: CLOSED, one failed attempt, no debug open. */
    vsafe_mcu_info_t info;
    CHECK(vsafe_mcu_open(&mcu, &o) == VSAFE_OK && vsafe_mcu_info(mcu, &info) == VSAFE_OK, "reopen");
    CHECK(info.state == VSAFE_MCU_STATE_CLOSED && info.da_attempts == 1 && memcmp(info.debug_grant, zero16, 16) == 0,
          "after the server: state 0x%02X, %u attempts", (unsigned)info.state, info.da_attempts);
    vsafe_mcu_close(mcu);
    for (int i = 0; i < 3; i++) {
        vsafe_da_key_free(k[i]);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_server VSAFE_CLI\n");
        return 2;
    }
    su_vsafe = argv[1];
    snprintf(su_tmp, sizeof su_tmp, "/tmp/vsafe-test-server-XXXXXX");
    if (mkdtemp(su_tmp) == NULL) {
        return 1;
    }
    const char *only = argc > 2 ? argv[2] : "";
    struct {
        const char *name;
        void (*fn)(void);
    } tests[] = {{"roundtrip", test_roundtrip},     {"two_clients", test_two_clients_and_malformed},
                 {"socket_in_use", test_socket_in_use}, {"control", test_control},
                 {"cuts", test_cuts},               {"group_commit", test_group_commit},
                 {"process_kill", test_process_kill}, {"da", test_da},
                 {"da_exchange", test_da_exchange}};
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        if (only[0] && strcmp(only, tests[i].name) != 0) {
            continue;
        }
        int before = su_fails;
        tests[i].fn();
        printf("%-14s %s\n", tests[i].name, su_fails == before ? "ok" : "FAILED");
    }
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", su_tmp);
    if (su_fails == 0 && system(cmd) != 0) {
        fprintf(stderr, "could not remove %s\n", su_tmp);
    }
    printf("%d checks, %d failed\n", su_checks, su_fails);
    return su_fails == 0 ? 0 : 1;
}

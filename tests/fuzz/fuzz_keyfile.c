/* libFuzzer target on the host key-file parser (src/host/keyfile.h): arbitrary text. A parse that
 * succeeds must describe a usable key pair (type 0 or 1, 16 or 32 bytes as the type says, nothing
 * past key_len) whose canonical text parses back to the same keys, and the text must be strict:
 * apart from comment and empty lines (and a "\r" before each "\n"), its lines are exactly the
 * canonical lines in some order and letter case (so no signs, "0x", blanks or trailing text got
 * through). A parse that fails must leave no key byte behind and name a line the text has. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hooks.h"

static size_t count_lines(const uint8_t *data, size_t size)
{
    size_t lines = 1;
    for (size_t i = 0; i < size; i++) {
        lines += data[i] == '\n';
    }
    return lines;
}

static int all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++) {
        acc |= p[i];
    }
    return acc == 0;
}

#define MAX_ITEMS 8
#define ITEM_MAX 160

typedef struct {
    size_t len; /* ITEM_MAX + 1: longer than any canonical line */
    char text[ITEM_MAX];
} item_t;

/* The item lines of a key-file text: comment and empty lines dropped, a line's final "\r" dropped
 * (CRLF endings; the last line may lack its "\n", so its "\r" goes too), lower-cased. Returns their number (at most MAX_ITEMS are kept). */
static size_t item_lines(const uint8_t *t, size_t n, item_t items[MAX_ITEMS])
{
    size_t count = 0, i = 0;
    while (i < n) {
        size_t e = i;
        while (e < n && t[e] != '\n') {
            e++;
        }
        size_t end = e > i && t[e - 1] == '\r' ? e - 1 : e; /* also on a last line without "\n" */
        if (end > i && t[i] != '#') {
            if (count < MAX_ITEMS) {
                item_t *it = &items[count];
                it->len = end - i <= ITEM_MAX ? end - i : ITEM_MAX + 1;
                for (size_t k = 0; k < it->len && k < ITEM_MAX; k++) {
                    uint8_t c = t[i + k];
                    it->text[k] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
                }
            }
            count++;
        }
        i = e + 1;
    }
    return count;
}

/* Whether the item lines of a and b are the same (each exactly once, any order). */
static int same_items(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    static item_t ia[MAX_ITEMS], ib[MAX_ITEMS];
    size_t na = item_lines(a, an, ia), nb = item_lines(b, bn, ib);
    if (na != nb || na > MAX_ITEMS) {
        return 0;
    }
    int used[MAX_ITEMS] = {0};
    for (size_t i = 0; i < na; i++) {
        size_t j = 0;
        while (j < nb && (used[j] || ia[i].len != ib[j].len || ia[i].len > ITEM_MAX ||
                          memcmp(ia[i].text, ib[j].text, ia[i].len) != 0)) {
            j++;
        }
        if (j == nb) {
            return 0;
        }
        used[j] = 1;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vsafe_keyfile_t k;
    memset(&k, 0xA5, sizeof k);
    int rc = vsafe_keyfile_parse((const char *)data, size, &k);
    if (rc != VSAFE_OK) {
        if (rc != VSAFE_ERR_PARSE || !all_zero(k.mac, sizeof k.mac) || !all_zero(k.cipher, sizeof k.cipher) ||
            k.error_line > count_lines(data, size)) {
            abort();
        }
        return 0;
    }
    if (k.type > 1u || k.key_len != (k.type == 1u ? 32u : 16u) || size > VSAFE_KEYFILE_TEXT_MAX ||
        !all_zero(k.mac + k.key_len, sizeof k.mac - k.key_len) ||
        !all_zero(k.cipher + k.key_len, sizeof k.cipher - k.key_len)) {
        abort();
    }
    char text[512];
    size_t n = 0;
    vsafe_keyfile_t back;
    if (vsafe_keyfile_format(&k, text, sizeof text, &n) != VSAFE_OK || n >= sizeof text || text[n] != '\0' ||
        vsafe_keyfile_parse(text, n, &back) != VSAFE_OK || back.type != k.type || back.key_len != k.key_len ||
        memcmp(back.mac, k.mac, sizeof k.mac) != 0 || memcmp(back.cipher, k.cipher, sizeof k.cipher) != 0) {
        abort();
    }
    if (!same_items(data, size, (const uint8_t *)text, n)) {
        abort(); /* accepted something that is not the format */
    }
    return 0;
}

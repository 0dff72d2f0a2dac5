/* Status names and messages, generated from the one table in include/vsafe/status.def. */
#include "vsafe/status.h"

#include <string.h>

typedef struct {
    int value;
    const char *name;
    const char *message;
} status_entry_t;

static const status_entry_t status_table[] = {
#define X(name, value, msg) {value, #name, msg},
#include "vsafe/status.def"
#undef X
};

static const status_entry_t *status_find(int status)
{
    for (size_t i = 0; i < sizeof status_table / sizeof status_table[0]; i++) {
        if (status_table[i].value == status) {
            return &status_table[i];
        }
    }
    return NULL;
}

int vsafe_status_wire(int status)
{
    if (status <= -501 && status >= -531) {
        return -500 - status;
    }
    return -1;
}

const char *vsafe_status_name(int status)
{
    const status_entry_t *e = status_find(status);
    if (e == NULL) {
        return "UNKNOWN";
    }
    if (vsafe_status_wire(status) > 0) {
        return e->name + strlen("ERR_DEV_");
    }
    return e->name;
}

const char *vsafe_status_message(int status)
{
    const status_entry_t *e = status_find(status);
    return e != NULL ? e->message : "unknown status";
}

/* File backend: durable reopen, the exclusive lock (same process and another process), read-only
 * access, and clear refusals of missing and truncated files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "hooks.h"
#include "vsafe/se.h"
#include "store_testutil.h"

#define IMG 300u
#define TAG VSAFE_STORE_TAG_SE

static char dir[256];
static char path[300];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/vsafe-store-file-XXXXXX");
    if (mkdtemp(dir) == NULL) {
        return -1;
    }
    snprintf(path, sizeof path, "%s/nvm.bin", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    rmdir(dir);
    return 0;
}

static uint32_t nvm_size(void) { return vsafe_store_nvm_bytes(IMG, 8192, VSAFE_FILE_NVM_PAGE); }

static void make_device(uint8_t ref[IMG], int commits)
{
    vsafe_file_nvm_t *f;
    assert_int_equal(vsafe_file_nvm_open(&f, path, VSAFE_FILE_NVM_CREATE, nvm_size()), VSAFE_OK);
    vsafe_nvm_t *nvm = vsafe_file_nvm_port(f);
    assert_int_equal(nvm->geo.page_size, 4096);
    assert_int_equal(nvm->geo.prog_unit, 16);
    assert_int_equal(nvm->geo.may_reorder, 1);
    assert_int_equal(nvm->geo.page_count, nvm_size() / 4096u);
    uint8_t img[IMG];
    memset(img, 0x11, IMG);
    vsafe_store_t st;
    assert_int_equal(vsafe_store_format(&st, nvm, img, IMG, TAG), VSAFE_OK);
    uint64_t rng = 31;
    vsafe_txn_t t;
    for (int i = 0; i < commits; i++) {
        tu_random_txn(&t, &rng, IMG);
        assert_int_equal(vsafe_store_commit(&st, &t), VSAFE_OK);
    }
    memcpy(ref, img, IMG);
    vsafe_file_nvm_close(f);
}

static void test_reopen_after_close(void **state)
{
    (void)state;
    uint8_t ref[IMG], back[IMG];
    make_device(ref, 200); /* enough to compact a few times with an 8 KiB journal */
    vsafe_file_nvm_t *f;
    assert_int_equal(vsafe_file_nvm_open(&f, path, 0, 0), VSAFE_OK);
    vsafe_store_t st;
    assert_int_equal(vsafe_store_mount(&st, vsafe_file_nvm_port(f), back, IMG, TAG), VSAFE_OK);
    assert_memory_equal(back, ref, IMG);
    assert_false(st.need_compact);
    vsafe_txn_t t;
    vsafe_txn_begin(&t);
    vsafe_txn_put_u32(&t, 0, 0xDEADBEEF);
    assert_int_equal(vsafe_store_commit(&st, &t), VSAFE_OK);
    tu_ref_apply(ref, &t);
    vsafe_file_nvm_close(f);
    assert_int_equal(vsafe_file_nvm_open(&f, path, VSAFE_FILE_NVM_READ_ONLY, 0), VSAFE_OK);
    assert_int_equal(vsafe_store_mount(&st, vsafe_file_nvm_port(f), back, IMG, TAG), VSAFE_OK);
    assert_memory_equal(back, ref, IMG);
    vsafe_file_nvm_close(f);
}

static void test_second_open_locked(void **state)
{
    (void)state;
    uint8_t ref[IMG];
    make_device(ref, 3);
    vsafe_file_nvm_t *a, *b, *ro;
    assert_int_equal(vsafe_file_nvm_open(&a, path, 0, 0), VSAFE_OK);
    assert_int_equal(vsafe_file_nvm_open(&b, path, 0, 0), VSAFE_ERR_LOCKED);
    assert_null(b);
    assert_int_equal(vsafe_file_nvm_open(&b, path, VSAFE_FILE_NVM_CREATE, nvm_size()), VSAFE_ERR_LOCKED);
    /* another process is refused too */
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        vsafe_file_nvm_t *c;
        _exit(vsafe_file_nvm_open(&c, path, 0, 0) == VSAFE_ERR_LOCKED ? 0 : 1);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* a reader (vsafe check) needs no lock and cannot write */
    assert_int_equal(vsafe_file_nvm_open(&ro, path, VSAFE_FILE_NVM_READ_ONLY, 0), VSAFE_OK);
    vsafe_nvm_t *rn = vsafe_file_nvm_port(ro);
    uint8_t unit[16] = {0};
    assert_int_equal(rn->prog(rn->ctx, 0, unit, 16), VSAFE_ERR_NVM_PROGRAM);
    assert_int_equal(rn->erase(rn->ctx, 0), VSAFE_ERR_NVM_ERASE);
    vsafe_store_report_t rep;
    assert_int_equal(vsafe_store_inspect(rn, &rep), VSAFE_OK);
    assert_int_equal(rep.seq, 4);
    vsafe_file_nvm_close(ro);
    vsafe_file_nvm_close(a);
    assert_int_equal(vsafe_file_nvm_open(&b, path, 0, 0), VSAFE_OK);
    vsafe_file_nvm_close(b);
}

static void test_missing_and_truncated(void **state)
{
    (void)state;
    vsafe_file_nvm_t *f;
    uint8_t ref[IMG], back[IMG];
    assert_int_equal(vsafe_file_nvm_open(&f, path, 0, 0), VSAFE_ERR_NOT_FOUND);
    assert_int_equal(vsafe_file_nvm_open(&f, path, VSAFE_FILE_NVM_CREATE, 1000), VSAFE_ERR_ARGUMENT);
    make_device(ref, 5);
    /* not a whole number of pages */
    assert_int_equal(truncate(path, nvm_size() - 100u), 0);
    assert_int_equal(vsafe_file_nvm_open(&f, path, 0, 0), VSAFE_ERR_STORE_TRUNCATED);
    assert_int_equal(vsafe_file_nvm_open(&f, path, VSAFE_FILE_NVM_READ_ONLY, 0), VSAFE_ERR_STORE_TRUNCATED);
    /* whole pages, but fewer than the store was formatted on */
    assert_int_equal(truncate(path, nvm_size() - 4096u), 0);
    assert_int_equal(vsafe_file_nvm_open(&f, path, 0, 0), VSAFE_OK);
    vsafe_store_t st;
    assert_int_equal(vsafe_store_mount(&st, vsafe_file_nvm_port(f), back, IMG, TAG), VSAFE_ERR_STORE_TRUNCATED);
    vsafe_file_nvm_close(f);
    /* empty file */
    assert_int_equal(truncate(path, 0), 0);
    assert_int_equal(vsafe_file_nvm_open(&f, path, 0, 0), VSAFE_ERR_STORE_TRUNCATED);
    /* a file of zeros is corrupt, one of 0xFF is empty: never silently a fresh device */
    make_device(ref, 0);
    FILE *z = fopen(path, "r+b");
    assert_non_null(z);
    for (uint32_t i = 0; i < nvm_size(); i++) {
        fputc(0, z);
    }
    fclose(z);
    assert_int_equal(vsafe_file_nvm_open(&f, path, 0, 0), VSAFE_OK);
    assert_int_equal(vsafe_store_mount(&st, vsafe_file_nvm_port(f), back, IMG, TAG), VSAFE_ERR_STORE_CORRUPT);
    vsafe_file_nvm_close(f);
    assert_int_equal(vsafe_file_nvm_open(&f, path, VSAFE_FILE_NVM_CREATE, nvm_size()), VSAFE_OK);
    assert_int_equal(vsafe_store_mount(&st, vsafe_file_nvm_port(f), back, IMG, TAG), VSAFE_ERR_STORE_EMPTY);
    vsafe_file_nvm_close(f);
}

/* Opening reads the file in one go (it used to take ~444 reads of 256 bytes per CLI command), and
 * the RAM copy stays equal to the file through commits and compactions. */
static void test_one_read_and_coherent(void **state)
{
    (void)state;
    uint8_t ref[IMG], back[IMG];
    make_device(ref, 50);
    vsafe_file_nvm_t *f;
    assert_int_equal(vsafe_file_nvm_open(&f, path, 0, 0), VSAFE_OK);
    vsafe_nvm_t *nvm = vsafe_file_nvm_port(f);
    vsafe_store_t st;
    assert_int_equal(vsafe_store_mount(&st, nvm, back, IMG, TAG), VSAFE_OK);
    assert_memory_equal(back, ref, IMG);
    assert_int_equal(vsafe_file_nvm_reads(f), 1);
    uint64_t rng = 77;
    vsafe_txn_t t;
    for (int i = 0; i < 300; i++) { /* several compactions with an 8 KiB journal */
        tu_random_txn(&t, &rng, IMG);
        assert_int_equal(vsafe_store_commit(&st, &t), VSAFE_OK);
        tu_ref_apply(ref, &t);
    }
    assert_true(st.counters.compactions > 2u);
    assert_int_equal(vsafe_file_nvm_reads(f), 1);
    /* what the handle reads is what the file holds */
    uint32_t size = nvm->geo.page_count * nvm->geo.page_size;
    uint8_t *via = malloc(size), *disk = malloc(size);
    assert_int_equal(nvm->read(nvm->ctx, 0, via, size), VSAFE_OK);
    FILE *raw = fopen(path, "rb");
    assert_non_null(raw);
    assert_int_equal(fread(disk, 1, size, raw), size);
    fclose(raw);
    assert_memory_equal(via, disk, size);
    free(via);
    free(disk);
    assert_int_equal(vsafe_store_mount(&st, nvm, back, IMG, TAG), VSAFE_OK);
    assert_memory_equal(back, ref, IMG);
    vsafe_file_nvm_close(f);
    vsafe_file_nvm_t *ro;
    assert_int_equal(vsafe_file_nvm_open(&ro, path, VSAFE_FILE_NVM_READ_ONLY, 0), VSAFE_OK);
    assert_int_equal(vsafe_store_mount(&st, vsafe_file_nvm_port(ro), back, IMG, TAG), VSAFE_OK);
    assert_memory_equal(back, ref, IMG);
    assert_int_equal(vsafe_file_nvm_reads(ro), 1);
    vsafe_file_nvm_close(ro);
}

/* regress_state_symlink_followed (issue 8, finding 3): a symlink in place of a state file is
 * refused with VSAFE_ERR_SYMLINK, for reading, writing and creating, and the file it points to is
 * left as it was; the device open says so. */
static void regress_state_symlink_followed(void **state)
{
    (void)state;
    uint8_t ref[IMG];
    make_device(ref, 4);
    char link[320], target_copy[320];
    snprintf(link, sizeof link, "%s/se.nvm", dir);
    snprintf(target_copy, sizeof target_copy, "%s/copy", dir);
    assert_int_equal(symlink(path, link), 0);
    vsafe_file_nvm_t *f = NULL;
    assert_int_equal(vsafe_file_nvm_open(&f, link, 0, 0), VSAFE_ERR_SYMLINK);
    assert_int_equal(vsafe_file_nvm_open(&f, link, VSAFE_FILE_NVM_READ_ONLY, 0), VSAFE_ERR_SYMLINK);
    assert_int_equal(vsafe_file_nvm_open(&f, link, VSAFE_FILE_NVM_CREATE, nvm_size()), VSAFE_ERR_SYMLINK);
    assert_null(f);
    vsafe_se_t *se = NULL;
    char msg[512] = "";
    vsafe_se_options_t o = {.profile = "spl05", .state_path = link};
    vsafe_se_open_ext_t ext;
    memset(&ext, 0, sizeof ext);
    ext.error_message = msg;
    ext.error_message_cap = sizeof msg;
    assert_int_equal(vsafe_se_open_ex(&se, &o, &ext), VSAFE_ERR_SYMLINK);
    assert_non_null(strstr(msg, "symbolic link"));
    /* a dangling link is not created through either */
    unlink(link);
    assert_int_equal(symlink(target_copy, link), 0);
    assert_int_equal(vsafe_se_open_ex(&se, &o, &ext), VSAFE_ERR_SYMLINK);
    assert_int_equal(access(target_copy, F_OK), -1);
    unlink(link);
    /* the target still mounts as it was */
    vsafe_store_t st;
    uint8_t back[IMG];
    assert_int_equal(vsafe_file_nvm_open(&f, path, VSAFE_FILE_NVM_READ_ONLY, 0), VSAFE_OK);
    assert_int_equal(vsafe_store_mount(&st, vsafe_file_nvm_port(f), back, IMG, TAG), VSAFE_OK);
    assert_memory_equal(back, ref, IMG);
    vsafe_file_nvm_close(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reopen_after_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_open_locked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_and_truncated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_read_and_coherent, setup, teardown),
        cmocka_unit_test_setup_teardown(regress_state_symlink_followed, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

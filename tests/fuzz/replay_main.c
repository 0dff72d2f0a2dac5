/* Runs the fuzz target over every file of a corpus directory: the committed corpus is replayed in
 * every normal build, without libFuzzer. With --seeds DIR, a target that can generate its seed
 * corpus (vsafe_fuzz_write_seeds) writes it there; that is how tests/fuzz/corpus-state and
 * corpus-da were made. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Weak: only the targets with generated seeds define it. */
int vsafe_fuzz_write_seeds(const char *dir) __attribute__((weak));

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--seeds") == 0) {
        if (vsafe_fuzz_write_seeds == NULL) {
            fprintf(stderr, "%s: this target has hand-written seeds only\n", argv[0]);
            return 2;
        }
        return vsafe_fuzz_write_seeds(argv[2]) == 0 ? 0 : 1;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR | --seeds DIR\n", argv[0]);
        return 2;
    }
    DIR *d = opendir(argv[1]);
    if (d == NULL) {
        perror(argv[1]);
        return 1;
    }
    struct dirent *e;
    int count = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') {
            continue;
        }
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", argv[1], e->d_name);
        FILE *f = fopen(path, "rb");
        if (f == NULL) {
            continue;
        }
        static uint8_t buf[1 << 16];
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        LLVMFuzzerTestOneInput(buf, n);
        count++;
    }
    closedir(d);
    printf("replayed %d corpus inputs\n", count);
    return count > 0 ? 0 : 1;
}

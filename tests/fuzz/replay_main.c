//  replay_main: a stand-in for libFuzzer's driver. Built with gcc next to a
//  fuzz target (tests/fuzz/fuzz_*.c), it feeds the target every file of the
//  saved corpus, so `make test` replays them under the normal and the
//  ASan+UBSan builds. The same target links with clang -fsanitize=fuzzer
//  for real fuzzing (see README.md), where this file is left out.
//
//  Usage: fuzz_NAME PATH...   (each PATH a corpus directory or one file)
//  Prints "NAME: N passed, M failed" (M counts inputs that could not be
//  read); exits 0 when every input ran, 1 when one could not be read or the
//  corpus is empty. A crash kills the process, naming the input first.
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);
//  Optional hooks, as libFuzzer offers them.
__attribute__ ((weak)) int LLVMFuzzerInitialize (int *argc, char ***argv);
__attribute__ ((weak)) void __sanitizer_set_death_callback (void (*callback) (void));

static const char *s_current = "(none)";

//  Name the input that killed us, with async-signal-safe calls only.
static void
s_say_current (void)
{
    static const char head[] = "\nfuzz-replay: crashed on input: ";
    ssize_t rc = write (STDERR_FILENO, head, sizeof head - 1);
    rc = write (STDERR_FILENO, s_current, strlen (s_current));
    rc = write (STDERR_FILENO, "\n", 1);
    (void) rc;
}

static void
s_on_signal (int sig)
{
    s_say_current ();
    signal (sig, SIG_DFL);
    raise (sig);
}

static int
s_cmp (const void *a, const void *b)
{
    return strcmp (*(char *const *) a, *(char *const *) b);
}

//  Read a whole file into an exactly-sized heap block, so that ASan sees any
//  read past the end of the input.
static uint8_t *
s_read_file (const char *path, size_t *size_out)
{
    FILE *f = fopen (path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0;
    uint8_t *buf = malloc (cap);
    while (buf) {
        size_t n = fread (buf + len, 1, cap - len, f);
        len += n;
        if (len < cap)
            break;
        uint8_t *bigger = realloc (buf, cap * 2);
        if (!bigger) {
            free (buf);
            buf = NULL;
            break;
        }
        buf = bigger;
        cap *= 2;
    }
    bool failed = ferror (f);
    fclose (f);
    if (!buf || failed) {
        free (buf);
        return NULL;
    }
    uint8_t *exact = malloc (len ? len : 1);
    if (!exact) {
        free (buf);
        return NULL;
    }
    memcpy (exact, buf, len);
    free (buf);
    *size_out = len;
    return exact;
}

static int s_passed, s_failed;

static void
s_run_file (const char *path)
{
    size_t size = 0;
    uint8_t *data = s_read_file (path, &size);
    if (!data) {
        fprintf (stderr, "fuzz-replay: cannot read %s: %s\n", path, strerror (errno));
        s_failed++;
        return;
    }
    s_current = path;
    if (getenv ("FUZZ_REPLAY_VERBOSE"))
        fprintf (stderr, "fuzz-replay: %s (%zu bytes)\n", path, size);
    LLVMFuzzerTestOneInput (data, size);
    s_current = "(none)";
    free (data);
    s_passed++;
}

//  Run every regular file of a directory, in name order, skipping dotfiles.
static void
s_run_dir (const char *dir)
{
    DIR *d = opendir (dir);
    if (!d) {
        fprintf (stderr, "fuzz-replay: cannot open %s: %s\n", dir, strerror (errno));
        s_failed++;
        return;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir (d))) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **bigger = realloc (names, cap * sizeof *names);
            if (!bigger) {
                s_failed++;
                break;
            }
            names = bigger;
        }
        if (!(names[n] = malloc (strlen (dir) + strlen (e->d_name) + 2))) {
            s_failed++;
            break;
        }
        sprintf (names[n++], "%s/%s", dir, e->d_name);
    }
    closedir (d);
    if (names)
        qsort (names, n, sizeof *names, s_cmp);
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (stat (names[i], &st) == 0 && S_ISREG (st.st_mode))
            s_run_file (names[i]);
        free (names[i]);
    }
    free (names);
}

int
main (int argc, char **argv)
{
    if (argc < 2) {
        fprintf (stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
        return 2;
    }
    //  Under a sanitizer, let it report and tell us when it dies; without
    //  one, catch the fatal signals ourselves.
    if (__sanitizer_set_death_callback)
        __sanitizer_set_death_callback (s_say_current);
    else {
        int sigs[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };
        for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
            signal (sigs[i], s_on_signal);
    }
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize (&argc, &argv);

    //  libFuzzer always tries the empty input first; so do we.
    s_current = "(empty input)";
    LLVMFuzzerTestOneInput ((const uint8_t *) "", 0);
    s_current = "(none)";

    for (int a = 1; a < argc; a++) {
        struct stat st;
        if (stat (argv[a], &st) != 0) {
            fprintf (stderr, "fuzz-replay: %s: %s\n", argv[a], strerror (errno));
            s_failed++;
        }
        else if (S_ISDIR (st.st_mode))
            s_run_dir (argv[a]);
        else
            s_run_file (argv[a]);
    }
    const char *name = strrchr (argv[0], '/');
    name = name ? name + 1 : argv[0];
    if (s_passed + s_failed == 0) {
        fprintf (stderr, "fuzz-replay: %s: no corpus inputs found\n", name);
        s_failed++;
    }
    printf ("%s: %d passed, %d failed\n", name, s_passed, s_failed);
    return s_failed ? 1 : 0;
}

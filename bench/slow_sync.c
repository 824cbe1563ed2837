//  slow_sync.so: a disk whose cache flush is slower than this machine's.
//  Preloaded (LD_PRELOAD) into a program, it makes each fsync and
//  fdatasync wait BENCH_SYNC_DELAY_US microseconds before the real call,
//  one flush at a time per process, as one device's queue would. Nothing
//  else changes: writes, reads and the data that reaches the disk are the
//  program's own.
//
//  bench/run.sh preloads it into every program it starts when
//  BENCH_SYNC_DELAY_US is set: the services and the bare loops alike, so
//  that a ratio still compares the two on the same (slower) disk. This
//  virtual machine's fdatasync takes about 0.15 ms; a consumer SSD's flush
//  0.5 to 2 ms, a disk's 5 to 10 ms, an SSD with power-loss protection
//  tens of microseconds (bench/README.md, "A slower disk").
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

typedef int (s_sync_fn) (int fd);

static pthread_once_t s_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t s_device = PTHREAD_MUTEX_INITIALIZER;
static struct timespec s_delay;
static s_sync_fn *s_fsync, *s_fdatasync;

static void
s_init (void)
{
    const char *v = getenv ("BENCH_SYNC_DELAY_US");
    long us = v ? strtol (v, NULL, 10) : 0;
    if (us < 0)
        us = 0;
    s_delay.tv_sec = us / 1000000;
    s_delay.tv_nsec = (us % 1000000) * 1000;
    //  A function pointer from a data pointer, as dlsym(3) prescribes.
    *(void **) &s_fsync = dlsym (RTLD_NEXT, "fsync");
    *(void **) &s_fdatasync = dlsym (RTLD_NEXT, "fdatasync");
}

static int
s_flush (int fd, bool data_only)
{
    pthread_once (&s_once, s_init);
    s_sync_fn *real = data_only ? s_fdatasync : s_fsync;
    if (!real) {
        errno = ENOSYS;
        return -1;
    }
    pthread_mutex_lock (&s_device);
    struct timespec left = s_delay;
    while (nanosleep (&left, &left) != 0 && errno == EINTR)
        ;
    int rc = real (fd);
    pthread_mutex_unlock (&s_device);
    return rc;
}

int
fsync (int fd)
{
    return s_flush (fd, false);
}

int
fdatasync (int fd)
{
    return s_flush (fd, true);
}

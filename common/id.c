//  id: UUID generation and validation on top of libuuid.
#include "id.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <uuid/uuid.h>

//  The last id's millisecond and the counter within it (id_new).
static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t s_last_ms;
static unsigned s_counter;

//  The kernel's random bytes for id_new, fetched 4 KiB at a time into each
//  thread's pool: one getrandom call for about 400 ids instead of one each,
//  as uuid_generate_random makes (that call was 6.5 % of each service's time
//  under writes). Ids need to be unique, not secret; id_random, for tokens,
//  still asks the kernel each time. A child of fork starts with an empty
//  pool, so it never repeats its parent's bytes.
#define ID_POOL_BYTES 4096
static _Thread_local unsigned char s_pool[ID_POOL_BYTES];
static _Thread_local size_t s_pool_used = ID_POOL_BYTES;
static pthread_once_t s_atfork_once = PTHREAD_ONCE_INIT;

static void
s_pool_forget (void)
{
    s_pool_used = ID_POOL_BYTES;
}

static void
s_atfork (void)
{
    pthread_atfork (NULL, NULL, s_pool_forget);
}

//  n random bytes (at most ID_POOL_BYTES) into out.
static void
s_random (unsigned char *out, size_t n)
{
    assert (n <= ID_POOL_BYTES);
    if (s_pool_used + n > ID_POOL_BYTES) {
        pthread_once (&s_atfork_once, s_atfork);
        size_t got = 0;
        while (got < ID_POOL_BYTES) {
            ssize_t r = getrandom (s_pool + got, ID_POOL_BYTES - got, 0);
            if (r > 0)
                got += (size_t) r;
            else if (errno != EINTR) {
                //  No getrandom (a kernel before 3.17): libuuid's own source.
                while (got < ID_POOL_BYTES) {
                    uuid_t r;
                    uuid_generate_random (r);
                    size_t k = ID_POOL_BYTES - got < sizeof r ? ID_POOL_BYTES - got : sizeof r;
                    memcpy (s_pool + got, r, k);
                    got += k;
                }
            }
        }
        s_pool_used = 0;
    }
    memcpy (out, s_pool + s_pool_used, n);
    s_pool_used += n;
}

//  Version 7 (RFC 9562): 48 bits of Unix time in milliseconds, then a 12-bit
//  counter (method 1 of section 6.2: it starts at a random value below 2048
//  each new millisecond and counts up within it), then 62 random bits. Each
//  new id is greater than the last in this process, also when the clock
//  steps back: the time part then stays where it was.
char *
id_new (char *buf)
{
    uuid_t u;
    s_random (u + 6, sizeof u - 6);
    u[8] = (unsigned char) ((u[8] & 0x3f) | 0x80);   //  the RFC 9562 variant
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    uint64_t ms = (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
    pthread_mutex_lock (&s_lock);
    if (ms > s_last_ms) {
        s_last_ms = ms;
        s_counter = (unsigned) (((unsigned) u[6] << 8 | u[7]) & 0x7ff);
    }
    else if (++s_counter > 0xfff) {
        s_last_ms++;
        s_counter = 0;
    }
    ms = s_last_ms;
    unsigned counter = s_counter;
    pthread_mutex_unlock (&s_lock);
    for (int i = 0; i < 6; i++)
        u[i] = (unsigned char) (ms >> (40 - 8 * i));
    u[6] = (unsigned char) (0x70 | (counter >> 8));
    u[7] = (unsigned char) (counter & 0xff);
    uuid_unparse_lower (u, buf);
    return buf;
}

char *
id_random (char *buf)
{
    uuid_t u;
    uuid_generate_random (u);
    uuid_unparse_lower (u, buf);
    return buf;
}

char *
id_derive (const char *ns, const char *name, char *buf)
{
    uuid_t nsu, out;
    if (uuid_parse (ns, nsu) != 0)
        return NULL;
    //  Version 5 asks for SHA-1; libsodium has none, so we use the first
    //  16 bytes of SHA-256 and mark the result as version 8 (custom,
    //  RFC 9562): deterministic and collision-resistant all the same.
    crypto_hash_sha256_state st;
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_init (&st);
    crypto_hash_sha256_update (&st, nsu, sizeof nsu);
    crypto_hash_sha256_update (&st, (const unsigned char *) name, strlen (name));
    crypto_hash_sha256_final (&st, digest);
    memcpy (out, digest, 16);
    out[6] = (unsigned char) ((out[6] & 0x0f) | 0x80);
    out[8] = (unsigned char) ((out[8] & 0x3f) | 0x80);
    uuid_unparse_lower (out, buf);
    return buf;
}

uint64_t
id_ms (const char *id)
{
    if (!id_valid (id) || id[14] != '7')
        return 0;
    uint64_t ms = 0;
    for (int i = 0; i < 13; i++) {
        if (i == 8)
            continue;
        char c = id[i];
        ms = ms << 4 | (uint64_t) (c <= '9' ? c - '0' : c - 'a' + 10);
    }
    return ms;
}

char *
id_derive_ordered (const char *ns, const char *name, const char *order, char *buf)
{
    if (!id_derive (ns, name, buf))
        return NULL;
    //  The first 48 bits, the only ones taken: 8 hex digits, '-', 4 more.
    if (id_ms (order))
        memcpy (buf, order, 13);
    return buf;
}

bool
id_valid (const char *text)
{
    if (!text || strlen (text) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        char c = text[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return false;
        }
        else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    return true;
}

uint32_t
id_hash (const char *text)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *) text; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h;
}

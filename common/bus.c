//  bus: ZeroMQ helpers. Owns multi-frame send and receive, the CURVE
//  certificate files (ZPL text like CZMQ's zcert) and the ZAP handler threads
//  that decide which CURVE clients a server admits.
//
//  One ZAP handler runs per ZeroMQ context (libzmq looks for it at
//  inproc://zeromq.zap.01 in the socket's context). Each server socket gets a
//  ZAP domain naming its certificate directory, so two servers in one context
//  with different directories each admit only their own allowed/ keys. The
//  allowed/ directory is read on every handshake: adding or removing a .pub
//  file takes effect for the next connection without a restart.
#include "bus.h"
#include "clock.h"
#include "log.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#define BUS_Z85_LEN 40              //  a 32-byte key in Z85
#define BUS_CERT_MAX 65536          //  a certificate file is a few hundred bytes
#define BUS_ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define BUS_ZAP_POLL_MS 100

//  ---------------------------------------------------------------------
//  Multi-frame messages

bool
bus_recv (void *socket, bus_msg_t *msg, int flags)
{
    memset (msg, 0, sizeof *msg);
    bool ok = false;
    int more = 1;
    while (more) {
        zmq_msg_t part;
        zmq_msg_init (&part);
        //  Only the first part can block or time out: the rest of a
        //  message arrives atomically with it.
        int rc = zmq_msg_recv (&part, socket, msg->count == 0 ? flags : 0);
        if (rc < 0) {
            zmq_msg_close (&part);
            goto cleanup;
        }
        size_t size = zmq_msg_size (&part);
        char *copy = malloc (size + 1);
        if (copy) {
            if (size)
                memcpy (copy, zmq_msg_data (&part), size);
            copy[size] = '\0';
        }
        if (!bus_msg_add (msg, copy, size)) {
            zmq_msg_close (&part);
            goto drain;
        }
        more = zmq_msg_more (&part);
        zmq_msg_close (&part);
    }
    ok = true;
    goto cleanup;

drain:
    //  Out of memory half-way: swallow the rest so the next receive starts
    //  at a message boundary.
    while (more) {
        zmq_msg_t part;
        zmq_msg_init (&part);
        if (zmq_msg_recv (&part, socket, 0) < 0) {
            zmq_msg_close (&part);
            break;
        }
        more = zmq_msg_more (&part);
        zmq_msg_close (&part);
    }
    log_error ("bus", "out of memory receiving a message", NULL);

cleanup:
    if (!ok)
        bus_msg_free (msg);
    return ok;
}

void
bus_msg_free (bus_msg_t *msg)
{
    if (!msg)
        return;
    for (int i = 0; i < msg->count; i++)
        free (msg->frames[i]);
    free (msg->frames);
    free (msg->sizes);
    memset (msg, 0, sizeof *msg);
}

int
bus_poll_recv (void *socket, int poll_ms, bus_msg_t *msg)
{
    zmq_pollitem_t item = { socket, 0, ZMQ_POLLIN, 0 };
    int rc = zmq_poll (&item, 1, poll_ms);
    if (rc < 0)
        return zmq_errno () == EINTR ? 0 : -1;
    if (rc == 0)
        return 0;
    if (bus_recv (socket, msg, ZMQ_DONTWAIT))
        return 1;
    return zmq_errno () == ETERM ? -1 : 0;
}

bool
bus_msg_add (bus_msg_t *msg, char *frame, size_t size)
{
    if (!frame)
        return false;
    if (msg->count == msg->cap) {
        int cap = msg->cap ? msg->cap * 2 : 4;
        char **frames = realloc (msg->frames, (size_t) cap * sizeof *frames);
        size_t *sizes = frames ? realloc (msg->sizes, (size_t) cap * sizeof *sizes) : NULL;
        if (frames)
            msg->frames = frames;
        if (!sizes) {
            free (frame);
            return false;
        }
        msg->sizes = sizes;
        msg->cap = cap;
    }
    msg->frames[msg->count] = frame;
    msg->sizes[msg->count] = size;
    msg->count++;
    return true;
}

bool
bus_send (void *socket, int count, const char *const *frames, const size_t *sizes)
{
    if (count <= 0)
        return false;
    for (int i = 0; i < count; i++) {
        int flags = i < count - 1 ? ZMQ_SNDMORE : 0;
        if (zmq_send (socket, frames[i], sizes[i], flags) < 0) {
            //  libzmq sends a multi-part message atomically: parts queued
            //  before a failure are discarded with it.
            return false;
        }
    }
    return true;
}

//  ---------------------------------------------------------------------
//  Certificate files

//  Whether name is safe as a file name inside the certificate directory.
static bool
s_name_valid (const char *name)
{
    if (!name || !*name || name[0] == '.' || strlen (name) > 64)
        return false;
    for (const char *p = name; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
              || c == '-' || c == '_' || c == '.'))
            return false;
    }
    return true;
}

//  Whether text is a 40-character Z85 key that decodes.
static bool
s_z85_valid (const char *text)
{
    if (strlen (text) != BUS_Z85_LEN)
        return false;
    uint8_t raw[32];
    return zmq_z85_decode (raw, text) != NULL;
}

//  Read the value of `key = "value"` (quotes optional) on a ZPL line into
//  out (BUS_Z85_LEN + 1 bytes). Returns false if the line is another key.
static bool
s_zpl_value (const char *line, const char *key, char *out)
{
    while (*line == ' ' || *line == '\t')
        line++;
    size_t klen = strlen (key);
    if (strncmp (line, key, klen) != 0)
        return false;
    line += klen;
    while (*line == ' ' || *line == '\t')
        line++;
    if (*line != '=')
        return false;
    line++;
    while (*line == ' ' || *line == '\t')
        line++;
    char quote = 0;
    if (*line == '"' || *line == '\'')
        quote = *line++;
    size_t n = 0;
    while (line[n] && line[n] != '\n' && line[n] != '\r' && (quote ? line[n] != quote : line[n] != ' ')
           && n <= BUS_Z85_LEN)
        n++;
    if (n != BUS_Z85_LEN)
        return false;
    memcpy (out, line, n);
    out[n] = '\0';
    return true;
}

//  Read the public key (and, if secret is not NULL, the secret key) of a
//  certificate file as Z85 text.
static err_t
s_cert_read (const char *path, char *public_key, char *secret_key, err_info_t *err)
{
    err_t rc = ERR_IO;
    FILE *file = fopen (path, "r");
    if (!file) {
        err_set (err, ERR_IO, NULL, "cannot open certificate %s: %s", path, strerror (errno));
        goto cleanup;
    }
    public_key[0] = '\0';
    if (secret_key)
        secret_key[0] = '\0';
    char line[512];
    size_t total = 0;
    while (fgets (line, sizeof line, file)) {
        total += strlen (line);
        if (total > BUS_CERT_MAX) {
            err_set (err, ERR_IO, NULL, "certificate %s is too large", path);
            goto cleanup;
        }
        char value[BUS_Z85_LEN + 1];
        if (s_zpl_value (line, "public-key", value))
            memcpy (public_key, value, sizeof value);
        else if (secret_key && s_zpl_value (line, "secret-key", value))
            memcpy (secret_key, value, sizeof value);
    }
    if (ferror (file)) {
        err_set (err, ERR_IO, NULL, "cannot read certificate %s", path);
        goto cleanup;
    }
    if (!public_key[0] || !s_z85_valid (public_key)) {
        err_set (err, ERR_IO, NULL, "certificate %s has no valid public-key", path);
        goto cleanup;
    }
    if (secret_key && (!secret_key[0] || !s_z85_valid (secret_key))) {
        err_set (err, ERR_IO, NULL, "certificate %s has no valid secret-key", path);
        goto cleanup;
    }
    rc = ERR_OK;

cleanup:
    if (file)
        fclose (file);
    return rc;
}

//  Write text to path atomically (temporary file, fsync, rename) with mode.
static err_t
s_file_write (const char *path, const char *text, mode_t mode, err_info_t *err)
{
    err_t rc = ERR_IO;
    char tmp[4096];
    int fd = -1;
    if (snprintf (tmp, sizeof tmp, "%s.tmp", path) >= (int) sizeof tmp) {
        err_set (err, ERR_IO, NULL, "path too long: %s", path);
        return ERR_IO;
    }
    unlink (tmp);
    fd = open (tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        err_set (err, ERR_IO, NULL, "cannot create %s: %s", tmp, strerror (errno));
        goto cleanup;
    }
    //  The umask may have cleared bits we want, or kept ones we do not.
    if (fchmod (fd, mode) != 0) {
        err_set (err, ERR_IO, NULL, "cannot chmod %s: %s", tmp, strerror (errno));
        goto cleanup;
    }
    size_t len = strlen (text), done = 0;
    while (done < len) {
        ssize_t n = write (fd, text + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            err_set (err, ERR_IO, NULL, "cannot write %s: %s", tmp, strerror (errno));
            goto cleanup;
        }
        done += (size_t) n;
    }
    if (fsync (fd) != 0) {
        err_set (err, ERR_IO, NULL, "cannot sync %s: %s", tmp, strerror (errno));
        goto cleanup;
    }
    if (close (fd) != 0) {
        fd = -1;
        err_set (err, ERR_IO, NULL, "cannot close %s: %s", tmp, strerror (errno));
        goto cleanup;
    }
    fd = -1;
    if (rename (tmp, path) != 0) {
        err_set (err, ERR_IO, NULL, "cannot rename %s: %s", tmp, strerror (errno));
        goto cleanup;
    }
    rc = ERR_OK;

cleanup:
    if (fd >= 0)
        close (fd);
    if (rc != ERR_OK)
        unlink (tmp);
    return rc;
}

//  mkdir -p: the missing parents get 0755, the folder itself mode.
static err_t
s_mkdir (const char *path, mode_t mode, err_info_t *err)
{
    char partial[4096];
    if (snprintf (partial, sizeof partial, "%s", path) >= (int) sizeof partial)
        return err_set (err, ERR_IO, NULL, "directory path too long");
    for (char *p = partial + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir (partial, 0755) != 0 && errno != EEXIST)
                return err_set (err, ERR_IO, NULL, "cannot create directory %s: %s", partial, strerror (errno));
            *p = '/';
        }
    if (mkdir (path, mode) == 0 || errno == EEXIST) {
        struct stat st;
        if (stat (path, &st) == 0 && S_ISDIR (st.st_mode))
            return ERR_OK;
    }
    return err_set (err, ERR_IO, NULL, "cannot create directory %s: %s", path, strerror (errno));
}

err_t
bus_curve_keygen (const char *dir, const char *name, err_info_t *err)
{
    err_t rc = ERR_IO;
    char key_path[4096], pub_path[4096], allowed[4096];
    if (!dir || !s_name_valid (name))
        return err_set (err, ERR_INVALID, "name", "certificate name must be letters, digits, '-', '_' or '.'");
    if (snprintf (key_path, sizeof key_path, "%s/%s.key", dir, name) >= (int) sizeof key_path
        || snprintf (pub_path, sizeof pub_path, "%s/%s.pub", dir, name) >= (int) sizeof pub_path
        || snprintf (allowed, sizeof allowed, "%s/allowed", dir) >= (int) sizeof allowed)
        return err_set (err, ERR_IO, NULL, "certificate directory path too long");
    if ((rc = s_mkdir (dir, 0700, err)) != ERR_OK || (rc = s_mkdir (allowed, 0755, err)) != ERR_OK)
        return rc;
    if (access (key_path, F_OK) == 0)
        return err_set (err, ERR_CONFLICT, NULL, "%s exists; remove it to make a new key", key_path);

    char public_key[BUS_Z85_LEN + 1], secret_key[BUS_Z85_LEN + 1];
    if (zmq_curve_keypair (public_key, secret_key) != 0)
        return err_set (err, ERR_IO, NULL, "zmq_curve_keypair: %s", zmq_strerror (zmq_errno ()));

    char now[CLOCK_TEXT_LEN];
    clock_format (clock_now_ms (), now, sizeof now);
    char text[1024];
    snprintf (text, sizeof text,
              "#   ****  Generated on %s by bus_curve_keygen  ****\n"
              "#   ZeroMQ CURVE **Secret** Certificate\n"
              "#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.\n"
              "\n"
              "metadata\n"
              "    name = \"%s\"\n"
              "curve\n"
              "    public-key = \"%s\"\n"
              "    secret-key = \"%s\"\n",
              now, name, public_key, secret_key);
    rc = s_file_write (key_path, text, 0600, err);
    //  Do not leave the secret on the stack longer than needed.
    memset (secret_key, 0, sizeof secret_key);
    memset (text, 0, sizeof text);
    if (rc != ERR_OK)
        return rc;
    snprintf (text, sizeof text,
              "#   ****  Generated on %s by bus_curve_keygen  ****\n"
              "#   ZeroMQ CURVE Public Certificate\n"
              "#   Exchange securely, or use a secure mechanism to verify the contents\n"
              "#   of this file after exchange.\n"
              "\n"
              "metadata\n"
              "    name = \"%s\"\n"
              "curve\n"
              "    public-key = \"%s\"\n",
              now, name, public_key);
    return s_file_write (pub_path, text, 0644, err);
}

//  ---------------------------------------------------------------------
//  ZAP handler

typedef struct s_zap_t {
    void *ctx;
    void *socket;           //  REP on BUS_ZAP_ENDPOINT, owned by the thread
    pthread_t thread;
    atomic_bool stop;
    atomic_bool dead;       //  the context was terminated under it
    char **dirs;            //  domain "bus-<i>" admits keys in dirs[i]/allowed
    int ndirs;
    struct s_zap_t *next;
} s_zap_t;

static pthread_mutex_t s_zap_lock = PTHREAD_MUTEX_INITIALIZER;
static s_zap_t *s_zaps;

//  Whether the Z85 key is among DIR/allowed/*.pub; name_out (64 bytes) gets
//  the certificate's file name without ".pub" for the ZAP user id.
static bool
s_key_allowed (const char *dir, const char *z85, char *name_out)
{
    char allowed[4096];
    bool found = false;
    if (snprintf (allowed, sizeof allowed, "%s/allowed", dir) >= (int) sizeof allowed)
        return false;
    DIR *d = opendir (allowed);
    if (!d) {
        log_warn ("bus", "cannot open allowed certificates", "dir=%s error=\"%s\"", allowed,
                  strerror (errno));
        return false;
    }
    struct dirent *entry;
    while (!found && (entry = readdir (d))) {
        size_t len = strlen (entry->d_name);
        if (len < 5 || entry->d_name[0] == '.' || strcmp (entry->d_name + len - 4, ".pub") != 0)
            continue;
        char path[4096 + 256];
        snprintf (path, sizeof path, "%s/%s", allowed, entry->d_name);
        char public_key[BUS_Z85_LEN + 1];
        err_info_t err;
        err_clear (&err);
        if (s_cert_read (path, public_key, NULL, &err) != ERR_OK) {
            log_warn ("bus", "skipping unreadable certificate", "error=\"%s\"", err.message);
            continue;
        }
        if (strcmp (public_key, z85) == 0) {
            found = true;
            snprintf (name_out, 64, "%.*s", (int) (len - 4), entry->d_name);
        }
    }
    closedir (d);
    return found;
}

//  Answer one ZAP request (RFC 27): version, request id, domain, address,
//  identity, mechanism, credentials.
static void
s_zap_answer (s_zap_t *self, bus_msg_t *req)
{
    const char *status = "400", *text = "denied";
    char user[64] = "";
    const char *request_id = req->count > 1 ? req->frames[1] : "";
    size_t request_id_size = req->count > 1 ? req->sizes[1] : 0;

    if (req->count >= 7 && strcmp (req->frames[0], "1.0") == 0
        && strcmp (req->frames[5], "CURVE") == 0 && req->sizes[6] == 32) {
        char z85[BUS_Z85_LEN + 1];
        char dir[4096] = "";
        int index = -1;
        if (zmq_z85_encode (z85, (const uint8_t *) req->frames[6], 32)
            && sscanf (req->frames[2], "bus-%d", &index) == 1) {
            pthread_mutex_lock (&s_zap_lock);
            if (index >= 0 && index < self->ndirs)
                snprintf (dir, sizeof dir, "%s", self->dirs[index]);
            pthread_mutex_unlock (&s_zap_lock);
            if (dir[0] && s_key_allowed (dir, z85, user)) {
                status = "200";
                text = "OK";
            }
            else
                log_warn ("bus", "curve client denied", "address=%s key=%s", req->frames[3], z85);
        }
    }
    const char *frames[6] = { "1.0", request_id, status, text, user, "" };
    size_t sizes[6] = { 3, request_id_size, 3, strlen (text), strlen (user), 0 };
    if (!bus_send (self->socket, 6, frames, sizes))
        log_warn ("bus", "cannot send ZAP reply", "error=\"%s\"", zmq_strerror (zmq_errno ()));
}

static void *
s_zap_thread (void *arg)
{
    s_zap_t *self = arg;
    while (!atomic_load (&self->stop)) {
        bus_msg_t req;
        int got = bus_poll_recv (self->socket, BUS_ZAP_POLL_MS, &req);
        if (got < 0)
            break;      //  ETERM: the context is going away
        if (got > 0) {
            s_zap_answer (self, &req);
            bus_msg_free (&req);
        }
    }
    //  Mark before closing: once the socket is closed zmq_ctx_term may
    //  return and the context's address be reused by a new one.
    atomic_store (&self->dead, true);
    zmq_close (self->socket);
    return NULL;
}

//  The handler of ctx, started if needed, with dir registered; domain_out
//  (32 bytes) gets the ZAP domain for dir. Returns false on failure.
static bool
s_zap_register (void *ctx, const char *dir, char *domain_out, err_info_t *err)
{
    bool ok = false;
    s_zap_t *zap = NULL;
    pthread_mutex_lock (&s_zap_lock);
    for (s_zap_t *z = s_zaps; z; z = z->next)
        if (z->ctx == ctx && !atomic_load (&z->dead))
            zap = z;
    if (!zap) {
        zap = calloc (1, sizeof *zap);
        if (!zap) {
            err_set (err, ERR_NOMEM, NULL, "out of memory");
            goto cleanup;
        }
        zap->ctx = ctx;
        atomic_init (&zap->stop, false);
        atomic_init (&zap->dead, false);
        zap->socket = zmq_socket (ctx, ZMQ_REP);
        int linger = 0;
        if (!zap->socket || zmq_setsockopt (zap->socket, ZMQ_LINGER, &linger, sizeof linger) != 0
            || zmq_bind (zap->socket, BUS_ZAP_ENDPOINT) != 0) {
            err_set (err, ERR_IO, NULL, "cannot start ZAP handler: %s", zmq_strerror (zmq_errno ()));
            if (zap->socket)
                zmq_close (zap->socket);
            free (zap);
            zap = NULL;
            goto cleanup;
        }
        if (pthread_create (&zap->thread, NULL, s_zap_thread, zap) != 0) {
            err_set (err, ERR_IO, NULL, "cannot start ZAP thread");
            zmq_close (zap->socket);
            free (zap);
            zap = NULL;
            goto cleanup;
        }
        zap->next = s_zaps;
        s_zaps = zap;
    }
    int index = -1;
    for (int i = 0; i < zap->ndirs; i++)
        if (strcmp (zap->dirs[i], dir) == 0)
            index = i;
    if (index < 0) {
        char **dirs = realloc (zap->dirs, (size_t) (zap->ndirs + 1) * sizeof *dirs);
        if (!dirs) {
            err_set (err, ERR_NOMEM, NULL, "out of memory");
            goto cleanup;
        }
        zap->dirs = dirs;
        if (!(dirs[zap->ndirs] = strdup (dir))) {
            err_set (err, ERR_NOMEM, NULL, "out of memory");
            goto cleanup;
        }
        index = zap->ndirs++;
    }
    snprintf (domain_out, 32, "bus-%d", index);
    ok = true;

cleanup:
    pthread_mutex_unlock (&s_zap_lock);
    return ok;
}

err_t
bus_curve_server (void *zmq_ctx, void *socket, const char *dir, const char *name, err_info_t *err)
{
    char path[4096];
    char public_key[BUS_Z85_LEN + 1], secret_key[BUS_Z85_LEN + 1];
    char domain[32];
    err_t rc;
    if (!dir || !s_name_valid (name))
        return err_set (err, ERR_INVALID, "name", "bad certificate name");
    snprintf (path, sizeof path, "%s/allowed", dir);
    struct stat st;
    if (stat (path, &st) != 0 || !S_ISDIR (st.st_mode))
        return err_set (err, ERR_IO, NULL, "no directory %s of allowed client certificates", path);
    snprintf (path, sizeof path, "%s/%s.key", dir, name);
    if ((rc = s_cert_read (path, public_key, secret_key, err)) != ERR_OK)
        return rc;
    int on = 1;
    rc = ERR_IO;
    if (!s_zap_register (zmq_ctx, dir, domain, err))
        goto cleanup;
    if (zmq_setsockopt (socket, ZMQ_ZAP_DOMAIN, domain, strlen (domain)) != 0
        || zmq_setsockopt (socket, ZMQ_CURVE_SERVER, &on, sizeof on) != 0
        || zmq_setsockopt (socket, ZMQ_CURVE_SECRETKEY, secret_key, BUS_Z85_LEN) != 0) {
        err_set (err, ERR_IO, NULL, "cannot set CURVE server options: %s", zmq_strerror (zmq_errno ()));
        goto cleanup;
    }
    rc = ERR_OK;

cleanup:
    memset (secret_key, 0, sizeof secret_key);
    return rc;
}

err_t
bus_curve_client (void *socket, const char *dir, const char *name, const char *server,
                  err_info_t *err)
{
    char path[4096];
    char public_key[BUS_Z85_LEN + 1], secret_key[BUS_Z85_LEN + 1], server_key[BUS_Z85_LEN + 1];
    err_t rc;
    if (!dir || !s_name_valid (name) || !s_name_valid (server))
        return err_set (err, ERR_INVALID, "name", "bad certificate name");
    snprintf (path, sizeof path, "%s/%s.pub", dir, server);
    if ((rc = s_cert_read (path, server_key, NULL, err)) != ERR_OK)
        return rc;
    snprintf (path, sizeof path, "%s/%s.key", dir, name);
    if ((rc = s_cert_read (path, public_key, secret_key, err)) != ERR_OK)
        return rc;
    rc = ERR_OK;
    if (zmq_setsockopt (socket, ZMQ_CURVE_SERVERKEY, server_key, BUS_Z85_LEN) != 0
        || zmq_setsockopt (socket, ZMQ_CURVE_PUBLICKEY, public_key, BUS_Z85_LEN) != 0
        || zmq_setsockopt (socket, ZMQ_CURVE_SECRETKEY, secret_key, BUS_Z85_LEN) != 0)
        rc = err_set (err, ERR_IO, NULL, "cannot set CURVE client options: %s",
                      zmq_strerror (zmq_errno ()));
    memset (secret_key, 0, sizeof secret_key);
    return rc;
}

//  ---------------------------------------------------------------------
//  Endpoints allowed without CURVE

bool
bus_endpoint_local (const char *endpoint)
{
    if (!endpoint)
        return false;
    if (strncmp (endpoint, "inproc://", 9) == 0 || strncmp (endpoint, "ipc://", 6) == 0)
        return true;
    if (strncmp (endpoint, "tcp://", 6) != 0)
        return false;
    const char *addr = endpoint + 6;
    const char *dest = strrchr (addr, ';');
    if (dest)
        addr = dest + 1;
    const char *colon = strrchr (addr, ':');
    if (!colon || colon == addr)
        return false;
    char host[128];
    size_t len = (size_t) (colon - addr);
    if (addr[0] == '[') {
        //  [IPv6]:port
        if (len < 3 || addr[len - 1] != ']')
            return false;
        addr++;
        len -= 2;
    }
    if (len >= sizeof host)
        return false;
    memcpy (host, addr, len);
    host[len] = '\0';
    struct in_addr v4;
    struct in6_addr v6;
    if (inet_pton (AF_INET, host, &v4) == 1)
        return (ntohl (v4.s_addr) >> 24) == 127;
    if (inet_pton (AF_INET6, host, &v6) == 1)
        return IN6_IS_ADDR_LOOPBACK (&v6)
               || (IN6_IS_ADDR_V4MAPPED (&v6) && v6.s6_addr[12] == 127);
    //  Names ("*", "eth0", "localhost", a host name) may reach the network.
    return false;
}

err_t
bus_endpoint_allowed (const char *flag, const char *endpoint, const char *curve_dir, bool insecure,
                      err_info_t *err)
{
    if (curve_dir || insecure || bus_endpoint_local (endpoint))
        return ERR_OK;
    //  err_info_t holds 256 bytes: the why is in docs/operations.md.
    return err_set (err, ERR_INVALID, flag,
                    "%s %s is not a loopback address and there is no --curve-dir: give --curve-dir DIR, "
                    "use 127.0.0.1, [::1] or ipc://, or --insecure-bus-on-network yes on a trusted network",
                    flag, endpoint ? endpoint : "(none)");
}

err_t
bus_endpoints_allowed (const char *const *flags, const char *const *endpoints, int n, const char *curve_dir,
                       const char *insecure_value, bool *insecure, err_info_t *err)
{
    if (!bus_parse_insecure (insecure_value, insecure))
        return err_set (err, ERR_INVALID, "insecure-bus-on-network", "--insecure-bus-on-network must be yes or no");
    for (int i = 0; i < n; i++)
        if (bus_endpoint_allowed (flags[i], endpoints[i], curve_dir, *insecure, err) != ERR_OK)
            return err->code;
    return ERR_OK;
}

void *
bus_context_new (void)
{
    void *ctx = zmq_ctx_new ();
    if (ctx && zmq_ctx_set (ctx, ZMQ_IPV6, 1) != 0)
        log_warn ("bus", "no IPv6 endpoints", "error=\"%s\"", zmq_strerror (zmq_errno ()));
    return ctx;
}

bool
bus_parse_insecure (const char *value, bool *insecure)
{
    *insecure = false;
    if (!value || strcasecmp (value, "no") == 0 || strcasecmp (value, "false") == 0 || strcmp (value, "0") == 0)
        return true;
    if (strcasecmp (value, "yes") == 0 || strcasecmp (value, "true") == 0 || strcmp (value, "1") == 0) {
        *insecure = true;
        return true;
    }
    return false;
}

void
bus_shutdown (void)
{
    pthread_mutex_lock (&s_zap_lock);
    s_zap_t *list = s_zaps;
    s_zaps = NULL;
    pthread_mutex_unlock (&s_zap_lock);
    while (list) {
        s_zap_t *next = list->next;
        atomic_store (&list->stop, true);
        pthread_join (list->thread, NULL);
        for (int i = 0; i < list->ndirs; i++)
            free (list->dirs[i]);
        free (list->dirs);
        free (list);
        list = next;
    }
}

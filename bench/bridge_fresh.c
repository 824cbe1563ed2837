//  bridge_fresh: the client of the bridge freshness benchmark. How long
//  after CRM answers 201 to POST /api/v1/customers the customer is readable
//  through ERP.
//
//    bridge_fresh CRM_PORT CRM_TOKEN ERP_PORT ERP_TOKEN ERP_PUB BODIES RATE SECONDS [CONNS]
//
//  Open loop: write k is due at start + k / RATE whatever the answers do; it
//  goes out on the first idle one of CONNS keep-alive connections to CRM
//  (127.0.0.1), so a slow answer delays nothing but itself (the send lag, due
//  to sent, is reported). One thread, one zmq_poll over the connections and a
//  SUB socket on ERP's PUB subscribed to erp.customer.created: ERP publishes
//  that event right after the commit of the customer.upsert that created the
//  row, so its arrival is the moment the record became readable; freshness is
//  that moment minus the arrival of CRM's 201, for every write. It is checked
//  on a sample: for 50 writes spread over the run, GET
//  /api/v1/customers?crm_id= is sent to ERP as soon as the event arrives and
//  must return the record the first time (a blocking request of about a
//  millisecond, 50 in a run).
//
//  With ERP_PORT 0 there is no ERP: only CRM's answers are timed (the
//  latency of POST at a fixed rate, benchmark b.), and ERP_TOKEN and
//  ERP_PUB are not used.
//
//  BODIES is a file of JSON bodies, one a line (gen_data.py bodies).
//  Prints: rate=… achieved_per_s=… writes=… errors=… seen=… p50_ms=… p99_ms=…
//  max_ms=… negative=… send_lag_p99_ms=… checked=… check_ok=…
//  check_after_ms_p50=… post_p50_ms=… post_p99_ms=… post_max_ms=…, the
//  last three the time from a write's due moment to CRM's 201 (so a write
//  that waited for a free connection counts its wait).
//
//  With BENCH_TIMELINE=FILE in the environment it also writes FILE: one line
//  per write answered 201, its due moment (ms from the start), the time
//  from then to the 201 (ms) and its freshness (ms, nan when ERP's event
//  never came or there is no ERP), in the order of the writes: where the
//  slow ones cluster in time (bench/README.md, "POST latency at half rate").
//  With BENCH_CRM_PUB=ENDPOINT (CRM's event endpoint) too, a fourth column:
//  the time from the 201 to CRM's own crm.customer.created (nan if it never
//  came; it can be below 0, since CRM publishes and answers after the same
//  commit), which splits the freshness into CRM's part and the bridge's.
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define SAMPLE 50
#define BUF_SIZE 65536
#define ID_SIZE 40

typedef struct {
    int fd;
    long write;        //  the write in flight, -1 when idle
    size_t len;
    char buf[BUF_SIZE];
} s_conn_t;

typedef struct {
    char id[ID_SIZE];  //  "" for a free slot
    double answered, seen, published;  //  published: CRM's own event (BENCH_CRM_PUB)
    bool sampled;
} s_slot_t;

static s_slot_t *s_slots;

static double
s_now (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}
static size_t s_nslots;

//  The slot of a CRM id, made if it is new (the table never fills: it has
//  four times as many slots as writes).
static s_slot_t *
s_slot (const char *id)
{
    uint64_t h = 1469598103934665603ull;
    for (const char *p = id; *p; p++)
        h = (h ^ (unsigned char) *p) * 1099511628211ull;
    for (size_t i = h & (s_nslots - 1);; i = (i + 1) & (s_nslots - 1)) {
        if (!*s_slots[i].id) {
            snprintf (s_slots[i].id, ID_SIZE, "%s", id);
            s_slots[i].answered = s_slots[i].seen = s_slots[i].published = NAN;
            return &s_slots[i];
        }
        if (strcmp (s_slots[i].id, id) == 0)
            return &s_slots[i];
    }
}

static int
s_connect (int port)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) port) };
    a.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    int one = 1;
    if (fd < 0 || connect (fd, (struct sockaddr *) &a, sizeof a) != 0) {
        perror ("bridge_fresh: connect");
        exit (1);
    }
    setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static void
s_send_all (int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send (fd, data, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            perror ("bridge_fresh: send");
            exit (1);
        }
        data += n;
        len -= (size_t) n;
    }
}

//  When buf holds a whole response: its length, the status and the body
//  (not terminated; *body_len bytes). 0 when more is needed.
static size_t
s_response (char *buf, size_t len, int *status, char **body, size_t *body_len)
{
    char *end = memmem (buf, len, "\r\n\r\n", 4);
    if (!end)
        return 0;
    size_t head = (size_t) (end - buf) + 4, clen = 0;
    for (char *p = buf; p && p < end; p = memchr (p, '\n', (size_t) (end - p))) {
        p += *p == '\n';
        if (strncasecmp (p, "Content-Length:", 15) == 0)
            clen = strtoul (p + 15, NULL, 10);
    }
    if (len < head + clen)
        return 0;
    *status = atoi (buf + 9);
    *body = buf + head;
    *body_len = clen;
    return head + clen;
}

//  The string value of "key":"…" in text (first occurrence), into out.
static bool
s_json_str (const char *text, size_t len, const char *key, char *out, size_t size)
{
    char pat[64];
    int n = snprintf (pat, sizeof pat, "\"%s\":\"", key);
    const char *p = memmem (text, len, pat, (size_t) n);
    if (!p)
        return false;
    p += n;
    const char *q = memchr (p, '"', len - (size_t) (p - text));
    if (!q || (size_t) (q - p) >= size)
        return false;
    memcpy (out, p, (size_t) (q - p));
    out[q - p] = 0;
    return true;
}

//  The body of the next event waiting on sub, into msg: its length, -1
//  when none is waiting, -2 for a message that is not a whole event.
static int
s_event (void *sub, char *msg, size_t size)
{
    int n = zmq_recv (sub, msg, size - 1, ZMQ_DONTWAIT);  //  the topic
    if (n < 0)
        return -1;
    int more = 0;
    size_t more_size = sizeof more;
    zmq_getsockopt (sub, ZMQ_RCVMORE, &more, &more_size);
    if (!more)
        return -2;
    n = zmq_recv (sub, msg, size - 1, 0);
    return n < 0 || n >= (int) size - 1 ? -2 : n;
}

//  A blocking GET on conn; true when the answer is 200 and holds crm_id.
static bool
s_check (s_conn_t *c, const char *token, const char *crm_id)
{
    char req[512];
    int n = snprintf (req, sizeof req,
                      "GET /api/v1/customers?crm_id=%s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      "Authorization: Bearer %s\r\n\r\n",
                      crm_id, token);
    s_send_all (c->fd, req, (size_t) n);
    c->len = 0;
    for (;;) {
        int status;
        char *body;
        size_t body_len;
        if (s_response (c->buf, c->len, &status, &body, &body_len)) {
            char pat[64];
            snprintf (pat, sizeof pat, "\"crm_id\":\"%s\"", crm_id);
            return status == 200 && memmem (body, body_len, pat, strlen (pat));
        }
        ssize_t r = recv (c->fd, c->buf + c->len, BUF_SIZE - c->len, 0);
        if (r <= 0)
            return false;
        c->len += (size_t) r;
    }
}

static int
s_cmp (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

static double
s_pct (double *v, size_t n, double p)
{
    if (n == 0)
        return NAN;
    size_t i = (size_t) (p / 100.0 * (double) n);
    return v[i < n ? i : n - 1];
}

int
main (int argc, char **argv)
{
    if (argc < 9) {
        fprintf (stderr, "usage: bridge_fresh CRM_PORT CRM_TOKEN ERP_PORT ERP_TOKEN ERP_PUB BODIES RATE "
                         "SECONDS [CONNS]\n");
        return 2;
    }
    int crm_port = atoi (argv[1]), erp_port = atoi (argv[3]);
    const char *crm_token = argv[2], *erp_token = argv[4], *erp_pub = argv[5];
    double rate = atof (argv[7]), seconds = atof (argv[8]);
    int nconns = argc > 9 ? atoi (argv[9]) : 32;
    bool with_erp = erp_port > 0;
    long total = (long) (rate * seconds);
    if (rate <= 0 || total < 1 || nconns < 1) {
        fprintf (stderr, "bridge_fresh: bad RATE, SECONDS or CONNS\n");
        return 2;
    }

    //  The requests, made up front.
    FILE *f = fopen (argv[6], "r");
    if (!f) {
        perror (argv[6]);
        return 1;
    }
    char **reqs = calloc ((size_t) total, sizeof *reqs);
    size_t *req_len = calloc ((size_t) total, sizeof *req_len);
    char *line = NULL;
    size_t cap = 0;
    long nreq = 0;
    ssize_t got;
    while (nreq < total && (got = getline (&line, &cap, f)) > 1) {
        line[--got] = 0;
        size_t size = (size_t) got + 512;
        reqs[nreq] = malloc (size);
        req_len[nreq] = (size_t) snprintf (reqs[nreq], size,
                                           "POST /api/v1/customers HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                           "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
                                           "Content-Length: %zd\r\n\r\n%s",
                                           crm_token, got, line);
        nreq++;
    }
    free (line);
    fclose (f);
    if (nreq < total) {
        fprintf (stderr, "bridge_fresh: %ld bodies for %ld writes\n", nreq, total);
        return 1;
    }
    for (s_nslots = 1024; s_nslots < (size_t) total * 4; s_nslots *= 2)
        ;
    s_slots = calloc (s_nslots, sizeof *s_slots);
    double *due_at = calloc ((size_t) total, sizeof *due_at);
    double *lag = calloc ((size_t) total, sizeof *lag);
    double *post = calloc ((size_t) total, sizeof *post);
    double *post_of = calloc ((size_t) total, sizeof *post_of);
    s_slot_t **slot_of = calloc ((size_t) total, sizeof *slot_of);
    s_conn_t *conns = calloc ((size_t) nconns + 1, sizeof *conns);
    zmq_pollitem_t *items = calloc ((size_t) nconns + 2, sizeof *items);
    if (!s_slots || !due_at || !lag || !post || !post_of || !slot_of || !conns || !items)
        return 1;
    for (int i = 0; i < nconns + with_erp; i++) {
        conns[i].fd = s_connect (i < nconns ? crm_port : erp_port);
        conns[i].write = -1;
    }
    s_conn_t *checker = &conns[nconns];

    void *ctx = zmq_ctx_new ();
    void *sub = zmq_socket (ctx, ZMQ_SUB);
    int zero = 0;
    zmq_setsockopt (sub, ZMQ_RCVHWM, &zero, sizeof zero);
    zmq_setsockopt (sub, ZMQ_SUBSCRIBE, "erp.customer.created", 20);
    //  BENCH_CRM_PUB: CRM's event endpoint too, to split each write's
    //  freshness into CRM's part (201 to crm.customer.created) and the
    //  bridge's and ERP's (that event to ERP's).
    const char *crm_pub = getenv ("BENCH_CRM_PUB");
    bool with_crm = with_erp && crm_pub && *crm_pub;
    void *crm_sub = zmq_socket (ctx, ZMQ_SUB);
    zmq_setsockopt (crm_sub, ZMQ_RCVHWM, &zero, sizeof zero);
    zmq_setsockopt (crm_sub, ZMQ_SUBSCRIBE, "crm.customer.created", 20);
    if (with_crm && zmq_connect (crm_sub, crm_pub) != 0) {
        fprintf (stderr, "bridge_fresh: zmq_connect %s: %s\n", crm_pub, zmq_strerror (errno));
        return 1;
    }
    if (with_erp && zmq_connect (sub, erp_pub) != 0) {
        fprintf (stderr, "bridge_fresh: zmq_connect %s: %s\n", erp_pub, zmq_strerror (errno));
        return 1;
    }
    if (with_erp)
        usleep (500 * 1000);  //  the subscription reaches the publisher

    long step = total / SAMPLE > 0 ? total / SAMPLE : 1;
    long next = 0, queued = 0, answered = 0, errors = 0, seen = 0, checked = 0, check_ok = 0;
    size_t nposts = 0;
    double check_after[SAMPLE + 1];
    int idle = nconns;
    double start = s_now (), last_answer = start, give_up = INFINITY;
    char msg[65536], id[ID_SIZE];

    for (;;) {
        double now = s_now ();
        if (answered + errors == total) {
            if (give_up == INFINITY)
                give_up = now + 10;  //  the last events get 10 s
            if (!with_erp || now > give_up || seen >= answered)
                break;
        }
        //  Due writes go out on idle connections; the others wait in order.
        while (next < total && start + (double) next / rate <= now)
            due_at[next] = start + (double) next / rate, next++;
        for (int i = 0; i < nconns && queued < next && idle > 0; i++) {
            if (conns[i].write >= 0)
                continue;
            conns[i].write = queued;
            conns[i].len = 0;
            lag[queued] = s_now () - due_at[queued];
            s_send_all (conns[i].fd, reqs[queued], req_len[queued]);
            queued++;
            idle--;
        }
        for (int i = 0; i < nconns; i++)
            items[i] = (zmq_pollitem_t) { .fd = conns[i].fd, .events = ZMQ_POLLIN };
        items[nconns] = (zmq_pollitem_t) { .socket = sub, .events = ZMQ_POLLIN };
        items[nconns + 1] = (zmq_pollitem_t) { .socket = crm_sub, .events = ZMQ_POLLIN };
        long timeout = 100;
        if (next < total) {
            double d = start + (double) next / rate - s_now ();
            timeout = d <= 0 ? 0 : (long) ceil (d * 1000.0);
        }
        if (zmq_poll (items, nconns + with_erp + with_crm, timeout) < 0 && errno != EINTR) {
            fprintf (stderr, "bridge_fresh: zmq_poll: %s\n", zmq_strerror (errno));
            return 1;
        }
        for (int i = 0; i < nconns; i++) {
            s_conn_t *c = &conns[i];
            if (!(items[i].revents & ZMQ_POLLIN))
                continue;
            ssize_t r = recv (c->fd, c->buf + c->len, BUF_SIZE - c->len - 1, MSG_DONTWAIT);
            if (r <= 0) {
                fprintf (stderr, "bridge_fresh: CRM closed a connection\n");
                return 1;
            }
            c->len += (size_t) r;
            int status;
            char *body;
            size_t body_len;
            if (c->write < 0 || !s_response (c->buf, c->len, &status, &body, &body_len))
                continue;
            double t = s_now ();
            if (status == 201)
                post[nposts++] = post_of[c->write] = (t - due_at[c->write]) * 1000.0;
            if (status == 201 && s_json_str (body, body_len, "id", id, sizeof id)) {
                s_slot_t *s = s_slot (id);
                s->answered = t;
                s->sampled = c->write % step == 0 && checked < SAMPLE;
                slot_of[c->write] = s;
                answered++;
                last_answer = t;
                if (!isnan (s->seen))
                    seen++;
            } else {
                if (errors++ < 5)
                    fprintf (stderr, "bridge_fresh: status %d: %.*s\n", status, (int) body_len, body);
            }
            c->write = -1;
            idle++;
        }
        while (with_crm && items[nconns + 1].revents & ZMQ_POLLIN) {
            int n = s_event (crm_sub, msg, sizeof msg);
            if (n == -1)
                break;
            if (n >= 0 && s_json_str (msg, (size_t) n, "entity_id", id, sizeof id)) {
                s_slot_t *s = s_slot (id);
                if (isnan (s->published))
                    s->published = s_now ();
            }
        }
        while (with_erp && items[nconns].revents & ZMQ_POLLIN) {
            int n = s_event (sub, msg, sizeof msg);
            if (n == -1)
                break;
            double t = s_now ();
            if (n < 0 || !s_json_str (msg, (size_t) n, "crm_id", id, sizeof id))
                continue;
            s_slot_t *s = s_slot (id);
            if (!isnan (s->seen))
                continue;
            s->seen = t;
            if (!isnan (s->answered)) {
                seen++;
                if (s->sampled && checked < SAMPLE) {
                    bool ok = s_check (checker, erp_token, id);
                    check_after[checked++] = (s_now () - t) * 1000.0;
                    check_ok += ok;
                }
            }
        }
    }

    //  Freshness of every answered write whose event arrived.
    double *lat = calloc ((size_t) total, sizeof *lat);
    size_t nlat = 0, negative = 0;
    for (long i = 0; i < total; i++) {
        const s_slot_t *s = slot_of[i];
        if (s && !isnan (s->seen) && !isnan (s->answered)) {
            lat[nlat] = (s->seen - s->answered) * 1000.0;
            negative += lat[nlat] < 0;
            nlat++;
        }
    }
    qsort (lat, nlat, sizeof *lat, s_cmp);
    qsort (lag, (size_t) queued, sizeof *lag, s_cmp);
    qsort (check_after, (size_t) checked, sizeof *check_after, s_cmp);
    qsort (post, nposts, sizeof *post, s_cmp);
    printf ("rate=%g achieved_per_s=%.1f writes=%ld errors=%ld seen=%zu p50_ms=%.2f p99_ms=%.2f max_ms=%.2f "
            "negative=%zu send_lag_p99_ms=%.2f checked=%ld check_ok=%ld check_after_ms_p50=%.2f post_p50_ms=%.2f "
            "post_p99_ms=%.2f post_max_ms=%.2f\n",
            rate, (double) answered / (last_answer - start), answered, errors, nlat, s_pct (lat, nlat, 50),
            s_pct (lat, nlat, 99), nlat ? lat[nlat - 1] : NAN, negative,
            s_pct (lag, (size_t) queued, 99) * 1000.0, checked, check_ok,
            s_pct (check_after, (size_t) checked, 50), s_pct (post, nposts, 50), s_pct (post, nposts, 99),
            nposts ? post[nposts - 1] : NAN);

    const char *timeline = getenv ("BENCH_TIMELINE");
    FILE *tl = timeline && *timeline ? fopen (timeline, "w") : NULL;
    if (timeline && *timeline && !tl)
        fprintf (stderr, "bridge_fresh: cannot write %s\n", timeline);
    for (long i = 0; tl && i < total; i++)
        if (post_of[i] > 0) {
            const s_slot_t *s = slot_of[i];
            double fresh = s && !isnan (s->seen) && !isnan (s->answered)
                               ? (s->seen - s->answered) * 1000.0
                               : NAN;
            double crm = s && !isnan (s->published) && !isnan (s->answered)
                             ? (s->published - s->answered) * 1000.0
                             : NAN;
            fprintf (tl, "%.3f %.3f %.3f %.3f\n", (due_at[i] - start) * 1000.0, post_of[i], fresh, crm);
        }
    if (tl)
        fclose (tl);

    zmq_close (sub);
    zmq_close (crm_sub);
    zmq_ctx_term (ctx);
    for (int i = 0; i < nconns + with_erp; i++)
        close (conns[i].fd);
    for (long i = 0; i < total; i++)
        free (reqs[i]);
    free (reqs);
    free (req_len);
    free (s_slots);
    free (due_at);
    free (lag);
    free (post);
    free (post_of);
    free (slot_of);
    free (conns);
    free (items);
    free (lat);
    return 0;
}

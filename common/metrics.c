//  metrics: fixed-size registry; entries are never removed, so a pointer
//  handed out stays valid for the life of the process.
#include "metrics.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define METRICS_MAX 1024
#define METRICS_MAX_COLLECT 16

typedef struct {
    char *name;
    char *labels;
    const char *kind;
    const char *help;
    metric_t metric;
} s_entry_t;

static s_entry_t s_entries[METRICS_MAX];
static int s_count;
static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    metrics_collect_fn *fn;
    void *arg;
} s_collect[METRICS_MAX_COLLECT];
static int s_ncollect;

metric_t *
metrics_get (const char *name, const char *labels, const char *kind, const char *help)
{
    metric_t *found = NULL;
    pthread_mutex_lock (&s_lock);
    for (int i = 0; i < s_count && !found; i++)
        if (strcmp (s_entries[i].name, name) == 0
            && strcmp (s_entries[i].labels, labels ? labels : "") == 0)
            found = &s_entries[i].metric;
    if (!found && s_count < METRICS_MAX) {
        s_entry_t *e = &s_entries[s_count];
        e->name = strdup (name);
        e->labels = strdup (labels ? labels : "");
        e->kind = kind;
        e->help = help;
        if (e->name && e->labels) {
            found = &e->metric;
            s_count++;
        }
        else {
            free (e->name);
            free (e->labels);
        }
    }
    pthread_mutex_unlock (&s_lock);
    return found;
}

void
metrics_on_collect (metrics_collect_fn *fn, void *arg)
{
    pthread_mutex_lock (&s_lock);
    if (s_ncollect < METRICS_MAX_COLLECT) {
        s_collect[s_ncollect].fn = fn;
        s_collect[s_ncollect].arg = arg;
        s_ncollect++;
    }
    pthread_mutex_unlock (&s_lock);
}

char *
metrics_render (void)
{
    pthread_mutex_lock (&s_lock);
    int ncollect = s_ncollect;
    pthread_mutex_unlock (&s_lock);
    for (int i = 0; i < ncollect; i++)
        s_collect[i].fn (s_collect[i].arg);

    char *buf = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&buf, &size);
    if (!out)
        return NULL;
    pthread_mutex_lock (&s_lock);
    //  Prometheus wants every family in one group: print each name once,
    //  with all its label sets, in order of first registration.
    for (int i = 0; i < s_count; i++) {
        s_entry_t *e = &s_entries[i];
        bool seen = false;
        for (int j = 0; j < i && !seen; j++)
            seen = strcmp (s_entries[j].name, e->name) == 0;
        if (seen)
            continue;
        fprintf (out, "# HELP %s %s\n# TYPE %s %s\n", e->name, e->help ? e->help : e->name,
                 e->name, e->kind ? e->kind : "counter");
        for (int j = i; j < s_count; j++) {
            s_entry_t *m = &s_entries[j];
            if (strcmp (m->name, e->name) != 0)
                continue;
            long long v = (long long) atomic_load (&m->metric.value);
            if (*m->labels)
                fprintf (out, "%s{%s} %lld\n", m->name, m->labels, v);
            else
                fprintf (out, "%s %lld\n", m->name, v);
        }
    }
    pthread_mutex_unlock (&s_lock);
    fclose (out);
    return buf;
}

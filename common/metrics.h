//  metrics: a process-wide registry of counters and gauges rendered in the
//  Prometheus text format. Counters are atomics, so the hot path is one
//  atomic add; gauges may be read through a callback at scrape time.
#ifndef COMMON_METRICS_H
#define COMMON_METRICS_H

#include <stdatomic.h>
#include <stdint.h>

typedef struct {
    _Atomic int64_t value;
} metric_t;

//  The metric `name{labels}` (labels like `route="/x",code="2xx"`, or NULL),
//  created on first call. Same name and labels, same metric. kind is
//  "counter" or "gauge". Returns NULL only when the registry is full.
metric_t *
    metrics_get (const char *name, const char *labels, const char *kind, const char *help);

static inline void
metric_add (metric_t *m, int64_t delta)
{
    if (m)
        atomic_fetch_add_explicit (&m->value, delta, memory_order_relaxed);
}

static inline void
metric_set (metric_t *m, int64_t v)
{
    if (m)
        atomic_store_explicit (&m->value, v, memory_order_relaxed);
}

//  A callback run at scrape time, to refresh gauges from live state.
typedef void (metrics_collect_fn) (void *arg);
void
    metrics_on_collect (metrics_collect_fn *fn, void *arg);

//  Render every metric. Caller frees.
char *
    metrics_render (void);

#endif

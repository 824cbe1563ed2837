//  stats: what a source's worker shows (bridge.h, source_stats_t): its
//  last error and the history of samples for the console's chart. Written
//  by the worker and its pipeline, read by the HTTP threads.
#include "bridge.h"

#include <stdio.h>

void
stats_error (source_stats_t *st, const char *fmt, const char *a, const char *b)
{
    pthread_mutex_lock (&st->lock);
    if (fmt)
        snprintf (st->last_error, sizeof st->last_error, fmt, a ? a : "", b ? b : "");
    else
        st->last_error[0] = '\0';
    pthread_mutex_unlock (&st->lock);
}

void
stats_sample (source_stats_t *st, int64_t now_ms)
{
    pthread_mutex_lock (&st->lock);
    if (now_ms >= st->next_sample_ms) {
        int64_t applied = atomic_load (&st->last_applied_seq), last = atomic_load (&st->source_last_seq);
        int64_t since = atomic_load (&st->behind_since_ms);
        int slot = (st->history_head + st->history_count) % STATS_HISTORY;
        if (st->history_count == STATS_HISTORY)
            st->history_head = (st->history_head + 1) % STATS_HISTORY;
        else
            st->history_count++;
        st->history[slot] = (stats_sample_t) {
            .at_ms = now_ms,
            .applied = atomic_load (&st->applied),
            .lag_seq = last > applied ? last - applied : 0,
            .lag_ms = since ? now_ms - since : 0,
            .connected = atomic_load (&st->connected),
        };
        st->next_sample_ms = now_ms + STATS_SAMPLE_MS;
    }
    pthread_mutex_unlock (&st->lock);
}

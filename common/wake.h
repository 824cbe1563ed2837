//  wake: how one thread tells another, waiting on a condition variable,
//  why to wake (work to do, or stop): the flag is set under the lock the
//  waiter checks it under, so the signal cannot be lost.
#ifndef COMMON_WAKE_H
#define COMMON_WAKE_H

#include <pthread.h>
#include <stdbool.h>

//  Sets *flag and signals cond, holding lock.
void wake_with (pthread_mutex_t *lock, pthread_cond_t *cond, bool *flag);

#endif

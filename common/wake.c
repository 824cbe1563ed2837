//  wake: see wake.h.
#include "wake.h"

void
wake_with (pthread_mutex_t *lock, pthread_cond_t *cond, bool *flag)
{
    pthread_mutex_lock (lock);
    *flag = true;
    pthread_cond_signal (cond);
    pthread_mutex_unlock (lock);
}

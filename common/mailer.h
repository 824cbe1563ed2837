//  mailer: the outgoing mail of a service, sent once. A mail is queued in
//  the transaction that decides it (a task's reminder), with a key that
//  makes it once (kind, ref); a periodic task sends what is due through
//  the configured SMTP server, outside any transaction, and records the
//  server's answer. A mail whose sending was cut off (the process stopped
//  between handing it to the server and recording the answer) is never
//  sent again: the server may have it, and a person must not get the same
//  mail twice; it is recorded as failed, "interrupted".
#ifndef COMMON_MAILER_H
#define COMMON_MAILER_H

#include "config.h"
#include "db.h"
#include "err.h"
#include "smtp.h"

#include <stdbool.h>

//  The table mail_queue (migration "mail.1" of each program).
extern const char mailer_migration_sql[];

//  Set once at start-up by the service: where mail goes (copied), or NULL
//  when the service has no SMTP server configured (then nothing is queued).
void
    mailer_configure (const smtp_config_t *cfg);
bool
    mailer_configured (void);

//  Read the options --smtp-url (smtp://host:port or smtps://…; absent: no
//  mail), --smtp-from, --smtp-starttls (yes/no), --smtp-user and
//  --smtp-password-file (the password's file, never the password on the
//  command line), --smtp-ca-file (the CAs a private server's certificate
//  is trusted by) and configure. ERR_INVALID with a message on a bad value.
err_t
    mailer_config_read (config_t *config, err_info_t *err);

//  The address people reach the service at, for links in mails
//  (--public-url; without it http://<--http>), without a trailing "/".
const char *
    mailer_public_url (void);

//  The periodic task of a service with mail (service_every): on its first
//  run mailer_recover, then mailer_send_due.
void
    mailer_tick (db_t *db, void *arg);

//  Queue a mail in the caller's transaction, unless one of (kind, ref) is
//  queued already; *queued (may be NULL) says whether this one was. Does
//  nothing (ERR_OK, not queued) when no SMTP server is configured.
//  unsubscribe (may be NULL): the URL of the List-Unsubscribe header.
err_t
    mailer_queue (db_t *db, const char *kind, const char *ref, const char *to, const char *subject,
                  const char *text, const char *unsubscribe, bool *queued, err_info_t *err);

//  Whether an SMS gateway is configured (--sms-url).
bool
    mailer_sms_configured (void);

//  Queue a text message to the phone number to, like mailer_queue: once
//  per (kind, ref), sent through the SMS gateway; nothing when none is
//  configured.
err_t
    mailer_queue_sms (db_t *db, const char *kind, const char *ref, const char *to, const char *text, bool *queued,
                      err_info_t *err);

//  Told, in the transaction that records it, what became of a mail of
//  kind: status "sent" or "failed" (for good; a mail due again is not
//  told), the server's reply code (0: none) and error (NULL when sent).
//  At most MAILER_KINDS kinds, registered at set-up.
#define MAILER_KINDS 8
typedef err_t (mailer_result_fn) (db_t *db, const char *ref, const char *status, long reply,
                                  const char *error, err_info_t *err);
void
    mailer_on_result (const char *kind, mailer_result_fn *fn);

//  At start-up: mails left "sending" by a stopped process become failed
//  ("interrupted"), never sent again. *n gets how many.
err_t
    mailer_recover (db_t *db, int *n, err_info_t *err);

//  Send up to max mails that are due, each in three steps: marked sending
//  (committed), handed to the server, its answer recorded (committed): sent,
//  failed for good (a 5xx answer, or the last of MAILER_ATTEMPTS), or due
//  again after a wait. *sent and *failed get the counts.
#define MAILER_ATTEMPTS 5
err_t
    mailer_send_due (db_t *db, int max, int *sent, int *failed, err_info_t *err);

#endif

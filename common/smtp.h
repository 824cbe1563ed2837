//  smtp: one e-mail through a real SMTP server, with libcurl (smtp:// or
//  smtps://, STARTTLS on demand, AUTH with user and password).
#ifndef SMTP_H_INCLUDED
#define SMTP_H_INCLUDED

#include "err.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    const char *url;        //  "smtp://host:port" or "smtps://host:port"
    bool starttls;          //  smtp:// only: require STARTTLS before anything else
    const char *user;       //  NULL: no AUTH
    const char *password;   //  never logged, never put in an error
    const char *from;       //  envelope sender and From: address
    long timeout_ms;        //  whole exchange; 0: 30 s
    const char *ca_file;    //  PEM file of the CAs to trust (a private CA); NULL: the system's
} smtp_config_t;

typedef struct {
    const char *to;             //  one recipient address
    const char *subject;        //  UTF-8; encoded (RFC 2047) when not ASCII
    const char *text;           //  UTF-8 body, plain text
    const char *message_id;     //  "<…@…>" or NULL
    const char *unsubscribe;    //  URL for List-Unsubscribe, or NULL
} smtp_message_t;

//  The whole message (headers and body, CRLF line ends) for msg sent as
//  cfg->from, in a new string the caller frees; NULL with ERR_INVALID
//  when a header value holds a line break or an address is unusable.
char *
    smtp_format (const smtp_config_t *cfg, const smtp_message_t *msg, err_info_t *err);

//  Send msg. ERR_OK when the server accepted it. Otherwise ERR_INVALID
//  (the message could not be formed) or ERR_IO with the server's answer
//  or the transport's error in err's message (with the server's answer
//  line when it refused; never the password); reply, when not NULL, gets the server's last reply code (0 if none).
err_t
    smtp_send (const smtp_config_t *cfg, const smtp_message_t *msg, long *reply, err_info_t *err);

#endif

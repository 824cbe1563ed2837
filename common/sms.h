//  sms: one text message through an HTTP SMS gateway, with libcurl. The
//  gateway is configured by URL: the message is POSTed there as JSON
//  {"to": "+420…", "from"?: "…", "text": "…"}, with "Authorization: Bearer
//  <token>" when a token is given. A 2xx answer means accepted; any other
//  is the gateway's refusal (its status and the start of its body).
#ifndef COMMON_SMS_H
#define COMMON_SMS_H

#include "err.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    const char *url;        //  http:// or https:// of the gateway's send endpoint
    const char *token;      //  bearer token, or NULL; never logged, never in an error
    const char *from;       //  sender id or number, or NULL
    long timeout_ms;        //  0: 15 s
} sms_config_t;

//  Whether to is a phone number a gateway takes: "+" and 6 to 15 digits,
//  spaces, dashes, dots and brackets allowed between them.
bool
    sms_number_ok (const char *to);

//  The number in E.164 shape ("+" and digits) into out (at least 17 bytes).
void
    sms_number_clean (const char *to, char *out, size_t size);

//  Send text to to. ERR_OK when the gateway answered 2xx. ERR_INVALID for
//  a number or text that cannot be sent; ERR_IO with the gateway's status
//  (*status, 0 when it never answered) and answer or the transport's error
//  in err's message.
err_t
    sms_send (const sms_config_t *cfg, const char *to, const char *text, long *status, err_info_t *err);

#endif

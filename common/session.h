//  session: the sign-in routes every program serves (DESIGN.md §3a):
//  POST|GET|PATCH|DELETE /api/v1/session, POST /api/v1/session/password,
//  and the admins' POST /api/v1/users/{id}/password. The cookie and the
//  CSRF check live in common/http.c, sessions and passwords in common/auth.c.
#ifndef COMMON_SESSION_H
#define COMMON_SESSION_H

#include "http.h"

//  Register the session routes (and the admin's password reset when
//  with_users: programs that have a users resource).
void
    session_routes (http_server_t *http, bool with_users);

#endif

/* dom_session.c - the session id rule and the key builders of dom_session.h. The only
 * file that spells a per-session key; the Lua text is in dom_session_lua.c. */
#include "dom_session.h"

#include <stdio.h>

int dom_sid_valid(const char *s, size_t n)
{
    if (!s || n != DOM_SID_LEN) return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return 0;
    return 1;
}

static dom_key key(const char *fmt, const char *sid)
{
    dom_key k;
    snprintf(k.s, sizeof k.s, fmt, sid);
    return k;
}

dom_key dom_key_sess(const char *sid)
{
    return key("sess:{%s}", sid);
}
dom_key dom_key_ans(const char *sid)
{
    return key("sess:{%s}:ans", sid);
}
dom_key dom_key_cap(const char *sid)
{
    return key("sess:{%s}:cap", sid);
}
dom_key dom_key_missing(const char *sid)
{
    return key("proctor:missing:{%s}", sid);
}

/* dom_session.c - the session id rule and the key builders of dom_session.h. The only
 * file that spells a per-session key; the Lua text is in dom_session_lua.c. */
#include "dom_session.h"

#include <stdio.h>
#include <string.h>

int dom_sid_valid(const char *s, size_t n)
{
    if (!s || n != DOM_SID_LEN) return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return 0;
    return 1;
}

/* pre + sid (at most DOM_SID_LEN characters) + suf; memcpy, not snprintf: the answer
 * save builds two keys per request */
static dom_key key(const char *pre, const char *sid, const char *suf)
{
    dom_key k;
    size_t a = strlen(pre), b = strnlen(sid, DOM_SID_LEN), c = strlen(suf);
    _Static_assert(sizeof "proctor:missing:{}" + DOM_SID_LEN <= DOM_KEY_MAX, "DOM_KEY_MAX");
    memcpy(k.s, pre, a);
    memcpy(k.s + a, sid, b);
    memcpy(k.s + a + b, suf, c + 1);
    return k;
}

dom_key dom_key_sess(const char *sid)
{
    return key("sess:{", sid, "}");
}
dom_key dom_key_ans(const char *sid)
{
    return key("sess:{", sid, "}:ans");
}
dom_key dom_key_cap(const char *sid)
{
    return key("sess:{", sid, "}:cap");
}
dom_key dom_key_missing(const char *sid)
{
    return key("proctor:missing:{", sid, "}");
}

dom_key dom_key_dep(const char *sid)
{
    return key("sess:{", sid, "}:dep");
}
dom_key dom_key_dev(const char *sid)
{
    return key("sess:{", sid, "}:dev");
}

dom_key dom_key_live(long long pid)
{
    dom_key k;
    snprintf(k.s, sizeof k.s, "live:%lld", pid);
    return k;
}

dom_key dom_key_wait(long long cycle, long long opens_ms)
{
    dom_key k;
    snprintf(k.s, sizeof k.s, "wait:%lld:%lld", cycle, opens_ms);
    return k;
}

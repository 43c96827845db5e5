/* dom_audit.c - one INSERT INTO audit_log for every module (see dom_audit.h). */
#include "dom_audit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dk_json.h"

static const char *role_of(const char *type)
{
    static const struct {
        const char *type, *role;
    } t[] = {{DOM_ACTOR_PHYSICIAN, "医师"},
             {DOM_ACTOR_INSTITUTION, "医疗卫生机构"},
             {DOM_ACTOR_ASSESSOR, "考核机构"},
             {DOM_ACTOR_AUTHORITY, "卫生行政部门"}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (!strcmp(t[i].type, type)) return t[i].role;
    return "系统";
}

int dom_audit(MYSQL *db, const dom_audit_row *r, dk_error *err)
{
    const char *type = r->actor_type ? r->actor_type : DOM_ACTOR_SYSTEM;
    char eid[72];
    if (r->entity_sid)
        snprintf(eid, sizeof eid, "%s", r->entity_sid);
    else
        snprintf(eid, sizeof eid, "%lld", r->entity_id);
    char *d = r->detail ? dk_json_dump(r->detail) : NULL;
    dk_param p[] = {DK_PSTR(type),
                    r->actor_id ? DK_PINT(r->actor_id) : DK_PNULL,
                    DK_PSTR(r->role ? r->role : role_of(type)),
                    DK_PSTR(r->action),
                    DK_PSTR(r->entity_type),
                    DK_PSTR(eid),
                    r->from && *r->from ? DK_PSTR(r->from) : DK_PNULL,
                    r->to && *r->to ? DK_PSTR(r->to) : DK_PNULL,
                    r->reason && *r->reason ? DK_PSTR(r->reason) : DK_PNULL,
                    d ? DK_PSTR(d) : DK_PNULL,
                    r->ip && *r->ip ? DK_PSTR(r->ip) : DK_PNULL};
    int rc =
        dk_mysql_exec(db,
                      "INSERT INTO audit_log (actor_type, actor_id, role, action, entity_type, "
                      "entity_id, from_status, to_status, reason, detail, ip) "
                      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, LEFT(?, 2000), ?, ?)",
                      p, 11, NULL, NULL, err);
    free(d);
    return rc;
}

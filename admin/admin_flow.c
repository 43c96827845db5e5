/* admin_flow.c - admind's glue to the workflow table of domain/dom_flow.c: the actor of
 * the request (with its address for the audit log) and the cycle an action on "the
 * current cycle" means. Every status change itself is the domain's. Database threads. */
#include <string.h>

#include "admin_internal.h"

int admin_flow_run(admin_job *j, MYSQL *db, admin_entity e, const char *action, long long key,
                   const char *skey, json_t *body, json_t **out)
{
    dom_flow_target t = {.entity = e, .action = action, .key = key, .sid = skey};
    if ((e == DOM_E_ENROLMENT && !strcmp(action, "confirm")) ||
        (e == DOM_E_APPLICATION && !strcmp(action, "apply"))) {
        int rc = admin_cycle_for(j, db, j->actor.path, &t.cycle_id);
        if (rc) return rc;
    }
    snprintf(j->actor.ip, sizeof j->actor.ip, "%s", j->ip);
    return dom_flow_run(db, &j->actor, &t, body, out, &j->err);
}

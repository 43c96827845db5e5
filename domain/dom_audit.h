/* dom_audit.h - the one writer of audit_log. Every row has one shape: who (actor type,
 * id, role name), what (action on entity type + id), the status change (from, to), why
 * (reason), a JSON detail and the address. Blocking: database threads only, inside the
 * caller's transaction when it has one, so a change and its audit row commit together. */
#ifndef DOM_AUDIT_H
#define DOM_AUDIT_H

#include <jansson.h>

#include "dk_mysql.h"

/* actor types (audit_log.actor_type) */
#define DOM_ACTOR_SYSTEM "system"
#define DOM_ACTOR_PHYSICIAN "physician"
#define DOM_ACTOR_INSTITUTION "institution"
#define DOM_ACTOR_ASSESSOR "assessor"
#define DOM_ACTOR_AUTHORITY "authority"
#define DOM_ACTOR_REVIEWER "reviewer" /* an institution's 信息审核员 (institution_reviewer) */

typedef struct dom_audit_row {
    const char *actor_type; /* DOM_ACTOR_*; NULL: system */
    long long actor_id;     /* 0: none (system, or an unknown account) */
    const char *role;   /* role name as the pages show it (医师, 系统, ...); NULL: from type */
    const char *action; /* login, login_failed, submit, test_scored, inst_pass, ... */
    const char *entity_type;
    long long entity_id;    /* used when entity_sid is NULL */
    const char *entity_sid; /* a string id (exam session) */
    const char *from, *to;  /* statuses; NULL or "": none */
    const char *reason;     /* cut to 2,000 characters */
    json_t *detail;         /* not stolen; NULL: none */
    const char *ip;         /* NULL or "": none */
} dom_audit_row;

int dom_audit(MYSQL *db, const dom_audit_row *r, dk_error *err);

#endif

/* exam_internal.h - what the exam engine's files share: the server, its pools and the
 * handlers of the route table. Not a public contract. */
#ifndef EXAM_INTERNAL_H
#define EXAM_INTERNAL_H

#include "dk_http.h"
#include "dk_mysql.h"
#include "dk_workq.h"
#include "exam.h"

struct exam_server {
    const dk_config *cfg;
    dk_http_server *http;
    dk_workq *db; /* MariaDB threads (dk_dbconn contexts) */
};

void exam_healthz(dk_req *rq);
void exam_metrics(dk_req *rq);

#endif

/* bench_bare.c - the ceiling: a bare libevent HTTP server (`dkbench bare`) built like
 * examd's HTTP layer (N loops, one SO_REUSEPORT socket and one evhttp each, the same
 * limits and timeout) that answers every request with 200 {"ok":true} and does nothing
 * else: no routing, no token check, no Redis. Whatever examd does beyond this is what
 * the saturation ratio prices. Runs until SIGTERM/SIGINT; only on 127.0.0.1. */
#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/thread.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench_internal.h"
#include "dk_log.h"

typedef struct bare_loop {
    struct event_base *base;
    struct evhttp *http;
    struct evbuffer *reply;
    pthread_t tid;
} bare_loop;

static void bare_cb(struct evhttp_request *req, void *arg)
{
    bare_loop *l = arg;
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", "application/json; charset=utf-8");
    evbuffer_add(l->reply, "{\"ok\":true}", 11);
    evhttp_send_reply(req, 200, "OK", l->reply);
}

static int bare_socket(int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0) return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 4096) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void *bare_thread(void *arg)
{
    bare_loop *l = arg;
    event_base_dispatch(l->base);
    return NULL;
}

int bench_bare_main(int port, int loops)
{
    if (loops <= 0) loops = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (loops <= 0) loops = 1;
    evthread_use_pthreads();
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    bare_loop *l = dk_calloc((size_t)loops, sizeof *l);
    for (int i = 0; i < loops; i++) {
        int fd = bare_socket(port);
        if (fd < 0) {
            fprintf(stderr, "dkbench bare: cannot listen on 127.0.0.1:%d\n", port);
            return 1;
        }
        l[i].base = event_base_new();
        l[i].http = evhttp_new(l[i].base);
        l[i].reply = evbuffer_new();
        evhttp_set_max_body_size(l[i].http, 65536);
        evhttp_set_max_headers_size(l[i].http, 8192);
        evhttp_set_timeout(l[i].http, 15);
        evhttp_set_allowed_methods(l[i].http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT);
        evhttp_set_gencb(l[i].http, bare_cb, &l[i]);
        if (!evhttp_accept_socket_with_handle(l[i].http, fd)) {
            fprintf(stderr, "dkbench bare: evhttp_accept_socket failed\n");
            return 1;
        }
    }
    for (int i = 0; i < loops; i++)
        pthread_create(&l[i].tid, NULL, bare_thread, &l[i]);
    fprintf(stderr, "dkbench bare: listening on 127.0.0.1:%d with %d loops\n", port, loops);
    int sig;
    sigwait(&set, &sig);
    for (int i = 0; i < loops; i++)
        event_base_loopbreak(l[i].base);
    for (int i = 0; i < loops; i++) {
        pthread_join(l[i].tid, NULL);
        evhttp_free(l[i].http);
        evbuffer_free(l[i].reply);
        event_base_free(l[i].base);
    }
    free(l);
    return 0;
}

/*
 * A minimal SCPI responder for the socket benchmarks (BENCHMARKS.md, "Socket queries against a server
 * that is not ours"): the kind of raw-socket server an instrument runs, written in C so that the
 * server side costs the same for every client measured against it and shares nothing with the JVM.
 *
 *   scpi_responder [--port N] [--crlf] [--single] [--max-clients N] [--idn TEXT]
 *
 * Listens on 127.0.0.1 only (port 0, the default, picks a free one) and prints
 * "listening 127.0.0.1:<port>" on stdout once it accepts connections. Commands end with LF (a CR before
 * it is dropped); each line holds one command. Answers end with LF, or CR LF with --crlf.
 *
 *   *IDN?            the identity (--idn, default "LabHAL-Bench,C-Responder,0,1.0")
 *   *OPC?            1
 *   MEAS:VOLT?       a number that changes with every query, e.g. +1.000042E+00
 *   ECHO? <text>     <text> (SIM:ECHO? <text> too, as the Java simulator spells it)
 *   SYST:ERR?        the oldest error, or 0,"No error"
 *   *RST, *CLS       no answer (*CLS clears the errors)
 *   anything else    no answer; a query (a header ending in '?') or command it does not know queues
 *                    -113,"Undefined header", as an instrument does
 *
 * Two ways of serving:
 *   default     one thread, poll(): several clients at once (--max-clients, default 16; more are
 *               accepted and closed at once). Sockets are non-blocking; an answer the client does not
 *               read stays queued (at most OUT_LIMIT bytes per client, then its input is not read
 *               until the queue drains).
 *   --single    one client at a time: accept, serve it with blocking reads and writes until it closes,
 *               then accept the next (others wait in the backlog), as the simplest instruments do.
 *
 * Input is bounded per client: a line longer than LINE_LIMIT bytes is discarded up to its LF and
 * queues -223,"Too much data". SIGTERM or SIGINT ends it cleanly: the wait returns, every socket is
 * closed, counters go to stderr, exit status 0.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define LINE_LIMIT 4096   /* longest command line kept */
#define OUT_LIMIT 65536   /* most answer bytes queued for one client in poll mode */
#define ERROR_LIMIT 16    /* error queue depth, as small instruments have */
#define ANSWER_MAX (LINE_LIMIT + 64) /* longest answer with its ending; longer ones are cut */
#define MAX_CLIENTS_LIMIT 1000

struct client {
    int fd;
    char line[LINE_LIMIT];
    size_t line_length;
    int discarding;       /* inside a line that grew past LINE_LIMIT: drop bytes up to the LF */
    char in[LINE_LIMIT]; /* received, not yet taken: in[in_head, in_tail) */
    size_t in_head, in_tail;
    char out[OUT_LIMIT];
    size_t out_head, out_tail;
    int errors[ERROR_LIMIT];
    int error_count;
};

static volatile sig_atomic_t stopping;
static const char *idn = "LabHAL-Bench,C-Responder,0,1.0";
static const char *ending = "\n";
static unsigned long long served, connections, refused, overlong;

static void on_signal(int signal_number) {
    (void) signal_number;
    stopping = 1;
}

static void fail(const char *what) {
    perror(what);
    exit(2);
}

static void push_error(struct client *c, int code) {
    if (c->error_count < ERROR_LIMIT) {
        c->errors[c->error_count++] = code;
    } else {
        c->errors[ERROR_LIMIT - 1] = -350; /* queue overflow, as SCPI says */
    }
}

static const char *error_text(int code) {
    switch (code) {
        case -113: return "Undefined header";
        case -223: return "Too much data";
        case -350: return "Queue overflow";
        default: return "Error";
    }
}

/*
 * Queues an answer. Callers make sure ANSWER_MAX bytes are free first (see take), so nothing is
 * dropped; in --single mode the queue is written out after each read.
 */
static void answer(struct client *c, const char *format, ...) {
    char text[ANSWER_MAX - 2];
    va_list arguments;
    va_start(arguments, format);
    int n = vsnprintf(text, sizeof text, format, arguments);
    va_end(arguments);
    if (n < 0) {
        return;
    }
    if ((size_t) n >= sizeof text) {
        n = sizeof text - 1;
    }
    size_t end_length = strlen(ending);
    memcpy(c->out + c->out_tail, text, n);
    memcpy(c->out + c->out_tail + n, ending, end_length);
    c->out_tail += n + end_length;
    served++;
}

static int starts_with(const char *text, const char *prefix) {
    return strncasecmp(text, prefix, strlen(prefix)) == 0;
}

static void execute(struct client *c, char *command) {
    while (*command == ' ' || *command == '\t') {
        command++;
    }
    size_t length = strlen(command);
    while (length > 0 && (command[length - 1] == ' ' || command[length - 1] == '\t')) {
        command[--length] = '\0';
    }
    if (length == 0) {
        return;
    }
    if (strcasecmp(command, "*IDN?") == 0) {
        answer(c, "%s", idn);
    } else if (strcasecmp(command, "*OPC?") == 0) {
        answer(c, "1");
    } else if (strcasecmp(command, "MEAS:VOLT?") == 0) {
        static unsigned long long reading;
        answer(c, "%+.6E", 1.0 + (double) (reading++ % 1000) * 1e-6);
    } else if (starts_with(command, "ECHO? ") || starts_with(command, "SIM:ECHO? ")) {
        answer(c, "%s", strchr(command, ' ') + 1);
    } else if (strcasecmp(command, "SYST:ERR?") == 0) {
        if (c->error_count == 0) {
            answer(c, "0,\"No error\"");
        } else {
            int code = c->errors[0];
            memmove(c->errors, c->errors + 1, (size_t) (c->error_count - 1) * sizeof c->errors[0]);
            c->error_count--;
            answer(c, "%d,\"%s\"", code, error_text(code));
        }
    } else if (strcasecmp(command, "*CLS") == 0) {
        c->error_count = 0;
    } else if (strcasecmp(command, "*RST") == 0) {
        /* nothing to reset */
    } else {
        push_error(c, -113);
    }
}

/* Room for one more answer at the end of the queue, moving what is queued to the front if need be. */
static int room(struct client *c) {
    if (OUT_LIMIT - c->out_tail >= ANSWER_MAX) {
        return 1;
    }
    memmove(c->out, c->out + c->out_head, c->out_tail - c->out_head);
    c->out_tail -= c->out_head;
    c->out_head = 0;
    return OUT_LIMIT - c->out_tail >= ANSWER_MAX;
}

/*
 * Takes received bytes from c->in: complete lines are executed, a partial one is kept, an overlong
 * one dropped. Stops before a line end while the answer queue has no room for another answer; the
 * rest stays in c->in until the client has read some answers (bounded memory both ways).
 */
static void take(struct client *c) {
    while (c->in_head < c->in_tail) {
        char b = c->in[c->in_head];
        if (b == '\n' && !c->discarding && !room(c)) {
            return;
        }
        c->in_head++;
        if (b == '\n') {
            if (c->discarding) {
                c->discarding = 0;
            } else {
                if (c->line_length > 0 && c->line[c->line_length - 1] == '\r') {
                    c->line_length--;
                }
                c->line[c->line_length] = '\0';
                execute(c, c->line);
            }
            c->line_length = 0;
        } else if (!c->discarding) {
            if (c->line_length == LINE_LIMIT - 1) {
                c->discarding = 1;
                c->line_length = 0;
                overlong++;
                push_error(c, -223);
            } else {
                c->line[c->line_length++] = b;
            }
        }
    }
    c->in_head = c->in_tail = 0;
}

/* Reads what has arrived into c->in, which must be empty; the result of read(2). */
static ssize_t receive(struct client *c) {
    ssize_t n = read(c->fd, c->in, sizeof c->in);
    if (n > 0) {
        c->in_head = 0;
        c->in_tail = (size_t) n;
    }
    return n;
}

static int listen_on(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        fail("socket");
    }
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    struct sockaddr_in address = {0};
    address.sin_family = AF_INET;
    address.sin_port = htons((uint16_t) port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK); /* loopback only */
    if (bind(fd, (struct sockaddr *) &address, sizeof address) < 0) {
        fail("bind");
    }
    if (listen(fd, 16) < 0) {
        fail("listen");
    }
    socklen_t length = sizeof address;
    getsockname(fd, (struct sockaddr *) &address, &length);
    printf("listening 127.0.0.1:%d\n", ntohs(address.sin_port));
    fflush(stdout);
    return fd;
}

static void configure(int fd) {
    int on = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on); /* answers leave at once */
}

/* Writes everything queued, blocking; false when the client went away. */
static int flush_blocking(struct client *c) {
    while (c->out_head < c->out_tail) {
        ssize_t n = write(c->fd, c->out + c->out_head, c->out_tail - c->out_head);
        if (n < 0) {
            if (errno == EINTR && !stopping) {
                continue;
            }
            return 0;
        }
        c->out_head += (size_t) n;
    }
    c->out_head = c->out_tail = 0;
    return 1;
}

static void serve_single(int listener) {
    static struct client c;
    while (!stopping) {
        int fd = accept(listener, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) {
                continue;
            }
            perror("accept");
            sleep(1); /* e.g. out of descriptors: back off instead of spinning */
            continue;
        }
        configure(fd);
        connections++;
        memset(&c, 0, sizeof c);
        c.fd = fd;
        while (!stopping) {
            ssize_t n = receive(&c);
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n <= 0) {
                break;
            }
            int written = 1;
            while (written && c.in_head < c.in_tail) { /* a full queue goes out before the rest is taken */
                take(&c);
                written = flush_blocking(&c);
            }
            if (!written) {
                break;
            }
        }
        close(fd);
    }
}

static void serve_poll(int listener, int max_clients) {
    struct client **clients = calloc((size_t) max_clients, sizeof *clients);
    struct pollfd *fds = calloc((size_t) max_clients + 1, sizeof *fds);
    int *order = calloc((size_t) max_clients + 1, sizeof *order); /* fds[i] belongs to clients[order[i]] */
    if (clients == NULL || fds == NULL || order == NULL) {
        fail("calloc");
    }
    fcntl(listener, F_SETFL, fcntl(listener, F_GETFL) | O_NONBLOCK);
    while (!stopping) {
        int count = 0;
        fds[count].fd = listener;
        fds[count].events = POLLIN;
        count++;
        for (int i = 0; i < max_clients; i++) {
            struct client *c = clients[i];
            if (c == NULL) {
                continue;
            }
            fds[count].fd = c->fd;
            /* input waiting for room in the answer queue is taken before more is read: bounded memory */
            fds[count].events = (c->in_head == c->in_tail ? POLLIN : 0) | (c->out_head < c->out_tail ? POLLOUT : 0);
            order[count] = i;
            count++;
        }
        if (poll(fds, (nfds_t) count, -1) < 0) {
            if (errno == EINTR) {
                continue; /* SIGTERM sets stopping */
            }
            fail("poll");
        }
        for (int k = 1; k < count; k++) {
            struct client *c = clients[order[k]];
            int gone = (fds[k].revents & (POLLERR | POLLNVAL)) != 0;
            if (!gone && c->in_head == c->in_tail && (fds[k].revents & (POLLIN | POLLHUP))) {
                ssize_t n = receive(c);
                if (n > 0) {
                    take(c);
                } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                    gone = 1;
                }
            }
            if (!gone && c->out_head < c->out_tail) {
                ssize_t n = write(c->fd, c->out + c->out_head, c->out_tail - c->out_head);
                if (n > 0) {
                    c->out_head += (size_t) n;
                    if (c->out_head == c->out_tail) {
                        c->out_head = c->out_tail = 0;
                    }
                    take(c); /* input held back for want of room */
                } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
                    gone = 1;
                }
            }
            if (gone) {
                close(c->fd);
                free(c);
                clients[order[k]] = NULL;
            }
        }
        if (fds[0].revents & POLLIN) {
            int fd = accept(listener, NULL, NULL);
            if (fd >= 0) {
                int slot = -1;
                for (int i = 0; i < max_clients && slot < 0; i++) {
                    if (clients[i] == NULL) {
                        slot = i;
                    }
                }
                struct client *c = slot < 0 ? NULL : calloc(1, sizeof *c);
                if (c == NULL) {
                    refused++;
                    close(fd); /* full: refuse politely by closing */
                } else {
                    configure(fd);
                    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
                    c->fd = fd;
                    clients[slot] = c;
                    connections++;
                }
            } else if (errno == EMFILE || errno == ENFILE) {
                perror("accept");
                sleep(1); /* out of descriptors: back off instead of spinning */
            }
        }
    }
    for (int i = 0; i < max_clients; i++) {
        if (clients[i] != NULL) {
            close(clients[i]->fd);
            free(clients[i]);
        }
    }
    free(clients);
    free(fds);
    free(order);
}

int main(int argc, char **argv) {
    int port = 0;
    int single = 0;
    int max_clients = 16;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
            port = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--crlf") == 0) {
            ending = "\r\n";
        } else if (strcmp(argv[i], "--single") == 0) {
            single = 1;
        } else if (strcmp(argv[i], "--max-clients") == 0 && i + 1 < argc) {
            max_clients = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--idn") == 0 && i + 1 < argc) {
            idn = argv[++i];
        } else {
            fprintf(stderr, "usage: %s [--port N] [--crlf] [--single] [--max-clients N] [--idn TEXT]\n", argv[0]);
            return 2;
        }
    }
    if (port < 0 || port > 65535 || max_clients < 1 || max_clients > MAX_CLIENTS_LIMIT) {
        fprintf(stderr, "%s: --port 0..65535, --max-clients 1..%d\n", argv[0], MAX_CLIENTS_LIMIT);
        return 2;
    }
    struct sigaction action = {0};
    action.sa_handler = on_signal; /* no SA_RESTART: a blocked accept, read or poll returns EINTR */
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGINT, &action, NULL);
    signal(SIGPIPE, SIG_IGN); /* a client gone mid-write is an EPIPE, not a death */
    int listener = listen_on(port);
    if (single) {
        serve_single(listener);
    } else {
        serve_poll(listener, max_clients);
    }
    close(listener);
    fprintf(stderr, "scpi_responder: %llu connections, %llu refused, %llu answers, %llu overlong lines\n",
            connections, refused, served, overlong);
    return 0;
}

/*
 * A minimal HiSLIP responder for the HiSLIP benchmarks (BENCHMARKS.md, "HiSLIP against a C
 * responder"): the kind of HiSLIP server an instrument runs, written in C so that the server side
 * costs the same for every client measured against it and shares nothing with the JVM. The SCPI it
 * answers is that of scpi_responder.c; this file adds the HiSLIP framing (IVI-6.1), written from the
 * specification's message descriptions.
 *
 *   hislip_responder [--port N] [--max-clients N] [--idn TEXT]
 *
 * Listens on 127.0.0.1 only (port 0, the default, picks a free one) and prints
 * "listening 127.0.0.1:<port>" on stdout once it accepts connections. One thread serves every
 * connection with poll() and non-blocking sockets; a HiSLIP session is two connections, the
 * synchronous and the asynchronous channel. --max-clients caps connections (default 32, so 16
 * sessions); one more gets FatalError 4 and is closed.
 *
 * Every message starts with a 16-byte header: the prologue "HS", the message type, the control code,
 * the 32-bit message parameter and the 64-bit payload length, both big-endian. What it implements:
 *
 *   synchronous channel   Initialize (first message; answered with InitializeResponse: protocol 1.0,
 *                         synchronized mode, a new session id), Data and DataEND (the program message;
 *                         at DataEND it runs and its answer goes out as DataEND, split into Data
 *                         messages when longer than the client's maximum message size, each carrying
 *                         the message id of the DataEND that asked), Trigger (does nothing),
 *                         DeviceClearComplete (answered with DeviceClearAcknowledge)
 *   asynchronous channel  AsyncInitialize (first message, naming the session id; answered with
 *                         AsyncInitializeResponse, vendor "CR"), AsyncMaximumMessageSize (8-byte
 *                         payload; answered with ours), AsyncLock (request control 1, release
 *                         control 0), AsyncLockInfo, AsyncStatusQuery (MAV while an answer is queued,
 *                         EAV while errors are), AsyncRemoteLocalControl (0-6), AsyncDeviceClear
 *                         (answered with AsyncDeviceClearAcknowledge; the session's partial program
 *                         message and errors are dropped, and its synchronous input is discarded until
 *                         DeviceClearComplete)
 *   either                Error from the client is ignored, FatalError ends the session
 *
 * Anything else is refused as the specification says: a header without "HS" is FatalError 1 (poorly
 * formed message header) and ends the session; a first message that is neither Initialize nor
 * AsyncInitialize, a second Initialize, or an AsyncInitialize naming no waiting session is FatalError 3
 * (invalid initialization sequence); Data before the asynchronous channel is there is FatalError 2;
 * a known type on the wrong channel, a server-to-client type or a reserved one is Error 1
 * (unrecognized message type), a vendor-specific one (128-255) Error 3, a bad control code Error 2,
 * and a Data/DataEND payload beyond our maximum message size Error 4 (message too large); after an
 * Error the message's payload is skipped and the session goes on.
 *
 * Simplifications (it is a benchmark peer, not an instrument): locks are granted or refused at once,
 * never after waiting for the requested timeout; overlapped mode, Interrupted and service requests
 * are not offered; answers already queued are not withdrawn by a device clear (the client discards
 * what precedes DeviceClearAcknowledge anyway).
 *
 * Memory is bounded per connection: a payload streams through a 4 KiB input buffer; a program
 * message longer than LINE_LIMIT bytes is dropped (-223 queued); control payloads keep their first
 * CONTROL_KEEP bytes; queued output is at most OUT_LIMIT bytes, and input is not read while there is
 * no room for another answer. SIGTERM or SIGINT ends it cleanly: every socket is closed, counters go
 * to stderr, exit status 0.
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
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define HEADER_SIZE 16
#define LINE_LIMIT 4096        /* longest program message kept */
#define IN_SIZE 4096           /* receive buffer per connection */
#define OUT_LIMIT (128 * 1024) /* most bytes queued for one connection */
#define CONTROL_KEEP 512       /* bytes kept of a control message's payload (lock strings are <= 256) */
#define ERROR_LIMIT 16
#define ANSWER_MAX (LINE_LIMIT + 64)
#define MAX_CLIENTS_LIMIT 1000
#define SERVER_MAX_MESSAGE (1u << 20) /* our maximum message size, header included */
#define PROTOCOL_VERSION 0x0100       /* 1.0 */
#define VENDOR_ID ('C' << 8 | 'R')

/* Message types, by their codes */
enum {
    INITIALIZE = 0, INITIALIZE_RESPONSE = 1, FATAL_ERROR = 2, ERROR = 3, ASYNC_LOCK = 4,
    ASYNC_LOCK_RESPONSE = 5, DATA = 6, DATA_END = 7, DEVICE_CLEAR_COMPLETE = 8, DEVICE_CLEAR_ACKNOWLEDGE = 9,
    ASYNC_REMOTE_LOCAL_CONTROL = 10, ASYNC_REMOTE_LOCAL_RESPONSE = 11, TRIGGER = 12, INTERRUPTED = 13,
    ASYNC_INTERRUPTED = 14, ASYNC_MAXIMUM_MESSAGE_SIZE = 15, ASYNC_MAXIMUM_MESSAGE_SIZE_RESPONSE = 16,
    ASYNC_INITIALIZE = 17, ASYNC_INITIALIZE_RESPONSE = 18, ASYNC_DEVICE_CLEAR = 19, ASYNC_SERVICE_REQUEST = 20,
    ASYNC_STATUS_QUERY = 21, ASYNC_STATUS_RESPONSE = 22, ASYNC_DEVICE_CLEAR_ACKNOWLEDGE = 23, ASYNC_LOCK_INFO = 24,
    ASYNC_LOCK_INFO_RESPONSE = 25
};

/* FatalError and Error codes */
enum { FATAL_BAD_HEADER = 1, FATAL_NOT_BOTH_CHANNELS = 2, FATAL_BAD_INITIALIZATION = 3, FATAL_TOO_MANY = 4 };
enum { ERROR_UNIDENTIFIED = 0, ERROR_TYPE = 1, ERROR_CONTROL = 2, ERROR_VENDOR = 3, ERROR_TOO_LARGE = 4 };

enum role { NEW, SYNC, ASYNC };

struct session;

struct connection {
    int fd;
    enum role role;
    struct session *session;
    int closing;                 /* a FatalError went out: close once the queue is written */
    unsigned char in[IN_SIZE];   /* received, not yet taken: in[in_head, in_tail) */
    size_t in_head, in_tail;
    unsigned char header[HEADER_SIZE];
    size_t header_length;        /* bytes of the current header received */
    int type, control;
    uint32_t parameter;
    uint64_t payload_remaining;  /* of the message whose header was read */
    int in_payload;
    int skipping;                /* its payload is discarded (after an Error) */
    unsigned char control_payload[CONTROL_KEEP];
    size_t control_length;
    unsigned char out[OUT_LIMIT];
    size_t out_head, out_tail;
};

struct session {
    uint16_t id;
    struct connection *sync, *async;
    uint64_t client_max;         /* the client's maximum message size, header included */
    char message[LINE_LIMIT];    /* the program message so far */
    size_t message_length;
    int overlong;
    int clearing;                /* AsyncDeviceClear seen, DeviceClearComplete not yet */
    int errors[ERROR_LIMIT];
    int error_count;
    int exclusive;               /* holds the exclusive lock */
    int shared;                  /* holds the shared lock */
};

static volatile sig_atomic_t stopping;
static const char *idn = "LabHAL-Bench,C-HiSLIP-Responder,0,1.0";
static unsigned long long served, connections, refused, fatal_errors, errors_sent;
static struct connection **clients;
static int max_clients;
static uint16_t next_session_id = 1;
/* The instrument's locks, over all sessions */
static struct session *exclusive_holder;
static char shared_key[CONTROL_KEEP + 1];
static int shared_holders;

static void on_signal(int signal_number) {
    (void) signal_number;
    stopping = 1;
}

static void fail(const char *what) {
    perror(what);
    exit(2);
}

static void put32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char) (v >> 24);
    p[1] = (unsigned char) (v >> 16);
    p[2] = (unsigned char) (v >> 8);
    p[3] = (unsigned char) v;
}

static uint32_t get32(const unsigned char *p) {
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

static uint64_t get64(const unsigned char *p) {
    return (uint64_t) get32(p) << 32 | get32(p + 4);
}

static void put64(unsigned char *p, uint64_t v) {
    put32(p, (uint32_t) (v >> 32));
    put32(p + 4, (uint32_t) v);
}

/* Room for `need` more bytes at the end of the queue, moving what is queued to the front if need be. */
static int room_for(struct connection *c, size_t need) {
    if (OUT_LIMIT - c->out_tail >= need) {
        return 1;
    }
    memmove(c->out, c->out + c->out_head, c->out_tail - c->out_head);
    c->out_tail -= c->out_head;
    c->out_head = 0;
    return OUT_LIMIT - c->out_tail >= need;
}

/* Queues one message; callers make sure there is room (see take), so a message is never cut. */
static void queue(struct connection *c, int type, int control, uint32_t parameter, const void *payload,
                  size_t length) {
    if (!room_for(c, HEADER_SIZE + length)) {
        return; /* cannot happen for the sizes used here; dropped rather than overrun */
    }
    unsigned char *h = c->out + c->out_tail;
    h[0] = 'H';
    h[1] = 'S';
    h[2] = (unsigned char) type;
    h[3] = (unsigned char) control;
    put32(h + 4, parameter);
    put64(h + 8, length);
    if (length > 0) {
        memcpy(h + HEADER_SIZE, payload, length);
    }
    c->out_tail += HEADER_SIZE + length;
}

static void queue_text(struct connection *c, int type, int control, const char *text) {
    queue(c, type, control, 0, text, strlen(text));
}

/* Sends an Error and skips the rest of the message's payload. */
static void refuse(struct connection *c, int code, const char *text) {
    queue_text(c, ERROR, code, text);
    c->skipping = 1;
    errors_sent++;
}

/* Sends a FatalError; the connection (and its session) closes once it is written. */
static void fatal(struct connection *c, int code, const char *text) {
    queue_text(c, FATAL_ERROR, code, text);
    c->closing = 1;
    c->skipping = 1;
    fatal_errors++;
}

static void push_error(struct session *s, int code) {
    if (s->error_count < ERROR_LIMIT) {
        s->errors[s->error_count++] = code;
    } else {
        s->errors[ERROR_LIMIT - 1] = -350;
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

static int starts_with(const char *text, const char *prefix) {
    return strncasecmp(text, prefix, strlen(prefix)) == 0;
}

/* Appends the answer to one command to `answer` (at most ANSWER_MAX bytes in all), LF-terminated. */
static void append(char *answer, size_t *length, const char *format, ...) {
    char text[ANSWER_MAX];
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
    if (*length + (size_t) n + 1 > ANSWER_MAX) {
        return; /* the answer is full; further answers of this message are dropped */
    }
    memcpy(answer + *length, text, (size_t) n);
    *length += (size_t) n;
    answer[(*length)++] = '\n';
    served++;
}

/* One command line, as scpi_responder executes it. */
static void execute(struct session *s, char *command, char *answer, size_t *length) {
    while (*command == ' ' || *command == '\t') {
        command++;
    }
    size_t n = strlen(command);
    while (n > 0 && (command[n - 1] == ' ' || command[n - 1] == '\t' || command[n - 1] == '\r')) {
        command[--n] = '\0';
    }
    if (n == 0) {
        return;
    }
    if (strcasecmp(command, "*IDN?") == 0) {
        append(answer, length, "%s", idn);
    } else if (strcasecmp(command, "*OPC?") == 0) {
        append(answer, length, "1");
    } else if (strcasecmp(command, "MEAS:VOLT?") == 0) {
        static unsigned long long reading;
        append(answer, length, "%+.6E", 1.0 + (double) (reading++ % 1000) * 1e-6);
    } else if (starts_with(command, "ECHO? ") || starts_with(command, "SIM:ECHO? ")) {
        append(answer, length, "%s", strchr(command, ' ') + 1);
    } else if (strcasecmp(command, "SYST:ERR?") == 0) {
        if (s->error_count == 0) {
            append(answer, length, "0,\"No error\"");
        } else {
            int code = s->errors[0];
            memmove(s->errors, s->errors + 1, (size_t) (s->error_count - 1) * sizeof s->errors[0]);
            s->error_count--;
            append(answer, length, "%d,\"%s\"", code, error_text(code));
        }
    } else if (strcasecmp(command, "*CLS") == 0) {
        s->error_count = 0;
    } else if (strcasecmp(command, "*RST") == 0) {
        /* nothing to reset */
    } else {
        push_error(s, -113);
    }
}

/* Bytes an answer of ANSWER_MAX bytes takes on the wire at the client's maximum message size. */
static size_t answer_room(const struct session *s) {
    uint64_t per = s->client_max > HEADER_SIZE ? s->client_max - HEADER_SIZE : 1;
    uint64_t pieces = (ANSWER_MAX + per - 1) / per;
    uint64_t bytes = ANSWER_MAX + pieces * HEADER_SIZE;
    return bytes > OUT_LIMIT ? OUT_LIMIT : (size_t) bytes;
}

/* The program message ended (DataEND with this id): run its lines, send the answer if there is one. */
static void run_message(struct session *s, uint32_t id) {
    char answer[ANSWER_MAX];
    size_t length = 0;
    if (s->overlong) {
        push_error(s, -223);
    } else {
        s->message[s->message_length] = '\0';
        char *line = s->message;
        while (line != NULL) {
            char *next = strchr(line, '\n');
            if (next != NULL) {
                *next++ = '\0';
            }
            execute(s, line, answer, &length);
            line = next;
        }
    }
    s->message_length = 0;
    s->overlong = 0;
    struct connection *c = s->sync;
    uint64_t per = s->client_max > HEADER_SIZE ? s->client_max - HEADER_SIZE : 1;
    size_t sent = 0;
    while (sent < length) { /* Data pieces while the rest is over the client's maximum, then DataEND */
        size_t n = length - sent <= per ? length - sent : (size_t) per;
        if (!room_for(c, HEADER_SIZE + n)) {
            return; /* only with a tiny client maximum: the rest of the answer is cut */
        }
        queue(c, sent + n == length ? DATA_END : DATA, 0, id, answer + sent, n);
        sent += n;
    }
}

static void release_locks(struct session *s) {
    if (s->exclusive) {
        exclusive_holder = NULL;
        s->exclusive = 0;
    }
    if (s->shared) {
        s->shared = 0;
        if (--shared_holders == 0) {
            shared_key[0] = '\0';
        }
    }
}

/* AsyncLock: control 1 asks (parameter: timeout in ms, payload: lock string, empty for exclusive). */
static void lock(struct connection *c) {
    struct session *s = c->session;
    int answer;
    if (c->control == 0) { /* release: 1 exclusive released, 2 shared released, 3 none held */
        answer = s->exclusive ? 1 : s->shared ? 2 : 3;
        if (s->exclusive) {
            exclusive_holder = NULL;
            s->exclusive = 0;
        } else if (s->shared) {
            release_locks(s);
        }
    } else if (c->control == 1) { /* request: 1 granted, 0 not granted, 3 refused */
        char key[CONTROL_KEEP + 1];
        memcpy(key, c->control_payload, c->control_length);
        key[c->control_length] = '\0';
        if (c->control_length == 0) {
            if (s->exclusive) {
                answer = 3;
            } else if (exclusive_holder == NULL && shared_holders == (s->shared ? 1 : 0)) {
                exclusive_holder = s;
                s->exclusive = 1;
                answer = 1;
            } else {
                answer = 0;
            }
        } else if (s->shared || s->exclusive) {
            answer = 3;
        } else if (exclusive_holder == NULL && (shared_holders == 0 || strcmp(shared_key, key) == 0)) {
            strcpy(shared_key, key);
            shared_holders++;
            s->shared = 1;
            answer = 1;
        } else {
            answer = 0;
        }
    } else {
        refuse(c, ERROR_CONTROL, "AsyncLock control code is 0 (release) or 1 (request)");
        return;
    }
    queue(c, ASYNC_LOCK_RESPONSE, answer, 0, NULL, 0);
}

static struct session *session_waiting(uint32_t id) {
    for (int i = 0; i < max_clients; i++) {
        struct connection *other = clients[i];
        if (other != NULL && other->role == SYNC && other->session->id == id && other->session->async == NULL) {
            return other->session;
        }
    }
    return NULL;
}

/* A whole message on a new connection: Initialize or AsyncInitialize decides its role. */
static void on_first(struct connection *c) {
    if (c->type == INITIALIZE) {
        char address[CONTROL_KEEP + 1];
        memcpy(address, c->control_payload, c->control_length);
        address[c->control_length] = '\0';
        if (c->control_length > 0 && strcmp(address, "hislip0") != 0) {
            fatal(c, FATAL_BAD_INITIALIZATION, "unknown sub-address: this responder serves hislip0");
            return;
        }
        struct session *s = calloc(1, sizeof *s);
        if (s == NULL) {
            fatal(c, 0, "out of memory");
            return;
        }
        s->id = next_session_id++;
        if (next_session_id == 0) {
            next_session_id = 1;
        }
        s->sync = c;
        s->client_max = UINT64_MAX; /* until AsyncMaximumMessageSize says otherwise */
        c->role = SYNC;
        c->session = s;
        uint32_t client_version = c->parameter >> 16;
        uint32_t version = client_version < PROTOCOL_VERSION ? client_version : PROTOCOL_VERSION;
        queue(c, INITIALIZE_RESPONSE, 0 /* synchronized mode */, version << 16 | s->id, NULL, 0);
    } else if (c->type == ASYNC_INITIALIZE) {
        struct session *s = session_waiting(c->parameter & 0xffff);
        if (s == NULL) {
            fatal(c, FATAL_BAD_INITIALIZATION, "AsyncInitialize names no session waiting for its asynchronous channel");
            return;
        }
        s->async = c;
        c->role = ASYNC;
        c->session = s;
        queue(c, ASYNC_INITIALIZE_RESPONSE, 0, VENDOR_ID, NULL, 0);
    } else {
        fatal(c, FATAL_BAD_INITIALIZATION, "the first message on a connection is Initialize or AsyncInitialize");
    }
}

/* The header of a message has come: decide where its payload goes. */
static void on_header(struct connection *c) {
    const unsigned char *h = c->header;
    c->type = h[2];
    c->control = h[3];
    c->parameter = get32(h + 4);
    c->payload_remaining = get64(h + 8);
    c->in_payload = 1;
    c->skipping = 0;
    c->control_length = 0;
    if (h[0] != 'H' || h[1] != 'S') {
        fatal(c, FATAL_BAD_HEADER, "the message does not start with the prologue HS");
        return;
    }
    if (c->role == SYNC && (c->type == DATA || c->type == DATA_END)) {
        struct session *s = c->session;
        if (s->async == NULL) {
            fatal(c, FATAL_NOT_BOTH_CHANNELS, "data before the asynchronous channel was established");
        } else if (c->payload_remaining > SERVER_MAX_MESSAGE - HEADER_SIZE) {
            refuse(c, ERROR_TOO_LARGE, "the message is larger than the maximum message size");
            s->message_length = 0;
            s->overlong = 0;
        } else if (s->clearing) {
            c->skipping = 1; /* a device clear discards data until DeviceClearComplete */
        }
    }
}

/* A whole message (header and payload) has come; Data payloads went into the session already. */
static void on_message(struct connection *c) {
    struct session *s = c->session;
    if (c->skipping) {
        return;
    }
    if (c->role == NEW) {
        on_first(c);
        return;
    }
    switch (c->type) {
        case FATAL_ERROR:
            c->closing = 1; /* the client gives up on the session */
            return;
        case ERROR:
            return;
        case INITIALIZE:
        case ASYNC_INITIALIZE:
            fatal(c, FATAL_BAD_INITIALIZATION, "the channel is initialized already");
            return;
        default:
            break;
    }
    if (c->type >= 128) {
        refuse(c, ERROR_VENDOR, "vendor-specific messages are not supported");
        return;
    }
    if (c->role == SYNC) {
        switch (c->type) {
            case DATA:
                return;
            case DATA_END:
                run_message(s, c->parameter);
                return;
            case TRIGGER:
                return;
            case DEVICE_CLEAR_COMPLETE:
                s->clearing = 0;
                queue(c, DEVICE_CLEAR_ACKNOWLEDGE, 0 /* synchronized mode */, 0, NULL, 0);
                return;
            default:
                break;
        }
    } else {
        switch (c->type) {
            case ASYNC_MAXIMUM_MESSAGE_SIZE: {
                if (c->control_length != 8) {
                    refuse(c, ERROR_UNIDENTIFIED, "AsyncMaximumMessageSize carries an 8-byte size");
                    return;
                }
                s->client_max = get64(c->control_payload);
                unsigned char size[8];
                put64(size, SERVER_MAX_MESSAGE);
                queue(c, ASYNC_MAXIMUM_MESSAGE_SIZE_RESPONSE, 0, 0, size, sizeof size);
                return;
            }
            case ASYNC_LOCK:
                lock(c);
                return;
            case ASYNC_LOCK_INFO:
                queue(c, ASYNC_LOCK_INFO_RESPONSE, exclusive_holder != NULL ? 1 : 0,
                      (uint32_t) (shared_holders + (exclusive_holder != NULL && !exclusive_holder->shared ? 1 : 0)),
                      NULL, 0);
                return;
            case ASYNC_STATUS_QUERY: {
                struct connection *sync = s->sync;
                int status = (s->error_count > 0 ? 0x04 : 0) | (sync->out_head < sync->out_tail ? 0x10 : 0);
                queue(c, ASYNC_STATUS_RESPONSE, status, 0, NULL, 0);
                return;
            }
            case ASYNC_REMOTE_LOCAL_CONTROL:
                if (c->control > 6) {
                    refuse(c, ERROR_CONTROL, "AsyncRemoteLocalControl control code is 0 to 6");
                    return;
                }
                queue(c, ASYNC_REMOTE_LOCAL_RESPONSE, 0, 0, NULL, 0);
                return;
            case ASYNC_DEVICE_CLEAR:
                s->clearing = 1;
                s->message_length = 0;
                s->overlong = 0;
                s->error_count = 0;
                queue(c, ASYNC_DEVICE_CLEAR_ACKNOWLEDGE, 0 /* synchronized mode */, 0, NULL, 0);
                return;
            default:
                break;
        }
    }
    /* known but not on this channel, sent by servers only, or reserved; its payload is gone already */
    queue_text(c, ERROR, ERROR_TYPE, "unrecognized message type");
    errors_sent++;
}

/* Payload bytes of the current message: program message text, a kept control payload, or nothing. */
static void on_payload(struct connection *c, const unsigned char *bytes, size_t n) {
    if (c->skipping) {
        return;
    }
    if (c->role == SYNC && (c->type == DATA || c->type == DATA_END)) {
        struct session *s = c->session;
        if (s->overlong || s->message_length + n > LINE_LIMIT - 1) {
            s->overlong = 1;
            return;
        }
        memcpy(s->message + s->message_length, bytes, n);
        s->message_length += n;
        return;
    }
    size_t keep = CONTROL_KEEP - c->control_length < n ? CONTROL_KEEP - c->control_length : n;
    memcpy(c->control_payload + c->control_length, bytes, keep);
    c->control_length += keep;
}

/*
 * Takes received bytes: headers, payloads, whole messages. Stops before a new header while the queue
 * has no room for the biggest answer; the rest stays in c->in until the client has read some.
 */
static void take(struct connection *c) {
    while (c->in_head < c->in_tail && !c->closing) {
        if (!c->in_payload) {
            if (c->header_length == 0) {
                size_t need = c->session != NULL ? answer_room(c->session) : 512;
                if (!room_for(c, need)) {
                    return;
                }
            }
            size_t n = c->in_tail - c->in_head;
            if (n > HEADER_SIZE - c->header_length) {
                n = HEADER_SIZE - c->header_length;
            }
            memcpy(c->header + c->header_length, c->in + c->in_head, n);
            c->header_length += n;
            c->in_head += n;
            if (c->header_length < HEADER_SIZE) {
                break;
            }
            c->header_length = 0;
            on_header(c);
        } else {
            size_t n = c->in_tail - c->in_head;
            if (n > c->payload_remaining) {
                n = (size_t) c->payload_remaining;
            }
            on_payload(c, c->in + c->in_head, n);
            c->in_head += n;
            c->payload_remaining -= n;
        }
        if (c->in_payload && c->payload_remaining == 0 && !c->closing) {
            c->in_payload = 0;
            on_message(c);
        }
    }
    if (c->in_head == c->in_tail) {
        c->in_head = c->in_tail = 0;
    }
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

/* Closes one connection; a session ends with either of its channels (its locks are released). */
static void drop(int slot) {
    struct connection *c = clients[slot];
    struct session *s = c->session;
    close(c->fd);
    free(c);
    clients[slot] = NULL;
    if (s == NULL) {
        return;
    }
    struct connection *other = s->sync == c ? s->async : s->sync;
    release_locks(s);
    free(s);
    for (int i = 0; i < max_clients; i++) {
        if (clients[i] != NULL && clients[i] == other) {
            close(other->fd);
            free(other);
            clients[i] = NULL;
        }
    }
}

static void serve(int listener) {
    struct pollfd *fds = calloc((size_t) max_clients + 1, sizeof *fds);
    int *order = calloc((size_t) max_clients + 1, sizeof *order); /* fds[i] belongs to clients[order[i]] */
    if (fds == NULL || order == NULL) {
        fail("calloc");
    }
    fcntl(listener, F_SETFL, fcntl(listener, F_GETFL) | O_NONBLOCK);
    while (!stopping) {
        int count = 0;
        fds[count].fd = listener;
        fds[count].events = POLLIN;
        count++;
        for (int i = 0; i < max_clients; i++) {
            struct connection *c = clients[i];
            if (c == NULL) {
                continue;
            }
            fds[count].fd = c->fd;
            fds[count].events = (c->in_head == c->in_tail && !c->closing ? POLLIN : 0)
                                | (c->out_head < c->out_tail ? POLLOUT : 0);
            order[count] = i;
            count++;
        }
        if (poll(fds, (nfds_t) count, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            fail("poll");
        }
        for (int k = 1; k < count; k++) {
            struct connection *c = clients[order[k]];
            if (c == NULL) {
                continue; /* closed with its session's other channel in this pass */
            }
            int gone = (fds[k].revents & (POLLERR | POLLNVAL)) != 0;
            if (!gone && !c->closing && c->in_head == c->in_tail && (fds[k].revents & (POLLIN | POLLHUP))) {
                ssize_t n = read(c->fd, c->in, sizeof c->in);
                if (n > 0) {
                    c->in_head = 0;
                    c->in_tail = (size_t) n;
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
            if (c->closing && c->out_head == c->out_tail) {
                gone = 1;
            }
            if (gone) {
                drop(order[k]);
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
                struct connection *c = slot < 0 ? NULL : calloc(1, sizeof *c);
                int on = 1;
                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on); /* answers leave at once */
                if (c == NULL) {
                    /* full: FatalError 4, then close; the header and text fit an empty socket buffer */
                    static const char text[] = "maximum number of clients exceeded";
                    unsigned char message[HEADER_SIZE + sizeof text - 1] = {'H', 'S', FATAL_ERROR, FATAL_TOO_MANY};
                    put64(message + 8, sizeof text - 1);
                    memcpy(message + HEADER_SIZE, text, sizeof text - 1);
                    ssize_t ignored = send(fd, message, sizeof message, MSG_DONTWAIT | MSG_NOSIGNAL);
                    (void) ignored;
                    refused++;
                    close(fd);
                } else {
                    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
                    c->fd = fd;
                    c->role = NEW;
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
            drop(i);
        }
    }
    free(fds);
    free(order);
}

int main(int argc, char **argv) {
    int port = 0;
    max_clients = 32;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
            port = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--max-clients") == 0 && i + 1 < argc) {
            max_clients = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--idn") == 0 && i + 1 < argc) {
            idn = argv[++i];
        } else {
            fprintf(stderr, "usage: %s [--port N] [--max-clients N] [--idn TEXT]\n", argv[0]);
            return 2;
        }
    }
    if (port < 0 || port > 65535 || max_clients < 2 || max_clients > MAX_CLIENTS_LIMIT) {
        fprintf(stderr, "%s: --port 0..65535, --max-clients 2..%d\n", argv[0], MAX_CLIENTS_LIMIT);
        return 2;
    }
    clients = calloc((size_t) max_clients, sizeof *clients);
    if (clients == NULL) {
        fail("calloc");
    }
    struct sigaction action = {0};
    action.sa_handler = on_signal; /* no SA_RESTART: a blocked poll returns EINTR */
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGINT, &action, NULL);
    signal(SIGPIPE, SIG_IGN);
    int listener = listen_on(port);
    serve(listener);
    close(listener);
    free(clients);
    fprintf(stderr, "hislip_responder: %llu connections, %llu refused, %llu answers, %llu errors, %llu fatal errors\n",
            connections, refused, served, errors_sent, fatal_errors);
    return 0;
}

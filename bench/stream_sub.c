/* The Stream benchmark's subscribers in C (bench/stream.py --subscriber c): the same connections,
 * handshake, receive timestamps and records as its Python subscriber process, at a fraction of the CPU,
 * so that the load generator leaves the 2-core machine to the server. Built by bench/stream.py with
 * the system's C compiler; one thread, epoll, recvmsg with SO_TIMESTAMPNS.
 *
 *   stream_sub PORT LINES_FILE COUNT OUT_FILE [PAUSE_US]
 *
 * LINES_FILE holds, per connection, its authentication line and its subscription line (CRLF-ended), as
 * the Python subscriber would send them. Control on stdin and stdout as the Python subscriber's: prints
 * "ready N" once every connection has its SUB_IMAGE (or "failed ..." and exits 1), records from "go",
 * and after "final SEQ" waits (30 s at most) until every connection has seen SEQ, writes OUT_FILE (read
 * by bench/stream.py's read_c_results) and prints "done".
 *
 * After each round of reads it pauses PAUSE_US (default 1000) microseconds instead of waiting in
 * epoll_wait at once. On loopback the server's send runs this side's TCP receive on the server's CPU,
 * and waking a waiting reader adds to that, once per message, on the server's clock. The pause keeps
 * that cost near what a reader on another machine adds (none), as the Python subscriber, always busy,
 * did by accident. It delays only the reads: the kernel's receive timestamps are unchanged.
 *
 * No JSON parser: a message is classified by a few byte searches, as in the Python subscriber's
 * STREAMING state; the checker connection that decodes everything stays in Python. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TAIL_S 30
#define READ_BUF (256 * 1024)
#define PTS_SLOTS (1 << 21) /* seqs seen: open addressing, far above the orders of one run */

enum { CONNECTING, AUTHENTICATING, SUBSCRIBING, IMAGE, STREAMING };

typedef struct {
    int fd, state, closed;
    char *auth, *sub;
    size_t auth_len, sub_len;
    char *pending; /* a partial line carried to the next read */
    size_t pending_len, pending_cap;
    int64_t image_seq, last_seq, backwards, heartbeats, changes, change_bytes, conflated, status_503;
    int64_t *records; /* (arrival ns, read ns, seq) per change message while recording */
    size_t nrec, rec_cap;
} Conn;

static Conn *conns;
static int nconns, ready, recording;
static int64_t *pts_seq, *pts_val;
static int64_t npts;
static char statuses[5][301];
static int nstatuses;

static void die(const char *what) {
    printf("failed 1 [\"%s: %s\"]\n", what, strerror(errno));
    fflush(stdout);
    exit(1);
}

static void fail(const char *why, const char *line, size_t len) {
    if (len > 200) len = 200;
    printf("failed 1 [\"%s: ", why);
    for (size_t i = 0; i < len; i++) putchar(line[i] == '"' || line[i] == '\\' ? '\'' : line[i]);
    printf("\"]\n");
    fflush(stdout);
    exit(1);
}

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static const char *find(const char *hay, size_t len, const char *needle) {
    return memmem(hay, len, needle, strlen(needle));
}

/* The value after "key" and its colon (either JSON spacing), or NULL. */
static const char *field(const char *line, size_t len, const char *key) {
    const char *p = find(line, len, key), *end = line + len;
    if (!p) return NULL;
    p += strlen(key);
    while (p < end && (*p == ' ' || *p == ':')) p++;
    return p;
}

static int field_is(const char *line, size_t len, const char *key, const char *value) {
    const char *p = field(line, len, key);
    return p && (size_t)(line + len - p) >= strlen(value) && memcmp(p, value, strlen(value)) == 0;
}

static int b64(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-' || c == '+') return 62;
    if (c == '_' || c == '/') return 63;
    return -1;
}

/* The seq in a backlay clock (stream/clock.py: base64 of a version byte, then varints), from the
 * message's "clk"; -1 if there is none. */
static int64_t clock_seq(const char *line, size_t len) {
    const char *p = field(line, len, "\"clk\""), *end = line + len;
    if (!p || p >= end || *p != '"') return -1;
    p++;
    unsigned char raw[64];
    size_t n = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (; p < end && *p != '"' && n < sizeof raw; p++) {
        int v = b64(*p);
        if (v < 0) continue; /* padding */
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            raw[n++] = (unsigned char)(acc >> bits);
        }
    }
    int64_t seq = 0;
    int shift = 0;
    for (size_t i = 1; i < n; i++) {
        seq |= (int64_t)(raw[i] & 0x7F) << shift;
        shift += 7;
        if (!(raw[i] & 0x80)) return seq;
    }
    return -1;
}

static void note_pt(int64_t seq, const char *line, size_t len) {
    uint64_t h = (uint64_t)seq * 0x9E3779B97F4A7C15ull;
    size_t i = (size_t)(h >> 43) & (PTS_SLOTS - 1);
    while (pts_seq[i] != -1) {
        if (pts_seq[i] == seq) return;
        i = (i + 1) & (PTS_SLOTS - 1);
    }
    if (npts >= PTS_SLOTS / 2) return; /* never in a run of this benchmark */
    const char *p = field(line, len, "\"pt\"");
    pts_seq[i] = seq;
    pts_val[i] = p ? strtoll(p, NULL, 10) : 0;
    npts++;
}

static void send_all(Conn *c, const char *data, size_t len) {
    while (len) {
        ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN) continue; /* a few hundred bytes into an empty buffer */
            die("send");
        }
        data += n;
        len -= (size_t)n;
    }
}

static void record(Conn *c, int64_t a, int64_t t, int64_t s) {
    if (c->nrec + 3 > c->rec_cap) {
        c->rec_cap = c->rec_cap ? c->rec_cap * 2 : 3 * 4096;
        c->records = realloc(c->records, c->rec_cap * sizeof(int64_t));
        if (!c->records) die("realloc");
    }
    c->records[c->nrec++] = a;
    c->records[c->nrec++] = t;
    c->records[c->nrec++] = s;
}

static void message(Conn *c, const char *line, size_t len, int64_t arrival, int64_t t) {
    if (c->state == STREAMING) {
        if (len < 11 || memcmp(line, "{\"op\":\"mcm\"", 11) != 0) {
            if (nstatuses < 5) {
                size_t k = len < 300 ? len : 300;
                memcpy(statuses[nstatuses], line, k);
                statuses[nstatuses++][k] = 0;
            }
            return;
        }
        if (find(line, len, "\"ct\":\"HEARTBEAT\"")) {
            c->heartbeats++;
            return;
        }
        int64_t seq = clock_seq(line, len);
        if (seq < 0) fail("a change without a clock", line, len);
        note_pt(seq, line, len);
        if (seq < c->last_seq) c->backwards++;
        c->last_seq = seq;
        c->changes++;
        c->change_bytes += (int64_t)len + 2;
        if (recording) record(c, arrival, t, seq);
        if (find(line, len, "\"con\":true")) c->conflated++;
        if (find(line, len, "\"status\":503")) c->status_503++;
        return;
    }
    int ok = field_is(line, len, "\"statusCode\"", "\"SUCCESS\"");
    if (c->state == CONNECTING && field_is(line, len, "\"op\"", "\"connection\"")) {
        send_all(c, c->auth, c->auth_len);
        c->state = AUTHENTICATING;
    } else if (c->state == AUTHENTICATING && field_is(line, len, "\"op\"", "\"status\"") && ok) {
        send_all(c, c->sub, c->sub_len);
        c->state = SUBSCRIBING;
    } else if (c->state == SUBSCRIBING && field_is(line, len, "\"op\"", "\"status\"") && ok) {
        c->state = IMAGE;
    } else if (c->state == IMAGE && field_is(line, len, "\"op\"", "\"mcm\"") &&
               field_is(line, len, "\"ct\"", "\"SUB_IMAGE\"")) {
        if (!find(line, len, "\"img\":true") || !find(line, len, "\"marketDefinition\""))
            fail("unexpected image", line, len);
        c->image_seq = c->last_seq = clock_seq(line, len);
        c->state = STREAMING;
        ready++;
    } else {
        fail("unexpected message", line, len);
    }
}

/* Append to the connection's partial line. */
static void carry(Conn *c, const char *data, size_t len) {
    if (c->pending_len + len > c->pending_cap) {
        c->pending_cap = (c->pending_len + len) * 2;
        c->pending = realloc(c->pending, c->pending_cap);
        if (!c->pending) die("realloc");
    }
    memcpy(c->pending + c->pending_len, data, len);
    c->pending_len += len;
}

static char read_buf[READ_BUF];

static void readable(Conn *c) {
    char cbuf[256];
    struct iovec iov = {read_buf, sizeof read_buf};
    struct msghdr mh = {0};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = cbuf;
    mh.msg_controllen = sizeof cbuf;
    ssize_t n = recvmsg(c->fd, &mh, 0);
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) return;
        if (c->state != STREAMING) die("recvmsg before subscribing");
        c->closed = 1;
        close(c->fd);
        return;
    }
    int64_t t = now_ns(), arrival = t;
    if (n == 0) {
        if (c->state != STREAMING) fail("closed by the server before subscribing", "", 0);
        c->closed = 1;
        close(c->fd);
        return;
    }
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SO_TIMESTAMPNS) {
            struct timespec ts;
            memcpy(&ts, CMSG_DATA(cm), sizeof ts);
            arrival = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
        }
    }
    const char *data = read_buf;
    size_t len = (size_t)n;
    if (c->pending_len) { /* complete the carried line first */
        const char *nl = find(data, len, "\r\n");
        size_t take = nl ? (size_t)(nl - data) + 2 : len;
        /* a CRLF split across reads: the carried part ends with '\r' */
        int split = c->pending[c->pending_len - 1] == '\r' && data[0] == '\n';
        if (split) take = 1;
        carry(c, data, take);
        data += take;
        len -= take;
        if (!nl && !split) return;
        message(c, c->pending, c->pending_len - 2, arrival, t);
        c->pending_len = 0;
    }
    while (len) {
        const char *nl = find(data, len, "\r\n");
        if (!nl) {
            carry(c, data, len);
            return;
        }
        message(c, data, (size_t)(nl - data), arrival, t);
        len -= (size_t)(nl - data) + 2;
        data = nl + 2;
    }
}

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) die(path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) die("read the lines file");
    fclose(f);
    buf[n] = 0;
    *len = (size_t)n;
    return buf;
}

static void put64(FILE *f, int64_t v) { fwrite(&v, sizeof v, 1, f); }

static void write_results(const char *path) {
    FILE *f = fopen(path, "wb");
    if (!f) die(path);
    fwrite("BLSUB001", 8, 1, f);
    put64(f, nconns);
    for (int i = 0; i < nconns; i++) {
        Conn *c = &conns[i];
        int64_t v[] = {c->image_seq, c->last_seq, c->backwards, c->heartbeats, c->changes, c->change_bytes,
                       c->conflated, c->status_503, c->closed, (int64_t)c->nrec};
        fwrite(v, sizeof v, 1, f);
        fwrite(c->records, sizeof(int64_t), c->nrec, f);
    }
    put64(f, npts);
    for (size_t i = 0; i < PTS_SLOTS; i++)
        if (pts_seq[i] != -1) {
            put64(f, pts_seq[i]);
            put64(f, pts_val[i]);
        }
    put64(f, nstatuses);
    for (int i = 0; i < nstatuses; i++) {
        put64(f, (int64_t)strlen(statuses[i]));
        fwrite(statuses[i], 1, strlen(statuses[i]), f);
    }
    if (fclose(f) != 0) die("write the results");
}

int main(int argc, char **argv) {
    if (argc != 5 && argc != 6) {
        fprintf(stderr, "usage: stream_sub PORT LINES_FILE COUNT OUT_FILE [PAUSE_US]\n");
        return 2;
    }
    long pause_us = argc == 6 ? atol(argv[5]) : 1000;
    setvbuf(stdout, NULL, _IOLBF, 0);
    int port = atoi(argv[1]);
    nconns = atoi(argv[3]);
    size_t lines_len;
    char *lines = read_file(argv[2], &lines_len), *p = lines;
    conns = calloc((size_t)nconns, sizeof(Conn));
    pts_seq = malloc(PTS_SLOTS * sizeof(int64_t));
    pts_val = malloc(PTS_SLOTS * sizeof(int64_t));
    if (!conns || !pts_seq || !pts_val) die("malloc");
    memset(pts_seq, 0xff, PTS_SLOTS * sizeof(int64_t));
    for (int i = 0; i < nconns; i++) {
        Conn *c = &conns[i];
        char *e = strstr(p, "\r\n");
        if (!e) fail("the lines file ends early", "", 0);
        c->auth = p;
        c->auth_len = (size_t)(e - p) + 2;
        p = e + 2;
        e = strstr(p, "\r\n");
        if (!e) fail("the lines file ends early", "", 0);
        c->sub = p;
        c->sub_len = (size_t)(e - p) + 2;
        p = e + 2;
        c->image_seq = c->last_seq = -1;
    }
    int ep = epoll_create1(0);
    if (ep < 0) die("epoll_create1");
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    struct epoll_event ev, events[1024];
    for (int i = 0; i < nconns; i++) { /* blocking connects: the listen backlog (1,024) holds them */
        Conn *c = &conns[i];
        c->fd = socket(AF_INET, SOCK_STREAM, 0);
        if (c->fd < 0) die("socket");
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        setsockopt(c->fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
        if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) < 0) die("connect");
        fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
        ev.events = EPOLLIN;
        ev.data.u32 = (uint32_t)i;
        if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) die("epoll_ctl");
    }
    ev.events = EPOLLIN;
    ev.data.u32 = UINT32_MAX;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev) < 0) die("epoll_ctl stdin");
    int64_t deadline = now_ns() + 120 * 1000000000LL, final_seq = -1, tail_end = 0;
    int said_ready = 0;
    char ctl[256];
    size_t ctl_len = 0;
    for (;;) {
        int n = epoll_wait(ep, events, 1024, 50);
        if (n < 0 && errno != EINTR) die("epoll_wait");
        for (int k = 0; k < n; k++) {
            uint32_t i = events[k].data.u32;
            if (i != UINT32_MAX) {
                if (!conns[i].closed) readable(&conns[i]);
                continue;
            }
            ssize_t r = read(0, ctl + ctl_len, sizeof ctl - 1 - ctl_len);
            if (r <= 0) return 1; /* the parent went away */
            ctl_len += (size_t)r;
            ctl[ctl_len] = 0;
            char *nl;
            while ((nl = strchr(ctl, '\n'))) {
                *nl = 0;
                if (strcmp(ctl, "go") == 0) {
                    recording = 1;
                } else if (strncmp(ctl, "final ", 6) == 0) {
                    final_seq = strtoll(ctl + 6, NULL, 10);
                    tail_end = now_ns() + TAIL_S * 1000000000LL;
                }
                ctl_len -= (size_t)(nl + 1 - ctl);
                memmove(ctl, nl + 1, ctl_len + 1);
            }
        }
        if (n > 0 && pause_us > 0) {
            struct timespec pause = {pause_us / 1000000, (pause_us % 1000000) * 1000};
            nanosleep(&pause, NULL);
        }
        if (!said_ready) {
            if (ready == nconns) {
                printf("ready %d\n", ready);
                said_ready = 1;
            } else if (now_ns() > deadline) {
                printf("failed 0 [\"only %d of %d subscribed after 120 s\"]\n", ready, nconns);
                return 1;
            }
        }
        if (final_seq >= 0) {
            int behind = 0;
            for (int i = 0; i < nconns && !behind; i++) behind = !conns[i].closed && conns[i].last_seq < final_seq;
            if (!behind || now_ns() > tail_end) break;
        }
    }
    recording = 0;
    write_results(argv[4]);
    for (int i = 0; i < nconns; i++)
        if (!conns[i].closed) close(conns[i].fd);
    printf("done\n");
    return 0;
}

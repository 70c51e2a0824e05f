/*
 * tests/support/linkproxy.h — a userspace TCP proxy on 127.0.0.1 that
 * emulates a slow, lossy mobile uplink between a client and an upstream
 * server, and can inject faults (reset, truncation, stall). For tests and
 * benchmarks; this kernel has no tc netem (see shared/MEASURED.md).
 *
 * It runs in its own thread (one poll loop), accepts any number of client
 * connections and opens, for each, a connection to 127.0.0.1:upstream_port.
 *
 * The link model, per direction (up = client→server, down = server→client),
 * the link of each direction shared by every connection, as a phone's one
 * radio link is (two transfers at once each get about half of it):
 *
 *  1. Bottleneck queue. Bytes read from the senders' sockets enter one queue
 *     of at most queue_bytes per direction, all connections together, first in
 *     first out; the proxy reads a segment's worth from each connection in
 *     turn, so one sender cannot starve another's way in. When the queue is
 *     full the proxy stops reading, so back-pressure reaches the senders'
 *     kernel buffers as on a real link. The proxy's own sockets are
 *     small-buffered (SO_RCVBUF/SO_SNDBUF 16 KiB, which Linux doubles to 32 KiB)
 *     and TCP_NODELAY is set on both of its sides, so it hides no large queue of
 *     its own; the senders' kernel buffers are the senders' business.
 *  2. Serialisation. Bytes leave the queue in segments of at most 1460 bytes
 *     of one connection (a segment is whatever that connection has queued, up
 *     to 1460, when the link becomes free: no Nagle) at rate_bps; a segment
 *     stays in the queue until its last bit has left. Times are scheduled on a
 *     monotonic clock from the previous segment's end, so poll() granularity
 *     does not accumulate.
 *  3. Propagation. Each segment is delivered (written to the receiver's
 *     socket) delay_ms after it has left the queue.
 *  4. Loss. A byte stream cannot drop bytes, so the effect of TCP loss is
 *     modelled: each segment is lost with probability `loss` (draws from a
 *     PRNG per connection and direction, seeded from `seed` and the
 *     connection's number, so a run is reproducible for the same
 *     segmentation; a 1-byte segment is as likely to be lost as a full one). A lost segment is delivered one extra RTT + 200 ms later
 *     (a retransmission after fast retransmit or the minimum RTO), and
 *     delivery stays in order, so everything behind it waits too (head-of-line
 *     blocking). The retransmission also uses the bottleneck: a lost segment
 *     occupies the link for twice its serialisation time. Not modelled: the
 *     sender's congestion control backing off, so on long transfers loss costs
 *     less here than on a real link; on short ones the latency tail is right.
 *  5. Receiver window. Data of a connection that has left the queue but not
 *     yet been written to the receiver (in flight, or held behind a lost
 *     segment, or waiting for a receiver that does not read) is bounded, as a
 *     real receive window would bound it: max(64 KiB, 2 × rate × (3 × delay +
 *     200 ms)) capped at 4 MiB (4 MiB when rate is unlimited and there is a
 *     delay or loss). When it is full that connection's bytes wait in the
 *     queue and the link serves the others'.
 *  6. Handshake. The kernel completes the client's connect() with the proxy at
 *     once, so connect() returns early; to make a fresh connection cost what it
 *     costs on a real link, the up direction starts serialising only one RTT
 *     (2 × delay) after the proxy accepted, and the down direction 3 × delay
 *     after (when the server's accept would have returned). A request on a
 *     fresh connection therefore completes as late as over a real link (two
 *     RTTs plus serialisation); on a kept-alive connection, one RTT.
 *  7. Resets and errors on either side, and the upstream refusing the
 *     connection, are passed on at once as RST to the other side (not delayed).
 *     A FIN is delivered in order after the last data, with the delay.
 *
 * Timing accuracy is a few milliseconds (poll() has millisecond resolution).
 * rate_bps 0 means unlimited (segments leave at once); delay 0 and loss 0 make
 * it a plain, small-buffered forwarder.
 */
#ifndef FIC_TEST_LINKPROXY_H
#define FIC_TEST_LINKPROXY_H

#include <stddef.h>
#include <stdint.h>

typedef struct tu_link tu_link;

typedef struct tu_link_options {
	int upstream_port;  /* upstream is 127.0.0.1:upstream_port */
	int64_t rate_bps;   /* bottleneck rate in bits/s, each direction separately; 0 = unlimited */
	int delay_ms;       /* one-way propagation delay each direction (RTT = 2 × delay) */
	double loss;        /* probability that a (≤ 1460-byte) segment is lost, 0..1 */
	size_t queue_bytes; /* bytes the link itself may hold per direction (bottleneck
	                       queue; 16384 if 0) */
	uint32_t seed;      /* for the loss draws (reproducible runs) */
} tu_link_options;

/* Start a proxy listening on 127.0.0.1 (an ephemeral port). Returns 0 and sets
 * *out, or -1 (bad options, or a socket/thread could not be made) with *out NULL.
 * Connections are made to the upstream only as clients connect. */
int tu_link_start(tu_link **out, const tu_link_options *o);

/* The port clients connect to (on 127.0.0.1). */
int tu_link_port(const tu_link *l);

/* Stop: closes the listener and every connection (both sides), joins the
 * thread and frees the proxy. NULL is allowed. */
void tu_link_stop(tu_link *l);

typedef struct tu_link_stats {
	int64_t up_bytes;      /* bytes written to the upstream (client→server) */
	int64_t down_bytes;    /* bytes written to clients (server→client) */
	int64_t connections;   /* client connections accepted */
	int64_t segments_lost; /* segments the loss model marked lost, both directions */
} tu_link_stats;

/* A snapshot of the counters since start (thread-safe). */
void tu_link_stats_get(tu_link *l, tu_link_stats *out);

typedef enum tu_fault {
	TU_FAULT_NONE,
	TU_FAULT_RESET_UP,
	TU_FAULT_RESET_DOWN,
	TU_FAULT_TRUNCATE_DOWN,
	TU_FAULT_STALL_DOWN
} tu_fault;

/* Arm a fault for the next connection accepted (thread-safe; one at a time, a
 * later call replaces one not yet taken; TU_FAULT_NONE disarms). After
 * `after_bytes` bytes have passed (been written to the receiver) in the named
 * direction (UP = client→server, DOWN = server→client) — exactly that many,
 * never more:
 *  RESET_UP, RESET_DOWN: both sides are closed with RST (SO_LINGER 0); data
 *    still in the proxy's socket buffers is discarded, so the client may have
 *    seen fewer bytes than after_bytes, and then sees ECONNRESET or EOF.
 *  TRUNCATE_DOWN: the client side is closed normally (FIN) at that point and
 *    the rest of the response dropped: the client reads exactly after_bytes
 *    bytes, then EOF. The upstream side is closed; what the client still sends
 *    is read and discarded until it closes.
 *  STALL_DOWN: nothing more (not even a FIN) is forwarded to the client and the
 *    connection stays open, so the client must time out. Up keeps working.
 *    Once the client has closed its side, the connection is closed.
 * With after_bytes 0 (or negative) the fault fires as soon as the connection
 * is accepted. */
void tu_link_fault(tu_link *l, tu_fault f, int64_t after_bytes);

#endif

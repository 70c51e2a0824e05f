package org.fieldinspect;

/**
 * The HTTP seam of the sync engine (fieldinspect/sys/transport.h) in Java:
 * perform one exchange and return what came back whatever its HTTP status,
 * or throw a {@link FicException} saying why nothing came back —
 * {@link Status#ENETWORK} (no connection, reset, truncated, timeout: the
 * engine retries with backoff), {@link Status#ETLS}, {@link Status#ETOOBIG}
 * (over the request's size cap), {@link Status#EPROTO} (not HTTP, a
 * redirect), {@link Status#EINVAL} (a URL the transport refuses),
 * {@link Status#ECANCELED}. Called on the syncing thread — and, if
 * {@link #concurrent()} says so, also on the engine's photo lane threads. The
 * body is handed back as it came (never decoded), with its Content-Encoding
 * in {@link HttpResponse#contentEncoding}.
 * {@link HttpUrlConnectionTransport} is the one to use on Android.
 */
public interface Transport {
    HttpResponse execute(HttpRequest request);

    /**
     * Whether {@link #execute} may be called from several threads at once,
     * each call with its own request (fieldinspect/sys/transport.h,
     * FIC_TRANSPORT_CONCURRENT). If so, the engine uploads photos on two lanes
     * — two chunks in flight, each from a thread of the engine's, attached to
     * the JVM for the call — while records keep the syncing thread: on a slow
     * link the photos then keep it busy while a chunk waits for its answer.
     * Each such call's request carries its own cancellation flag. Default:
     * false (one request at a time, on the syncing thread).
     */
    default boolean concurrent() {
        return false;
    }
}

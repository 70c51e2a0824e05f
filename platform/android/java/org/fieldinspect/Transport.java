package org.fieldinspect;

/**
 * The HTTP seam of the sync engine (fieldinspect/sys/transport.h) in Java:
 * perform one exchange and return what came back whatever its HTTP status,
 * or throw a {@link FicException} saying why nothing came back —
 * {@link Status#ENETWORK} (no connection, reset, truncated, timeout: the
 * engine retries with backoff), {@link Status#ETLS}, {@link Status#ETOOBIG}
 * (over the request's size cap), {@link Status#EPROTO} (not HTTP, a
 * redirect), {@link Status#EINVAL} (a URL the transport refuses),
 * {@link Status#ECANCELED}. Called on the syncing thread. The body is handed
 * back as it came (never decoded), with its Content-Encoding in
 * {@link HttpResponse#contentEncoding}.
 * {@link HttpUrlConnectionTransport} is the one to use on Android.
 */
public interface Transport {
    HttpResponse execute(HttpRequest request);
}

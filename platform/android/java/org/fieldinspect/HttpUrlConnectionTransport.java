package org.fieldinspect;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.reflect.Field;
import java.net.HttpURLConnection;
import java.net.MalformedURLException;
import java.net.ProtocolException;
import java.net.SocketTimeoutException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.HttpsURLConnection;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.TrustManagerFactory;

/**
 * The sync transport on {@link HttpURLConnection}, so an Android app uses
 * the platform's HTTP stack, TLS and certificate store (and its proxy
 * settings). Held to the rules of the built-in libcurl transport
 * (sync/transport_curl.c):
 * <ul>
 * <li>https only; plain http only to loopback (127.0.0.0/8, ::1, localhost);
 * anything else is {@link Status#EINVAL} before a byte is sent;</li>
 * <li>TLS peer and host verification always on (there is no switch); an
 * optional CA bundle replaces the system's trust store, and optional
 * {@code sha256//<base64>} pins of the server's public key (as libcurl's
 * CURLOPT_PINNEDPUBLICKEY) are checked after the handshake and before the
 * request — with its token — is written;</li>
 * <li>redirects are never followed: a 3xx is {@link Status#EPROTO};</li>
 * <li>every exchange is bounded: connect time, a stall (no byte for the
 * low-speed time), the whole exchange (a watchdog disconnects it), and the
 * response size as received ({@link Status#ETOOBIG});</li>
 * <li>bodies come back as they came: no transparent gzip (Android's
 * HttpURLConnection adds {@code Accept-Encoding: gzip} and decodes unless
 * the caller names an encoding, so "identity" is named when the engine asks
 * for none);</li>
 * <li>cancellation ({@link HttpRequest#isCancelled()}) is polled every 50 ms
 * and disconnects the exchange ({@link Status#ECANCELED});</li>
 * <li>nothing is logged (the Authorization header carries the device's
 * token).</li>
 * </ul>
 * Connections are kept alive between requests by HttpURLConnection's pool,
 * one for each request in flight at once.
 * <p>
 * PATCH (the photo chunks): Android's HttpURLConnection supports it; the
 * desktop JDK's refuses the method name, so there the method is set by
 * reflection, which needs {@code --add-opens java.base/java.net=ALL-UNNAMED}
 * (the JVM tests pass it).
 * <p>
 * Thread-safety: {@link #execute} may be called from several threads at once
 * ({@link #concurrent()} is true): each call has its own connection and
 * watchdog, and the transport's own state is set in its constructor and only
 * read afterwards. The engine uses that for its photo lanes; give it to one
 * sync pass at a time.
 */
public final class HttpUrlConnectionTransport implements Transport {
    private static final long DEFAULT_CONNECT_MS = 15000, DEFAULT_LOW_SPEED_MS = 30000,
            DEFAULT_TOTAL_MS = 120000, DEFAULT_MAX_RESPONSE = 4L * 1024 * 1024;
    private static final long TICK_MS = 50;

    /** Options (fic_curl_options' equivalent). */
    public static final class Options {
        /** PEM CA certificates to trust instead of the system's; null: the system's. */
        public String caCertificatesPem;
        /** "sha256//&lt;base64&gt;[;sha256//&lt;base64&gt;…]" public-key pins; null: none. */
        public String pinnedPublicKeys;
        /** User-Agent; null: "fieldinspect/&lt;version&gt;". */
        public String userAgent;
    }

    private static ScheduledExecutorService watchdog;

    private final javax.net.ssl.SSLSocketFactory socketFactory;
    private final List<String> pins = new ArrayList<String>();
    private final String userAgent;

    public HttpUrlConnectionTransport() {
        this(new Options());
    }

    public HttpUrlConnectionTransport(Options o) {
        if (o == null) {
            o = new Options();
        }
        if (o.pinnedPublicKeys != null) {
            for (String p : o.pinnedPublicKeys.split(";")) {
                p = p.trim();
                if (!p.startsWith("sha256//") || p.length() <= 8) {
                    throw new FicException(Status.EINVAL,
                            "pinnedPublicKeys must be \"sha256//<base64>[;...]\"");
                }
                pins.add(p.substring(8));
            }
        }
        socketFactory = o.caCertificatesPem == null ? null : factoryFor(o.caCertificatesPem);
        userAgent = o.userAgent != null ? o.userAgent : "fieldinspect/" + Library.version();
    }

    private static javax.net.ssl.SSLSocketFactory factoryFor(String pem) {
        try {
            CertificateFactory cf = CertificateFactory.getInstance("X.509");
            KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
            ks.load(null, null);
            int n = 0;
            for (Certificate c : cf.generateCertificates(
                    new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)))) {
                ks.setCertificateEntry("ca" + n++, c);
            }
            if (n == 0) {
                throw new FicException(Status.EINVAL, "the CA bundle holds no certificate");
            }
            TrustManagerFactory tmf =
                    TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(ks);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, tmf.getTrustManagers(), null);
            return ctx.getSocketFactory();
        } catch (FicException e) {
            throw e;
        } catch (Exception e) {
            throw new FicException(Status.EINVAL, "cannot read the CA bundle: " + e.getMessage());
        }
    }

    private static synchronized ScheduledExecutorService watchdog() {
        if (watchdog == null) {
            watchdog = Executors.newSingleThreadScheduledExecutor(new ThreadFactory() {
                @Override
                public Thread newThread(Runnable r) {
                    Thread t = new Thread(r, "fieldinspect-transport-watchdog");
                    t.setDaemon(true);
                    return t;
                }
            });
        }
        return watchdog;
    }

    /* ---- the rules ---- */

    static boolean loopbackHost(String host) {
        if (host.equalsIgnoreCase("localhost") || host.equals("[::1]") || host.equals("::1")) {
            return true;
        }
        String[] parts = host.split("\\.", -1);
        if (parts.length != 4 || !parts[0].equals("127")) {
            return false;
        }
        for (String p : parts) {
            if (p.isEmpty() || p.length() > 3) {
                return false;
            }
            for (int i = 0; i < p.length(); i++) {
                if (p.charAt(i) < '0' || p.charAt(i) > '9') {
                    return false;
                }
            }
        }
        return true;
    }

    private static URL checkUrl(String url) {
        URL u;
        try {
            u = new URL(url);
        } catch (MalformedURLException e) {
            throw new FicException(Status.EINVAL, "not an absolute URL with a host");
        }
        String scheme = u.getProtocol().toLowerCase(Locale.ROOT);
        if (u.getHost() == null || u.getHost().isEmpty()) {
            throw new FicException(Status.EINVAL, "not an absolute URL with a host");
        }
        if (scheme.equals("https")) {
            return u;
        }
        if (scheme.equals("http")) {
            if (!loopbackHost(u.getHost())) {
                throw new FicException(Status.EINVAL, "plain http is allowed only to loopback (host "
                        + u.getHost() + "): use https");
            }
            return u;
        }
        throw new FicException(Status.EINVAL, "URL scheme " + scheme + " is not allowed: use https");
    }

    private static long count(String v) {
        if (v == null) {
            return -1;
        }
        v = v.trim();
        if (v.isEmpty() || v.length() > 18) {
            return -1;
        }
        for (int i = 0; i < v.length(); i++) {
            if (v.charAt(i) < '0' || v.charAt(i) > '9') {
                return -1;
            }
        }
        return Long.parseLong(v);
    }

    private static int coding(String v) {
        if (v == null) {
            return HttpResponse.CODING_NONE;
        }
        v = v.trim().toLowerCase(Locale.ROOT);
        if (v.isEmpty() || v.equals("identity")) {
            return HttpResponse.CODING_NONE;
        }
        if (v.equals("gzip") || v.equals("x-gzip")) {
            return HttpResponse.CODING_GZIP;
        }
        return HttpResponse.CODING_OTHER;
    }

    private static boolean headerOk(String s, boolean name) {
        if (s == null || (name && s.isEmpty())) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\r' || c == '\n' || (name && (c == ':' || c <= ' '))) {
                return false;
            }
        }
        return true;
    }

    private static void setMethod(HttpURLConnection c, String method) throws ProtocolException {
        try {
            c.setRequestMethod(method);
        } catch (ProtocolException e) {
            // The desktop JDK has no PATCH (Android's HttpURLConnection has).
            try {
                Object target = c;
                try {
                    Field d = c.getClass().getDeclaredField("delegate"); // HttpsURLConnectionImpl
                    d.setAccessible(true);
                    target = d.get(c);
                } catch (NoSuchFieldException ignored) {
                    // plain http: the connection itself
                }
                Field f = HttpURLConnection.class.getDeclaredField("method");
                f.setAccessible(true);
                f.set(target, method);
            } catch (Exception r) {
                throw new ProtocolException("HTTP method " + method + " is not supported here");
            }
        }
    }

    private void checkPins(HttpsURLConnection c) throws IOException {
        if (pins.isEmpty()) {
            return;
        }
        Certificate[] chain;
        try {
            chain = c.getServerCertificates();
        } catch (SSLPeerUnverifiedException e) {
            throw new FicException(Status.ETLS, "the server's certificate did not verify");
        }
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            String have = base64(sha.digest(chain[0].getPublicKey().getEncoded()));
            if (pins.contains(have)) {
                return;
            }
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new FicException(Status.ETLS, "SHA-256 is not available for key pinning");
        }
        throw new FicException(Status.ETLS, "the server's public key does not match the pinned key");
    }

    /* RFC 4648 base64 with padding (java.util.Base64 is Android API 26+). */
    static String base64(byte[] b) {
        final String a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < b.length; i += 3) {
            int n = (b[i] & 0xff) << 16;
            if (i + 1 < b.length) {
                n |= (b[i + 1] & 0xff) << 8;
            }
            if (i + 2 < b.length) {
                n |= b[i + 2] & 0xff;
            }
            out.append(a.charAt(n >> 18 & 63)).append(a.charAt(n >> 12 & 63));
            out.append(i + 1 < b.length ? a.charAt(n >> 6 & 63) : '=');
            out.append(i + 2 < b.length ? a.charAt(n & 63) : '=');
        }
        return out.toString();
    }

    /** True: each call is independent (its own connection), so the engine may run photo lanes. */
    @Override
    public boolean concurrent() {
        return true;
    }

    private static boolean certificateProblem(Throwable t) {
        for (; t != null; t = t.getCause()) {
            if (t instanceof CertificateException || t instanceof SSLPeerUnverifiedException
                    || t instanceof java.security.cert.CertPathValidatorException) {
                return true;
            }
        }
        return false;
    }

    /* Why the watchdog cut an exchange, if it did. */
    private static final class Guard implements Runnable {
        final HttpRequest req;
        final HttpURLConnection conn;
        final long deadline;
        volatile Status cut;

        Guard(HttpRequest req, HttpURLConnection conn, long totalMs) {
            this.req = req;
            this.conn = conn;
            this.deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(totalMs);
        }

        @Override
        public void run() {
            if (cut != null) {
                return;
            }
            if (req.isCancelled()) {
                cut = Status.ECANCELED;
            } else if (System.nanoTime() - deadline > 0) {
                cut = Status.ENETWORK;
            } else {
                return;
            }
            conn.disconnect(); // the blocked read or write fails at once
        }
    }

    @Override
    public HttpResponse execute(HttpRequest req) {
        if (req == null || req.method == null || req.url == null) {
            throw new FicException(Status.EINVAL, "transport request: bad arguments");
        }
        URL url = checkUrl(req.url);
        String m = req.method;
        boolean head = m.equals("HEAD"), get = m.equals("GET");
        if (!head && !get && !m.equals("POST") && !m.equals("PATCH")) {
            throw new FicException(Status.EINVAL, "method " + m + " is not used by the protocol");
        }
        boolean acceptEncoding = false;
        for (String[] h : req.headers) {
            if (!headerOk(h[0], true) || !headerOk(h[1], false)
                    || h[0].length() + h[1].length() > 8000) {
                throw new FicException(Status.EINVAL, "a request header is malformed");
            }
            acceptEncoding |= h[0].equalsIgnoreCase("Accept-Encoding");
        }
        if (req.isCancelled()) {
            throw new FicException(Status.ECANCELED, "the request was cancelled");
        }
        long max = req.maxResponseBytes > 0 ? req.maxResponseBytes : DEFAULT_MAX_RESPONSE;
        long total = req.totalTimeoutMs > 0 ? req.totalTimeoutMs : DEFAULT_TOTAL_MS;
        HttpURLConnection c = null;
        Guard guard = null;
        ScheduledFuture<?> tick = null;
        try {
            c = (HttpURLConnection) url.openConnection(); // the system's proxy settings
            if (c instanceof HttpsURLConnection && socketFactory != null) {
                ((HttpsURLConnection) c).setSSLSocketFactory(socketFactory);
            }
            c.setInstanceFollowRedirects(false);
            c.setUseCaches(false);
            c.setConnectTimeout((int) Math.min(Integer.MAX_VALUE,
                    req.connectTimeoutMs > 0 ? req.connectTimeoutMs : DEFAULT_CONNECT_MS));
            c.setReadTimeout((int) Math.min(Integer.MAX_VALUE,
                    req.lowSpeedTimeMs > 0 ? req.lowSpeedTimeMs : DEFAULT_LOW_SPEED_MS));
            setMethod(c, m);
            c.setRequestProperty("User-Agent", userAgent);
            c.setRequestProperty("Accept", "*/*");
            if (!acceptEncoding) {
                c.setRequestProperty("Accept-Encoding", "identity");
            }
            for (String[] h : req.headers) {
                c.setRequestProperty(h[0], h[1]);
            }
            boolean send = !head && !get;
            if (send) {
                // Not setFixedLengthStreamingMode: the JDK then writes the headers and
                // the body in separate segments, and Nagle's algorithm holds the body
                // until the server's delayed ACK (~40 ms a request). Buffered, they
                // leave together. Bodies are at most 1 MiB (a records batch).
                c.setDoOutput(true);
            }
            guard = new Guard(req, c, total);
            tick = watchdog().scheduleAtFixedRate(guard, TICK_MS, TICK_MS, TimeUnit.MILLISECONDS);
            c.connect(); // TCP and TLS handshake; nothing of the request is written yet
            if (c instanceof HttpsURLConnection) {
                checkPins((HttpsURLConnection) c);
            }
            if (send) {
                OutputStream os = c.getOutputStream();
                os.write(req.body);
                os.close();
            }
            int status = c.getResponseCode();
            if (status < 100 || status > 599) {
                throw new FicException(Status.EPROTO, "the server's reply is not valid HTTP");
            }
            if (status >= 300 && status < 400) {
                throw new FicException(Status.EPROTO,
                        "the server answered with a redirect (" + status + "), which is refused");
            }
            long length = count(c.getHeaderField("Content-Length")); // getContentLengthLong: API 24
            if (length > max) {
                throw new FicException(Status.ETOOBIG, "the server's response exceeds " + max + " bytes");
            }
            HttpResponse r = new HttpResponse();
            r.status = status;
            r.serverTimeMs = count(c.getHeaderField("X-Fic-Server-Time"));
            long ra = count(c.getHeaderField("Retry-After"));
            r.retryAfterMs = ra >= 0 && ra <= 86400 ? ra * 1000 : -1;
            r.uploadOffset = count(c.getHeaderField("Upload-Offset"));
            r.contentEncoding = coding(c.getHeaderField("Content-Encoding"));
            if (!head) {
                InputStream in = status >= 400 ? c.getErrorStream() : c.getInputStream();
                if (in != null) {
                    r.body = readCapped(in, max);
                }
                // HttpURLConnection ends a fixed-length body early without a word when
                // the connection closes: a truncated answer is the link's failure.
                int got = r.body == null ? 0 : r.body.length;
                if (length >= 0 && got != length && status != 204 && status != 304) {
                    throw new FicException(Status.ENETWORK, "network: the response was cut short ("
                            + got + " of " + length + " bytes)");
                }
            }
            if (r.body != null && r.body.length == 0) {
                r.body = null;
            }
            if (guard.cut != null) {
                throw cut(guard);
            }
            return r;
        } catch (FicException e) {
            if (c != null) {
                c.disconnect();
            }
            if (guard != null && guard.cut != null && e.status() != Status.ETOOBIG) {
                throw cut(guard);
            }
            throw e;
        } catch (IOException e) {
            if (c != null) {
                c.disconnect();
            }
            if (guard != null && guard.cut != null) {
                throw cut(guard);
            }
            if (e instanceof SSLException && certificateProblem(e)) {
                throw new FicException(Status.ETLS,
                        "the server's certificate did not verify: " + e.getMessage());
            }
            if (e instanceof ProtocolException || String.valueOf(e.getMessage()).contains("Invalid Http")) {
                throw new FicException(Status.EPROTO, "the server's reply is not valid HTTP: "
                        + e.getMessage());
            }
            if (e instanceof SocketTimeoutException) {
                throw new FicException(Status.ENETWORK, "network: timed out (" + e.getMessage() + ")");
            }
            throw new FicException(Status.ENETWORK, "network: " + e.getClass().getSimpleName()
                    + (e.getMessage() != null ? ": " + e.getMessage() : ""));
        } finally {
            if (tick != null) {
                tick.cancel(false);
            }
        }
    }

    private static FicException cut(Guard g) {
        return g.cut == Status.ECANCELED
                ? new FicException(Status.ECANCELED, "the request was cancelled")
                : new FicException(Status.ENETWORK, "network: the exchange took longer than its limit");
    }

    private static byte[] readCapped(InputStream in, long max) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[16384];
        try {
            for (;;) {
                int n = in.read(buf);
                if (n < 0) {
                    break;
                }
                if (out.size() + (long) n > max) {
                    throw new FicException(Status.ETOOBIG,
                            "the server's response exceeds " + max + " bytes");
                }
                out.write(buf, 0, n);
            }
        } finally {
            in.close();
        }
        return out.toByteArray();
    }
}

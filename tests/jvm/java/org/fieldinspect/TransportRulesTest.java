package org.fieldinspect;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import java.io.File;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.KeyStore;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * HttpUrlConnectionTransport holds the rules of the libcurl transport
 * (tests/sync/test_transport.c): https only except loopback, no redirects,
 * size and time caps, cancellation, pins, bodies as they came.
 */
class TransportRulesTest {
    private HttpServer server;
    private String base;
    private final AtomicInteger hits = new AtomicInteger();
    private final AtomicReference<String> acceptEncoding = new AtomicReference<String>();

    private static void reply(HttpExchange x, int status, String[] headers, byte[] body)
            throws IOException {
        for (int i = 0; i + 1 < headers.length; i += 2) {
            x.getResponseHeaders().add(headers[i], headers[i + 1]);
        }
        boolean head = x.getRequestMethod().equals("HEAD");
        x.sendResponseHeaders(status, body == null || head || body.length == 0 ? -1 : body.length);
        if (body != null && body.length > 0 && !head) {
            try (OutputStream os = x.getResponseBody()) {
                os.write(body);
            }
        }
        x.close();
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void routes(HttpServer s) {
        s.createContext("/ok", x -> {
            hits.incrementAndGet();
            acceptEncoding.set(x.getRequestHeaders().getFirst("Accept-Encoding"));
            byte[] in = readAll(x.getRequestBody());
            reply(x, 200, new String[] {"X-Fic-Server-Time", "1767225600000", "Upload-Offset", "42",
                                        "Retry-After", "7"}, in.length > 0 ? in : "ok".getBytes());
        });
        s.createContext("/gzip", x -> reply(x, 200, new String[] {"Content-Encoding", "gzip"},
                new byte[] {0x1f, (byte) 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
        s.createContext("/redirect", x -> reply(x, 302, new String[] {"Location", base + "/ok"}, null));
        s.createContext("/big", x -> reply(x, 200, new String[0], new byte[5000]));
        s.createContext("/big-chunked", x -> {
            x.sendResponseHeaders(200, 0); // chunked: no length announced
            try (OutputStream os = x.getResponseBody()) {
                for (int i = 0; i < 10; i++) {
                    os.write(new byte[1000]);
                }
            }
            x.close();
        });
        s.createContext("/stall", x -> {
            sleep(3000);
            reply(x, 200, new String[0], "late".getBytes());
        });
        s.createContext("/busy", x -> reply(x, 503, new String[] {"Retry-After", "30"},
                "{\"message\":\"busy\"}".getBytes()));
    }

    private static byte[] readAll(InputStream in) throws IOException {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        byte[] b = new byte[4096];
        for (int n; (n = in.read(b)) > 0;) {
            out.write(b, 0, n);
        }
        return out.toByteArray();
    }

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        routes(server);
        server.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
        server.start();
        base = "http://127.0.0.1:" + server.getAddress().getPort();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    private static HttpRequest req(String method, String url, byte[] body, long lowSpeedMs, long totalMs,
                                   long max, long cancel, String... headers) {
        List<String[]> h = new ArrayList<String[]>();
        for (int i = 0; i + 1 < headers.length; i += 2) {
            h.add(new String[] {headers[i], headers[i + 1]});
        }
        return new HttpRequest(method, url, h, body == null ? new byte[0] : body, 0, lowSpeedMs, 0,
                totalMs, max, cancel);
    }

    private static HttpRequest get(String url) {
        return req("GET", url, null, 0, 0, 0, 0);
    }

    private static Status failure(Transport t, HttpRequest r) {
        return assertThrows(FicException.class, () -> t.execute(r)).status();
    }

    @Test
    void anExchangeCarriesTheProtocolsHeadersAndTheBodyAsItCame() {
        Transport t = new HttpUrlConnectionTransport();
        HttpResponse r = t.execute(req("POST", base + "/ok", "记录𠀋".getBytes(StandardCharsets.UTF_8),
                0, 0, 0, 0, "Content-Type", "application/json", "Authorization", "Bearer x"));
        assertEquals(200, r.status);
        assertEquals("记录𠀋", new String(r.body, StandardCharsets.UTF_8));
        assertEquals(1767225600000L, r.serverTimeMs);
        assertEquals(42, r.uploadOffset);
        assertEquals(7000, r.retryAfterMs);
        assertEquals("identity", acceptEncoding.get()); // no transparent gzip
        HttpResponse g = t.execute(req("GET", base + "/gzip", null, 0, 0, 0, 0,
                "Accept-Encoding", "gzip"));
        assertEquals(HttpResponse.CODING_GZIP, g.contentEncoding);
        assertEquals(0x1f, g.body[0]); // not decoded
        HttpResponse busy = t.execute(get(base + "/busy"));
        assertEquals(503, busy.status);
        assertEquals(30000, busy.retryAfterMs);
        assertTrue(new String(busy.body, StandardCharsets.UTF_8).contains("busy"));
        HttpResponse head = t.execute(req("HEAD", base + "/ok", null, 0, 0, 0, 0));
        assertNull(head.body);
        HttpResponse patch = t.execute(req("PATCH", base + "/ok", new byte[] {1, 2, 3}, 0, 0, 0, 0));
        assertArrayEquals(new byte[] {1, 2, 3}, patch.body);
    }

    @Test
    void plainHttpOnlyToLoopbackAndOnlyTheProtocolsMethods() {
        Transport t = new HttpUrlConnectionTransport();
        int before = hits.get();
        assertEquals(Status.EINVAL, failure(t, get("http://county.example.cn/v1/feeds")));
        assertEquals(Status.EINVAL, failure(t, get("http://10.0.0.1/v1")));
        assertEquals(Status.EINVAL, failure(t, get("http://127.0.0.1.example.cn/v1")));
        assertEquals(Status.EINVAL, failure(t, get("ftp://127.0.0.1/x")));
        assertEquals(Status.EINVAL, failure(t, get("not a url")));
        assertEquals(Status.EINVAL, failure(t, req("DELETE", base + "/ok", null, 0, 0, 0, 0)));
        assertEquals(Status.EINVAL, failure(t, req("GET", base + "/ok", null, 0, 0, 0, 0,
                "X-Evil", "a\r\nInjected: 1")));
        assertEquals(before, hits.get()); // nothing left the device
        assertTrue(HttpUrlConnectionTransport.loopbackHost("127.1.2.3"));
        assertTrue(HttpUrlConnectionTransport.loopbackHost("localhost"));
        assertTrue(HttpUrlConnectionTransport.loopbackHost("[::1]"));
        assertTrue(!HttpUrlConnectionTransport.loopbackHost("127.0.0"));
        assertTrue(!HttpUrlConnectionTransport.loopbackHost("128.0.0.1"));
        // The pin's base64 (own code: java.util.Base64 needs Android API 26).
        java.util.Random r = new java.util.Random(1);
        for (int n = 0; n < 40; n++) {
            byte[] b = new byte[n];
            r.nextBytes(b);
            assertEquals(java.util.Base64.getEncoder().encodeToString(b),
                    HttpUrlConnectionTransport.base64(b));
        }
    }

    @Test
    void redirectsAreRefusedAndSizesCapped() {
        Transport t = new HttpUrlConnectionTransport();
        int before = hits.get();
        assertEquals(Status.EPROTO, failure(t, get(base + "/redirect")));
        assertEquals(before, hits.get()); // not followed
        assertEquals(Status.ETOOBIG, failure(t, req("GET", base + "/big", null, 0, 0, 1000, 0)));
        assertEquals(Status.ETOOBIG, failure(t, req("GET", base + "/big-chunked", null, 0, 0, 4000, 0)));
        assertEquals(5000, t.execute(req("GET", base + "/big", null, 0, 0, 5000, 0)).body.length);
    }

    @Test
    void stallsAndSlowExchangesAreCutAndCancellationIsQuick() throws Exception {
        Transport t = new HttpUrlConnectionTransport();
        long t0 = System.nanoTime();
        assertEquals(Status.ENETWORK, failure(t, req("GET", base + "/stall", null, 400, 0, 0, 0)));
        assertTrue(System.nanoTime() - t0 < 2_500_000_000L);
        t0 = System.nanoTime();
        assertEquals(Status.ENETWORK, failure(t, req("GET", base + "/stall", null, 0, 500, 0, 0)));
        assertTrue(System.nanoTime() - t0 < 2_500_000_000L);
        try (Cancellation c = new Cancellation()) {
            long h = c.acquire();
            try {
                new Thread(() -> {
                    sleep(300);
                    c.cancel();
                }).start();
                t0 = System.nanoTime();
                assertEquals(Status.ECANCELED, failure(t, req("GET", base + "/stall", null, 0, 0, 0, h)));
                long ms = (System.nanoTime() - t0) / 1_000_000;
                assertTrue(ms >= 250 && ms < 1500, ms + " ms");
            } finally {
                c.release();
            }
        }
        // Nobody listening: a network error at once.
        int port;
        try (ServerSocket ss = new ServerSocket(0)) {
            port = ss.getLocalPort();
        }
        assertEquals(Status.ENETWORK, failure(t, get("http://127.0.0.1:" + port + "/v1")));
    }

    @Test
    void aReplyThatIsNotHttpOrIsCutShortIsNeverTakenForAnAnswer() throws Exception {
        Transport t = new HttpUrlConnectionTransport();
        for (String reply : new String[] {"HELLO\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort"}) {
            try (ServerSocket ss = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
                Thread th = new Thread(() -> {
                    try (Socket s = ss.accept()) {
                        s.getInputStream().read(new byte[4096]);
                        s.getOutputStream().write(reply.getBytes(StandardCharsets.US_ASCII));
                    } catch (IOException ignored) {
                        // the client went away
                    }
                });
                th.start();
                Status st = failure(t, get("http://127.0.0.1:" + ss.getLocalPort() + "/v1/x"));
                assertTrue(st == Status.EPROTO || st == Status.ENETWORK, st.toString());
                th.join();
            }
        }
    }

    /* ---- TLS ---- */

    private static String run(File dir, String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).directory(dir).redirectErrorStream(true).start();
        String out = new String(readAll(p.getInputStream()), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), Arrays.toString(cmd) + ": " + out);
        return out.trim();
    }

    @Test
    void overHttpsTheServerIsVerifiedAndItsKeyPinned() throws Exception {
        File dir = Files.createTempDirectory("fic-tls").toFile();
        run(dir, "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem",
            "-out", "cert.pem", "-days", "2", "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1");
        run(dir, "openssl", "pkcs12", "-export", "-in", "cert.pem", "-inkey", "key.pem", "-out",
            "ks.p12", "-passout", "pass:changeit");
        // The pin, computed by openssl: SHA-256 of the DER SubjectPublicKeyInfo.
        run(dir, "sh", "-c", "openssl x509 -in cert.pem -pubkey -noout | openssl pkey -pubin "
            + "-outform der | openssl dgst -sha256 -binary | base64 > pin");
        String pin = new String(Files.readAllBytes(new File(dir, "pin").toPath()),
                StandardCharsets.US_ASCII).trim();
        String pem = new String(Files.readAllBytes(new File(dir, "cert.pem").toPath()),
                StandardCharsets.US_ASCII);
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (FileInputStream in = new FileInputStream(new File(dir, "ks.p12"))) {
            ks.load(in, "changeit".toCharArray());
        }
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, "changeit".toCharArray());
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), null, null);
        HttpsServer https = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        https.setHttpsConfigurator(new HttpsConfigurator(ctx));
        routes(https);
        https.start();
        String url = "https://127.0.0.1:" + https.getAddress().getPort() + "/ok";
        try {
            int before = hits.get();
            // Not in the system's trust store: refused.
            assertEquals(Status.ETLS, failure(new HttpUrlConnectionTransport(), get(url)));
            HttpUrlConnectionTransport.Options o = new HttpUrlConnectionTransport.Options();
            o.caCertificatesPem = pem;
            assertEquals(200, new HttpUrlConnectionTransport(o).execute(get(url)).status);
            // The right pin passes; a wrong one is refused before the request is written.
            o.pinnedPublicKeys = "sha256//" + pin;
            assertEquals(200, new HttpUrlConnectionTransport(o).execute(get(url)).status);
            int after = hits.get();
            o.pinnedPublicKeys = "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=;sha256//" + pin.substring(1) + "x";
            assertEquals(Status.ETLS, failure(new HttpUrlConnectionTransport(o),
                    req("POST", url, "{}".getBytes(), 0, 0, 0, 0, "Authorization", "Bearer secret")));
            assertEquals(after, hits.get()); // the token never reached the server
            assertEquals(before + 2, after);
            // The certificate names 127.0.0.1, not localhost: host verification stays on.
            o.pinnedPublicKeys = null;
            assertEquals(Status.ETLS, failure(new HttpUrlConnectionTransport(o),
                    get("https://localhost:" + https.getAddress().getPort() + "/ok")));
            assertEquals(Status.EINVAL, assertThrows(FicException.class, () -> {
                HttpUrlConnectionTransport.Options bad = new HttpUrlConnectionTransport.Options();
                bad.pinnedPublicKeys = "md5//xyz";
                new HttpUrlConnectionTransport(bad);
            }).status());
        } finally {
            https.stop(0);
            for (File f : dir.listFiles()) {
                f.delete();
            }
            dir.delete();
        }
    }
}

package org.fieldinspect;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.util.Comparator;
import java.util.stream.Stream;
import javax.imageio.ImageIO;

/** A store on the Android platform layer and the reference server, both in a fresh directory. */
class Fixture implements AutoCloseable {
    static final String COUNTY = "石柱县";
    static final String FOODBORNE =
            "{\"onset_date\":\"2026-03-01\",\"meal_place\":\"镇中心饭店\",\"meal_unit\":\"李家婚宴\","
            + "\"contact_phone\":\"13800000000\",\"exposed\":120,\"ill\":\"14\",\"dead\":0,"
            + "\"suspected_food\":\"凉拌菜\",\"symptoms\":[\"vomiting\",\"diarrhoea\"],"
            + "\"measures_taken\":\"已送镇卫生院\",\"verified\":\"yes\","
            + "\"report_source\":\"primary_care\",\"diagnosis\":[\"food_poisoning\"]}";
    static final String TIP_OFF =
            "{\"source\":\"hotline_12345\",\"ticket_12345\":\"B-1\",\"subject\":\"illegal_practice\",\"place\":\"集市\","
            + "\"description\":\"游医摆摊\",\"time_sensitive\":\"no\",\"verified\":\"yes\"}";

    final File dir;
    final CountyServer server;
    final Store store;
    final Transport transport = new HttpUrlConnectionTransport();
    final SyncOptions opts;

    Fixture() throws IOException {
        this(true);
    }

    Fixture(boolean withServer) throws IOException {
        dir = Files.createTempDirectory("fic-jvm").toFile();
        server = withServer ? new CountyServer(dir) : null;
        Store.Options o = new Store.Options();
        o.actor = "inspector-0042";
        o.dataDir = dir;
        o.logLevel = 3;
        store = Store.open("patrol.db", o);
        opts = new SyncOptions(transport, withServer ? server.url : "http://127.0.0.1:9");
    }

    void enroll() {
        store.enroll(opts, server.issueCode(COUNTY), "测试机");
    }

    Site school(String name) {
        Site s = new Site(Site.SCHOOL, name);
        s.schoolLevel = 2;
        s.enrolment = 300;
        return store.addSite(s, "巡查发现");
    }

    /* A photo-like JPEG: 16 px blocks of random colour. The pixels are written
     * straight into the raster (Java2D's drawing goes through JNI call by call,
     * which -Xcheck:jni makes slow). */
    static byte[] jpeg(int w, int h, int seed) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        int[] px = ((java.awt.image.DataBufferInt) img.getRaster().getDataBuffer()).getData();
        java.util.Random r = new java.util.Random(seed);
        int bw = (w + 15) / 16;
        int[] colours = new int[bw * ((h + 15) / 16)];
        for (int i = 0; i < colours.length; i++) {
            colours[i] = r.nextInt(0xffffff);
        }
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                px[y * w + x] = colours[(y / 16) * bw + x / 16];
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            ImageIO.write(img, "jpg", out);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        return out.toByteArray();
    }

    @Override
    public void close() throws IOException {
        store.close();
        if (server != null) {
            server.close();
        }
        try (Stream<java.nio.file.Path> s = Files.walk(dir.toPath())) {
            s.sorted(Comparator.reverseOrder()).map(java.nio.file.Path::toFile).forEach(File::delete);
        }
    }
}

package org.fieldinspect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The store's secrets through the app's SecretStore (the Android Keystore in
 * the app; here a map the test can look into), the built-in 0600 file when
 * there is none, and a lead's informant sealed at submission (issue #12).
 */
class SecretsTest {
    static final String TIP_WITH_INFORMANT =
            "{\"source\":\"phone\",\"subject_area\":\"medical_blood\",\"place\":\"集市\","
            + "\"description\":\"游医摆摊\",\"time_sensitive\":\"no\",\"verified\":\"yes\","
            + "\"informant_name\":\"欧阳秀珍\",\"informant_phone\":\"13907770451\"}";

    /** What the app's Keystore-backed store would hold, kept in memory. */
    static final class MapSecrets implements SecretStore {
        final Map<String, byte[]> values = new HashMap<>();
        boolean broken;

        @Override
        public byte[] get(String storePath, String name) throws IOException {
            if (broken) {
                throw new IOException("keystore locked");
            }
            return values.get(storePath + "|" + name);
        }

        @Override
        public void put(String storePath, String name, byte[] value) throws IOException {
            if (broken) {
                throw new IOException("keystore locked");
            }
            values.put(storePath + "|" + name, value.clone());
        }

        @Override
        public void delete(String storePath, String name) {
            values.remove(storePath + "|" + name);
        }
    }

    private static boolean contains(File f, byte[] needle) throws IOException {
        if (!f.exists()) {
            return false;
        }
        byte[] b = Files.readAllBytes(f.toPath());
        outer:
        for (int i = 0; i + needle.length <= b.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (b[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }

    @Test
    void theTokenGoesToTheAppsSecretStoreNotTheDatabase() throws Exception {
        try (Fixture f = new Fixture()) {
            MapSecrets secrets = new MapSecrets();
            Store.Options o = new Store.Options();
            o.dataDir = f.dir;
            o.logLevel = 3;
            o.secrets = secrets;
            Store first = Store.open("keystore.db", o);
            try {
                first.enroll(f.opts, f.server.issueCode(Fixture.COUNTY), "测试机");
            } finally {
                first.close();
            }
            assertEquals(1, secrets.values.size());
            String key = secrets.values.keySet().iterator().next();
            assertTrue(key.endsWith("keystore.db|sync_token"), key);
            byte[] token = secrets.values.get(key);
            assertEquals(64, token.length);
            for (String suffix : new String[] {"", "-wal", "-shm"}) {
                assertFalse(contains(new File(f.dir, "keystore.db" + suffix), token));
            }
            assertFalse(new File(f.dir, "keystore.db.sync_token.secret").exists());
            try (Store s = Store.open("keystore.db", o)) {
                assertEquals(Fixture.COUNTY, s.enrolledCounty());
                // A lead naming its informant: sealed at submission, the list says so.
                String id = s.fileLead("lead.tip_off", TIP_WITH_INFORMANT, null, 0, 0);
                List<Lead> leads = s.leads(0);
                assertEquals(id, leads.get(0).id);
                assertEquals(2, leads.get(0).sealed);
                String json = s.leadJson(id);
                assertFalse(json.contains("13907770451"), json);
                assertFalse(json.contains("欧阳秀珍"), json);
                assertTrue(json.contains("\"sealed\""), json);
                assertTrue(s.syncRun(f.opts).stored >= 1);
                // The app's store failing fails the call that needs it.
                secrets.broken = true;
                FicException e = assertThrows(FicException.class, () -> s.syncRun(f.opts));
                assertEquals(Status.EIO, e.status());
                secrets.broken = false;
                s.unenroll();
                assertNull(s.enrolledCounty());
                assertTrue(secrets.values.isEmpty());
            }
        }
    }

    @Test
    void withoutOneTheTokenIsAFileOnlyTheAppReads() throws Exception {
        try (Fixture f = new Fixture()) {
            f.enroll();
            File file = new File(f.dir, "patrol.db.sync_token.secret");
            assertTrue(file.exists());
            Set<PosixFilePermission> mode = Files.getPosixFilePermissions(file.toPath());
            assertEquals(PosixFilePermissions.fromString("rw-------"), mode);
            byte[] token = Files.readAllBytes(file.toPath());
            assertEquals(64, token.length);
            assertFalse(contains(new File(f.dir, "patrol.db"), token));
            assertFalse(contains(new File(f.dir, "patrol.db-wal"), token));
        }
    }
}

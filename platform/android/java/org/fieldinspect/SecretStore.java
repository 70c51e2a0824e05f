package org.fieldinspect;

/**
 * Where a store keeps its secrets — the bearer token its enrolment gave it —
 * apart from its database file (fic_platform's secret hooks,
 * fieldinspect/sys/platform.h; fic_android_platform_set_secrets). Give one in
 * {@link Store.Options#secrets}; without one the core writes a 0600 file
 * beside the store, inside the app's private files directory.
 * <p>
 * In the app: keep each value encrypted (AES-GCM) under a key of the Android
 * Keystore ({@code KeyGenParameterSpec}, purpose encrypt/decrypt, no export),
 * the ciphertext in the app's private storage, keyed by (store path, name) —
 * so a copy of the app's files, a backup or a file pulled off a rooted phone
 * holds no usable token. This library has no android.jar to build such a
 * class against; docs/android.md shows one.
 * <p>
 * Contract (as the C hooks'): names are 1–32 characters of [a-z0-9_],
 * values 1–4096 bytes; {@code put} replaces durably (it returns only once
 * the value survives a crash, and a failure leaves the old one);
 * {@code delete} of a secret that is not there is not an error. Called on the
 * thread using the store, inside its calls: do not call the store from here.
 * Never log the values. Throwing fails the store's call with
 * {@link Status#EIO}.
 */
public interface SecretStore {
    /** The value, or null when there is none. */
    byte[] get(String storePath, String name) throws Exception;

    /** Replace the value, durably. */
    void put(String storePath, String name, byte[] value) throws Exception;

    /** Forget it. */
    void delete(String storePath, String name) throws Exception;
}

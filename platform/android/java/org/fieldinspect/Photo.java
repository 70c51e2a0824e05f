package org.fieldinspect;

/** A stored photo (fic_photo): the original as evidence, its upload rendition and thumbnail. */
public final class Photo {
    /** Owners (fic_photo_owner). */
    public static final int INSPECTION = 1, LEAD = 2, SITE = 3, ACTIVITY = 4;

    public final String id, ownerId, itemId, sha256, path, uploadSha256, uploadPath, thumbPath,
            exifTakenAt;
    public final int owner, width, height, orientation, uploadWidth, uploadHeight;
    public final long bytes, uploadBytes, thumbBytes, createdAtMs;
    public final boolean hasExifLocation, hasDeviceLocation;
    public final double exifLat, exifLon, deviceLat, deviceLon;

    Photo(Rows r) {
        id = r.str();
        ownerId = r.str();
        itemId = r.str();
        sha256 = r.str();
        path = r.str();
        uploadSha256 = r.str();
        uploadPath = r.str();
        thumbPath = r.str();
        exifTakenAt = r.str();
        owner = r.i32();
        bytes = r.num();
        width = r.i32();
        height = r.i32();
        orientation = r.i32();
        uploadBytes = r.num();
        uploadWidth = r.i32();
        uploadHeight = r.i32();
        thumbBytes = r.num();
        hasExifLocation = r.num() != 0;
        hasDeviceLocation = r.num() != 0;
        createdAtMs = r.num();
        exifLat = r.dbl();
        exifLon = r.dbl();
        deviceLat = r.dbl();
        deviceLon = r.dbl();
    }

    /** How to keep a photo (fic_photo_options); the defaults are the core's. */
    public static final class Options {
        public int maxEdge = 1600, quality = 80, thumbEdge = 320, thumbQuality = 70;
        public boolean hasLocation;
        public double lat, lon;

        int[] ints() {
            return new int[] {maxEdge, quality, thumbEdge, thumbQuality, hasLocation ? 1 : 0};
        }

        double[] dbls() {
            return new double[] {lat, lon};
        }
    }
}

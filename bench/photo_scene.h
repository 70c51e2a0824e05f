/*
 * bench/photo_scene.h — the camera-like photos photo_bench measures on,
 * generated (never a flat colour that would make decoding artificially
 * cheap), streamed to a baseline 4:2:0 JPEG at quality 92 row by row, so
 * neither the photo nor its pixels ever sit in the generating process.
 */
#ifndef FIC_BENCH_PHOTO_SCENE_H
#define FIC_BENCH_PHOTO_SCENE_H

#include <stdint.h>

#define SCENE_QUALITY 92

/* The bench's own photo (what earlier figures were measured on): 4000x3000,
 * sky with clouds, a textured facade with windows, gravel and grass, a
 * licence board with text-like strokes and a red seal, a cable, sensor
 * grain. Returns the file's size in bytes (exits on failure). */
long scene_outdoor_write(const char *path);

/* An inspector's close-up: a licence on a plaster wall (text from 17 to 110
 * px high at 4000 px across, a red seal, a QR-like code), a test-strip card
 * with coloured pads, a window with a fly screen finer than the rendition
 * can hold (moire bait), a product label with fine print and a barcode on a
 * wooden desk; lens blur, vignette and sensor noise. The same scene at any
 * size: 4000x3000 is 12 MP, 8000x6000 48 MP. */
long scene_closeup_write(const char *path, int w, int h, uint32_t seed);

#endif

/*
 * core/internal.h — for the tests, the benchmarks and the reference server
 * only: every layer's private header at once (flow includes model, store and
 * util). The library's own sources never include it: each includes its own
 * folder's header, which includes those below (tests/tools/check_layers.py
 * fails the build's tests on an include that goes up or belongs to no
 * layer, and this file belongs to none).
 */
#ifndef FIC_CORE_INTERNAL_H
#define FIC_CORE_INTERNAL_H

#include "flow/flow.h"

#endif

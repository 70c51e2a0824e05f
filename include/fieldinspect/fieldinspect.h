/*
 * fieldinspect/fieldinspect.h — the whole public API of the fieldinspect core.
 *
 * fieldinspect is the offline-first core of a field app for community health
 * co-inspectors (卫生监督协管员): the site registry, checklists, inspections,
 * leads and evidence, kept durably on the device and synced to the county.
 * Start with store.h; conventions are in common.h and docs/api.md.
 */
#ifndef FIELDINSPECT_H
#define FIELDINSPECT_H

#include "common.h"
#include "sys/platform.h"
#include "sys/transport.h"
#include "store.h"
#include "site.h"
#include "inspection.h"
#include "lead.h"
#include "photo.h"
#include "evidence.h"
#include "visit.h"
#include "records.h"
#include "sync.h"
#include "sms.h"

#endif

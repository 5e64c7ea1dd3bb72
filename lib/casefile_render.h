/* lib/casefile_render.h — what the casefile's two renderers, text (casefile_render.c) and JSON
 * (casefile_json.c), share (internal to lib/casefile*.c). */
#ifndef CB_CASEFILE_RENDER_H
#define CB_CASEFILE_RENDER_H

#include "casefile.h"

#define CASEFILE_TIME_LEN	40	/* an RFC 3339 time and its NUL, with room */

/* The name of a feedback status / a missed step as the views print it ("resolved",
 * "receipt"), "unknown" outside the enum. Static strings. Cannot fail. */
const char *casefile_feedback_name(unsigned status);
const char *casefile_missed_name(unsigned missed);

#endif

/* cluebus/ids.h — the sizes of the identifiers that every interface passes around.
 *
 * A unit id is [a-z0-9-]{1,32} (SPEC §3); a message id is 128 bits, written as 32 lower-case
 * hex digits wherever it is text. Buffers are sized with these names, never with the
 * numbers. */
#ifndef CLUEBUS_IDS_H
#define CLUEBUS_IDS_H

#define CB_UNIT_ID_MAX		32			/* characters of a unit id */
#define CB_UNIT_ID_SIZE		(CB_UNIT_ID_MAX + 1)	/* a unit id and its NUL */
#define CB_MESSAGE_ID_HEX_SIZE	33			/* 32 hex digits and a NUL */

#endif

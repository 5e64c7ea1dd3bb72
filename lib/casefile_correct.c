/* lib/casefile_correct.c — corrections and withdrawals in the casefile's index.
 *
 * A withdrawn message stays in the timeline, marked; the statistics count a withdrawn clue
 * out, and the duties of a withdrawn referral too (the broker closed them). A clue counts as
 * its sender last corrected it (category, district), at the clue's own log time. As the
 * broker enforces (broker/cases.c), only the original's sender corrects it, never after it
 * was withdrawn: a log that says otherwise was not written by the broker's rules, and such a
 * correction is ignored here rather than trusted. */
#include <string.h>

#include "casefile_index.h"

int
casefile_correction_apply(casefile_t *cf, uint32_t idx, const Cluebus__Message *m)
{
	const Cluebus__Correction *c = m->correction;
	struct cf_msg *orig;
	struct cf_clue *clue;
	uint32_t o;

	if (m->refers_to.len != MESSAGE_ID_LEN ||
	    (o = casefile_idmap_find(cf, m->refers_to.data)) == NOIDX || o == idx)
		return 0;
	orig = &cf->msgs[o];
	if (orig->sender != cf->msgs[idx].sender || orig->withdrawn ||
	    orig->entry_type != CLUEBUS__ENTRY_TYPE__ENTRY_MESSAGE)
		return 0;
	if (c->op == CLUEBUS__CORRECTION_OP__CORRECTION_WITHDRAW) {
		orig->withdrawn = 1;
		return 0;
	}
	if (orig->kind != CLUEBUS__KIND__KIND_CLUE || orig->detail == NOIDX || c->clue == NULL ||
	    c->clue->category <= CLUEBUS__CATEGORY__CATEGORY_UNSPECIFIED ||
	    c->clue->category > CLUEBUS__CATEGORY__CATEGORY_OTHER)
		return 0;
	clue = &cf->clues[orig->detail];
	clue->category = (uint8_t)c->clue->category;
	return casefile_strtab_intern(&cf->strs, c->clue->jurisdiction, &clue->jurisdiction);
}

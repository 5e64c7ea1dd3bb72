/* lib/casefile_correct.c — corrections and withdrawals of clues in the casefile's index.
 *
 * The statistics count a clue as its sender last corrected it (category, district), and
 * not at all once it withdrew it; the count stays at the clue's own log time. As the broker
 * enforces (broker/cases.c), only the original's sender corrects it, and never after it
 * was withdrawn: a log that says otherwise was not written by the broker's rules, and such
 * a correction is ignored here rather than trusted. */
#include <string.h>

#include "casefile_index.h"

int
casefile_correction_apply(casefile_t *cf, uint32_t idx, const Cluebus__Message *m)
{
	const Cluebus__Correction *c = m->correction;
	const struct cf_msg *orig;
	struct cf_clue *clue;
	uint32_t o;

	if (m->refers_to.len != MESSAGE_ID_LEN ||
	    (o = casefile_idmap_find(cf, m->refers_to.data)) == NOIDX || o == idx)
		return 0;
	orig = &cf->msgs[o];
	if (orig->kind != CLUEBUS__KIND__KIND_CLUE || orig->detail == NOIDX ||
	    orig->sender != cf->msgs[idx].sender)
		return 0;
	clue = &cf->clues[orig->detail];
	if (clue->withdrawn)
		return 0;
	if (c->op == CLUEBUS__CORRECTION_OP__CORRECTION_WITHDRAW) {
		clue->withdrawn = 1;
		return 0;
	}
	if (c->clue == NULL || c->clue->category <= CLUEBUS__CATEGORY__CATEGORY_UNSPECIFIED ||
	    c->clue->category > CLUEBUS__CATEGORY__CATEGORY_OTHER)
		return 0;
	clue->category = (uint8_t)c->clue->category;
	return casefile_strtab_intern(&cf->strs, c->clue->jurisdiction, &clue->jurisdiction);
}

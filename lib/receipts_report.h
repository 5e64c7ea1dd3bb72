/* lib/receipts_report.h — cluebus-audit's `check-receipt` and the checks `verify` adds
 * (stored checkpoints, --receipts DIR...), over lib/receipts.h. */
#ifndef CB_RECEIPTS_REPORT_H
#define CB_RECEIPTS_REPORT_H

#include <stddef.h>
#include <stdio.h>

#include "store.h"

/* Takes "--receipts DIR..." (the directories up to the next option) out of argv[0..argc),
 * which keeps its order and a NULL after the rest. Returns the new argc; *dirs (free) and
 * *ndirs are the directories (none: "--receipts" is left in for the usage error). */
int	receipts_take_dirs(int argc, char **argv, const char ***dirs, size_t *ndirs);

/* For a log copy whose chain and tree verified: checks every stored checkpoint and, when
 * `ndirs` > 0, the agencies' receipts and checkpoints under dirs. Prints "FAIL seq N: ..."
 * lines to `out`, writes a summary line to `summary`. Returns the exit status: 0 all
 * consistent, 1 a finding (or a file that could not be checked), 2 an error. */
int	receipts_verify_report(store_t *s, const char *const *dirs, size_t ndirs, FILE *out,
    char *summary, size_t len);

/* cluebus-audit check-receipt RECEIPT [CHECKPOINT] --registry FILE | --broker-key PUB:
 * argv[0] is "check-receipt". Returns the exit status (0 proven, 1 not, 2 usage/error). */
int	receipts_cmd_check(int argc, char **argv);

#endif

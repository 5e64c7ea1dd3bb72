/* tests/fault/seal_ops.h — allocation-failure runs of sealing (lib/seal.c, lib/sealkey.c).
 *
 * Meant to be called from test_alloc_faults.c's main beside lib_faults() and
 * broker_faults(): `#include "seal_ops.h"` and `failed += seal_faults();`. That file is
 * outside the sealing branch, so the call is added when the branches merge; until then
 * `make faults` links these operations but does not run them. */
#ifndef CB_FAULT_SEAL_OPS_H
#define CB_FAULT_SEAL_OPS_H

/* Runs seal_encrypt, seal_open and sealkey_from_public with allocation N failing, N = 1,
 * 2, ... Returns the number of operations that failed. */
int	seal_faults(void);

#endif

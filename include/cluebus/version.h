/* cluebus/version.h — the release version, the one place it is written.
 *
 * The Makefile reads CB_VERSION from here for the shared library's file name, its soname
 * (libcluebus.so.CB_VERSION_MAJOR) and cluebus.pc; every binary's --version prints it. */
#ifndef CLUEBUS_VERSION_H
#define CLUEBUS_VERSION_H

#include "cluebus/export.h"

#define CB_VERSION_MAJOR	0
#define CB_VERSION		"0.1.0"

/* The version of the library actually linked (which may differ from the CB_VERSION a
 * program was compiled with). Static string; cannot fail. */
CB_EXPORT const char *cb_version(void);

#endif

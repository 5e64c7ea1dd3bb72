/* lib/version.c — the linked library's version, for programs that check it at run time. */
#include "cluebus/version.h"

const char *
cb_version(void)
{
	return CB_VERSION;
}

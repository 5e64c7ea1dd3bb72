/* cluebus/export.h — which declarations libcluebus.so exports.
 *
 * The library's objects are compiled with -fvisibility=hidden: a function is visible to
 * programs linking libcluebus.so only when its declaration in include/cluebus/ carries
 * CB_EXPORT. Every header of lib/ stays internal to the library, the broker and the tools,
 * which link the static archive. */
#ifndef CLUEBUS_EXPORT_H
#define CLUEBUS_EXPORT_H

#define CB_EXPORT __attribute__((visibility("default")))

#endif

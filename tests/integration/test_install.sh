#!/usr/bin/env bash
# `make install PREFIX=...` gives an integrator what the README's integration section
# promises: examples/publish.c and examples/receive.c, copied out of the tree, build with
# `cc app.c $(pkg-config --cflags --libs cluebus)` against the installed headers and
# libcluebus.so alone, and publish, receive and acknowledge through a running broker; the
# static archive links the same way with `pkg-config --static`. The shared library has a
# soname and exports only the public API (no internal symbol such as store_open), and
# DESTDIR stages the same tree while cluebus.pc keeps the real PREFIX.
. "$(dirname "$0")/lib.sh"

command -v pkg-config >/dev/null || die "pkg-config is missing"
PREFIX=$TEST_DIR/prefix
# The install builds the default tree (build/, bin/) in this checkout: the variables of a
# surrounding `make test` (clang, ASan, O=build/asan), which make exports to its recipes'
# environment, are not passed on.
install_into() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES -u CC -u SAN -u O -u BINDIR \
	    -u CFLAGS -u LDFLAGS make -j2 --no-print-directory -C "$REPO" install "$@" \
	    >"$TEST_DIR/install.log" 2>&1 || die "make install $*: $(tail -20 "$TEST_DIR/install.log")"
}
install_into PREFIX="$PREFIX"

# The files, the soname and its links.
for f in lib/libcluebus.a lib/libcluebus.so lib/libcluebus.so.0 lib/pkgconfig/cluebus.pc \
    include/cluebus/client.h include/cluebus/err.h include/cluebus/ids.h include/cluebus/log.h \
    bin/cluebus-broker bin/cluebus-agent bin/cluebus-keygen bin/cluebus-audit bin/cluebus-ctl; do
	[ -e "$PREFIX/$f" ] || die "not installed: $f"
done
objdump -p "$PREFIX/lib/libcluebus.so" | grep -q 'SONAME *libcluebus\.so\.0$' ||
    die "libcluebus.so has no soname libcluebus.so.0: $(objdump -p "$PREFIX/lib/libcluebus.so" | grep SONAME)"
[ -z "$(find "$PREFIX/include" -name '*.h' ! -path '*/cluebus/*')" ] ||
    die "headers outside include/cluebus/ were installed"

# Only the public API is exported: every defined function is a cb_* declared in a public
# header, and internal ones are hidden.
nm -D --defined-only "$PREFIX/lib/libcluebus.so" | awk '$2 == "T" { print $3 }' |
    sort >"$TEST_DIR/exported"
[ -s "$TEST_DIR/exported" ] || die "libcluebus.so exports no function"
for sym in store_open key_sign wire_send envelope_sign log_warnx \
    cluebus__frame__pack; do
	! grep -qx "$sym" "$TEST_DIR/exported" || die "internal symbol $sym is exported"
done
while read -r sym; do
	grep -q "\b$sym(" "$PREFIX"/include/cluebus/*.h ||
	    die "exported $sym is not declared in an installed header"
done <"$TEST_DIR/exported"
# ... and every function the installed headers declare is exported (a declaration without
# CB_EXPORT would link statically but not against the .so).
grep -ho '^[A-Za-z_].*\bcb_[a-z_]*(' "$PREFIX"/include/cluebus/*.h | grep -v '^typedef' |
    grep -o 'cb_[a-z_]*($' | tr -d '(' | sort -u >"$TEST_DIR/declared"
[ "$(wc -l <"$TEST_DIR/declared")" -ge 15 ] || die "could not read the public declarations"
while read -r sym; do
	grep -qx "$sym" "$TEST_DIR/exported" || die "public $sym is not exported"
done <"$TEST_DIR/declared"

# Build the examples the README's way, from copies outside the tree (no -I of the repo).
export PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig
case " $(pkg-config --cflags cluebus) " in
*" -I$PREFIX/include "*) ;;
*) die "pkg-config --cflags cluebus lacks -I$PREFIX/include: $(pkg-config --cflags cluebus)" ;;
esac
mkdir -p "$TEST_DIR/app"
for ex in publish receive; do
	cp "$REPO/examples/$ex.c" "$TEST_DIR/app/$ex.c"
	# shellcheck disable=SC2046
	cc -Wall -Wextra -Werror -o "$TEST_DIR/app/$ex" "$TEST_DIR/app/$ex.c" \
	    $(pkg-config --cflags --libs cluebus) 2>"$TEST_DIR/cc-$ex.log" ||
	    die "cc $ex.c \$(pkg-config --cflags --libs cluebus): $(cat "$TEST_DIR/cc-$ex.log")"
done
# The static archive, its dependencies from Requires.private (linked dynamically: Debian's
# libzmq.pc names a libprotokit.a under --static that no package ships).
# shellcheck disable=SC2046
cc -Wall -Wextra -Werror -o "$TEST_DIR/app/publish-static" "$TEST_DIR/app/publish.c" \
    $(pkg-config --cflags --libs-only-L cluebus) -Wl,-Bstatic -lcluebus -Wl,-Bdynamic \
    $(pkg-config --libs $(pkg-config --print-requires-private cluebus)) -lpthread \
    2>"$TEST_DIR/cc-static.log" || die "static link: $(cat "$TEST_DIR/cc-static.log")"
! ldd "$TEST_DIR/app/publish-static" | grep -q libcluebus ||
    die "the static build still needs libcluebus.so"
export LD_LIBRARY_PATH=$PREFIX/lib
ldd "$TEST_DIR/app/publish" | grep -q "libcluebus.so.0 => $PREFIX/lib/libcluebus.so.0" ||
    die "publish does not load the installed library: $(ldd "$TEST_DIR/app/publish")"

# Publish from health (shared and static builds), receive both at psb and acknowledge.
deploy ipc
start_broker
agent_conf health
agent_conf psb
ids=()
for app in publish publish-static; do
	clue_json school 210302 "installed $app" >"$TEST_DIR/$app.json"
	"$TEST_DIR/app/$app" -c "$D/health.agent.conf" "$TEST_DIR/$app.json" \
	    >"$TEST_DIR/$app.out" 2>"$TEST_DIR/$app.err" ||
	    die "$app failed: $(cat "$TEST_DIR/$app.out" "$TEST_DIR/$app.err")"
	read -r word id _ <"$TEST_DIR/$app.out"
	assert_eq accepted "$word" "$app's answer"
	ids+=("$id")
done
"$TEST_DIR/app/receive" -c "$D/psb.agent.conf" -n 2 -t 60 >"$TEST_DIR/receive.out" \
    2>"$TEST_DIR/receive.err" || die "receive failed: $(cat "$TEST_DIR/receive.out" "$TEST_DIR/receive.err")"
for id in "${ids[@]}"; do
	grep -q "^message [0-9]* clue $id from health$" "$TEST_DIR/receive.out" ||
	    die "psb did not receive $id: $(cat "$TEST_DIR/receive.out")"
done
# receive.c takes the library's lines through cb_log_set_handler (cluebus/log.h).
grep -q '^example-receive: cluebus: connected to ' "$TEST_DIR/receive.err" ||
    die "the library's lines did not reach receive's handler: $(cat "$TEST_DIR/receive.err")"
# Acknowledged: a second run receives nothing within its time.
! "$TEST_DIR/app/receive" -c "$D/psb.agent.conf" -n 1 -t 3 >"$TEST_DIR/receive2.out" \
    2>>"$TEST_DIR/receive.err" || die "acknowledged messages came again: $(cat "$TEST_DIR/receive2.out")"
[ ! -s "$TEST_DIR/receive2.out" ] || die "acknowledged messages came again: $(cat "$TEST_DIR/receive2.out")"

# DESTDIR stages the tree; cluebus.pc names the real prefix.
install_into PREFIX=/opt/cluebus DESTDIR="$TEST_DIR/stage"
[ -e "$TEST_DIR/stage/opt/cluebus/lib/libcluebus.so.0" ] || die "DESTDIR: libcluebus.so.0 missing"
grep -qx 'prefix=/opt/cluebus' "$TEST_DIR/stage/opt/cluebus/lib/pkgconfig/cluebus.pc" ||
    die "DESTDIR: cluebus.pc does not say prefix=/opt/cluebus"
finish

#!/usr/bin/env python3
"""tests/merkle_crosscheck.py — checks lib/merkle.c against an independent implementation.

The Merkle tree hash (MTH), the inclusion path (PATH) and the consistency proof (PROOF,
SUBPROOF) below are written from the definitions of RFC 9162 §2.1.1, §2.1.3.1 and §2.1.4.1,
and the two verifiers from the algorithms of §2.1.3.2 and §2.1.4.2, with Python's hashlib.

    merkle_crosscheck.py MERKLE_DUMP [MAX_SIZE [RANDOM_SIZES [SEED]]]
    merkle_crosscheck.py --store STORE_PROOFS DIR [MAX_SIZE]

For every tree size n from 0 to MAX_SIZE (300): the root; the inclusion proof of every
leaf; the consistency proof from every old size 0..n. Then RANDOM_SIZES (6) random sizes
up to 2^17 with random leaves and old sizes, and a few sizes at powers of two and one past.
Each root and proof lib/merkle.c gives (through tests/tools/merkle_dump) must equal this
one's and pass this verifier. Then altered proofs — a flipped bit in any hash, a proof
truncated or extended, an index outside the tree, which must be refused, and a different
index or size, which RFC 9162 may accept — must get the same verdict from this verifier
and lib/merkle.c's (merkle_dump's vincl/vcons), and every genuine proof accepted by both.

With --store, the tree is the broker store's own (lib/store.c over LMDB, through
tests/tools/store_proofs: MAX_SIZE log entries appended in many small commits, the store
reopened read-only): the leaves are the packed entries it prints, hashed here; for every
size 1..MAX_SIZE the root, the inclusion proof of every leaf and the consistency proof from
every old size must equal this implementation's and pass its verifiers.
Exit 0 when all agree, 1 at the first disagreement (named), 2 on usage errors.
"""
import hashlib
import random
import subprocess
import sys


def leaf_data(i):
    return b"cluebus leaf %d" % i


def h_leaf(data):
    return hashlib.sha256(b"\x00" + data).digest()


def h_node(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def largest_pow2_below(n):
    k = 1
    while k * 2 < n:
        k *= 2
    return k


class Tree:
    """D[0:n] with MTH memoized per range; leaf(i) gives the bytes of leaf i."""

    def __init__(self, leaf=leaf_data):
        self.leaf = leaf
        self.leaf_hashes = []
        self.cache = {}

    def grow(self, n):
        while len(self.leaf_hashes) < n:
            self.leaf_hashes.append(h_leaf(self.leaf(len(self.leaf_hashes))))

    def mth(self, start, end):
        """MTH(D[start:end]) per RFC 9162 §2.1.1."""
        n = end - start
        if n == 0:
            return hashlib.sha256(b"").digest()
        if n == 1:
            return self.leaf_hashes[start]
        key = (start, end)
        if key not in self.cache:
            k = largest_pow2_below(n)
            self.cache[key] = h_node(self.mth(start, start + k), self.mth(start + k, end))
        return self.cache[key]

    def path(self, m, start, end):
        """PATH(m, D[start:end]) per §2.1.3.1 (m relative to start)."""
        n = end - start
        if n == 1:
            return []
        k = largest_pow2_below(n)
        if m < k:
            return self.path(m, start, start + k) + [self.mth(start + k, end)]
        return self.path(m - k, start + k, end) + [self.mth(start, start + k)]

    def subproof(self, m, start, end, b):
        """SUBPROOF(m, D[start:end], b) per §2.1.4.1 (m relative to start)."""
        n = end - start
        if m == n:
            return [] if b else [self.mth(start, end)]
        k = largest_pow2_below(n)
        if m <= k:
            return self.subproof(m, start, start + k, b) + [self.mth(start + k, end)]
        return self.subproof(m - k, start + k, end, False) + [self.mth(start, start + k)]

    def proof(self, m, n):
        """PROOF(m, D[n]); empty for m = 0 or m = n."""
        if m == 0 or m == n:
            return []
        return self.subproof(m, 0, n, True)


def verify_inclusion(leaf_index, tree_size, leaf_hash, path, root):
    """RFC 9162 §2.1.3.2."""
    if len(path) > 64 or tree_size >= 2 ** 63:
        return False
    if leaf_index >= tree_size:                              # 1
        return False
    fn, sn = leaf_index, tree_size - 1                       # 2
    r = leaf_hash                                            # 3
    for p in path:                                           # 4
        if sn == 0:                                          # 4a
            return False
        if fn & 1 or fn == sn:                               # 4b
            r = h_node(p, r)
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            r = h_node(r, p)
        fn >>= 1                                             # 4c
        sn >>= 1
    return sn == 0 and r == root                             # 5


def verify_consistency(first, second, path, first_hash, second_hash):
    """RFC 9162 §2.1.4.2, with the trivial cases 0 and first = second of §2.1.4."""
    if len(path) > 64 or second >= 2 ** 63 or first > second:
        return False
    if first == 0:
        return path == [] and first_hash == hashlib.sha256(b"").digest()
    if first == second:
        return path == [] and first_hash == second_hash
    if not path:                                             # 1
        return False
    path = list(path)
    if first & (first - 1) == 0:                             # 2
        path = [first_hash] + path
    fn, sn = first - 1, second - 1                           # 3
    while fn & 1:                                            # 4
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]                                        # 5
    for c in path[1:]:                                       # 6
        if sn == 0:                                          # 6a
            return False
        if fn & 1 or fn == sn:                               # 6b
            fr = h_node(c, fr)
            sr = h_node(c, sr)
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            sr = h_node(sr, c)
        fn >>= 1                                             # 6c
        sn >>= 1
    return fr == first_hash and sr == second_hash and sn == 0   # 7


def hx(b):
    return b.hex()


def enc(path):
    return ",".join(hx(p) for p in path) if path else "-"


def dec(s):
    return [] if s == "-" else [bytes.fromhex(p) for p in s.split(",")]


def run_dump(tool, commands, args=()):
    out = subprocess.run([tool] + list(args), input="".join(c + "\n" for c in commands),
                         capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit("FAIL merkle_dump exited %d: %s" % (out.returncode, out.stderr.strip()))
    lines = out.stdout.splitlines()
    if len(lines) != len(commands):
        sys.exit("FAIL merkle_dump answered %d of %d commands" % (len(lines), len(commands)))
    return lines


def tampered_inclusion(i, n, path):
    """(index, size, path, must_fail) of altered proofs. A flipped bit, a truncated or
    extended path, an index outside the tree never verify. A different size or index may
    (RFC 9162 binds the path to the root, not to a size: the path of leaf 0 of 3 also
    leads a tree of 4 to that root), so there the two verifiers must only agree."""
    bad = []
    for j in range(len(path)):
        for bit in (0, 7, 255):
            p = list(path)
            b = bytearray(p[j])
            b[bit // 8] ^= 1 << (bit % 8)
            p[j] = bytes(b)
            bad.append((i, n, p, True))
    if i + 1 < n:
        bad.append((i + 1, n, path, False))
    if i > 0:
        bad.append((i - 1, n, path, False))
    bad.append((i, n + 1, path, False))
    if n > 1 and i < n - 1:
        bad.append((i, n - 1, path, False))
    bad.append((i, n, path + [path[-1] if path else b"\x00" * 32], True))
    if path:
        bad.append((i, n, path[:-1], True))
        bad.append((i, n, path[1:], True))
    bad.append((n, n, path, True))
    return bad


def tampered_consistency(m, n, path):
    """As tampered_inclusion, for consistency proofs."""
    bad = []
    for j in range(len(path)):
        p = list(path)
        b = bytearray(p[j])
        b[31] ^= 0x80
        p[j] = bytes(b)
        bad.append((m, n, p, True))
    if 0 < m < n:
        bad.append((m, n, path + [path[-1]], True))
        bad.append((m, n, path[:-1], True))
        bad.append((m, n + 1, path, False))
        if m + 1 < n:
            bad.append((m + 1, n, path, False))
        if m > 1:
            bad.append((m - 1, n, path, False))
    else:
        bad.append((m, n, [b"\x11" * 32], True))
    bad.append((n + 1, n, path, True))
    return bad


def main_store(tool, directory, max_size):
    """The store's proofs for every size 1..max_size against this implementation."""
    commands = ["root %d" % n for n in range(1, max_size + 1)]
    commands += ["incl %d %d" % (i, n) for n in range(1, max_size + 1) for i in range(n)]
    commands += ["cons %d %d" % (m, n) for n in range(1, max_size + 1) for m in range(1, n + 1)]
    answers = run_dump(tool, ["leaf %d" % i for i in range(max_size)] + commands,
                       (directory, str(max_size)))
    leaves, lines = answers[:max_size], answers[max_size:]
    data = []
    for i, line in enumerate(leaves):
        f = line.split()
        if f[:2] != ["leaf", str(i)]:
            sys.exit("FAIL unexpected answer %r to leaf %d" % (line, i))
        data.append(bytes.fromhex(f[2]))
    if len(set(data)) != max_size:
        sys.exit("FAIL the store's leaves are not distinct")
    tree = Tree(lambda i: data[i])
    tree.grow(max_size)
    roots = {n: tree.mth(0, n) for n in range(1, max_size + 1)}
    for cmd, line in zip(commands, lines):
        f = line.split()
        if f[:len(cmd.split())] != cmd.split():
            sys.exit("FAIL unexpected answer %r to %r" % (line, cmd))
        if f[0] == "root":
            n = int(f[1])
            if f[2] != hx(roots[n]):
                sys.exit("FAIL store root of size %d: C %s, Python %s" % (n, f[2], hx(roots[n])))
        elif f[0] == "incl":
            i, n = int(f[1]), int(f[2])
            got = dec(f[3])
            if got != tree.path(i, 0, n):
                sys.exit("FAIL store inclusion proof of leaf %d in size %d differs" % (i, n))
            if not verify_inclusion(i, n, tree.leaf_hashes[i], got, roots[n]):
                sys.exit("FAIL store inclusion proof of leaf %d in size %d does not verify" % (i, n))
        else:
            m, n = int(f[1]), int(f[2])
            got = dec(f[3])
            if got != tree.proof(m, n):
                sys.exit("FAIL store consistency proof %d -> %d differs" % (m, n))
            if not verify_consistency(m, n, got, roots[m], roots[n]):
                sys.exit("FAIL store consistency proof %d -> %d does not verify" % (m, n))
    print("merkle crosscheck of the store (LMDB): %d roots, %d inclusion and %d consistency "
          "proofs equal and verified" % (max_size, sum(1 for c in commands if c[0] == "i"),
                                         sum(1 for c in commands if c[0] == "c")))


def main():
    if len(sys.argv) < 2:
        sys.exit(2)
    if sys.argv[1] == "--store":
        if len(sys.argv) < 4:
            sys.exit(2)
        main_store(sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else 300)
        return
    tool = sys.argv[1]
    max_size = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    n_random = int(sys.argv[3]) if len(sys.argv) > 3 else 6
    rng = random.Random(int(sys.argv[4]) if len(sys.argv) > 4 else 9162)

    incl, cons, sizes = [], [], set(range(0, max_size + 1))
    for n in range(1, max_size + 1):
        incl += [(i, n) for i in range(n)]
    for n in range(0, max_size + 1):
        cons += [(m, n) for m in range(0, n + 1)]
    big = [rng.randrange(max_size + 1, 1 << 17) for _ in range(n_random)]
    big += [1024, 1025, 4096, 4097]
    for n in big:
        sizes.add(n)
        picks = {0, n - 1, n // 2} | {rng.randrange(n) for _ in range(20)}
        incl += [(i, n) for i in sorted(picks)]
        olds = {1, n - 1, n} | {rng.randrange(1, n) for _ in range(20)}
        cons += [(m, n) for m in sorted(olds)]

    tree = Tree()
    tree.grow(max(sizes))
    commands = ["root %d 0" % n for n in sorted(sizes)]
    commands += ["incl %d %d" % c for c in incl]
    commands += ["cons %d %d" % c for c in cons]
    lines = run_dump(tool, commands)

    roots = {}

    def root_of(n):
        if n not in roots:
            roots[n] = tree.mth(0, n)
        return roots[n]

    for cmd, line in zip(commands, lines):
        f = line.split()
        if f[0] == "root":
            n = int(f[1])
            roots[n] = tree.mth(0, n)
            if f[2] != hx(roots[n]):
                sys.exit("FAIL root of size %d: C %s, Python %s" % (n, f[2], hx(roots[n])))
        elif f[0] == "incl":
            i, n = int(f[1]), int(f[2])
            want = tree.path(i, 0, n)
            got = dec(f[3])
            if got != want:
                sys.exit("FAIL inclusion proof of leaf %d in size %d differs" % (i, n))
            if not verify_inclusion(i, n, tree.leaf_hashes[i], got, roots[n]):
                sys.exit("FAIL inclusion proof of leaf %d in size %d does not verify" % (i, n))
        elif f[0] == "cons":
            m, n = int(f[1]), int(f[2])
            want = tree.proof(m, n)
            got = dec(f[3])
            if got != want:
                sys.exit("FAIL consistency proof %d -> %d differs" % (m, n))
            if not verify_consistency(m, n, got, root_of(m), root_of(n)):
                sys.exit("FAIL consistency proof %d -> %d does not verify" % (m, n))
        else:
            sys.exit("FAIL unexpected answer %r to %r" % (line, cmd))

    # Tampering: every leaf of sizes 1..64, a sample of the rest.
    checks = []      # (command, expected_ok)
    sample_incl = [c for c in incl if c[1] <= 64] + rng.sample(incl, min(400, len(incl)))
    for i, n in sample_incl:
        path = tree.path(i, 0, n)
        checks.append(("vincl %d %d %s %s %s" % (i, n, hx(roots[n]), hx(tree.leaf_hashes[i]),
                                                  enc(path)), True))
        for bi, bn, bp, must_fail in tampered_inclusion(i, n, path):
            leaf = tree.leaf_hashes[i]
            ok = verify_inclusion(bi, bn, leaf, bp, roots[n])
            if ok and must_fail:
                sys.exit("FAIL Python accepts a tampered inclusion proof (%d, %d)" % (bi, bn))
            checks.append(("vincl %d %d %s %s %s" % (bi, bn, hx(roots[n]), hx(leaf), enc(bp)),
                           ok))
    sample_cons = [c for c in cons if c[1] <= 64] + rng.sample(cons, min(400, len(cons)))
    for m, n in sample_cons:
        path = tree.proof(m, n)
        checks.append(("vcons %d %d %s %s %s" % (m, n, hx(root_of(m)), hx(roots[n]), enc(path)),
                       True))
        for bm, bn, bp, must_fail in tampered_consistency(m, n, path):
            old, new = root_of(m), roots[n]
            ok = verify_consistency(bm, bn, bp, old, new)
            if ok and must_fail:
                sys.exit("FAIL Python accepts a tampered consistency proof (%d, %d)" % (bm, bn))
            checks.append(("vcons %d %d %s %s %s" % (bm, bn, hx(old), hx(new), enc(bp)), ok))
    answers = run_dump(tool, [c for c, _ in checks])
    for (cmd, ok), line in zip(checks, answers):
        code = int(line.split()[3])
        if (code == 0) != ok:
            sys.exit("FAIL lib/merkle.c %s %s (code %d)" %
                     ("refuses" if ok else "accepts", cmd[:60], code))

    print("merkle crosscheck: %d roots, %d inclusion and %d consistency proofs equal and "
          "verified; %d proofs judged alike by both verifiers (%d genuine or still valid, "
          "%d refused)" % (len(sizes), len(incl), len(cons), len(checks),
                           sum(1 for _, ok in checks if ok),
                           sum(1 for _, ok in checks if not ok)))


if __name__ == "__main__":
    main()

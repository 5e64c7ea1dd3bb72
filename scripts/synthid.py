#!/usr/bin/python3
"""scripts/synthid.py — synthetic resident id numbers (GB 11643-1999) for the demo and the
examples: made with a computed check digit, and checked wherever a document carries them.

The demo's people and the examples' carry well-formed personal data, so that sealing has
something real to hide and the privacy and correlation checks have something to look for;
but never a real person's, and never a number typed by hand with a guessed check digit.

    synthid.py make DIVISION YYYYMMDD SEQ
        the 18-character number: DIVISION (6 digits, an Anshan county-level code 2103xx),
        date of birth, SEQ (3 digits; odd for a man, even for a woman, GB 11643's rule),
        and the check character computed from the 17 digits.
    synthid.py check FILE...
        every JSON document (FILE.json) and every ```json block of a Markdown page (FILE.md):
        each person's id_number is 18 characters with a valid check character, a real date
        of birth not after the clue's occurred_at, an Anshan division, the sex digit
        agreeing with `gender` and, when `age` is given, the age at occurred_at agreeing
        with the date of birth; any other 18-character id-like run in a text is checked the
        same way; no masked number (4521XXXXXXXXXXXX37); every mobile number in a text is
        11 digits 1[3-9]xxxxxxxxx and every landline the Anshan area code 0412-xxxxxxx.
        Prints one line per problem ("FILE:PATH: reason") and exits 1 when there is one;
        otherwise prints how many numbers were checked and exits 0.

Standard library only: tests and scripts run /usr/bin/python3 as it is.
"""
import datetime
import json
import re
import sys

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
# The county-level divisions of 鞍山市 (broker.conf.example's routing.divisions without
# the city itself, whose code 210300 is not a place of household registration).
ANSHAN = {
    "210302": "铁东区", "210303": "铁西区", "210304": "立山区", "210311": "千山区",
    "210321": "台安县", "210323": "岫岩满族自治县", "210381": "海城市",
}
ID_RE = re.compile(r"(?<![0-9A-Za-z])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")
MASKED_RE = re.compile(r"[0-9]{2,}[X*]{4,}[0-9X]*")
MOBILE_RE = re.compile(r"(?<![0-9])1[0-9]{10}(?![0-9])")
LANDLINE_RE = re.compile(r"(?<![0-9])0[0-9]{2,3}-[0-9]{5,}(?![0-9])")


def check_char(first17):
    """The GB 11643 check character of 17 digits (ISO 7064 MOD 11-2)."""
    return CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, WEIGHTS)) % 11]


def make(division, born, seq):
    if division not in ANSHAN:
        raise ValueError("division %s is not one of Anshan's: %s" % (
            division, ", ".join(sorted(ANSHAN))))
    datetime.datetime.strptime(born, "%Y%m%d")
    if not re.fullmatch(r"[0-9]{3}", seq):
        raise ValueError("SEQ must be 3 digits")
    first17 = division + born + seq
    return first17 + check_char(first17)


def id_problem(number):
    """Why `number` is not a well-formed synthetic Anshan id, or None."""
    if len(number) != 18 or not re.fullmatch(r"[0-9]{17}[0-9X]", number):
        return "not 17 digits and a check character (0-9 or upper-case X)"
    if number[:6] not in ANSHAN:
        return "division %s is not one of Anshan's (2103xx: %s)" % (
            number[:6], ", ".join(sorted(ANSHAN)))
    try:
        datetime.datetime.strptime(number[6:14], "%Y%m%d")
    except ValueError:
        return "date of birth %s is not a date" % number[6:14]
    want = check_char(number[:17])
    if number[17] != want:
        return "check character %s, computed %s" % (number[17], want)
    return None


def birth(number):
    return datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def age_at(born, when):
    return when.year - born.year - ((when.month, when.day) < (born.month, born.day))


def text_problems(text):
    """Problems of the numbers inside a free text."""
    out = []
    for m in MASKED_RE.finditer(text):
        out.append("masked number %s: use a synthetic one (scripts/synthid.py make)" %
                   m.group(0))
    for m in ID_RE.finditer(text):
        why = id_problem(m.group(0))
        if why:
            out.append("id-like number %s: %s" % (m.group(0), why))
    for m in MOBILE_RE.finditer(text):
        if not re.fullmatch(r"1[3-9][0-9]{9}", m.group(0)):
            out.append("mobile number %s is not 1[3-9] and 9 digits" % m.group(0))
    for m in LANDLINE_RE.finditer(text):
        if not re.fullmatch(r"0412-[0-9]{7}", m.group(0)):
            out.append("landline %s is not 0412-xxxxxxx (Anshan)" % m.group(0))
    return out


class Checker:
    def __init__(self):
        self.problems = []
        self.ids = 0
        self.phones = 0

    def bad(self, where, why):
        self.problems.append("%s: %s" % (where, why))

    def person(self, where, p, occurred):
        number = p.get("id_number")
        if number is None:
            return
        self.ids += 1
        why = id_problem(number)
        if why:
            self.bad(where + ".id_number", why)
            return
        born = birth(number)
        if occurred is not None and born > occurred:
            self.bad(where + ".id_number", "born %s, after the clue's occurred_at %s" % (
                born, occurred))
        sex = "male" if int(number[16]) % 2 else "female"
        if p.get("gender") in ("male", "female") and p["gender"] != sex:
            self.bad(where + ".gender", "%s, but the id number's sex digit %s says %s" % (
                p["gender"], number[16], sex))
        if occurred is not None and p.get("age") and p["age"] != age_at(born, occurred):
            self.bad(where + ".age", "%d, but born %s is %d at %s" % (
                p["age"], born, age_at(born, occurred), occurred))

    def walk(self, where, v, occurred):
        if isinstance(v, dict):
            if "clue" in v and isinstance(v["clue"], dict):
                t = v["clue"].get("occurred_at")
                if isinstance(t, str):
                    occurred = datetime.datetime.fromisoformat(
                        t.replace("Z", "+00:00")).date()
            for k, x in v.items():
                w = "%s.%s" % (where, k) if where else k
                if k == "persons" and isinstance(x, list):
                    for i, p in enumerate(x):
                        if isinstance(p, dict):
                            self.person("%s[%d]" % (w, i), p, occurred)
                if k != "id_number":
                    self.walk(w, x, occurred)
        elif isinstance(v, list):
            for i, x in enumerate(v):
                self.walk("%s[%d]" % (where, i), x, occurred)
        elif isinstance(v, str):
            for why in text_problems(v):
                self.bad(where, why)
            self.phones += len(MOBILE_RE.findall(v)) + len(LANDLINE_RE.findall(v))

    def document(self, name, text):
        try:
            doc = json.loads(text)
        except ValueError as e:
            # A block of JSON lines (docs/audit.md's replay examples): one document each.
            try:
                doc = [json.loads(l) for l in text.split("\n") if l.strip()]
            except ValueError:
                self.bad(name, "not JSON: %s" % e)
                return
        start = len(self.problems)
        self.walk("", doc, None)
        self.problems[start:] = ["%s:%s" % (name, p) for p in self.problems[start:]]

    def file(self, path):
        text = open(path, encoding="utf-8").read()
        if not path.endswith(".md"):
            self.document(path, text)
            return
        lines = text.split("\n")
        for i, line in enumerate(lines):
            if line.strip() == "```json":
                end = lines.index("```", i + 1)
                self.document("%s:%d" % (path, i + 2), "\n".join(lines[i + 1:end]))


def main(argv):
    if len(argv) == 5 and argv[1] == "make":
        try:
            print(make(argv[2], argv[3], argv[4]))
        except ValueError as e:
            print("synthid: %s" % e, file=sys.stderr)
            return 2
        return 0
    if len(argv) >= 3 and argv[1] == "check":
        c = Checker()
        for path in argv[2:]:
            c.file(path)
        for p in c.problems:
            print(p)
        if c.problems:
            return 1
        print("ok: %d id numbers, %d phone numbers in %d files" % (
            c.ids, c.phones, len(argv) - 2))
        return 0
    print(__doc__.split("\n\n")[2], file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))

#!/usr/bin/env python3
"""What sales reps type into the customer search, for the search-as-you-type
benchmark (bench/typeahead.sh).

  gen_typed.py N FILE TOTAL   N typed terms drawn from customers 0..TOTAL-1
                              for the warm-up, a line "--", then N others
                              for the timed pass

Each line is the whole text one person types, one keystroke at a time: a
customer's name as it is written (most often), a surname or a company's
first word, the start of an e-mail address, or a phone number's last
digits. The benchmark sends every prefix of it (1, 2, 3… characters).
Deterministic, like gen_data.py, whose customers it draws from.
"""
import random
import sys

from gen_data import customer

MAX_CHARS = 20


def typed(r, c):
    kind = r.randrange(10)
    if kind < 5:
        text = c["name"]                                  # "Anna Mueller", "Nordlogistik GmbH"
    elif kind < 8:
        words = c["name"].split()
        text = words[-1] if c["kind"] == "person" else words[0]
    elif kind < 9:
        text = c["email"].split("@")[0]                   # "anna.mueller12", "info"
        if c["kind"] == "company":
            text = c["email"].split("@")[1].split(".")[0]
    else:
        text = c["phone"].split()[-1]                     # "4711234"
    return text[:MAX_CHARS].rstrip()


def write_typed(n, path, total):
    r = random.Random(7)
    with open(path, "w") as f:
        for part in range(2):
            if part:
                f.write("--\n")
            for _ in range(n):
                f.write(typed(r, customer(r.randrange(total))) + "\n")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    write_typed(int(sys.argv[1]), sys.argv[2], int(sys.argv[3]))

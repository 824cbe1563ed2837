#!/usr/bin/env python3
"""Deterministic, realistic-looking CRM customers for the benchmarks.

  gen_data.py csv N START FILE       customers START..START+N-1 as an import CSV
  gen_data.py upserts N START FILE   the same shape as customer.upsert commands
                                     (JSON lines) carrying ERP-owned tax ids
  gen_data.py queries N FILE TOTAL   N search terms drawn from customers 0..TOTAL-1
  gen_data.py bodies N FILE          N POST bodies (JSON lines) for the create benchmark

Customer i is a pure function of i, so queries can be drawn without reading
the database back.
"""
import json
import random
import sys

FIRST = ("Anna Maria Lukas Jonas Leon Noah Emma Mia Sofia Hanna Lea Paul Felix Elias Ben "
         "Finn Luis Emil Henry Anton Clara Lina Ella Ida Marie Lara Julia Laura Sarah Lisa "
         "Thomas Michael Andreas Stefan Peter Christian Martin Frank Markus Alexander Daniel "
         "Tobias Sebastian Jan Florian Matthias Olivier Camille Louis Jules Chloe Manon Hugo "
         "Giulia Marco Luca Francesca Alessandro Chiara Pablo Lucia Javier Carmen Diego Elena "
         "Jakub Zofia Piotr Katarzyna Tomasz Agnieszka Erik Astrid Lars Ingrid Sven Freya "
         "James Olivia William Amelia George Isla Oliver Emily Harry Grace Jack Sophie").split()
LAST = ("Mueller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Koch "
        "Bauer Richter Klein Wolf Schroeder Neumann Schwarz Zimmermann Braun Krueger Hofmann "
        "Hartmann Lange Schmitt Werner Schmitz Krause Meier Lehmann Schmid Schulze Maier "
        "Koehler Herrmann Koenig Walter Mayer Huber Kaiser Fuchs Peters Lang Scholz Moeller "
        "Weiss Jung Hahn Schubert Vogel Friedrich Keller Guenther Frank Berger Winkler Roth "
        "Beck Lorenz Baumann Franke Albrecht Schuster Simon Ludwig Boehm Winter Kraus Martin "
        "Schumacher Kraemer Vogt Stein Jaeger Otto Sommer Gross Seidel Heinrich Brandt Haas "
        "Dubois Laurent Bernard Moreau Lefebvre Girard Rossi Russo Ferrari Esposito Bianchi "
        "Romano Garcia Fernandez Lopez Martinez Sanchez Perez Nowak Kowalski Wisniewski "
        "Johansson Andersson Nilsson Larsson Hansen Jensen Nielsen Smith Jones Taylor Brown "
        "Williams Wilson Johnson Davies Robinson Wright Thompson Evans Walker White Roberts "
        "Green Hall Wood Jackson Clarke Novak Horvat Kovacs Nagy Szabo Varga Popescu Ionescu").split()
STEM = ("Nord Sued Ost West Alpen Rhein Elbe Donau Hansa Baltic Atlas Apex Vertex Nova Orion "
        "Helios Astra Polar Summit Granite Cedar Maple Oak Pine Willow Harbor Bridge River "
        "Falcon Eagle Lynx Fox Bear Wolf Phoenix Titan Vector Quantum Pixel Fusion Zenith "
        "Blue Green Red Silver Golden Iron Steel Copper Crystal Bright Swift Prime Omni "
        "Terra Aqua Sol Luna Stellar Metro Urban Alpine Coastal Delta Sigma Kappa Beta").split()
TRADE = ("Logistik Bau Technik Software Systems Consulting Handel Trading Foods Pharma "
         "Medical Energy Solar Automotive Maschinenbau Elektro Textil Druck Media Design "
         "Immobilien Finance Versicherung Spedition Metall Kunststoff Chemie Optik Robotics "
         "Analytics Networks Telecom Catering Hotels Reisen Agrar Forst Moebel Papier Glas").split()
FORM = "GmbH AG KG SE Ltd LLC SAS Srl BV Oy AB".split()
CITIES = [("Berlin", "10115", "DE", "30"), ("Hamburg", "20095", "DE", "40"), ("Muenchen", "80331", "DE", "89"),
          ("Koeln", "50667", "DE", "221"), ("Frankfurt", "60311", "DE", "69"), ("Stuttgart", "70173", "DE", "711"),
          ("Wien", "1010", "AT", "1"), ("Zuerich", "8001", "CH", "44"), ("Paris", "75001", "FR", "1"),
          ("Lyon", "69001", "FR", "4"), ("Milano", "20121", "IT", "02"), ("Madrid", "28001", "ES", "91"),
          ("Warszawa", "00-001", "PL", "22"), ("Amsterdam", "1011", "NL", "20"), ("London", "EC1A", "GB", "20")]
CC = {"DE": "49", "AT": "43", "CH": "41", "FR": "33", "IT": "39", "ES": "34", "PL": "48", "NL": "31", "GB": "44"}
STREETS = "Hauptstrasse Bahnhofstrasse Gartenweg Schillerstrasse Goethestrasse Industriestrasse Marktplatz Ringstrasse".split()
MAIL = "gmail.com web.de gmx.de outlook.com yahoo.com t-online.de posteo.de icloud.com".split()
SEGMENTS = ["smb", "mid-market", "enterprise", "public", "retail"]
TAGS = ["newsletter", "vip", "trade-fair", "partner", "reseller", "key-account", "webinar"]
STATUSES = ["lead", "prospect", "customer", "customer", "customer", "inactive"]


def slug(s):
    return "".join(ch for ch in s.lower() if ch.isalnum() or ch == "-")


def customer(i):
    r = random.Random(i * 2654435761 % 4294967296)
    city, postal, country, area = r.choice(CITIES)
    number = f"{r.randrange(1000000, 9999999)}"
    phone = f"+{CC[country]} {area} {number}"
    if r.random() < 0.3:
        first, last = r.choice(FIRST), r.choice(LAST)
        kind, name = "person", f"{first} {last}"
        email = f"{slug(first)}.{slug(last)}{r.randrange(1, 999)}@{r.choice(MAIL)}"
        website = ""
    else:
        kind = "company"
        pattern = r.randrange(3)
        if pattern == 0:
            base = f"{r.choice(LAST)} {r.choice(TRADE)}"
        elif pattern == 1:
            base = f"{r.choice(STEM)}{r.choice(TRADE).lower()}"
        else:
            base = f"{r.choice(STEM)} {r.choice(TRADE)}"
        name = f"{base} {r.choice(FORM)}"
        domain = slug(base.replace(" ", "-")) + f"{i % 97}." + country.lower()
        email = f"{r.choice(['info', 'office', 'sales', 'kontakt', 'hello'])}@{domain}"
        website = f"https://www.{domain}"
    tax_id = f"{country}{r.randrange(100000000, 999999999)}"
    return {
        "i": i, "kind": kind, "name": name, "email": email, "phone": phone, "website": website,
        "segment": r.choice(SEGMENTS), "status": r.choice(STATUSES),
        "tags": ";".join(sorted(r.sample(TAGS, r.randrange(0, 3)))),
        "external_key": f"LEG-{i:07d}", "tax_id": tax_id,
        "addresses": [{"kind": "billing", "line1": f"{r.choice(STREETS)} {r.randrange(1, 200)}",
                       "city": city, "postal_code": postal, "country": country}],
        "notes": "",
    }


def csv_field(s):
    if any(c in s for c in ',"\r\n'):
        return '"' + s.replace('"', '""') + '"'
    return s


COLS = ["external_key", "kind", "name", "email", "phone", "website", "segment", "tags", "status", "addresses"]


def write_csv(n, start, path):
    with open(path, "w", newline="") as f:
        f.write(",".join(COLS) + "\r\n")
        for i in range(start, start + n):
            c = customer(i)
            c = dict(c, addresses=json.dumps(c["addresses"], separators=(",", ":")))
            f.write(",".join(csv_field(c[k]) for k in COLS) + "\r\n")


def write_upserts(n, start, path):
    """customer.upsert data objects, as ERP would send them (with tax ids)."""
    with open(path, "w") as f:
        for i in range(start, start + n):
            c = customer(i)
            fields = {k: c[k] for k in ("kind", "name", "email", "phone", "segment", "status", "tax_id")}
            fields["external_key"] = c["external_key"]
            fields["addresses"] = c["addresses"]
            f.write(json.dumps({"erp_id": f"ERP-{i:07d}", "fields": fields}) + "\n")


def write_bodies(n, path):
    with open(path, "w") as f:
        for i in range(n):
            c = customer(10_000_000 + i)
            body = {"name": c["name"], "kind": c["kind"], "email": c["email"], "phone": c["phone"],
                    "segment": c["segment"], "addresses": c["addresses"]}
            f.write(json.dumps(body, separators=(",", ":")) + "\n")


def write_queries(n, path, total, upsert_start):
    """Terms a sales rep types: a surname, a full name, part of an e-mail,
    a company stem, the last digits of a phone number, a tax id."""
    r = random.Random(42)
    with open(path, "w") as f:
        for _ in range(n):
            kind = r.randrange(6)
            if kind == 5 and upsert_start < total:
                c = customer(r.randrange(upsert_start, total))
                q = c["tax_id"]
            else:
                c = customer(r.randrange(total))
                if kind == 0:
                    q = c["name"].split()[-2] if c["kind"] == "company" else c["name"].split()[-1]
                elif kind == 1:
                    q = c["name"] if c["kind"] == "person" else " ".join(c["name"].split()[:2])
                elif kind == 2:
                    q = c["email"].split("@")[0] if c["kind"] == "person" else c["email"].split("@")[1].split(".")[0]
                elif kind == 3:
                    q = c["phone"].split()[-1]
                elif kind == 4:
                    digits = c["phone"].replace("+", "").replace(" ", "")
                    q = digits[-7:]
                else:
                    q = c["external_key"]
            f.write(q + "\n")


if __name__ == "__main__":
    what = sys.argv[1]
    if what == "csv":
        write_csv(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
    elif what == "upserts":
        write_upserts(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
    elif what == "bodies":
        write_bodies(int(sys.argv[2]), sys.argv[3])
    elif what == "queries":
        write_queries(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    else:
        sys.exit(__doc__)

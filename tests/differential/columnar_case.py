#!/usr/bin/env python3
"""One seeded case of the differential test for Parquet and CSV sources:
writes the source files with injected faults, their spec, and a DuckDB SQL
script that works out what PostgreSQL must hold after a backfill.

The oracle is DuckDB SQL over the very files cutover reads, following the
spec's documented rules, with nothing of cutover's mapper: a row whose key
or keep_last_by value is NULL is a reject; among the other rows of a key the
greatest updated_at wins (the generator never repeats one), and the older
ones are superseded; a winner that cannot be stored (a required value
missing, an integer out of range, text that is not a number) is a reject,
and its key is not stored. Names become ids through the products dimension,
which holds the names of the stored rows. Some seeds add schema drift the
spec allows: a file without the `note` column (on_missing_column: null) or
with a column no entity reads.

Writes into --out: data/part_N.{parquet|csv}, cutover.yaml, oracle.sql
(run it with tools/duckdb_sql from --out; it writes expected_*.csv and
expected_counts.csv) and expected.json (faults and a key to plant at)."""
import argparse
import json
import os
import random

NAMES = ["Wheat", "Rice", "Maïs", "O'Neil \"quoted\"", "Tomato, red", "字", "back\\slash"]


def spec_text(fmt, drift):
    extension = "parquet" if fmt == "parquet" else "csv"
    missing = ", on_missing_column: null" if drift else ""
    return f"""# Differential test case: written by tests/differential/columnar_case.py.
migration: diff
target: {{ url: "${{DATABASE_URL}}" }}
sources:
  files: {{ type: {fmt}, path: data/{missing} }}
backfill: {{ batch_size: 7, chunk_rows: 20 }}
entities:
  products:
    key: [id]
    columns:
      id:   {{ type: integer }}
      name: {{ type: text, required: true }}
  readings:
    source: {{ from: files, file: "part_*.{extension}" }}
    key: [device, seq]
    columns:
      device:     {{ type: text }}
      seq:        {{ type: bigint }}
      product_id: {{ from: product, type: integer,
                    lookup: {{ entity: products, match: name, returns: id }} }}
      level:      {{ type: integer }}
      amount:     {{ type: numeric, required: true }}
      temp:       {{ type: float8 }}
      day:        {{ type: date }}
      updated_at: {{ type: timestamptz }}
      note:       {{ type: text, default: none }}
    dedup: {{ key: [device, seq], keep_last_by: [updated_at] }}
"""


COLUMNS = ["device", "seq", "product", "level", "amount", "temp", "day", "updated_at", "note"]


def csv_field(value):
    if value is None:
        return ""
    return '"' + str(value).replace('"', '""') + '"'


def make_rows(seed, fmt, rows_wanted):
    rng = random.Random(seed)
    faults = {}
    stamps = set()

    def fault(kind):
        faults[kind] = faults.get(kind, 0) + 1

    def stamp():
        # Distinct per case, so keep_last_by never ties.
        while True:
            s = rng.randrange(0, 10**9)
            if s not in stamps:
                stamps.add(s)
                return s

    keys = []
    rows = []
    for _ in range(rows_wanted):
        if keys and rng.random() < 0.25:
            device, seq = rng.choice(keys)
            fault("repeated_key")
        else:
            device, seq = f"dev-{rng.randrange(0, 6)}", rng.randrange(-10**12, 10**12)
            keys.append((device, seq))
        s = stamp()
        row = {
            "device": device, "seq": seq,
            "product": rng.choice(NAMES + [None]),
            "level": rng.choice([None, rng.randrange(-2**31, 2**31), rng.randrange(-9, 9)]),
            "amount": f"{rng.randrange(-10**7, 10**7)}.{rng.randrange(0, 100):02d}",
            "temp": rng.choice([None, 0.1, -273.15, 1e-300, rng.random() * 100]),
            "day": f"{rng.randrange(1970, 2060)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
            "updated_at": f"{2000 + s // 10**8}-{s // 10**6 % 12 + 1:02d}-{s // 10**4 % 28 + 1:02d} "
                          f"{s // 100 % 24:02d}:{s % 60:02d}:{s // 7 % 60:02d}.{s % 1000:03d}+00",
            "note": rng.choice([None, "plain", "with, comma", "ünï \"q\""]),
        }
        if rng.random() < 0.15:
            kinds = ["device_null", "seq_null", "amount_null", "level_range", "updated_null"]
            if fmt == "csv":
                kinds.append("level_text")
            kind = rng.choice(kinds)
            fault(kind)
            if kind == "device_null":
                row["device"] = None
            elif kind == "seq_null":
                row["seq"] = None
            elif kind == "amount_null":
                row["amount"] = None
            elif kind == "level_range":
                row["level"] = rng.choice([2**31, -2**31 - 1, 2**45])
            elif kind == "updated_null":
                row["updated_at"] = None
            elif kind == "level_text":
                row["level"] = "abc"
        rows.append(row)
    return rows, faults


ORACLE = """-- What PostgreSQL must hold, worked out by DuckDB SQL from the source files.
SET TimeZone = 'UTC';
CREATE TABLE src AS SELECT * FROM {reader};
CREATE TABLE judged AS
SELECT *,
       device IS NULL OR seq IS NULL OR updated_at IS NULL AS unkeyed,
       amount IS NULL
         OR (level IS NOT NULL AND TRY_CAST(level AS BIGINT) IS NULL)
         OR coalesce(TRY_CAST(level AS BIGINT) NOT BETWEEN -2147483648 AND 2147483647, false)
         AS unstorable
FROM src;
CREATE TABLE ranked AS
SELECT *, row_number() OVER (PARTITION BY device, seq ORDER BY updated_at DESC) AS rk
FROM judged WHERE NOT unkeyed;
CREATE TABLE stored AS SELECT * FROM ranked WHERE rk = 1 AND NOT unstorable;
COPY (SELECT device, seq, product, CAST(level AS BIGINT) AS level, amount, temp, day,
             updated_at, coalesce(note, 'none') AS note FROM stored)
  TO 'expected_readings.csv' (FORMAT csv, HEADER true);
COPY (SELECT DISTINCT product AS name FROM stored WHERE product IS NOT NULL)
  TO 'expected_products.csv' (FORMAT csv, HEADER true);
COPY (SELECT (SELECT count(*) FROM src) AS read,
             (SELECT count(*) FROM judged WHERE unkeyed)
               + (SELECT count(*) FROM ranked WHERE rk = 1 AND unstorable) AS rejected,
             (SELECT count(*) FROM ranked WHERE rk > 1) AS superseded,
             (SELECT count(*) FROM stored) AS stored,
             (SELECT count(DISTINCT product) FROM stored) AS products)
  TO 'expected_counts.csv' (FORMAT csv, HEADER true);
"""

# DuckDB reads the CSV the way cutover's CSV source does: sniffed types, the
# union of the files by column name.
CSV_READER = "read_csv('data/part_*.csv', header = true, union_by_name = true)"
PARQUET_READER = "read_parquet('data/part_*.parquet', union_by_name = true)"

PARQUET_TYPES = {"device": "VARCHAR", "seq": "BIGINT", "product": "VARCHAR", "level": "BIGINT",
                 "amount": "DECIMAL(12,2)", "temp": "DOUBLE", "day": "DATE",
                 "updated_at": "TIMESTAMPTZ", "note": "VARCHAR"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--format", choices=("parquet", "csv"), required=True)
    ap.add_argument("--rows", type=int, default=90)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.makedirs(os.path.join(args.out, "data"), exist_ok=True)
    rows, faults = make_rows(args.seed, args.format, args.rows)
    parts = [rows[: len(rows) // 3], rows[len(rows) // 3: 2 * len(rows) // 3],
             rows[2 * len(rows) // 3:]]
    # Schema drift the spec allows: for one seed in three the last file lacks
    # `note` (on_missing_column: null, so it reads NULL and takes its
    # default); for odd seeds the second file has a column no entity reads.
    drift = args.seed % 3 == 0
    if drift:
        faults["file_lacks_note"] = 1
    if args.seed % 2 == 1:
        faults["file_has_extra_column"] = 1
    convert = ["SET TimeZone = 'UTC';"]
    for i, part in enumerate(parts, start=1):
        columns = [c for c in COLUMNS if not (drift and i == 3 and c == "note")]
        extra = args.seed % 2 == 1 and i == 2
        csv_path = os.path.join(args.out, "data" if args.format == "csv" else "", f"part_{i}.csv")
        with open(csv_path, "w", encoding="utf-8") as f:
            f.write(",".join(columns + (["extra_col"] if extra else [])) + "\n")
            for n, row in enumerate(part):
                cells = [csv_field(row[c]) for c in columns] + ([str(n * 7)] if extra else [])
                f.write(",".join(cells) + "\n")
        if args.format == "parquet":
            typed = dict((c, PARQUET_TYPES[c]) for c in columns)
            if extra:
                typed["extra_col"] = "INTEGER"
            types = ", ".join(f"'{c}': '{t}'" for c, t in typed.items())
            convert.append(f"COPY (SELECT * FROM read_csv('part_{i}.csv', header = true, "
                           f"types = {{{types}}})) TO 'data/part_{i}.parquet' "
                           f"(FORMAT parquet, ROW_GROUP_SIZE 8);")
    with open(os.path.join(args.out, "convert.sql"), "w") as f:
        f.write("\n".join(convert) + "\n")
    reader = PARQUET_READER if args.format == "parquet" else CSV_READER
    with open(os.path.join(args.out, "oracle.sql"), "w") as f:
        f.write(ORACLE.format(reader=reader))
    with open(os.path.join(args.out, "cutover.yaml"), "w") as f:
        f.write(spec_text(args.format, drift))
    # The key to plant a difference at: one that is stored for certain is
    # picked by the test from the oracle's rows; the seed picks which.
    with open(os.path.join(args.out, "expected.json"), "w") as f:
        json.dump({"faults": faults, "plant_pick": random.Random(args.seed * 31 + 7).random()},
                  f, indent=1)


if __name__ == "__main__":
    main()

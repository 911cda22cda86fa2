#!/usr/bin/env python3
"""One seeded case of the differential test for JSON sources: writes a JSON
file with injected faults, its spec, and what PostgreSQL must hold after it.

The expected rows are worked out here with Python's json module and the
spec's documented rules, never by cutover, so that a mapping bug cutover's
backfill and verify share still shows. Faults injected per record:
a required field missing or null, a value of the wrong JSON type, an integer
out of range, an impossible date, a NUL in text, a missing key, a record that
is not an object, a repeated key (the last valid record wins), and in the
child array an item that is not an object or lacks a required field.

Writes into --out: data/orders.json, cutover.yaml, expected_orders.csv,
expected_items.csv (CSV as PostgreSQL's COPY reads it: an unquoted empty
field is NULL) and expected.json (counts, faults, and a key to plant a
difference at)."""
import argparse
import json
import os
import random

LAYOUTS = ("array", "object", "lines")
ORDER_COLUMNS = ["id", "email", "qty", "price", "ratio", "active", "due", "placed_at",
                 "status", "meta"]
ITEM_COLUMNS = ["sku", "order_id", "title", "units"]


def spec_text(layout):
    id_from = "{ type: bigint, from: $key }" if layout == "object" else "{ type: bigint }"
    return f"""# Differential test case: written by tests/differential/json_case.py.
migration: diff
target: {{ url: "${{DATABASE_URL}}" }}
sources:
  files: {{ type: json, path: data/, layout: {layout} }}
backfill: {{ batch_size: 7 }}
entities:
  orders:
    source: {{ from: files, file: orders.json }}
    key: [id]
    columns:
      id:        {id_from}
      email:     {{ type: text, required: true }}
      qty:       {{ type: integer }}
      price:     {{ type: numeric }}
      ratio:     {{ type: float8 }}
      active:    {{ type: bool }}
      due:       {{ type: date }}
      placed_at: {{ from: placedAt, type: timestamptz }}
      status:    {{ type: text, default: new }}
      meta:      {{ type: jsonb }}
    children:
      items:
        path: items
        key: [sku]
        parent: {{ order_id: id }}
        columns:
          sku:      {{ type: text }}
          order_id: {{ type: bigint }}
          title:    {{ type: text, required: true }}
          units:    {{ type: integer }}
"""


class Num:
    """A JSON number written exactly as its text (json.dumps would go through float)."""

    def __init__(self, text):
        self.text = text


def dump(value):
    """JSON text of value, with Num written verbatim."""
    if isinstance(value, Num):
        return value.text
    if isinstance(value, dict):
        return "{" + ",".join(json.dumps(k) + ":" + dump(v) for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(dump(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def csv_field(value):
    if value is None:
        return ""
    return '"' + str(value).replace('"', '""') + '"'


def random_text(rng, n):
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz éü漢字\"\\,;'") for _ in range(n))


def make_case(seed, layout, records):
    rng = random.Random(seed)
    faults = {}
    next_id = [rng.randrange(1, 10**12)]
    next_sku = [0]

    def fault(kind):
        faults[kind] = faults.get(kind, 0) + 1

    def new_item(broken):
        next_sku[0] += 1
        item = {"sku": f"s{seed}-{next_sku[0]}", "title": random_text(rng, rng.randrange(0, 12)),
                "units": rng.randrange(-50, 50)}
        if rng.random() < 0.2:
            del item["units"]
        if not broken:
            return item, None
        kind = rng.choice(["item_not_object", "item_title_missing", "item_title_null",
                           "item_units_string"])
        fault(kind)
        if kind == "item_not_object":
            return rng.choice([Num("7"), "text", [1]]), kind
        if kind == "item_title_missing":
            del item["title"]
        elif kind == "item_title_null":
            item["title"] = None
        else:
            item["units"] = "many"
        return item, kind

    docs = []  # (key or None, record value, expected row or None, expected items)
    ids = []
    for _ in range(records):
        if ids and rng.random() < 0.12:
            oid = rng.choice(ids)
            fault("repeated_key")
        else:
            next_id[0] += rng.randrange(1, 1000)
            oid = next_id[0]
            ids.append(oid)
        rec = {}
        if layout != "object":
            rec["id"] = oid
        rec["email"] = f"user{oid}@example.com" if rng.random() < 0.7 else random_text(rng, 8)
        if rng.random() < 0.85:
            rec["qty"] = rng.choice([None, rng.randrange(-2**31, 2**31), rng.randrange(-100, 100)])
        price = None
        if rng.random() < 0.8:
            price = f"{rng.randrange(-10**6, 10**6)}.{rng.randrange(0, 100):02d}"
            rec["price"] = Num(price)
        if rng.random() < 0.8:
            rec["ratio"] = rng.choice([0.1, -2.5e-7, 1e300, 3.0, rng.random()])
        if rng.random() < 0.8:
            rec["active"] = rng.choice([True, False, None])
        if rng.random() < 0.8:
            rec["due"] = f"{rng.randrange(1990, 2040)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
        if rng.random() < 0.8:
            rec["placedAt"] = (f"{rng.randrange(2000, 2030)}-{rng.randrange(1, 13):02d}-"
                               f"{rng.randrange(1, 29):02d}T{rng.randrange(0, 24):02d}:"
                               f"{rng.randrange(0, 60):02d}:{rng.randrange(0, 60):02d}"
                               + rng.choice(["Z", "+02:00", "-05:30", ".250Z", ".123456+01:00"]))
        r = rng.random()
        if r < 0.3:
            rec["status"] = rng.choice(["paid", "shipped", ""])
        elif r < 0.4:
            rec["status"] = None
        if rng.random() < 0.5:
            rec["meta"] = rng.choice([{"a": 1, "b": [True, None, "x"]}, [1, 2, 3], "s", Num("12"),
                                      {"nested": {"deep": "é"}}, {}])
        if rng.random() < 0.3:
            rec["extra"] = {"ignored": True}
        items = []
        item_rows = []
        for _ in range(rng.choice([0, 0, 1, 2, 3])):
            item, broken = new_item(rng.random() < 0.1)
            items.append(item)
            item_rows.append(None if broken else item)
        if items or rng.random() < 0.5:
            rec["items"] = items

        # One parent fault in six records.
        kind = None
        if rng.random() < 1 / 6:
            kinds = ["email_missing", "email_null", "qty_string", "qty_range", "qty_object",
                     "due_impossible", "email_nul", "active_string", "placed_not_time",
                     "not_an_object"]
            if layout != "object":
                kinds.append("id_missing")
            kind = rng.choice(kinds)
            fault(kind)
            if kind == "email_missing":
                rec.pop("email")
            elif kind == "email_null":
                rec["email"] = None
            elif kind == "qty_string":
                rec["qty"] = "abc"
            elif kind == "qty_range":
                rec["qty"] = rng.choice([2**31, -2**31 - 1, 2**40])
            elif kind == "qty_object":
                rec["qty"] = {"n": 1}
            elif kind == "due_impossible":
                rec["due"] = rng.choice(["2023-02-30", "2023-13-01", "not a date"])
            elif kind == "email_nul":
                rec["email"] = "a\u0000b"
            elif kind == "active_string":
                rec["active"] = "maybe"
            elif kind == "placed_not_time":
                rec["placedAt"] = "yesterday"
            elif kind == "id_missing":
                rec.pop("id")
        value = [1, 2] if kind == "not_an_object" else rec
        row = None
        if kind is None:
            row = {
                "id": oid, "email": rec["email"], "qty": rec.get("qty"), "price": price,
                "ratio": repr(rec["ratio"]) if rec.get("ratio") is not None else None,
                "active": None if rec.get("active") is None else str(rec["active"]).lower(),
                "due": rec.get("due"), "placed_at": rec.get("placedAt"),
                "status": "new" if rec.get("status") is None else rec["status"],
                "meta": dump(rec["meta"]) if "meta" in rec else None,
            }
        docs.append((str(oid), value, row,
                     [{"sku": i["sku"], "order_id": oid, "title": i["title"],
                       "units": i.get("units")} for i in item_rows if i is not None],
                     len(items)))

    # Expected state: per key, the last record that maps; children of every
    # record that maps.
    expected_orders = {}
    expected_items = []
    counts = {"orders": {"read": 0, "rejected": 0}, "items": {"read": 0, "rejected": 0}}
    for key, value, row, item_rows, n_items in docs:
        counts["orders"]["read"] += 1
        if row is None:
            counts["orders"]["rejected"] += 1
            continue
        expected_orders[row["id"]] = row
        counts["items"]["read"] += n_items
        counts["items"]["rejected"] += n_items - len(item_rows)
        expected_items.extend(item_rows)
    return docs, expected_orders, expected_items, counts, faults


def write_source(path, layout, docs):
    with open(path, "w", encoding="utf-8") as f:
        if layout == "lines":
            for _, value, *_ in docs:
                f.write(dump(value) + "\n")
        elif layout == "array":
            f.write("[\n" + ",\n".join(dump(v) for _, v, *_ in docs) + "\n]\n")
        else:
            # Object layout: a repeated key is a repeated member name.
            f.write("{\n" + ",\n".join(json.dumps(k) + ": " + dump(v) for k, v, *_ in docs) +
                    "\n}\n")


def write_csv(path, columns, rows):
    with open(path, "w", encoding="utf-8") as f:
        f.write(",".join(columns) + "\n")
        for row in rows:
            f.write(",".join(csv_field(row[c]) for c in columns) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--layout", choices=LAYOUTS, required=True)
    ap.add_argument("--records", type=int, default=60)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.makedirs(os.path.join(args.out, "data"), exist_ok=True)
    docs, orders, items, counts, faults = make_case(args.seed, args.layout, args.records)
    write_source(os.path.join(args.out, "data", "orders.json"), args.layout, docs)
    with open(os.path.join(args.out, "cutover.yaml"), "w") as f:
        f.write(spec_text(args.layout))
    write_csv(os.path.join(args.out, "expected_orders.csv"), ORDER_COLUMNS, orders.values())
    write_csv(os.path.join(args.out, "expected_items.csv"), ITEM_COLUMNS, items)
    rng = random.Random(args.seed * 7919 + 1)
    plant = rng.choice(sorted(orders)) if orders else None
    with open(os.path.join(args.out, "expected.json"), "w") as f:
        json.dump({"counts": counts, "faults": faults,
                   "stored": {"orders": len(orders), "items": len(items)},
                   "plant_id": None if plant is None else str(plant),
                   "plant_key": None if plant is None else f"id={plant}"}, f, indent=1)


if __name__ == "__main__":
    main()

# The client of bench/telemetry_queries.sh: runs the IoTDB runbook's two read
# queries as prepared statements on telemetry_plain and telemetry_part (already
# loaded), alternating the two layouts with the same random parameters, times
# each execution client-side (execute and fetch) and reports nearest-rank
# percentiles, EXPLAIN (ANALYZE, BUFFERS) summaries and the tables' sizes.
import argparse
import datetime as dt
import json
import random
import sys
import time

import psycopg2

LAYOUTS = [("unpartitioned", "telemetry_plain"), ("partitioned", "telemetry_part")]
PERCENTILES = (50, 95, 99)
TARGETS = [("runbook", 100), ("ours", 20)]  # p95 below this many ms

# The runbook's reads (docs' get_device_telemetry: device + time range, newest
# first; and a day's aggregate). It names no grouping beyond the device; the
# average of a temperature and a pressure means nothing, so per measurement too.
QUERIES = {
    "q1": {
        "title": "last hour of one device",
        "types": "integer, timestamptz",
        "sql": 'SELECT device_id, measurement_name, "timestamp", numeric_value, text_value, '
               'boolean_value, json_value FROM {table} WHERE device_id = $1 '
               'AND "timestamp" >= $2 - interval \'1 hour\' AND "timestamp" < $2 '
               'ORDER BY "timestamp" DESC',
    },
    "q2": {
        "title": "one day, aggregate per device",
        "types": "timestamptz, timestamptz",
        "sql": 'SELECT device_id, measurement_name, avg(numeric_value), min(numeric_value), '
               'max(numeric_value), count(numeric_value) FROM {table} '
               'WHERE "timestamp" >= $1 AND "timestamp" < $2 '
               'GROUP BY device_id, measurement_name ORDER BY device_id, measurement_name',
    },
    # The same answer from the rollup (spec `rollups:`, catalog/rollup_ddl.h):
    # a day is one range of its key, one row per device and measurement.
    "q2r": {
        "title": "q2 from the daily rollup",
        "types": "timestamptz, timestamptz",
        "sql": 'SELECT device_id, measurement_name, numeric_value_sum / numeric_value_count, '
               'numeric_value_min, numeric_value_max, numeric_value_count FROM {table}_daily '
               'WHERE bucket_start >= $1 AND bucket_start < $2 '
               'ORDER BY device_id, measurement_name',
    },
}


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


def nearest_rank(sorted_values, p):
    """The smallest value with at least p% of the values at or below it."""
    rank = (p * len(sorted_values) + 99) // 100  # ceil(p/100 * n), in integers
    return sorted_values[max(rank, 1) - 1]


def ms_up(ns):
    """Milliseconds rounded up to 0.01 ms, exactly (from integer ns)."""
    hundredths = -(-ns // 10_000)
    return "%d.%02d" % (hundredths // 100, hundredths % 100)


def gib(n):
    return "%.2f GiB" % (n / 2**30) if n >= 2**30 else "%.0f MiB" % (n / 2**20)


def walk(plan, found):
    if "Relation Name" in plan:
        found["scans"].append((plan["Relation Name"], plan.get("Index Name"), plan["Node Type"]))
    if "Subplans Removed" in plan:
        found["removed"] += plan["Subplans Removed"]
    for child in plan.get("Plans", []):
        walk(child, found)


def explain(cur, stmt, args):
    cur.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) EXECUTE %s(%s)"
                % (stmt, ", ".join(["%s"] * len(args))), args)
    doc = cur.fetchone()[0]
    doc = doc[0] if isinstance(doc, list) else json.loads(doc)[0]
    top = doc["Plan"]
    found = {"scans": [], "removed": 0}
    walk(top, found)
    out = {
        "execution_ms": doc["Execution Time"],
        "planning_ms": doc.get("Planning Time"),
        "shared_hit_blocks": top.get("Shared Hit Blocks", 0),
        "shared_read_blocks": top.get("Shared Read Blocks", 0),
        "rows": top.get("Actual Rows"),
        "scans": [{"relation": r, "index": i, "node": n} for r, i, n in found["scans"]],
        "relations_scanned": sorted({r for r, _, _ in found["scans"]}),
        "subplans_removed": found["removed"],
    }
    if "JIT" in doc:
        out["jit_ms"] = doc["JIT"]["Timing"]["Total"]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--url", required=True)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--points", type=int, required=True)
    ap.add_argument("--devices", type=int, required=True)
    ap.add_argument("--per-series", type=int, required=True)
    ap.add_argument("--step", type=int, required=True)
    ap.add_argument("--start", required=True)
    ap.add_argument("--q1-runs", type=int, required=True)
    ap.add_argument("--q2-runs", type=int, required=True)
    ap.add_argument("--load-ms", required=True)    # plain,partitioned
    ap.add_argument("--vacuum-ms", required=True)  # plain,partitioned
    a = ap.parse_args()

    start = dt.datetime.fromisoformat(a.start)
    # Series are offset by less than a step; the last full step is common to all.
    last_s = (a.per_series - 1) * a.step
    end = start + dt.timedelta(seconds=last_s)
    days = last_s // 86400
    if days < 1:
        sys.exit("bench: the data spans less than one day")

    conn = psycopg2.connect(a.url)
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("SHOW server_version")
    version = cur.fetchone()[0]
    settings = {}
    for name in ("shared_buffers", "work_mem", "effective_cache_size", "jit",
                 "max_parallel_workers_per_gather", "plan_cache_mode"):
        cur.execute("SELECT current_setting(%s)", (name,))
        settings[name] = cur.fetchone()[0]

    layouts = []
    load_ms = [int(x) for x in a.load_ms.split(",")]
    vacuum_ms = [int(x) for x in a.vacuum_ms.split(",")]
    for (layout, table), lms, vms in zip(LAYOUTS, load_ms, vacuum_ms):
        # pg_partition_tree lists a partitioned table's tree, and nothing for a plain table.
        cur.execute(
            "WITH rels AS (SELECT relid, isleaf, level FROM pg_partition_tree(%s) "
            "UNION ALL SELECT %s::regclass, true, 0 WHERE NOT EXISTS "
            "(SELECT FROM pg_partition_tree(%s))) "
            "SELECT sum(pg_total_relation_size(relid))::bigint, "
            "sum(pg_table_size(relid))::bigint, sum(pg_indexes_size(relid))::bigint, "
            "count(*) FILTER (WHERE isleaf AND level > 0), "
            "(SELECT count(*) FROM " + table + ") FROM rels", (table, table, table))
        total, heap, indexes, partitions, rows = cur.fetchone()
        layouts.append({"layout": layout, "table": table, "load_s": lms / 1000,
                        "analyze_vacuum_s": vms / 1000, "rows": rows, "total_bytes": total,
                        "heap_bytes": heap, "index_bytes": indexes, "partitions": partitions})
        for key, q in QUERIES.items():
            cur.execute("PREPARE %s_%s (%s) AS %s"
                        % (key, table, q["types"], q["sql"].format(table=table)))

    rng = random.Random(a.seed)

    def q1_args():
        device = rng.randint(1, a.devices)
        until = start + dt.timedelta(seconds=rng.randint(3600, last_s))
        return (device, until)

    def q2_args():
        # Both bounds from the client: "$1 + interval '1 day'" is only stable, and a
        # sequential scan's filter would compute it again for every row.
        day = start + dt.timedelta(days=rng.randrange(days))
        return (day, day + dt.timedelta(days=1))

    results = {}
    for key, make_args, runs in (("q1", q1_args, a.q1_runs), ("q2", q2_args, a.q2_runs),
                                 ("q2r", q2_args, a.q2_runs)):
        warmup = max(6, runs // 10)  # past the plan cache's five custom plans
        params = [make_args() for _ in range(warmup + runs)]
        lat = {layout: [] for layout, _ in LAYOUTS}
        rows = {layout: 0 for layout, _ in LAYOUTS}
        log("%s: %d warm-up + %d measured executions per layout" % (key, warmup, runs))
        for n, args in enumerate(params):
            # Alternate which layout goes first, so neither always follows the other.
            order = LAYOUTS if n % 2 == 0 else LAYOUTS[::-1]
            for layout, table in order:
                sql = "EXECUTE %s_%s(%s)" % (key, table, ", ".join(["%s"] * len(args)))
                t0 = time.perf_counter_ns()
                cur.execute(sql, args)
                got = cur.fetchall()
                t1 = time.perf_counter_ns()
                if n >= warmup:
                    lat[layout].append(t1 - t0)
                    rows[layout] += len(got)
        per_layout = {}
        for layout, table in LAYOUTS:
            v = sorted(lat[layout])
            cur.execute("SELECT generic_plans, custom_plans FROM pg_prepared_statements "
                        "WHERE name = %s", ("%s_%s" % (key, table),))
            generic, custom = cur.fetchone()
            per_layout[layout] = {
                "runs": len(v),
                "rows_per_run": rows[layout] / len(v),
                "p_ns": {p: nearest_rank(v, p) for p in PERCENTILES},
                "min_ns": v[0], "max_ns": v[-1], "mean_ns": sum(v) // len(v),
                "generic_plans": generic, "custom_plans": custom,
                "explain": explain(cur, "%s_%s" % (key, table), params[warmup]),
            }
        results[key] = {"params_first": [str(x) for x in params[warmup]],
                        "warmup": warmup, "layouts": per_layout}
    # The rollup's answer must be the GROUP BY's: every day of both layouts,
    # counts, minima and maxima equal, averages within float rounding.
    rollup_days, rollup_mismatches = 0, []
    for _, table in LAYOUTS:
        for d in range(days):
            day = start + dt.timedelta(days=d)
            args = (day, day + dt.timedelta(days=1))
            got = {}
            for key in ("q2", "q2r"):
                cur.execute("EXECUTE %s_%s(%%s, %%s)" % (key, table), args)
                got[key] = cur.fetchall()
            rollup_days += 1
            same = len(got["q2"]) == len(got["q2r"]) and all(
                g[:2] == r[:2] and g[3:] == r[3:] and
                (g[2] is None and r[2] is None or
                 g[2] is not None and r[2] is not None and abs(g[2] - r[2]) <= 1e-9 * max(1, abs(g[2])))
                for g, r in zip(got["q2"], got["q2r"]))
            if not same:
                rollup_mismatches.append("%s %s" % (table, day.date()))
    conn.close()

    plain, part = (l for l, _ in LAYOUTS)
    if a.json:
        out = {
            "bench": "telemetry_queries", "postgres": version, "settings": settings,
            "seed": a.seed, "points": a.points, "devices": a.devices,
            "measurements": a.points // a.devices // a.per_series,
            "step_s": a.step, "first": start.isoformat(), "last_common": end.isoformat(),
            "latency": "client-side, execute + fetch of a prepared statement; nearest-rank",
            "tables": layouts,
            "queries": {},
            "targets_p95_ms": dict(TARGETS),
            "rollup_check": {"days_compared": rollup_days, "mismatched": rollup_mismatches},
        }
        for key, r in results.items():
            q = {"title": QUERIES[key]["title"], "sql": QUERIES[key]["sql"].format(table="t"),
                 "warmup": r["warmup"], "first_params": r["params_first"], "layouts": {}}
            for layout, s in r["layouts"].items():
                q["layouts"][layout] = {
                    "runs": s["runs"], "rows_per_run": s["rows_per_run"],
                    **{"p%d_ms" % p: s["p_ns"][p] / 1e6 for p in PERCENTILES},
                    "min_ms": s["min_ns"] / 1e6, "mean_ms": s["mean_ns"] / 1e6,
                    "max_ms": s["max_ns"] / 1e6,
                    "generic_plans": s["generic_plans"], "custom_plans": s["custom_plans"],
                    "targets": {name: ("met" if s["p_ns"][95] < ms * 1_000_000 else "not met")
                                for name, ms in TARGETS},
                    "explain": s["explain"],
                }
            q["ratio_partitioned_to_unpartitioned"] = {
                "p%d" % p: r["layouts"][part]["p_ns"][p] / r["layouts"][plain]["p_ns"][p]
                for p in PERCENTILES}
            out["queries"][key] = q
        print(json.dumps(out, indent=2))
        return 1 if rollup_mismatches else 0

    p = print
    p("IoTDB runbook read queries on PostgreSQL %s (scratch cluster: shared_buffers %s, "
      "work_mem %s, jit %s, %s parallel workers per gather)"
      % (version, settings["shared_buffers"], settings["work_mem"], settings["jit"],
         settings["max_parallel_workers_per_gather"]))
    p("%s points: %d devices x %d measurements, one point per series every %d s, "
      "%s .. %s UTC"
      % (format(a.points, ","), a.devices, a.points // a.devices // a.per_series, a.step,
         start.strftime("%Y-%m-%d %H:%M"), end.strftime("%Y-%m-%d %H:%M")))
    p()
    p("%-14s %10s %16s %12s %10s %10s %10s  %s"
      % ("layout", "load", "analyze+vacuum", "rows", "total", "heap", "indexes", "partitions"))
    for l in layouts:
        p("%-14s %8.1f s %14.1f s %12s %10s %10s %10s  %s"
          % (l["layout"], l["load_s"], l["analyze_vacuum_s"], format(l["rows"], ","),
             gib(l["total_bytes"]), gib(l["heap_bytes"]), gib(l["index_bytes"]),
             "%d monthly + default" % (l["partitions"] - 1) if l["partitions"] else "-"))
    p()
    p("latency: client-side (EXECUTE of a prepared statement + fetch), same random parameters "
      "for both layouts (seed %d),\nnearest-rank percentiles in ms rounded up to 0.01 ms; "
      "targets on p95: runbook < 100 ms, ours < 20 ms" % a.seed)
    head = ("%-32s %-14s %5s %9s %9s %9s %9s  %-17s %s"
            % ("query", "layout", "runs", "rows/run", "p50 ms", "p95 ms", "p99 ms",
               "runbook p95<100", "ours p95<20"))
    p(head)
    p("-" * len(head))
    for key, r in results.items():
        label = "%s %s" % (key, QUERIES[key]["title"])
        for layout, _ in LAYOUTS:
            s = r["layouts"][layout]
            met = ["met" if s["p_ns"][95] < ms * 1_000_000 else "not met" for _, ms in TARGETS]
            p("%-32s %-14s %5d %9.1f %9s %9s %9s  %-17s %s"
              % (label, layout, s["runs"], s["rows_per_run"],
                 *(ms_up(s["p_ns"][q]) for q in PERCENTILES), *met))
            label = ""
        ratios = ["%.2fx" % (r["layouts"][part]["p_ns"][q] / r["layouts"][plain]["p_ns"][q])
                  for q in PERCENTILES]
        p("%-32s %-14s %5s %9s %9s %9s %9s" % ("", "part/unpart", "", "", *ratios))
    p()
    p("q2r equals q2 (counts, min, max exact; averages within 1e-9) on %d of %d layout-days%s"
      % (rollup_days - len(rollup_mismatches), rollup_days,
         "" if not rollup_mismatches else ": DIFFERS on " + ", ".join(rollup_mismatches)))
    p()
    p("EXPLAIN (ANALYZE, BUFFERS) EXECUTE, after the measured runs, first measured parameters:")
    for key, r in results.items():
        for layout, _ in LAYOUTS:
            s = r["layouts"][layout]
            e = s["explain"]
            scanned = sorted({(x["relation"], x["index"] or x["node"]) for x in e["scans"]})
            nparts = next(l["partitions"] for l in layouts if l["layout"] == layout)
            what = ", ".join("%s (%s)" % sc for sc in scanned)
            if nparts and key != "q2r":  # the rollup is one table
                what += "; %d of %d partitions scanned" % (len(e["relations_scanned"]), nparts)
                if e["subplans_removed"]:
                    # q1's "$2 - interval '1 hour'" is only stable: pruned at executor start
                    what += " (%d pruned at executor start)" % e["subplans_removed"]
            p("  %s %-14s execution %8.3f ms, planning %6.3f ms%s, buffers hit %d read %d, "
              "%s; plans %d generic/%d custom"
              % (key, layout, e["execution_ms"], e["planning_ms"] or 0,
                 ", jit %.1f ms" % e["jit_ms"] if "jit_ms" in e else "",
                 e["shared_hit_blocks"], e["shared_read_blocks"], what,
                 s["generic_plans"], s["custom_plans"]))
    return 1 if rollup_mismatches else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Generates the Flux Studio example data: users.json and projects.json.

Deterministic for a given --rows and --seed, so rehearsals and benchmarks
see the same records every time. Projects hold nested tasks and milestones,
as the application's JSON store did.
"""
import argparse
import csv
import datetime as dt
import json
import os
import random
import uuid

ROLES = ["designer", "producer", "client", "admin"]
STATUSES = ["planning", "active", "review", "done"]
TASK_STATES = ["todo", "in_progress", "blocked", "done"]
WORDS = ["aurora", "basalt", "cinder", "delta", "ember", "fjord", "glacier", "harbor",
         "iris", "juniper", "kelp", "lumen", "meadow", "nova", "opal", "prism"]


def make_uuid(rng):
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def iso(rng, start_year=2019):
    base = dt.datetime(start_year, 1, 1, tzinfo=dt.timezone.utc)
    moment = base + dt.timedelta(seconds=rng.randrange(0, 6 * 365 * 86400),
                                 microseconds=rng.randrange(0, 1000) * 1000)
    offset = dt.timezone(dt.timedelta(minutes=rng.choice([0, 60, -300, 330, -480])))
    return moment.astimezone(offset).isoformat(timespec="milliseconds")


def title(rng, n):
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize()


def user(rng, i):
    return {
        "id": make_uuid(rng),
        "email": f"user{i}@fluxstudio.example",
        "name": title(rng, 2),
        "role": rng.choice(ROLES),
        "createdAt": iso(rng),
        "lastLoginMs": rng.randrange(1_600_000_000_000, 1_760_000_000_000),
        "isActive": rng.random() < 0.9,
        "preferences": {"theme": rng.choice(["dark", "light"]),
                        "notifications": {"email": rng.random() < 0.5, "digest": "weekly"}},
    }


def project(rng, owners):
    pid = make_uuid(rng)
    tasks = [{
        "id": make_uuid(rng),
        "title": title(rng, 3),
        "status": rng.choice(TASK_STATES),
        "assigneeId": rng.choice(owners) if rng.random() < 0.8 else None,
        "estimateHours": round(rng.uniform(0.5, 40.0), 2),
        "createdAt": iso(rng),
    } for _ in range(rng.randrange(0, 7))]
    milestones = [{
        "id": make_uuid(rng),
        "title": "Phase " + str(k + 1),
        "dueDate": (dt.date(2024, 1, 1) + dt.timedelta(days=rng.randrange(0, 900))).isoformat(),
        "completed": rng.random() < 0.4,
    } for k in range(rng.randrange(0, 4))]
    return {
        "id": pid,
        "name": title(rng, 2),
        "description": title(rng, 8) + ".",
        "ownerId": rng.choice(owners),
        "status": rng.choice(STATUSES),
        "priority": rng.randrange(1, 6),
        "budget": f"{rng.randrange(1000, 250000)}.{rng.randrange(0, 100):02d}",
        "progress": round(rng.random(), 4),
        "createdAt": iso(rng),
        "metadata": {"tags": rng.sample(WORDS, 2), "color": "#%06x" % rng.randrange(0, 1 << 24)},
        "tasks": tasks,
        "milestones": milestones,
    }


def write_array(path, items):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("[\n")
        first = True
        for item in items:
            if not first:
                f.write(",\n")
            f.write(json.dumps(item, separators=(",", ":")))
            first = False
        f.write("\n]\n")
    os.replace(tmp, path)


def user_csv_row(u):
    """The user as the spec maps it, for COPY ... CSV (the benchmark reference)."""
    last_login = dt.datetime.fromtimestamp(u["lastLoginMs"] / 1000, tz=dt.timezone.utc)
    return [u["id"], u["email"], u["name"], u["role"], u["createdAt"],
            last_login.isoformat(timespec="milliseconds"), "t" if u["isActive"] else "f",
            json.dumps(u["preferences"], separators=(",", ":"))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=2000, help="number of users (default 2000); "
                    "projects are half as many")
    ap.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "data"),
                    help="output folder (default: data/ beside this script)")
    ap.add_argument("--only", choices=["users", "projects"], help="write only this file")
    ap.add_argument("--csv", action="store_true",
                    help="also write users.csv: the users as mapped, for the COPY reference")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rng = random.Random(args.seed)
    owners = []

    def users():
        for i in range(args.rows):
            u = user(rng, i)
            if len(owners) < 5000:
                owners.append(u["id"])
            yield u

    csv_file = open(os.path.join(args.out, "users.csv"), "w", newline="",
                    encoding="utf-8") if args.csv else None
    csv_writer = csv.writer(csv_file) if csv_file else None

    def users_with_csv():
        for u in users():
            if csv_writer:
                csv_writer.writerow(user_csv_row(u))
            yield u

    if args.only in (None, "users"):
        write_array(os.path.join(args.out, "users.json"), users_with_csv())
    if csv_file:
        csv_file.close()
    if args.only in (None, "projects"):
        if not owners:
            owners.extend(make_uuid(rng) for _ in range(100))
        write_array(os.path.join(args.out, "projects.json"),
                    (project(rng, owners) for _ in range(max(1, args.rows // 2))))
    print(f"generated fluxstudio data ({args.rows} users) in {args.out}")

if __name__ == "__main__":
    main()

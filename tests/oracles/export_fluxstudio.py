#!/usr/bin/env python3
"""The fluxstudio files as a fresh export of PostgreSQL writes them.

The oracle of the file rollback test, written apart from cutover: it reads
rows that plain SQL selected (one JSON array of text values per line, in key
order) and writes users.json and projects.json in the example's layout: an
array, one compact record per line, fields in the spec's order, children by
key, timestamps in UTC, numbers with PostgreSQL's exact digits.

usage: export_fluxstudio.py ROWS_DIR OUT_DIR
"""
import datetime as dt
import decimal
import json
import os
import sys

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


class Raw(str):
    """JSON text written as it is (a number's exact digits)."""


def enc(v):
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, Raw):
        return str(v)
    if isinstance(v, float):
        return json.dumps(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ",".join(enc(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + enc(x)
                              for k, x in v.items()) + "}"
    raise TypeError(type(v))


def instant(micros):
    if micros is None:
        return None
    t = EPOCH + dt.timedelta(microseconds=int(micros))
    frac = f".{t.microsecond:06d}" if t.microsecond else ""
    return t.strftime("%Y-%m-%dT%H:%M:%S") + frac + "Z"


def epoch_ms(micros):
    if micros is None:
        return None
    m = int(micros)
    return Raw(str(decimal.Decimal(m) / 1000))


def number(text):
    return None if text is None else Raw(text)


def float8(text):
    return None if text is None else float(text)


def jsonb(text):
    return None if text is None else json.loads(text, parse_float=Raw, parse_int=Raw)


def boolean(text):
    return None if text is None else text == "true"


def rows(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def write(path, records):
    with open(path, "w", encoding="utf-8") as f:
        f.write("[\n" + ",\n".join(enc(r) for r in records) + ("\n]\n" if records else "]\n"))


def main():
    src, out = sys.argv[1], sys.argv[2]
    users = []
    for (uid, email, name, role, created, login, active, prefs) in rows(os.path.join(src, "users.rows")):
        users.append({"id": uid, "email": email, "name": name, "role": role,
                      "createdAt": instant(created), "lastLoginMs": epoch_ms(login),
                      "isActive": boolean(active), "preferences": jsonb(prefs)})
    tasks, milestones = {}, {}
    for (tid, pid, title, status, assignee, hours, created) in rows(os.path.join(src, "tasks.rows")):
        tasks.setdefault(pid, []).append({"id": tid, "title": title, "status": status,
                                          "assigneeId": assignee, "estimateHours": float8(hours),
                                          "createdAt": instant(created)})
    for (mid, pid, title, due, done) in rows(os.path.join(src, "milestones.rows")):
        milestones.setdefault(pid, []).append({"id": mid, "title": title, "dueDate": due,
                                               "completed": boolean(done)})
    projects = []
    for (pid, name, desc, owner, status, prio, budget, progress, created, meta) in rows(
            os.path.join(src, "projects.rows")):
        projects.append({"id": pid, "name": name, "description": desc, "ownerId": owner,
                         "status": status, "priority": number(prio), "budget": number(budget),
                         "progress": float8(progress), "createdAt": instant(created),
                         "metadata": jsonb(meta), "tasks": tasks.get(pid, []),
                         "milestones": milestones.get(pid, [])})
    write(os.path.join(out, "users.json"), users)
    write(os.path.join(out, "projects.json"), projects)


if __name__ == "__main__":
    main()

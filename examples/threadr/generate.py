#!/usr/bin/env python3
"""Threadr's Redis keyspace, deterministic: the runbook's four key families.

Writes Redis commands in the Redis protocol to stdout, for `redis-cli --pipe`:
    python3 generate.py --users 2000 | redis-cli -p PORT --pipe

  threadr:premium:email:<email>        JSON string, TTL = the premium's expiry (critical)
  threadr:email:<email>                hash of the user's fields (high)
  threadr:usage:<ip>:<yyyy-mm-dd>      integer counter (INCRBY), TTL 2 days (high)
  threadr:cache:thread:<id>            JSON string with its tweets, TTL 1 hour (medium)

The same --seed and --users always give the same keys and values; TTLs are
relative to when the commands run. Standard library only.
"""
import argparse
import json
import random
import sys


def resp(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        b = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--users", type=int, default=2000, help="users (keys total: about 3.5x)")
    p.add_argument("--seed", type=int, default=4)
    a = p.parse_args()
    rng = random.Random(a.seed)
    w = sys.stdout.buffer
    plans = ["pro", "team", "starter"]
    for i in range(a.users):
        email = "user%06d@example.com" % i
        user_id = 100000 + i
        w.write(resp("HSET", "threadr:email:" + email,
                     "user_id", user_id,
                     "name", "User %d" % i,
                     "tier", "premium" if i % 5 == 0 else "free",
                     "created_at", "2025-%02d-%02dT%02d:%02d:00Z" % (1 + i % 12, 1 + i % 28, i % 24, i % 60)))
        if i % 5 == 0:
            premium = {
                "user_id": user_id,
                "plan": plans[i % 3],
                "status": "active" if i % 7 else "past_due",
                "amount": round(4.99 + (i % 3) * 5, 2),
                "stripe_payment_id": "pi_%012x" % rng.getrandbits(48),
                "started_at": "2026-%02d-01T00:00:00Z" % (1 + i % 11),
            }
            ttl = 86400 * (30 + i % 60)
            w.write(resp("SET", "threadr:premium:email:" + email, json.dumps(premium), "EX", ttl))
        if i % 2 == 0:
            ip = "10.%d.%d.%d" % (i % 250, (i // 250) % 250, 1 + i % 200)
            for day in ("2026-11-29", "2026-11-30"):
                w.write(resp("INCRBY", "threadr:usage:%s:%s" % (ip, day), 1 + rng.randrange(20)))
                w.write(resp("EXPIRE", "threadr:usage:%s:%s" % (ip, day), 2 * 86400))
        if i % 3 == 0:
            thread = {
                "user_id": user_id,
                "topic": "thread %d" % i,
                "tweets": [{"n": n, "text": "Part %d of %d" % (n + 1, 3)} for n in range(3)],
            }
            w.write(resp("SET", "threadr:cache:thread:%08d" % i, json.dumps(thread), "EX", 3600))
    w.flush()


if __name__ == "__main__":
    main()

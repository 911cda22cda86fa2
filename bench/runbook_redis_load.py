# The runbook's way of moving threadr's keys, for bench/backfill_redis.sh: what
# redis_to_postgres_migration.py --batch-size 100 does with redis-py and
# psycopg2. SCAN, then per key TYPE, GET or HGETALL and TTL; one INSERT per
# row (upsert on the key); a commit every 100 keys. Stops after MAX_KEYS keys
# or MAX_SECONDS, whichever comes first, and prints "keys N seconds S".
import json
import sys
import time
from datetime import datetime, timedelta, timezone

import psycopg2
import redis
from psycopg2.extras import Json

BATCH_SIZE = 100


def expires_at(ttl):
    return datetime.now(timezone.utc) + timedelta(seconds=ttl) if ttl > 0 else None


def migrate_key(r, cur, schema, key):
    kind = r.type(key)
    if kind == "string":
        value = r.get(key)
    elif kind == "hash":
        value = r.hgetall(key)
    else:
        return False
    ttl = r.ttl(key)
    if key.startswith("threadr:premium:email:"):
        doc = json.loads(value)
        cur.execute(
            f"INSERT INTO {schema}.subscriptions (email, user_id, plan, status, amount, "
            "stripe_payment_id, started_at, premium_expires_at, metadata) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (email) DO UPDATE SET "
            "user_id = EXCLUDED.user_id, plan = EXCLUDED.plan, status = EXCLUDED.status, "
            "amount = EXCLUDED.amount, stripe_payment_id = EXCLUDED.stripe_payment_id, "
            "started_at = EXCLUDED.started_at, premium_expires_at = EXCLUDED.premium_expires_at, "
            "metadata = EXCLUDED.metadata",
            (key[len("threadr:premium:email:"):], doc["user_id"], doc.get("plan"),
             doc.get("status"), doc.get("amount"), doc.get("stripe_payment_id"),
             doc.get("started_at"), expires_at(ttl), Json({"source": "redis_email_premium"})))
    elif key.startswith("threadr:email:"):
        cur.execute(
            f"INSERT INTO {schema}.users (email, id, name, tier, created_at, expires_at) "
            "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (email) DO UPDATE SET id = EXCLUDED.id, "
            "name = EXCLUDED.name, tier = EXCLUDED.tier, created_at = EXCLUDED.created_at, "
            "expires_at = EXCLUDED.expires_at",
            (key[len("threadr:email:"):], int(value["user_id"]), value.get("name"),
             value.get("tier"), value.get("created_at"), expires_at(ttl)))
    elif key.startswith("threadr:usage:"):
        ip, day = key[len("threadr:usage:"):].rsplit(":", 1)
        cur.execute(
            f"INSERT INTO {schema}.usage_tracking (ip, day, daily_count, expires_at) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT (ip, day) DO UPDATE SET "
            "daily_count = EXCLUDED.daily_count, expires_at = EXCLUDED.expires_at",
            (ip, day, int(value), expires_at(ttl)))
    elif key.startswith("threadr:cache:thread:"):
        thread_id = key[len("threadr:cache:thread:"):]
        doc = json.loads(value)
        cur.execute(
            f"INSERT INTO {schema}.threads (thread_id, user_id, topic, expires_at) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT (thread_id) DO UPDATE SET "
            "user_id = EXCLUDED.user_id, topic = EXCLUDED.topic, expires_at = EXCLUDED.expires_at",
            (thread_id, doc.get("user_id"), doc.get("topic"), expires_at(ttl)))
        for tweet in doc.get("tweets", []):
            cur.execute(
                f"INSERT INTO {schema}.thread_tweets (thread_id, n, text) VALUES (%s, %s, %s) "
                "ON CONFLICT (thread_id, n) DO UPDATE SET text = EXCLUDED.text",
                (thread_id, tweet["n"], tweet["text"]))
    else:
        return False
    return True


def main() -> int:
    if len(sys.argv) != 6:
        print("usage: runbook_redis_load.py DATABASE_URL REDIS_PORT SCHEMA MAX_KEYS MAX_SECONDS",
              file=sys.stderr)
        return 2
    url, port, schema = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    max_keys, max_seconds = int(sys.argv[4]), float(sys.argv[5])
    start = time.monotonic()
    r = redis.Redis(host="127.0.0.1", port=port, decode_responses=True)
    conn = psycopg2.connect(url)
    keys = 0
    with conn.cursor() as cur:
        for key in r.scan_iter(count=BATCH_SIZE):
            if migrate_key(r, cur, schema, key):
                keys += 1
            if keys % BATCH_SIZE == 0:
                conn.commit()
                if keys >= max_keys or time.monotonic() - start >= max_seconds:
                    break
    conn.commit()
    conn.close()
    print(f"keys {keys} seconds {time.monotonic() - start:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

# The runbook's way of loading the price history, for bench/backfill_parquet.sh:
# pandas reads the CSV, psycopg2's execute_values inserts pages of 10,000 rows.
import sys

import pandas as pd
import psycopg2
from psycopg2.extras import execute_values

PAGE_ROWS = 10_000


def main() -> int:
    if len(sys.argv) != 3:
        print("usage: runbook_load.py DATABASE_URL CSV", file=sys.stderr)
        return 2
    url, csv = sys.argv[1], sys.argv[2]
    # Text as exported (numeric keeps its scale); the generated data has no NULLs.
    frame = pd.read_csv(csv, dtype=str, keep_default_na=False)
    columns = ", ".join(frame.columns)
    conn = psycopg2.connect(url)
    with conn.cursor() as cur:
        for start in range(0, len(frame), PAGE_ROWS):
            page = frame.iloc[start:start + PAGE_ROWS].itertuples(index=False, name=None)
            execute_values(cur, f"INSERT INTO price_history ({columns}) VALUES %s", list(page),
                           page_size=PAGE_ROWS)
            conn.commit()
    conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

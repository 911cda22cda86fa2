-- Traffic safety indices as the runbook's collector wrote them: intersections
-- with their lon/lat, and per-minute safety indices per intersection, in
-- Parquet. Deterministic (hashes of the row number, no random()).
--   build/tools/duckdb_sql examples/traffic-safety/generate.sql --set ROWS=20000 --set OUT=examples/traffic-safety/data
-- ${ROWS} safety index rows over 50 intersections, one row per intersection
-- and minute from 2025-11-21 04:00 UTC.
COPY (
  SELECT i AS intersection_id,
         'Intersection ' || CAST(i AS VARCHAR) || ' (' ||
           ['Main St', 'Broad St', 'Prices Fork Rd', 'University City Blvd', 'Patrick Henry Dr'][i % 5 + 1] ||
           ')' AS name,
         -80.4139 + (hash(i) % 20000) / 200000.0 - 0.05 AS lon,
         37.2296 + (hash(i * 3) % 20000) / 200000.0 - 0.05 AS lat,
         CAST(1 + i % 6 AS INTEGER) AS lanes,
         i % 7 = 0 AS has_signal
  FROM range(0, 50) t(i) ORDER BY i
) TO '${OUT}/intersections.parquet' (FORMAT parquet, COMPRESSION zstd);

COPY (
  SELECT i % 50 AS intersection_id,
         TIMESTAMPTZ '2025-11-21 04:00:00+00' + to_minutes(CAST(i // 50 AS BIGINT)) AS "timestamp",
         CAST(hash(i) % 10000 AS DOUBLE) / 100 AS safety_index,
         CAST(hash(i * 5) % 10000 AS DOUBLE) / 100 AS vru_index,
         CAST(hash(i * 7) % 10000 AS DOUBLE) / 100 AS vehicle_index,
         CAST(hash(i * 11) % 40 AS INTEGER) AS vehicle_count,
         CAST(hash(i * 13) % 12 AS INTEGER) AS vru_count,
         CAST(hash(i * 17) % 700 AS DOUBLE) / 10 AS speed_variance
  FROM range(0, CAST(${ROWS} AS BIGINT)) t(i) ORDER BY i
) TO '${OUT}/safety_indices.parquet' (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE 5000);

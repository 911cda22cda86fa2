-- AgriProfit price history as the runbook found it: Parquet files of daily
-- mandi prices with commodity and market names, some rows repeated with a
-- newer or older update. Deterministic (hashes of the row number, no random()).
--   build/tools/duckdb_sql examples/agriprofit/generate.sql --set ROWS=20000 --set OUT=examples/agriprofit/data
-- Rows: ${ROWS} distinct (commodity, market, date) keys, plus one repeat of every
-- 20th key in prices_2.parquet: half newer than the original (it wins the
-- dedup), half older (it loses). keep_last_by values never tie.
CREATE TABLE base AS
SELECT i,
       i % 40 AS c,
       (i // 40) % 150 AS m,
       DATE '2003-01-01' + CAST(i // 6000 AS INTEGER) AS arrival_date
FROM range(0, CAST(${ROWS} AS BIGINT)) t(i);

CREATE TABLE names AS
SELECT ['Wheat', 'Rice', 'Maize', 'Onion', 'Potato', 'Tomato', 'Cotton', 'Soyabean',
        'Groundnut', 'Mustard', 'Gram', 'Tur', 'Moong', 'Urad', 'Jowar', 'Bajra', 'Ragi',
        'Barley', 'Sugarcane', 'Turmeric', 'Chilli', 'Garlic', 'Ginger', 'Coriander',
        'Cumin', 'Banana', 'Mango', 'Apple', 'Grapes', 'Orange', 'Cabbage', 'Cauliflower',
        'Brinjal', 'Okra', 'Peas', 'Carrot', 'Cucumber', 'Pumpkin', 'Lemon', 'Papaya'] AS commodity,
       ['Andhra Pradesh', 'Bihar', 'Gujarat', 'Karnataka', 'Kerala', 'Maharashtra',
        'Punjab', 'Rajasthan', 'Tamil Nadu', 'Uttar Pradesh'] AS state;

CREATE TABLE prices AS
SELECT b.i,
       n.commodity[b.c + 1] AS commodity,
       'Mandi ' || lpad(CAST(b.m AS VARCHAR), 3, '0') AS market,
       n.state[b.m % 10 + 1] AS state,
       b.arrival_date,
       CAST((hash(b.i) % 200000) / 100.0 + 500 AS DECIMAL(10, 2)) AS min_price,
       CAST((hash(b.i) % 200000) / 100.0 + 900 AS DECIMAL(10, 2)) AS max_price,
       CAST((hash(b.i) % 200000) / 100.0 + 700 AS DECIMAL(10, 2)) AS modal_price,
       CAST(hash(b.i * 7) % 100000 AS DOUBLE) / 10 AS arrivals_tonnes,
       TIMESTAMP '2003-01-01 06:00:00' + to_days(CAST(b.i // 6000 AS INTEGER))
         + to_seconds(CAST(b.i % 6000 AS BIGINT)) AS updated_at
FROM base b, names n;

COPY (SELECT * EXCLUDE (i) FROM prices ORDER BY i)
  TO '${OUT}/prices_1.parquet' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 5000);

-- Repeats: keys with i % 20 = 7; even ones newer (one hour later, new prices),
-- odd ones older (one hour earlier, stale prices).
COPY (SELECT * EXCLUDE (i, updated_at, modal_price),
             CAST(modal_price + CASE WHEN (i // 20) % 2 = 0 THEN 11 ELSE -11 END
                  AS DECIMAL(10, 2)) AS modal_price,
             updated_at + CASE WHEN (i // 20) % 2 = 0 THEN INTERVAL 1 HOUR
                               ELSE -INTERVAL 1 HOUR END AS updated_at
      FROM prices WHERE i % 20 = 7 ORDER BY i)
  TO '${OUT}/prices_2.parquet' (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE 5000);

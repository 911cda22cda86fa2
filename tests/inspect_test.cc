// `cutover inspect` end to end: a Parquet file written by DuckDB and a CSV
// file, inspected as JSON; expected figures computed by hand from the data.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "stores/duckdb/duckdb_session.h"
#include "support/pg_harness.h"

namespace cutover {
namespace {

using testing::CutoverBinary;
using testing::RunCommand;

TEST(InspectTest, ProfilesParquetAndCsvAndProposesTables) {
  const std::string dir = testing::TempDir();
  auto session = duckdb_store::DuckSession::Open();
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  // 1000 rows; market is NULL when i % 10 = 0 (100 rows), commodity takes 3
  // values, price = i * 1.25 from 0.00 to 1248.75.
  ASSERT_TRUE((*session)
                  ->Execute("COPY (SELECT i AS id, ['wheat', 'rice', 'maize'][i % 3 + 1] AS "
                            "commodity, CAST(i * 1.25 AS DECIMAL(12,2)) AS price, CASE WHEN i % "
                            "10 = 0 THEN NULL ELSE 'm' || (i % 7) END AS market FROM range(1000) "
                            "t(i)) TO '" +
                                dir + "/prices.parquet' (FORMAT parquet, ROW_GROUP_SIZE 2048)",
                            "writing prices.parquet")
                  .ok());
  std::ofstream(dir + "/codes.csv") << "code;label\nA;Alpha\nB;NA\nC;Gamma\n";
  std::ofstream(dir + "/spec.yaml") << R"(migration: agri
sources:
  prices: { type: parquet, path: prices.parquet }
  codes: { type: csv, path: codes.csv, csv: { delimiter: ";", null: NA } }
entities:
  price:
    source: { from: prices }
    key: [id]
    columns:
      id: { type: bigint }
      price: { type: numeric }
      seller: { from: sellr, type: text }
)";
  const auto run =
      RunCommand({CutoverBinary(), "inspect", dir + "/spec.yaml", "--json", "--sample", "2"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const nlohmann::json report = nlohmann::json::parse(run.out);
  ASSERT_EQ(report["sources"].size(), 2u);

  const nlohmann::json& prices = report["sources"][0];
  EXPECT_EQ(prices["name"], "prices");
  EXPECT_EQ(prices["rows"], 1000);
  EXPECT_EQ(prices["files"][0]["rows"], 1000);
  const nlohmann::json& columns = prices["columns"];
  ASSERT_EQ(columns.size(), 4u);
  EXPECT_EQ(columns[0]["name"], "id");
  EXPECT_EQ(columns[0]["min"], "0");
  EXPECT_EQ(columns[0]["max"], "999");
  EXPECT_EQ(columns[1]["distinct_estimate"], 3);
  EXPECT_EQ(columns[2]["source_type"], "DECIMAL(12,2)");
  EXPECT_EQ(columns[2]["postgres_type"], "numeric(12,2)");
  EXPECT_EQ(columns[2]["max"], "1248.75");
  EXPECT_EQ(columns[3]["nulls"], 100);
  EXPECT_DOUBLE_EQ(columns[3]["null_fraction"].get<double>(), 0.1);
  ASSERT_EQ(prices["sample"].size(), 2u);
  EXPECT_EQ(prices["sample"][1]["commodity"], "rice");
  EXPECT_TRUE(prices["sample"][0]["market"].is_null());
  ASSERT_EQ(prices["proposals"].size(), 1u);
  EXPECT_EQ(prices["proposals"][0]["entity"], "price");
  EXPECT_EQ(prices["proposals"][0]["ddl"],
            "CREATE TABLE \"public\".\"price\" (\n  \"id\" bigint NOT NULL,\n  \"price\" "
            "numeric,\n  \"seller\" text,\n  PRIMARY KEY (\"id\")\n);");
  EXPECT_EQ(prices["proposals"][0]["warnings"][0],
            "column 'seller' reads 'sellr', which the source lacks");

  const nlohmann::json& codes = report["sources"][1];
  EXPECT_EQ(codes["rows"], 3);
  EXPECT_EQ(codes["columns"][1]["nulls"], 1);
  ASSERT_EQ(codes["proposals"].size(), 1u);
  EXPECT_TRUE(codes["proposals"][0]["entity"].is_null());
  EXPECT_NE(codes["proposals"][0]["ddl"].get<std::string>().find("key candidates"),
            std::string::npos);

  // An unknown --source is a usage error that lists the sources.
  const auto bad = RunCommand({CutoverBinary(), "inspect", dir + "/spec.yaml", "--source", "px"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("the spec has: prices, codes"), std::string::npos) << bad.err;
}

// A table that other entities' lookups fill is proposed as the backfill
// creates it: a generated id and a unique key on the matched name (without
// them the backfill's CheckTable refuses the table). Expected DDL by hand.
TEST(InspectTest, LookupTargetIsProposedWithItsUniqueKeyAndGeneratedId) {
  const std::string dir = testing::TempDir();
  testing::WriteFile(dir + "/data/commodities.json", R"([{"id": 1, "name": "rice"}])");
  testing::WriteFile(dir + "/data/prices.json", R"([{"id": 1, "commodity": "rice"}])");
  testing::WriteFile(dir + "/spec.yaml", R"(migration: agri
sources:
  files: { type: json, path: data/ }
entities:
  commodities:
    source: { from: files, file: commodities.json }
    key: [id]
    columns:
      id:   { type: integer }
      name: { type: text, required: true }
  prices:
    source: { from: files, file: prices.json }
    key: [id]
    columns:
      id: { type: bigint }
      commodity_id: { from: commodity, type: integer,
                      lookup: { entity: commodities, match: name, returns: id } }
    indexes:
      - { columns: [commodity_id] }
)");
  const auto run = RunCommand({CutoverBinary(), "inspect", dir + "/spec.yaml", "--json"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const nlohmann::json report = nlohmann::json::parse(run.out);
  std::map<std::string, std::string> ddl;
  for (const auto& source : report["sources"]) {
    for (const auto& p : source["proposals"]) {
      if (p["entity"].is_string()) ddl[p["entity"].get<std::string>()] = p["ddl"];
    }
  }
  EXPECT_EQ(ddl["commodities"],
            "CREATE TABLE \"public\".\"commodities\" (\n"
            "  \"id\" integer NOT NULL GENERATED BY DEFAULT AS IDENTITY,\n"
            "  \"name\" text NOT NULL,\n"
            "  PRIMARY KEY (\"id\"),\n"
            "  UNIQUE (\"name\")\n);");
  EXPECT_EQ(ddl["prices"],
            "CREATE TABLE \"public\".\"prices\" (\n"
            "  \"id\" bigint NOT NULL,\n"
            "  \"commodity_id\" integer,\n"
            "  PRIMARY KEY (\"id\")\n);\n"
            "CREATE INDEX \"prices_commodity_id_idx\" ON \"public\".\"prices\" USING btree "
            "(\"commodity_id\");");
}

}  // namespace
}  // namespace cutover

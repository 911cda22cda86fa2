// A client read through the gateway ("ReadPath design").
#include "gateway/read_path.h"

#include <chrono>

#include "common/redact.h"
#include "map/columnar_mapper.h"

namespace cutover::gateway {
namespace {
double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}
}  // namespace

ReadPath::ReadPath(LegacySessions* legacy, PostgresReader* postgres, ShadowComparer* shadow,
                   const Journal* journal, ReadTally* tally, Options options)
    : legacy_(legacy),
      postgres_(postgres),
      shadow_(shadow),
      journal_(journal),
      tally_(tally),
      options_(options) {}

bool ReadPath::Sampled() {
  if (options_.shadow_sample >= 1) return true;
  if (options_.shadow_sample <= 0) return false;
  thread_local std::minstd_rand random(std::random_device{}());
  return std::uniform_real_distribution<double>(0, 1)(random) < options_.shadow_sample;
}

Status ReadPath::ReadLegacy(const std::string& entity, const std::string& key, ReadOutcome* out,
                            store::StoreBatch* read) {
  const auto start = std::chrono::steady_clock::now();
  {
    const LegacySessions::Lease session = legacy_->Borrow(entity);
    RETURN_IF_ERROR(session->store->key_reader()->Read({{key}}, read));
  }
  out->legacy_seconds = SecondsSince(start);
  out->served_by = control::Store::kLegacy;
  out->found = read->size() > 0;
  // A document store's record is its text; a columnar one's (a Parquet
  // archive's row) is answered as a JSON object of its columns.
  const int doc = read->rows.IndexOf("$doc");
  out->document = !out->found ? std::string()
                  : doc >= 0  ? std::string(read->rows.columns[static_cast<size_t>(doc)].BytesAt(0))
                              : map::RowAsJson(read->rows, 0);
  return Status::Ok();
}

Result<ReadOutcome> ReadPath::Get(const control::StageState& stage, const std::string& entity,
                                  const std::string& key) {
  if (!legacy_->Has(entity)) {
    return InvalidArgument("entity '" + entity + "' is not read through this gateway");
  }
  const control::RouteDecision route =
      control::RouteRead(stage.stage, stage.percent, entity, key, options_.primary_fallback);
  ReadOutcome out;
  store::StoreBatch read;
  bool from_postgres = route.read_from == control::Store::kPostgres;
  if (from_postgres && control::WritesFor(stage.stage).primary == control::Store::kLegacy &&
      journal_->Owes(entity, key)) {
    from_postgres = false;  // read your writes
  }
  if (!from_postgres) {
    RETURN_IF_ERROR(ReadLegacy(entity, key, &out, &read));
    if (route.shadow && Sampled()) {
      out.shadowed = true;
      shadow_->Submit(entity, key, std::move(read));
    }
    return out;
  }
  if (!postgres_->Rebuilds(entity)) {
    return FailedPrecondition("entity '" + entity +
                              "': its PostgreSQL rows cannot be turned back into the record the "
                              "client stores (only entities of redis sources, and of json "
                              "files keyed by one column, that declare write_back can); read "
                              "PostgreSQL directly");
  }
  const auto start = std::chrono::steady_clock::now();
  Result<PostgresRow> row = postgres_->Read(entity, key);
  out.postgres_seconds = SecondsSince(start);
  catalog::ReadCounts counts;
  counts.postgres_reads = 1;
  if (row.ok()) {
    tally_->Add(entity, counts);
    out.served_by = control::Store::kPostgres;
    out.found = row->found;
    out.document = std::move(row->document);
    return out;
  }
  if (!route.fallback_to_legacy || row.status().code() == StatusCode::kDataError) {
    tally_->Add(entity, counts);
    return row.status();
  }
  counts.fallbacks = 1;
  tally_->Add(entity, counts);
  out.fell_back = true;
  out.fallback_reason = RedactSecrets(row.status().message());
  RETURN_IF_ERROR(ReadLegacy(entity, key, &out, &read));
  return out;
}

}  // namespace cutover::gateway

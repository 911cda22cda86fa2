// A dimension's part of `cutover backfill`: its table made ready before the
// facts that fill it load.
#include "engine/backfill/lookup_dimension_run.h"

#include "catalog/table_ddl.h"
#include "engine/core/entity_plan.h"
#include "engine/core/write_path.h"
#include "stores/postgres/retry.h"

namespace cutover::engine {
namespace {

class LookupDimension : public EntityRun {
 public:
  LookupDimension(const BackfillContext& shared, const spec::EntitySpec& entity)
      : shared_(shared), entity_(entity) {}

  Status Prepare() override {
    shape_ = std::move(PlanTables(*shared_.migration, entity_)[0].shape);
    if (shared_.request->dry_run) return Status::Ok();
    return pg_store::RunWithRetry(shared_.conn, shared_.url, shared_.request->retry_for,
                                  "preparing the table of " + entity_.name, [&]() -> Status {
                                    pg_store::PgConnection* conn = shared_.conn->get();
                                    if (shared_.request->create_tables) {
                                      RETURN_IF_ERROR(catalog::CreateTable(conn, shape_));
                                    }
                                    auto fit = catalog::CheckTable(conn, shape_);
                                    if (!fit.ok())
                                      return fit.status().WithContext("entity " + entity_.name);
                                    return Status::Ok();
                                  });
  }
  Status Run(bool*) override { return Status::Ok(); }
  // Reported by the runs that fill it, after they did.
  std::vector<TableSummary> Summaries() const override { return {}; }
  bool done() const override { return true; }  // holds no progress of its own
  Status ResetLedgers() override { return Status::Ok(); }

 private:
  const BackfillContext& shared_;
  const spec::EntitySpec& entity_;
  pg_store::TableShape shape_;
};

}  // namespace

std::unique_ptr<EntityRun> MakeLookupDimensionRun(const BackfillContext& context,
                                                  const spec::EntitySpec& entity) {
  return std::make_unique<LookupDimension>(context, entity);
}

}  // namespace cutover::engine

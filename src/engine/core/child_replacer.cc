// Deletes a parent's child rows before its new state's children are merged.
#include "engine/core/child_replacer.h"

#include <algorithm>

#include <fmt/format.h>

namespace cutover::engine {

Result<std::unique_ptr<ChildReplacer>> ChildReplacer::Create(const spec::EntitySpec& entity,
                                                             const EntityPlan& plan) {
  std::unique_ptr<ChildReplacer> c(new ChildReplacer());
  const auto& tables = plan.tables;
  c->link_parent_.resize(tables.size());
  c->link_child_.resize(tables.size());
  c->deleters_.resize(tables.size());
  for (size_t t = 1; t < tables.size(); ++t) {
    if (tables[t].parent != 0) {
      return FailedPrecondition(fmt::format(
          "{}: {} is nested two levels deep; a changed key's children are replaced one level "
          "deep only",
          entity.where.ToString(), tables[t].entity->name));
    }
    for (const auto& [child_col, parent_col] : tables[t].entity->parent_columns) {
      if (std::find(entity.key.begin(), entity.key.end(), parent_col) == entity.key.end()) {
        return FailedPrecondition(fmt::format(
            "{}: {} links to {}.{}, which is not in its key; a gone key's children are found "
            "by the key",
            tables[t].entity->where.ToString(), tables[t].entity->name, entity.name, parent_col));
      }
      c->link_child_[t].push_back(child_col);
      c->link_parent_[t].push_back(parent_col);
    }
    c->deleters_[t] = std::make_unique<pg_store::RowDeleter>(tables[t].shape, c->link_child_[t]);
  }
  return c;
}

Status ChildReplacer::Prepare(pg_store::PgConnection* conn) {
  for (auto& d : deleters_) {
    if (d) RETURN_IF_ERROR(d->PrepareStaging(conn));
  }
  return Status::Ok();
}

Status ChildReplacer::Compact(pg_store::PgConnection* conn) {
  for (auto& d : deleters_) {
    if (d) RETURN_IF_ERROR(d->Compact(conn));
  }
  return Status::Ok();
}

Status ChildReplacer::DeleteChildrenOf(pg_store::PgConnection* conn, const RowBatch& parents,
                                       const std::vector<uint32_t>& rows) {
  if (rows.empty()) return Status::Ok();
  for (size_t t = 1; t < deleters_.size(); ++t) {
    // The parents' link values under the child's column names.
    RowBatch link;
    for (size_t i = 0; i < link_parent_[t].size(); ++i) {
      const int src = parents.IndexOf(link_parent_[t][i]);
      if (src < 0) return Internal("the parent rows lack " + link_parent_[t][i]);
      link.AddColumn(link_child_[t][i], parents.columns[src].type());
      for (uint32_t r : rows) link.columns.back().AppendFrom(parents.columns[src], r);
    }
    std::vector<uint32_t> all(link.num_rows());
    for (uint32_t i = 0; i < all.size(); ++i) all[i] = i;
    ASSIGN_OR_RETURN(int64_t deleted, deleters_[t]->Delete(conn, link, all));
    (void)deleted;
  }
  return Status::Ok();
}

}  // namespace cutover::engine

// The read-routing decision: for a stage, a rollout percent, an entity and a
// key, which store serves the read and whether the other one shadows it.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "control/stage.h"

namespace cutover::control {

enum class Store { kLegacy, kPostgres };

std::string_view StoreName(Store store);  // "legacy", "postgres"

// What a reader does with one key. Pure data; see RouteRead.
struct RouteDecision {
  Store read_from = Store::kLegacy;
  // Also read the other store and count a mismatch; the answer still comes
  // from `read_from`.
  bool shadow = false;
  // On a PostgreSQL error, answer from legacy instead (and count a fallback).
  bool fallback_to_legacy = false;
  // 0..9999: the key's place on the rollout scale; a key reads from
  // PostgreSQL in rollout exactly when bucket < percent * 100.
  uint32_t bucket = 0;
};

// Where writes go in a stage: the primary store acknowledges, the secondary
// (if any) follows, journaled on failure (docs/ARCHITECTURE.md, "Correctness").
struct WritePolicy {
  Store primary = Store::kLegacy;
  std::optional<Store> secondary;
};

// XXH3-64 of entity, a 0 byte, and key, modulo 10000. Stable across
// processes, hosts and releases (XXH3's output is specified), so every
// gateway routes a key the same way.
uint32_t KeyBucket(std::string_view entity, std::string_view key);

// RouteRead design
//
// A key reads from PostgreSQL in rollout when its bucket is below
// percent * 100. The bucket depends only on (entity, key), so at a fixed
// percent a key never flaps between stores, and raising the percent only adds
// the keys whose buckets lie in the new band: every key already on PostgreSQL
// stays there. Keys still on legacy during rollout keep their shadow read, so
// the mismatch rate stays measured for the part not yet moved. `primary`
// falls back to legacy on a PostgreSQL error when `primary_fallback` (spec
// stages.primary_fallback); `complete` never does, legacy is no longer written.
RouteDecision RouteRead(Stage stage, int percent, std::string_view entity, std::string_view key,
                        bool primary_fallback = true);

WritePolicy WritesFor(Stage stage);

}  // namespace cutover::control

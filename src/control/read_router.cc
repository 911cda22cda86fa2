// The read-routing decision (see RouteRead design in read_router.h): a pure
// function of stage, percent and a stable hash of entity and key.
#include "control/read_router.h"

#include <xxhash.h>

#include <string>

namespace cutover::control {

std::string_view StoreName(Store store) {
  return store == Store::kPostgres ? "postgres" : "legacy";
}

uint32_t KeyBucket(std::string_view entity, std::string_view key) {
  std::string buf;
  buf.reserve(entity.size() + 1 + key.size());
  buf.append(entity);
  buf.push_back('\0');  // ("ab", "c") and ("a", "bc") must not collide
  buf.append(key);
  return static_cast<uint32_t>(XXH3_64bits(buf.data(), buf.size()) % 10000);
}

RouteDecision RouteRead(Stage stage, int percent, std::string_view entity, std::string_view key,
                        bool primary_fallback) {
  RouteDecision d;
  d.bucket = KeyBucket(entity, key);
  switch (stage) {
    case Stage::kLegacy:
    case Stage::kDualWrite:
      break;
    case Stage::kShadow:
      d.shadow = true;
      break;
    case Stage::kRollout:
      if (d.bucket < static_cast<uint32_t>(percent) * 100) {
        d.read_from = Store::kPostgres;
        d.fallback_to_legacy = true;
      } else {
        d.shadow = true;
      }
      break;
    case Stage::kPrimary:
      d.read_from = Store::kPostgres;
      d.fallback_to_legacy = primary_fallback;
      break;
    case Stage::kComplete:
      d.read_from = Store::kPostgres;
      break;
  }
  return d;
}

WritePolicy WritesFor(Stage stage) {
  switch (stage) {
    case Stage::kLegacy:
      return {Store::kLegacy, std::nullopt};
    case Stage::kDualWrite:
    case Stage::kShadow:
    case Stage::kRollout:
      return {Store::kLegacy, Store::kPostgres};
    case Stage::kPrimary:
      return {Store::kPostgres, Store::kLegacy};
    case Stage::kComplete:
      return {Store::kPostgres, std::nullopt};
  }
  return {};
}

}  // namespace cutover::control

// MarkOwnWrite: the logical message that marks a transaction as cutover's.
#include "catalog/own_writes.h"

#include <string>

namespace cutover::catalog {

Status MarkOwnWrite(pg_store::PgConnection* conn) {
  return conn->Query("SELECT pg_logical_emit_message(true, $1, '')", {std::string(kOwnWriteMarker)})
      .status()
      .WithContext("marking the transaction as cutover's own write");
}

}  // namespace cutover::catalog

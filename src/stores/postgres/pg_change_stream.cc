// PgChangeStream: START_REPLICATION over libpq's copy-both mode, pgoutput's
// messages decoded into keyed changes with typed rows.
#include "stores/postgres/pg_change_stream.h"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cinttypes>
#include <cstring>
#include <thread>

#include <fmt/format.h>

#include "common/redact.h"
#include "common/value_text.h"
#include "stores/postgres/table_reader.h"

namespace cutover::pg_store {
namespace {

// Microseconds from 1970-01-01 to 2000-01-01, the replication clock's epoch.
constexpr int64_t kUnixToPgEpochMicros = 946684800000000;

uint16_t Get16(const char*& p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  p += 2;
  return static_cast<uint16_t>(u[0] << 8 | u[1]);
}
uint32_t Get32(const char*& p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  p += 4;
  return static_cast<uint32_t>(u[0]) << 24 | static_cast<uint32_t>(u[1]) << 16 |
         static_cast<uint32_t>(u[2]) << 8 | u[3];
}
uint64_t Get64(const char*& p) {
  const uint64_t high = Get32(p);
  return high << 32 | Get32(p);
}
void Put64(std::string* out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<char>(v >> shift));
}
// A NUL-terminated string of a message; empty past `end`.
std::string GetString(const char*& p, const char* end) {
  const char* nul = static_cast<const char*>(std::memchr(p, '\0', static_cast<size_t>(end - p)));
  if (nul == nullptr) {
    p = end;
    return {};
  }
  std::string s(p, nul);
  p = nul + 1;
  return s;
}

std::string LsnText(uint64_t lsn) {
  return fmt::format("{:X}/{:X}", lsn >> 32, lsn & 0xffffffffu);
}

std::string Quoted(const std::string& name) {
  std::string out = "\"";
  for (char c : name) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

}  // namespace

std::string PgChangeStream::CursorOf(uint64_t lsn) {
  return "lsn=" + LsnText(lsn);
}

Result<uint64_t> PgChangeStream::LsnOf(const store::Cursor& cursor) {
  unsigned high = 0, low = 0;
  if (std::sscanf(cursor.token.c_str(), "lsn=%X/%X", &high, &low) != 2) {
    return InvalidArgument("'" + cursor.token + "' is not a PostgreSQL change stream position");
  }
  return static_cast<uint64_t>(high) << 32 | low;
}

PgChangeStream::PgChangeStream(PgChangeStreamOptions options) : options_(std::move(options)) {
  for (const TableColumn& c : options_.table.columns) rows_.AddColumn(c.name, c.type);
}

PgChangeStream::~PgChangeStream() {
  if (replication_ != nullptr) PQfinish(replication_);
}

Result<std::unique_ptr<PgChangeStream>> PgChangeStream::Open(PgChangeStreamOptions options) {
  std::unique_ptr<PgChangeStream> s(new PgChangeStream(std::move(options)));
  ASSIGN_OR_RETURN(s->sql_, PgConnection::Connect(s->options_.url));
  ASSIGN_OR_RETURN(const QueryResult level, s->sql_->Query("SHOW wal_level"));
  const std::string wal_level = level.rows.empty() ? "" : level.rows[0][0].value_or("");
  if (wal_level != "logical") {
    return FailedPrecondition(fmt::format(
        "PostgreSQL's wal_level is '{}'; reading its changes needs wal_level = logical (set it "
        "in postgresql.conf and restart the server)",
        wal_level));
  }
  return s;
}

Result<store::Cursor> PgChangeStream::Head() {
  ASSIGN_OR_RETURN(
      const QueryResult pub,
      sql_->Query("SELECT 1 FROM pg_publication WHERE pubname = $1", {options_.publication}));
  if (pub.rows.empty()) {
    RETURN_IF_ERROR(sql_->Exec("CREATE PUBLICATION " + Quoted(options_.publication) +
                               " FOR TABLE " + options_.table.QualifiedName()));
  }
  ASSIGN_OR_RETURN(
      const QueryResult slot,
      sql_->Query("SELECT 1 FROM pg_replication_slots WHERE slot_name = $1", {options_.slot}));
  if (slot.rows.empty()) {
    ASSIGN_OR_RETURN(
        const QueryResult made,
        sql_->Query("SELECT lsn FROM pg_create_logical_replication_slot($1, 'pgoutput')",
                    {options_.slot}));
    return store::Cursor{"lsn=" + made.rows[0][0].value_or("")};
  }
  ASSIGN_OR_RETURN(const QueryResult now, sql_->Query("SELECT pg_current_wal_lsn()"));
  return store::Cursor{"lsn=" + now.rows[0][0].value_or("")};
}

Status PgChangeStream::Start(const store::Cursor& from) {
  uint64_t start = 0;
  if (from.token.empty()) {
    ASSIGN_OR_RETURN(const store::Cursor head, Head());
    ASSIGN_OR_RETURN(start, LsnOf(head));
  } else {
    ASSIGN_OR_RETURN(start, LsnOf(from));
  }
  ASSIGN_OR_RETURN(const QueryResult slot,
                   sql_->Query("SELECT coalesce(wal_status, '') FROM pg_replication_slots WHERE "
                               "slot_name = $1",
                               {options_.slot}));
  if (slot.rows.empty() || slot.rows[0][0].value_or("") == "lost") {
    return DataLoss(fmt::format(
        "replication slot '{}' {}: the changes after {} cannot be read; re-scan the table",
        options_.slot, slot.rows.empty() ? "does not exist (dropped?)" : "lost its WAL",
        LsnText(start)));
  }
  if (replication_ != nullptr) PQfinish(replication_);
  const char* keys[] = {"dbname", "replication", "application_name", "options", nullptr};
  const char* values[] = {options_.url.c_str(), "database", "cutover",
                          "-c TimeZone=UTC -c client_encoding=UTF8", nullptr};
  replication_ = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (replication_ == nullptr || PQstatus(replication_) != CONNECTION_OK) {
    return Unavailable("cannot open a replication connection to PostgreSQL at " +
                       RedactSecrets(options_.url) + ": " +
                       (replication_ ? PQerrorMessage(replication_) : "out of memory"));
  }
  const std::string command = fmt::format(
      "START_REPLICATION SLOT {} LOGICAL {} (proto_version '1', publication_names '{}', binary "
      "'true', messages '{}')",
      Quoted(options_.slot), LsnText(start), Quoted(options_.publication),
      options_.skip_marker.empty() ? "false" : "true");
  PGresult* r = PQexec(replication_, command.c_str());
  const bool copying = PQresultStatus(r) == PGRES_COPY_BOTH;
  const std::string error = copying ? "" : PQresultErrorMessage(r);
  PQclear(r);
  if (!copying) return Unavailable("START_REPLICATION on slot '" + options_.slot + "': " + error);
  // What was decoded before a reconnect but not acknowledged comes again:
  // no position past the acknowledged one may be reported until it does.
  acked_ = std::max(acked_, start);
  last_commit_end_ = acked_;
  idle_position_ = acked_;
  in_transaction_ = false;
  skipping_transaction_ = false;
  held_.reset();
  ready_.clear();
  rows_.Clear();
  return Status::Ok();
}

Result<bool> PgChangeStream::Receive(std::chrono::steady_clock::time_point deadline) {
  // Past the deadline, what the socket already holds is still read once.
  bool socket_read = false;
  for (;;) {
    char* buffer = nullptr;
    const int n = PQgetCopyData(replication_, &buffer, /*async=*/1);
    if (n > 0) {
      const Status st = Handle(buffer, static_cast<size_t>(n));
      PQfreemem(buffer);
      RETURN_IF_ERROR(st);
      return true;
    }
    if (n == -1 || n == -2) {
      return Unavailable("the replication stream of slot '" + options_.slot +
                         "' ended: " + PQerrorMessage(replication_));
    }
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      if (socket_read) return false;
      socket_read = true;
      if (PQconsumeInput(replication_) == 0) {
        return Unavailable("the replication connection of slot '" + options_.slot +
                           "' failed: " + PQerrorMessage(replication_));
      }
      continue;
    }
    pollfd fd{PQsocket(replication_), POLLIN, 0};
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count() + 1;
    if (poll(&fd, 1, static_cast<int>(left)) < 0 && errno != EINTR) {
      return Unavailable(std::string("poll on the replication connection: ") +
                         std::strerror(errno));
    }
    if (PQconsumeInput(replication_) == 0) {
      return Unavailable("the replication connection of slot '" + options_.slot +
                         "' failed: " + PQerrorMessage(replication_));
    }
  }
}

Status PgChangeStream::Handle(const char* data, size_t len) {
  const char* p = data;
  const char* end = data + len;
  if (len >= 18 && *p == 'k') {  // keepalive: wal end, clock, reply requested
    ++p;
    const uint64_t wal_end = Get64(p);
    Get64(p);
    if (!in_transaction_) idle_position_ = std::max(idle_position_, wal_end);
    return SendStatus(*p != 0);
  }
  if (len >= 25 && *p == 'w') {  // XLogData: start, end, clock, then a pgoutput message
    ++p;
    Get64(p);
    Get64(p);
    Get64(p);
    return HandleLogical(p, end);
  }
  return DataError(fmt::format("replication message of kind '{}' ({} bytes) is not known",
                               len > 0 ? *data : '?', len));
}

Status PgChangeStream::DecodeTuple(const char*& p, const char* end, bool* unchanged_toast) {
  if (end - p < 2) return DataError("pgoutput: a tuple cut short");
  const uint16_t n = Get16(p);
  std::vector<bool> seen(rows_.columns.size(), false);
  for (uint16_t i = 0; i < n; ++i) {
    if (p >= end) return DataError("pgoutput: a tuple cut short");
    const char kind = *p++;
    const int c = i < order_.size() ? order_[i] : -1;
    uint32_t len = 0;
    const char* value = nullptr;
    if (kind == 'b' || kind == 't') {
      if (end - p < 4) return DataError("pgoutput: a value cut short");
      len = Get32(p);
      if (static_cast<size_t>(end - p) < len) return DataError("pgoutput: a value cut short");
      value = p;
      p += len;
    } else if (kind == 'u') {
      *unchanged_toast = true;
    } else if (kind != 'n') {
      return DataError(fmt::format("pgoutput: a value of kind '{}' is not known", kind));
    }
    if (c < 0) continue;
    seen[static_cast<size_t>(c)] = true;
    Column& col = rows_.columns[static_cast<size_t>(c)];
    if (value == nullptr) {
      col.AppendNull();
    } else if (kind == 't') {
      return DataError("pgoutput sent column '" + rows_.names[static_cast<size_t>(c)] +
                       "' as text although binary was asked for");
    } else {
      RETURN_IF_ERROR(DecodeBinaryField(col.type(), value, len, &col, &scratch_)
                          .WithContext("column '" + rows_.names[static_cast<size_t>(c)] + "'"));
    }
  }
  for (size_t c = 0; c < seen.size(); ++c) {
    if (!seen[c]) rows_.columns[c].AppendNull();
  }
  return Status::Ok();
}

Status PgChangeStream::HandleLogical(const char* p, const char* end) {
  if (p >= end) return DataError("pgoutput: an empty message");
  const char kind = *p++;
  switch (kind) {
    case 'B': {  // begin: final LSN, commit time, xid
      held_.reset();
      in_transaction_ = true;
      skipping_transaction_ = false;
      if (end - p >= 20) {
        Get64(p);
        const int64_t micros = static_cast<int64_t>(Get64(p));
        commit_time_ = std::chrono::system_clock::time_point(
            std::chrono::microseconds(micros + kUnixToPgEpochMicros));
        xid_ = Get32(p);
      }
      return Status::Ok();
    }
    case 'M': {  // logical message: flags, LSN, prefix, content
      if (end - p < 9) return DataError("pgoutput: a logical message cut short");
      const bool transactional = (*p++ & 1) != 0;
      Get64(p);
      const std::string prefix = GetString(p, end);
      if (transactional && in_transaction_ && !options_.skip_marker.empty() &&
          prefix == options_.skip_marker) {
        skipping_transaction_ = true;
      }
      return Status::Ok();
    }
    case 'R': {  // relation: its columns, in the order tuples carry them
      if (end - p < 4) return DataError("pgoutput: a relation message cut short");
      relation_id_ = Get32(p);
      const std::string schema = GetString(p, end);
      const std::string table = GetString(p, end);
      if (end - p < 3) return DataError("pgoutput: a relation message cut short");
      ++p;  // replica identity
      const uint16_t n = Get16(p);
      order_.assign(n, -1);
      for (uint16_t i = 0; i < n; ++i) {
        ++p;  // flags
        const std::string name = GetString(p, end);
        if (end - p < 8) return DataError("pgoutput: a relation message cut short");
        Get32(p);  // type oid
        Get32(p);  // type modifier
        order_[i] = options_.table.IndexOf(name);
      }
      (void)schema;
      (void)table;
      return Status::Ok();
    }
    case 'I':
    case 'U':
    case 'D': {
      if (end - p < 5) return DataError("pgoutput: a change message cut short");
      if (skipping_transaction_) {
        ++skipped_changes_;
        return Status::Ok();
      }
      Get32(p);  // relation id: the publication holds one table
      char part = *p++;
      bool unchanged_toast = false;
      std::optional<Pending> old_key;
      if (kind == 'U' && (part == 'K' || part == 'O')) {
        // The old key (sent when the update changed it) or row: its key is
        // deleted when it differs from the new row's.
        bool old_toast = false;
        RETURN_IF_ERROR(DecodeTuple(p, end, &old_toast));
        old_key = MakePending(store::ChangeKind::kDelete);
        if (p >= end) return DataError("pgoutput: an update cut short");
        part = *p++;
      }
      (void)part;
      RETURN_IF_ERROR(DecodeTuple(p, end, &unchanged_toast));
      Pending pending = MakePending(kind == 'D'       ? store::ChangeKind::kDelete
                                    : unchanged_toast ? store::ChangeKind::kDirty
                                                      : store::ChangeKind::kUpsert);
      if (old_key && old_key->change.key != pending.change.key) Queue(std::move(*old_key));
      Queue(std::move(pending));
      return Status::Ok();
    }
    case 'C': {  // commit: flags, commit LSN, end LSN, time
      if (end - p < 25) return DataError("pgoutput: a commit message cut short");
      ++p;
      Get64(p);
      const uint64_t end_lsn = Get64(p);
      if (held_) {
        held_->change.position = store::Cursor{CursorOf(end_lsn)};
        ready_.push_back(std::move(*held_));
        held_.reset();
      }
      last_commit_end_ = end_lsn;
      idle_position_ = std::max(idle_position_, end_lsn);
      in_transaction_ = false;
      skipping_transaction_ = false;
      return Status::Ok();
    }
    case 'T':
      return DataLoss("table " + options_.table.QualifiedName() +
                      " was truncated: its rows were removed without a change per row; re-scan "
                      "it");
    default:  // origin, type, message: nothing to apply
      return Status::Ok();
  }
}

PgChangeStream::Pending PgChangeStream::MakePending(store::ChangeKind kind) {
  Pending pending;
  pending.row = rows_.columns.empty() ? 0 : rows_.columns[0].size() - 1;
  pending.xid = xid_;
  pending.change.kind = kind;
  pending.change.committed_at = commit_time_;
  for (const std::string& k : options_.table.key) {
    const int c = options_.table.IndexOf(k);
    pending.change.key.push_back(ValueText(rows_.columns[static_cast<size_t>(c)], pending.row));
  }
  return pending;
}

void PgChangeStream::Queue(Pending pending) {
  // The change held so far was not its transaction's last.
  if (held_) {
    held_->change.position = store::Cursor{CursorOf(last_commit_end_)};
    ready_.push_back(std::move(*held_));
  }
  held_ = std::move(pending);
}

Result<bool> PgChangeStream::Next(size_t max_changes, std::chrono::milliseconds wait,
                                  store::ChangeBatch* out) {
  if (replication_ == nullptr) return FailedPrecondition("PgChangeStream::Next before Start");
  out->changes.clear();
  out->rows = RowBatch();
  for (const TableColumn& c : options_.table.columns) out->rows.AddColumn(c.name, c.type);
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (out->changes.size() < std::max<size_t>(1, max_changes)) {
    if (ready_.empty()) {
      // Waits for the first change only; after it, takes what has arrived.
      ASSIGN_OR_RETURN(const bool got,
                       Receive(out->changes.empty() ? deadline : std::chrono::steady_clock::now()));
      if (!got) break;
      continue;
    }
    Pending& next = ready_.front();
    if (next.change.kind == store::ChangeKind::kDirty) RETURN_IF_ERROR(WaitVisible(next.xid));
    // A delete's row holds its key (pgoutput's old key tuple), the rest NULL.
    for (size_t c = 0; c < rows_.columns.size(); ++c) {
      out->rows.columns[c].AppendFrom(rows_.columns[c], next.row);
    }
    out->changes.push_back(std::move(next.change));
    ready_.pop_front();
  }
  if (ready_.empty()) {
    // Every decoded row is handed out but the held change's: keep its row alone.
    RowBatch kept;
    for (size_t c = 0; c < rows_.columns.size(); ++c) {
      kept.AddColumn(rows_.names[c], rows_.columns[c].type());
    }
    if (held_) {
      for (size_t c = 0; c < rows_.columns.size(); ++c) {
        kept.columns[c].AppendFrom(rows_.columns[c], held_->row);
      }
      held_->row = 0;
    }
    rows_ = std::move(kept);
  }
  if (ready_.empty() && !held_ && !in_transaction_) {
    // Everything seen is handed out: acknowledging past skipped transactions
    // and idle WAL keeps the slot from holding WAL for nothing.
    out->end = store::Cursor{CursorOf(std::max({acked_, idle_position_, last_commit_end_}))};
  } else {
    out->end =
        out->changes.empty() ? store::Cursor{CursorOf(acked_)} : out->changes.back().position;
  }
  return !out->changes.empty();
}

Status PgChangeStream::WaitVisible(uint32_t xid) {
  // The 32-bit xid made 64-bit: the one nearest the snapshot's xmax (xmax
  // plus their signed 32-bit difference), since a transaction decoded but
  // not yet visible may lie a little past xmax, even across an epoch.
  constexpr std::string_view kVisible =
      "WITH s AS (SELECT pg_current_snapshot() AS snap, "
      "pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS xmax) "
      "SELECT pg_visible_in_snapshot((xmax + ((($1::bigint - (xmax & 4294967295)) + "
      "6442450944) % 4294967296 - 2147483648))::text::xid8, snap) FROM s";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (;;) {
    ASSIGN_OR_RETURN(const std::optional<std::string> visible,
                     sql_->QueryValue(std::string(kVisible), {std::to_string(xid)}));
    if (visible.value_or("f") == "t") return Status::Ok();
    if (std::chrono::steady_clock::now() >= deadline) {
      return Unavailable(fmt::format(
          "transaction {} was decoded from the WAL but is still not visible to new snapshots "
          "after 30 s",
          xid));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

Status PgChangeStream::Ack(const store::Cursor& upto) {
  ASSIGN_OR_RETURN(const uint64_t lsn, LsnOf(upto));
  acked_ = std::max(acked_, lsn);
  return SendStatus(false);
}

Status PgChangeStream::SendStatus(bool reply_requested) {
  if (replication_ == nullptr) return Status::Ok();
  std::string message = "r";
  Put64(&message, acked_);  // written
  Put64(&message, acked_);  // flushed: the slot's confirmed_flush_lsn
  Put64(&message, acked_);  // applied
  const int64_t now = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count() -
                      kUnixToPgEpochMicros;
  Put64(&message, static_cast<uint64_t>(now));
  (void)reply_requested;  // answered by this very message
  message.push_back(0);   // and no reply asked of the server
  if (PQputCopyData(replication_, message.data(), static_cast<int>(message.size())) != 1 ||
      PQflush(replication_) != 0) {
    return Unavailable("sending the position of slot '" + options_.slot +
                       "': " + PQerrorMessage(replication_));
  }
  return Status::Ok();
}

Status PgChangeStream::Drop(const std::string& url, const std::string& slot,
                            const std::string& publication) {
  ASSIGN_OR_RETURN(auto conn, PgConnection::Connect(url));
  // A replication connection just closed leaves its server process a moment
  // to go; the slot cannot be dropped while it is active.
  QueryResult found;
  for (int tries = 0;; ++tries) {
    ASSIGN_OR_RETURN(found, conn->Query("SELECT active FROM pg_replication_slots WHERE "
                                        "slot_name = $1",
                                        {slot}));
    if (found.rows.empty() || found.rows[0][0].value_or("f") != "t" || tries >= 100) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (!found.rows.empty()) {
    RETURN_IF_ERROR(conn->Query("SELECT pg_drop_replication_slot($1)", {slot})
                        .status()
                        .WithContext("dropping replication slot '" + slot + "'"));
  }
  return conn->Exec("DROP PUBLICATION IF EXISTS " + Quoted(publication));
}

}  // namespace cutover::pg_store

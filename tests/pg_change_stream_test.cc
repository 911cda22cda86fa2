// PostgreSQL's change stream (logical decoding, pgoutput): changes made by
// plain SQL arrive per transaction, in commit order, with values decoded as
// a snapshot read decodes them; an acknowledged position is not delivered
// again, an unacknowledged one is; a dropped slot is a gap, never skipped.
#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "stores/postgres/pg_change_stream.h"
#include "support/pg_harness.h"

namespace cutover::testing {
namespace {

using pg_store::PgChangeStream;
using store::ChangeKind;

pg_store::TableShape Shape() {
  pg_store::TableShape shape;
  shape.schema = "public";
  shape.table = "items";
  shape.columns = {{"id", ValueType::kInt64},
                   {"name", ValueType::kText},
                   {"price", ValueType::kNumeric},
                   {"at", ValueType::kTimestamptz}};
  shape.key = {"id"};
  return shape;
}

std::unique_ptr<PgChangeStream> OpenStream(const std::string& url,
                                           const std::string& slot = "cutover_test_slot",
                                           const std::string& skip_marker = "") {
  auto opened = PgChangeStream::Open({.url = url,
                                      .slot = slot,
                                      .publication = "cutover_test_pub",
                                      .table = Shape(),
                                      .skip_marker = skip_marker});
  EXPECT_TRUE(opened.ok()) << opened.status().ToString();
  return opened.ok() ? std::move(*opened) : nullptr;
}

// Every change delivered within `wait` of the last one.
std::vector<std::pair<store::Change, std::string>> Drain(PgChangeStream* s,
                                                         std::chrono::milliseconds wait) {
  std::vector<std::pair<store::Change, std::string>> out;
  store::ChangeBatch batch;
  for (;;) {
    Result<bool> more = s->Next(100, wait, &batch);
    EXPECT_TRUE(more.ok()) << more.status().ToString();
    if (!more.ok() || !*more) return out;
    for (size_t i = 0; i < batch.changes.size(); ++i) {
      std::string row;
      if (batch.changes[i].kind == ChangeKind::kUpsert) {
        const RowBatch& r = batch.rows;
        row = std::to_string(r.columns[0].IntAt(i)) + "|" + std::string(r.columns[1].BytesAt(i)) +
              "|" + std::string(r.columns[2].BytesAt(i)) + "|" +
              std::to_string(r.columns[3].IntAt(i));
      }
      out.emplace_back(batch.changes[i], row);
    }
  }
}

TEST(PgChangeStreamTest, SqlChangesArriveInCommitOrderAndAcksHoldAcrossReconnects) {
  const std::string url = FreshDatabase();
  Exec(url,
       "CREATE TABLE items (id bigint PRIMARY KEY, name text, price numeric(10,2), at "
       "timestamptz)");
  std::unique_ptr<PgChangeStream> stream = OpenStream(url);
  ASSERT_NE(stream, nullptr);
  Result<store::Cursor> head = stream->Head();
  ASSERT_TRUE(head.ok()) << head.status().ToString();

  // After the head, by plain SQL: three transactions.
  Exec(url, "INSERT INTO items VALUES (1, 'ada', 1.5, '2000-01-01 00:00:01+00')");
  Exec(url,
       "BEGIN; INSERT INTO items VALUES (2, 'bob', 20, '2000-01-01 00:00:02+00'); UPDATE items "
       "SET name = 'ada l.' WHERE id = 1; COMMIT");
  Exec(url, "DELETE FROM items WHERE id = 2");

  ASSERT_TRUE(stream->Start(*head).ok());
  auto changes = Drain(stream.get(), std::chrono::milliseconds(2000));
  ASSERT_EQ(changes.size(), 4u);
  // Values by hand: numeric with its scale, timestamptz in microseconds
  // since 2000-01-01.
  EXPECT_EQ(changes[0].first.kind, ChangeKind::kUpsert);
  EXPECT_EQ(changes[0].second, "1|ada|1.50|1000000");
  EXPECT_EQ(changes[1].second, "2|bob|20.00|2000000");
  EXPECT_EQ(changes[2].second, "1|ada l.|1.50|1000000");
  EXPECT_EQ(changes[3].first.kind, ChangeKind::kDelete);
  EXPECT_EQ(changes[3].first.key, store::RecordKey{"2"});
  // Within the middle transaction, only its last change carries its end:
  // acknowledging the first one confirms nothing of it.
  EXPECT_EQ(changes[1].first.position.token, changes[0].first.position.token);
  EXPECT_NE(changes[2].first.position.token, changes[1].first.position.token);

  // Acknowledged up to the second transaction: a new stream (a restarted
  // process) gets the third again, and only it.
  ASSERT_TRUE(stream->Ack(changes[2].first.position).ok());
  stream.reset();
  stream = OpenStream(url);
  ASSERT_NE(stream, nullptr);
  ASSERT_TRUE(stream->Start(*head).ok());
  changes = Drain(stream.get(), std::chrono::milliseconds(1500));
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].first.kind, ChangeKind::kDelete);
  ASSERT_TRUE(stream->Ack(changes[0].first.position).ok());
  // The server holds the acknowledgement: the slot's confirmed position is
  // the last transaction's end.
  Result<uint64_t> acked = PgChangeStream::LsnOf(changes[0].first.position);
  ASSERT_TRUE(acked.ok());
  bool confirmed = false;
  for (int i = 0; i < 50 && !confirmed; ++i) {
    confirmed = QueryValue(url, "SELECT confirmed_flush_lsn >= '" +
                                    changes[0].first.position.token.substr(4) +
                                    "'::pg_lsn FROM pg_replication_slots WHERE slot_name = "
                                    "'cutover_test_slot'") == "t";
    if (!confirmed) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(confirmed);
  stream.reset();

  // The slot dropped behind the stream's back: the changes since are a gap.
  Exec(url, "SELECT pg_drop_replication_slot('cutover_test_slot')");
  stream = OpenStream(url);
  ASSERT_NE(stream, nullptr);
  const Status gap = stream->Start(*head);
  EXPECT_EQ(gap.code(), StatusCode::kDataLoss) << gap.ToString();
  EXPECT_NE(gap.message().find("cutover_test_slot"), std::string::npos) << gap.ToString();
  stream.reset();
  ASSERT_TRUE(PgChangeStream::Drop(url, "cutover_test_slot", "cutover_test_pub").ok());
  EXPECT_EQ(QueryValue(url, "SELECT count(*) FROM pg_publication"), "0");
}

// A transaction of 20,000 rows streams through with memory for one change
// beyond the batch being handed out: changes leave before their commit is
// read, and still only the transaction's last one carries its end.
TEST(PgChangeStreamTest, ABigTransactionIsHandedOutWithoutBeingHeldWhole) {
  const std::string url = FreshDatabase();
  Exec(url,
       "CREATE TABLE items (id bigint PRIMARY KEY, name text, price numeric(10,2), at "
       "timestamptz)");
  std::unique_ptr<PgChangeStream> stream = OpenStream(url, "cutover_test_big");
  ASSERT_NE(stream, nullptr);
  Result<store::Cursor> head = stream->Head();
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  Exec(url, "INSERT INTO items VALUES (0, 'first', 0, '2000-01-01 00:00:00+00')");
  Exec(url,
       "INSERT INTO items SELECT i, 'n' || i, i / 100.0, '2000-01-01 00:00:00+00' FROM "
       "generate_series(1, 20000) AS i");
  ASSERT_TRUE(stream->Start(*head).ok());

  std::vector<store::Change> changes;
  int64_t id_sum = 0;
  size_t most_held = 0;
  store::ChangeBatch batch;
  for (;;) {
    Result<bool> more = stream->Next(500, std::chrono::milliseconds(2000), &batch);
    ASSERT_TRUE(more.ok()) << more.status().ToString();
    if (!*more) break;
    EXPECT_LE(batch.changes.size(), 500u);
    most_held = std::max(most_held, stream->held_rows());
    for (size_t i = 0; i < batch.changes.size(); ++i) {
      id_sum += batch.rows.columns[0].IntAt(i);
      changes.push_back(batch.changes[i]);
    }
  }
  ASSERT_EQ(changes.size(), 20001u);
  // 1 + ... + 20000, by hand: 20000 * 20001 / 2.
  EXPECT_EQ(id_sum, 200010000);
  EXPECT_LE(most_held, 1u);
  // The big transaction's changes carry the first one's end, but its last.
  const std::string first_end = changes[0].position.token;
  EXPECT_EQ(changes[1].position.token, first_end);
  EXPECT_EQ(changes[19999].position.token, first_end);
  EXPECT_NE(changes[20000].position.token, first_end);
  stream.reset();
  ASSERT_TRUE(PgChangeStream::Drop(url, "cutover_test_big", "cutover_test_pub").ok());
}

// A transaction that begins with the marker's logical message is dropped
// whole, wherever its changes fall among others; a delete's row holds its
// key; a change carries its commit time; once only skipped transactions are
// left, a batch's end moves past them, so acknowledging it frees their WAL.
TEST(PgChangeStreamTest, MarkedTransactionsAreSkippedAndTheEndMovesPastThem) {
  const std::string url = FreshDatabase();
  Exec(url,
       "CREATE TABLE items (id bigint PRIMARY KEY, name text, price numeric(10,2), at "
       "timestamptz)");
  std::unique_ptr<PgChangeStream> stream = OpenStream(url, "cutover_test_skip", "test.mine");
  ASSERT_NE(stream, nullptr);
  Result<store::Cursor> head = stream->Head();
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  const std::string before = QueryValue(url, "SELECT date_trunc('second', now())::text");
  Exec(url, "INSERT INTO items VALUES (1, 'theirs', 1, '2000-01-01 00:00:00+00')");
  Exec(url,
       "BEGIN; SELECT pg_logical_emit_message(true, 'test.mine', ''); INSERT INTO items VALUES "
       "(2, 'mine', 2, '2000-01-01 00:00:00+00'); UPDATE items SET name = 'mine too' WHERE id "
       "= 1; COMMIT");
  // Another prefix does not mark a transaction.
  Exec(url,
       "BEGIN; SELECT pg_logical_emit_message(true, 'test.other', ''); DELETE FROM items WHERE "
       "id = 1; COMMIT");
  Exec(url,
       "BEGIN; SELECT pg_logical_emit_message(true, 'test.mine', ''); DELETE FROM items WHERE "
       "id = 2; COMMIT");
  const std::string last = QueryValue(url, "SELECT pg_current_wal_lsn()");

  ASSERT_TRUE(stream->Start(*head).ok());
  auto changes = Drain(stream.get(), std::chrono::milliseconds(1500));
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].second, "1|theirs|1.00|0");
  EXPECT_EQ(changes[1].first.kind, ChangeKind::kDelete);
  EXPECT_EQ(changes[1].first.key, store::RecordKey{"1"});
  EXPECT_EQ(stream->skipped_changes(), 3);
  // The commit time is the server's: not before the statements were sent.
  const auto committed = std::chrono::duration_cast<std::chrono::seconds>(
                             changes[0].first.committed_at.time_since_epoch())
                             .count();
  EXPECT_EQ(QueryValue(url, "SELECT to_timestamp(" + std::to_string(committed) + ") >= '" + before +
                                "'::timestamptz"),
            "t");

  // Nothing left to hand out: the end is past the last (skipped) commit.
  store::ChangeBatch idle;
  Result<bool> more = stream->Next(10, std::chrono::milliseconds(300), &idle);
  ASSERT_TRUE(more.ok()) << more.status().ToString();
  EXPECT_FALSE(*more);
  Result<uint64_t> end = PgChangeStream::LsnOf(idle.end);
  ASSERT_TRUE(end.ok());
  EXPECT_EQ(QueryValue(
                url, "SELECT '" + idle.end.token.substr(4) + "'::pg_lsn >= '" + last + "'::pg_lsn"),
            "t")
      << idle.end.token << " vs " << last;

  // A delete's row: its key set, the other columns NULL.
  Exec(url, "INSERT INTO items VALUES (3, 'x', 3, '2000-01-01 00:00:00+00')");
  Exec(url, "DELETE FROM items WHERE id = 3");
  store::ChangeBatch batch;
  std::vector<std::pair<ChangeKind, bool>> seen;
  for (int i = 0; i < 20 && seen.size() < 2; ++i) {
    ASSERT_TRUE(stream->Next(10, std::chrono::milliseconds(200), &batch).ok());
    for (size_t r = 0; r < batch.changes.size(); ++r) {
      EXPECT_EQ(batch.rows.columns[0].IntAt(r), 3);
      seen.emplace_back(batch.changes[r].kind, batch.rows.columns[1].IsNull(r));
    }
  }
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1], std::make_pair(ChangeKind::kDelete, true));
  stream.reset();
  ASSERT_TRUE(PgChangeStream::Drop(url, "cutover_test_skip", "cutover_test_pub").ok());
}

}  // namespace
}  // namespace cutover::testing

// Unit tests of the order-preserving bytes verify ranks keep_last_by with:
// memcmp on NumericOrderBytes agrees with a long-decimal comparison written here.
#include "engine/verify/order_bytes.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace cutover::engine::verify {
namespace {

int Sign(int v) {
  return (v > 0) - (v < 0);
}

int MemcmpSign(const std::string& a, const std::string& b) {
  const int c = std::memcmp(a.data(), b.data(), std::min(a.size(), b.size()));
  if (c != 0) return Sign(c);
  return Sign(static_cast<int>(a.size() > b.size()) - static_cast<int>(a.size() < b.size()));
}

// The oracle: a decimal as sign, integer digits and fraction digits, with the
// exponent applied by moving the point, compared digit by digit the way one
// does on paper. It shares nothing with NumericOrderBytes.
struct Decimal {
  bool negative = false;
  std::string int_digits;   // no leading zeros; empty for 0
  std::string frac_digits;  // no trailing zeros
  bool zero() const { return int_digits.empty() && frac_digits.empty(); }
};

Decimal ParseDecimal(const std::string& text) {
  Decimal d;
  size_t i = 0;
  if (text[i] == '-' || text[i] == '+') d.negative = text[i++] == '-';
  std::string ip, fp;
  while (i < text.size() && isdigit(static_cast<unsigned char>(text[i]))) ip += text[i++];
  if (i < text.size() && text[i] == '.') {
    ++i;
    while (i < text.size() && isdigit(static_cast<unsigned char>(text[i]))) fp += text[i++];
  }
  int exponent = 0;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E'))
    exponent = std::stoi(text.substr(i + 1));
  // Move the point: right for a positive exponent, left for a negative one.
  for (; exponent > 0; --exponent) {
    ip += fp.empty() ? '0' : fp[0];
    if (!fp.empty()) fp.erase(0, 1);
  }
  for (; exponent < 0; ++exponent) {
    fp.insert(fp.begin(), ip.empty() ? '0' : ip.back());
    if (!ip.empty()) ip.pop_back();
  }
  ip.erase(0, std::min(ip.find_first_not_of('0'), ip.size()));
  while (!fp.empty() && fp.back() == '0') fp.pop_back();
  d.int_digits = ip;
  d.frac_digits = fp;
  if (d.zero()) d.negative = false;
  return d;
}

int CompareMagnitude(const Decimal& a, const Decimal& b) {
  if (a.int_digits.size() != b.int_digits.size()) {
    return a.int_digits.size() < b.int_digits.size() ? -1 : 1;
  }
  if (int c = a.int_digits.compare(b.int_digits); c != 0) return Sign(c);
  const size_t n = std::max(a.frac_digits.size(), b.frac_digits.size());
  std::string fa = a.frac_digits, fb = b.frac_digits;
  fa.resize(n, '0');
  fb.resize(n, '0');
  return Sign(fa.compare(fb));
}

// -Infinity < finite < Infinity < NaN, as PostgreSQL orders numeric.
int Class(const std::string& text) {
  if (text == "-Infinity") return 0;
  if (text == "Infinity") return 2;
  if (text == "NaN") return 3;
  return 1;
}

int CompareDecimalText(const std::string& a, const std::string& b) {
  if (Class(a) != Class(b) || Class(a) != 1) return Sign(Class(a) - Class(b));
  const Decimal x = ParseDecimal(a), y = ParseDecimal(b);
  if (x.zero() && y.zero()) return 0;
  const int sx = x.zero() ? 0 : x.negative ? -1 : 1;
  const int sy = y.zero() ? 0 : y.negative ? -1 : 1;
  if (sx != sy) return Sign(sx - sy);
  const int magnitude = CompareMagnitude(x, y);
  return sx < 0 ? -magnitude : magnitude;
}

std::string RandomDecimal(std::mt19937_64& rng) {
  std::uniform_int_distribution<int> pick(0, 99);
  const int kind = pick(rng);
  if (kind == 0) return "NaN";
  if (kind == 1) return "Infinity";
  if (kind == 2) return "-Infinity";
  if (kind < 6) return pick(rng) < 50 ? "0" : "-0.000";
  auto digits = [&](int max_len, bool allow_empty) {
    std::uniform_int_distribution<int> len(allow_empty ? 0 : 1, max_len);
    // Mostly few distinct digits, so that values share long prefixes.
    std::uniform_int_distribution<int> digit(0, pick(rng) < 50 ? 1 : 9);
    std::string s(len(rng), '0');
    for (char& c : s) c = static_cast<char>('0' + digit(rng));
    return s;
  };
  std::string out = pick(rng) < 45 ? "-" : "";
  std::string ip = digits(pick(rng) < 30 ? 40 : 4, false);
  std::string fp = pick(rng) < 70 ? digits(pick(rng) < 30 ? 60 : 5, true) : "";
  out += ip;
  if (!fp.empty() || pick(rng) < 10) out += "." + fp;
  if (pick(rng) < 15) out += "e" + std::to_string(std::uniform_int_distribution<int>(-6, 6)(rng));
  return out;
}

TEST(NumericOrderBytesTest, MemcmpOrdersAsTheNumbersDo) {
  std::mt19937_64 rng(20261201);
  std::vector<std::string> values;
  for (int i = 0; i < 4000; ++i) values.push_back(RandomDecimal(rng));
  // Neighbours that differ in one place only.
  for (const char* v : {"1", "1.0", "1.00000000000000000001", "0.99999999999999999999", "10", "9.9",
                        "-1", "-1.0", "-1.00000000000000000001", "-0.99999999999999999999", "0.001",
                        "0.0010", "0.01", "-0.001", "-0.01", "100", "1e2", "-1e-2"}) {
    values.push_back(v);
  }
  std::vector<std::string> bytes;
  for (const auto& v : values) bytes.push_back(NumericOrderBytes(v));
  int compared = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    // Every value against a few others: its neighbours and random ones.
    for (size_t j : {i + 1, i + 2, static_cast<size_t>(rng() % values.size())}) {
      if (j >= values.size()) continue;
      ASSERT_EQ(MemcmpSign(bytes[i], bytes[j]), CompareDecimalText(values[i], values[j]))
          << values[i] << " vs " << values[j];
      ++compared;
    }
  }
  EXPECT_GT(compared, 10000);
}

TEST(NumericOrderBytesTest, SortingByBytesSortsTheNumbers) {
  // Worked out by hand, in ascending order; equal values are adjacent.
  const std::vector<std::vector<std::string>> ascending = {
      {"-Infinity"},
      {"-123.45"},
      {"-99.999"},
      {"-1.5"},
      {"-1.05"},
      {"-1", "-1.0"},
      {"-0.5"},
      {"-0.05", "-5e-2"},
      {"0", "-0", "0.000"},
      {"0.001"},
      {"0.01"},
      {"0.5", "5e-1"},
      {"1", "1.000"},
      {"1.05"},
      {"1.5"},
      {"2"},
      {"10", "1e1"},
      {"123456789012345678901234567890"},
      {"Infinity"},
      {"NaN"},
  };
  for (size_t i = 0; i < ascending.size(); ++i) {
    for (const auto& a : ascending[i]) {
      for (const auto& b : ascending[i]) {
        EXPECT_EQ(NumericOrderBytes(a), NumericOrderBytes(b)) << a << " = " << b;
      }
      if (i + 1 == ascending.size()) continue;
      for (const auto& b : ascending[i + 1]) {
        EXPECT_LT(MemcmpSign(NumericOrderBytes(a), NumericOrderBytes(b)), 0) << a << " < " << b;
      }
    }
  }
}

TEST(RankOfTest, NullsFirstThenValuesInOrderColumnByColumn) {
  RowBatch batch;
  batch.AddColumn("at", ValueType::kInt64);
  batch.AddColumn("score", ValueType::kFloat64);
  batch.AddColumn("tag", ValueType::kText);
  // Rows in the order the merge ranks them (ascending), worked out by hand.
  batch.columns[0].AppendNull();
  batch.columns[1].AppendFloat(5);
  batch.columns[2].AppendBytes("z");
  batch.columns[0].AppendInt(-7);
  batch.columns[1].AppendFloat(0);
  batch.columns[2].AppendBytes("a");
  batch.columns[0].AppendInt(3);
  batch.columns[1].AppendFloat(-2.5);
  batch.columns[2].AppendBytes("b");
  batch.columns[0].AppendInt(3);
  batch.columns[1].AppendFloat(-0.5);
  batch.columns[2].AppendNull();
  batch.columns[0].AppendInt(3);
  batch.columns[1].AppendFloat(-0.5);
  batch.columns[2].AppendBytes("a");
  batch.columns[0].AppendInt(3);
  batch.columns[1].AppendFloat(-0.5);
  batch.columns[2].AppendBytes("ab");
  batch.columns[0].AppendInt(3);
  batch.columns[1].AppendFloat(1e300);
  batch.columns[2].AppendBytes("");
  const std::vector<int> columns = {0, 1, 2};
  for (size_t r = 0; r + 1 < batch.num_rows(); ++r) {
    EXPECT_LT(MemcmpSign(RankOf(batch, r, columns), RankOf(batch, r + 1, columns)), 0)
        << "row " << r << " before row " << r + 1;
  }
}

}  // namespace
}  // namespace cutover::engine::verify

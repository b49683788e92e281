#include "modules/datos/records.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "modules/datos/csv.h"
#include "testing/tools.h"

namespace abierto::datos {
namespace {

using testing::TempFileWith;

struct Read {
  std::vector<std::vector<std::string>> records;
  std::vector<int64_t> lines;
  Status error = Status::Ok();
};

Read Drain(RecordReader& r) {
  Read out;
  std::vector<std::string> rec;
  for (;;) {
    Result<bool> more = r.Next(&rec);
    if (!more.ok()) {
      out.error = more.status();
      break;
    }
    if (!*more) break;
    out.records.push_back(rec);
    out.lines.push_back(r.line());
  }
  return out;
}

std::unique_ptr<RecordReader> Csv(const std::string& path, size_t max_record = 1 << 20) {
  auto r = CsvReader::Open(path, ',', max_record);
  EXPECT_TRUE(r.ok());
  return std::move(*r);
}

// A file long enough to cross many batches, with multi-line records so that line numbers and
// record numbers differ.
std::string ManyRecords(int n) {
  std::string s = "id,texto\n";
  for (int i = 0; i < n; ++i) {
    s += std::to_string(i) + ",";
    s += (i % 7 == 0) ? "\"dos\nlíneas " + std::to_string(i) + "\"\n"
                      : "v" + std::to_string(i) + "\n";
  }
  return s;
}

TEST(PrefetchReader, HandsOutTheSameRecordsAndLinesAsTheInnerReader) {
  TempFileWith f(ManyRecords(5000), ".csv");
  auto direct = Csv(f.path());
  Read want = Drain(*direct);
  PrefetchReader prefetch(Csv(f.path()));
  Read got = Drain(prefetch);
  ASSERT_TRUE(want.error.ok());
  ASSERT_TRUE(got.error.ok()) << got.error.message();
  ASSERT_EQ(got.records.size(), 5001u);
  EXPECT_EQ(got.records, want.records);
  EXPECT_EQ(got.lines, want.lines);
  EXPECT_EQ(prefetch.bytes_read(), prefetch.bytes_total());
  // At the end it stays at the end.
  std::vector<std::string> rec;
  Result<bool> again = prefetch.Next(&rec);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
}

TEST(PrefetchReader, ReportsTheInnerErrorAfterTheRecordsBeforeIt) {
  // 3000 good records, then a quote left open: the error comes after every good record, with
  // the inner reader's message (naming the line).
  std::string s = ManyRecords(3000) + "x,\"abierta\ny,z\n";
  TempFileWith f(s, ".csv");
  auto direct = Csv(f.path());
  Read want = Drain(*direct);
  PrefetchReader prefetch(Csv(f.path()));
  Read got = Drain(prefetch);
  ASSERT_FALSE(want.error.ok());
  EXPECT_EQ(got.records, want.records);
  EXPECT_EQ(got.error.code(), want.error.code());
  EXPECT_EQ(got.error.message(), want.error.message());
  std::vector<std::string> rec;
  EXPECT_FALSE(prefetch.Next(&rec).ok());  // the error stays
}

TEST(PrefetchReader, StopsCleanlyWhenTheConsumerLeavesEarly) {
  TempFileWith f(ManyRecords(20000), ".csv");
  for (int taken : {0, 1, 700, 5000}) {
    PrefetchReader prefetch(Csv(f.path()));
    std::vector<std::string> rec;
    for (int i = 0; i < taken; ++i) ASSERT_TRUE(*prefetch.Next(&rec));
    // Destroyed here while its thread is blocked on full batches: must join, not hang.
  }
}

TEST(PrefetchReader, LargeRecordsCloseBatchesEarly) {
  // 40 records of 200 KiB: a batch closes once it holds kBatchBytes of values, so the first
  // batch ends after a handful of records (bytes_read() moves a batch at a time) instead of
  // holding all 41, and the values still arrive intact.
  std::string s = "a\n";
  for (int i = 0; i < 40; ++i) s += std::string(200 * 1024, static_cast<char>('a' + i % 26)) + "\n";
  TempFileWith f(s, ".csv");
  PrefetchReader prefetch(Csv(f.path()));
  std::vector<std::string> first;
  ASSERT_TRUE(*prefetch.Next(&first));
  EXPECT_LT(prefetch.bytes_read(), prefetch.bytes_total() / 4);
  Read got = Drain(prefetch);
  got.records.insert(got.records.begin(), first);
  ASSERT_TRUE(got.error.ok()) << got.error.message();
  ASSERT_EQ(got.records.size(), 41u);
  for (int i = 0; i < 40; ++i) {
    ASSERT_EQ(got.records[i + 1].size(), 1u);
    EXPECT_EQ(got.records[i + 1][0].size(), 200u * 1024);
    EXPECT_EQ(got.records[i + 1][0][0], static_cast<char>('a' + i % 26));
  }
}

}  // namespace
}  // namespace abierto::datos

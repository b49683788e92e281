#include "modules/datos/records.h"

#include <utility>

namespace abierto::datos {

PrefetchReader::PrefetchReader(std::unique_ptr<RecordReader> inner)
    : inner_(std::move(inner)), bytes_total_(inner_->bytes_total()) {
  for (size_t i = 0; i < kBatches; ++i) free_.push_back(std::make_unique<Batch>());
  thread_ = std::thread([this] { Produce(); });
}

PrefetchReader::~PrefetchReader() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void PrefetchReader::Recycle(Batch* b) {
  for (size_t i = 0; i < b->count; ++i)
    for (auto& v : b->records[i])
      if (v.capacity() > kKeepBytes) std::string().swap(v);
  b->count = 0;
  b->end = false;
  b->error = Status::Ok();
}

void PrefetchReader::Produce() {
  for (;;) {
    std::unique_ptr<Batch> b;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !free_.empty(); });
      if (stop_) return;
      b = std::move(free_.front());
      free_.pop_front();
    }
    Recycle(b.get());
    size_t bytes = 0;
    while (b->count < kBatchRecords && bytes < kBatchBytes) {
      if (b->records.size() == b->count) {
        b->records.emplace_back();
        b->lines.push_back(0);
      }
      std::vector<std::string>& rec = b->records[b->count];
      Result<bool> more = inner_->Next(&rec);
      if (!more.ok() || !*more) {
        b->end = true;
        if (!more.ok()) b->error = more.status();
        break;
      }
      b->lines[b->count] = inner_->line();
      for (const auto& v : rec) bytes += v.size();
      ++b->count;
    }
    b->bytes_read = inner_->bytes_read();
    const bool end = b->end;
    {
      std::lock_guard<std::mutex> lock(mu_);
      full_.push_back(std::move(b));
    }
    cv_.notify_all();
    if (end) return;
  }
}

Result<bool> PrefetchReader::Next(std::vector<std::string>* fields) {
  for (;;) {
    if (current_ && next_ < current_->count) {
      // Swapping hands the caller the record without copying; the caller's old strings go back
      // into the batch, so their memory is reused by the next fill.
      fields->swap(current_->records[next_]);
      line_ = current_->lines[next_];
      ++next_;
      return true;
    }
    if (current_ && current_->end) {
      done_ = true;
      if (!current_->error.ok()) return current_->error;
      return false;
    }
    if (done_) return false;
    std::unique_lock<std::mutex> lock(mu_);
    if (current_) {
      free_.push_back(std::move(current_));
      cv_.notify_all();
    }
    cv_.wait(lock, [&] { return !full_.empty(); });
    current_ = std::move(full_.front());
    full_.pop_front();
    next_ = 0;
    bytes_read_ = current_->bytes_read;
  }
}

}  // namespace abierto::datos

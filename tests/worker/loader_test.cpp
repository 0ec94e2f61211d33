// The background loader: index order whatever the thread count, bounded production, errors that
// reach the consumer, and a shutdown that never hangs.
#include "worker/data/loader.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <stdexcept>
#include <thread>

#include "common/rng.h"

namespace orch {
namespace {

using namespace std::chrono_literals;

struct Batch {
  int64_t index = -1;
  torch::Tensor data;
};

// A pure function of the index, with uneven work so that threads finish out of order.
Batch make_batch(int64_t index) {
  Rng rng(Rng::derive(99, static_cast<uint64_t>(index)));
  std::this_thread::sleep_for(std::chrono::microseconds(rng.below(2000)));
  return {index, torch::full({3}, rng.uniform())};
}

std::vector<Batch> drain(Loader<Batch>& loader) {
  std::vector<Batch> out;
  while (auto b = loader.next()) out.push_back(*b);
  return out;
}

TEST(Loader, DeliversBatchesInIndexOrderIdenticalToSynchronousForAnyThreadCount) {
  Loader<Batch> sync(make_batch, 40, {0, 1});
  const auto expected = drain(sync);
  ASSERT_EQ(expected.size(), 40u);
  for (int threads : {1, 2, 4}) {
    Loader<Batch> loader(make_batch, 40, {threads, 2 * threads});
    const auto got = drain(loader);
    ASSERT_EQ(got.size(), expected.size()) << threads;
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].index, static_cast<int64_t>(i));
      EXPECT_TRUE(torch::equal(got[i].data, expected[i].data)) << threads << " threads, " << i;
    }
  }
}

TEST(Loader, ZeroThreadsRunsTheProducerInTheCallersThread) {
  const auto caller = std::this_thread::get_id();
  Loader<int> loader([&](int64_t i) { return std::this_thread::get_id() == caller ? int(i) : -1; },
                     3, {0, 1});
  EXPECT_EQ(*loader.next(), 0);
  EXPECT_EQ(*loader.next(), 1);
  EXPECT_EQ(*loader.next(), 2);
  EXPECT_FALSE(loader.next().has_value());
}

TEST(Loader, EmptyRangeEndsAtOnce) {
  Loader<int> loader([](int64_t i) { return int(i); }, 0, {2, 2});
  EXPECT_FALSE(loader.next().has_value());
}

void expect_error_at_five(int threads) {
  Loader<int> loader(
      [](int64_t i) -> int {
        if (i == 5) throw std::runtime_error("bad case 'liver_5' at index 5");
        return int(i);
      },
      20, {threads, 3});
  for (int i = 0; i < 5; ++i) EXPECT_EQ(*loader.next(), i);
  for (int repeat = 0; repeat < 2; ++repeat) {
    try {
      loader.next();
      ADD_FAILURE() << "expected the producer's exception";
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "bad case 'liver_5' at index 5");
    }
  }
}

TEST(Loader, ProducerExceptionReachesTheConsumerWithItsMessage) {
  for (int threads : {0, 1, 3}) expect_error_at_five(threads);
}

// Runs `body` on its own thread; fails instead of hanging if it takes longer than `limit`.
void within(std::chrono::seconds limit, std::function<void()> body) {
  auto done = std::make_shared<std::promise<void>>();
  auto finished = done->get_future();
  std::thread([done, body = std::move(body)] {
    body();
    done->set_value();
  }).detach();
  ASSERT_EQ(finished.wait_for(limit), std::future_status::ready) << "loader hung";
}

TEST(Loader, DestroyingMidStreamDoesNotHang) {
  within(20s, [] {
    for (int threads : {1, 4}) {
      Loader<Batch> loader(make_batch, kUnbounded, {threads, 3});
      for (int i = 0; i < 3; ++i) loader.next();
    }
    Loader<int> never_read([](int64_t i) { return int(i); }, kUnbounded, {2, 2});
  });
}

TEST(Loader, DestroyingAfterAnErrorDoesNotHang) {
  within(20s, [] {
    Loader<int> loader(
        [](int64_t i) -> int {
          if (i == 2) throw std::runtime_error("boom");
          std::this_thread::sleep_for(1ms);
          return int(i);
        },
        kUnbounded, {4, 4});
    loader.next();
  });
}

TEST(Loader, NeverHasMoreThanCapacityBatchesInProductionOrWaiting) {
  constexpr int kCapacity = 3;
  std::atomic<int> outstanding{0}, peak{0};
  Loader<int> loader(
      [&](int64_t i) {
        const int now = ++outstanding;
        int seen = peak.load();
        while (now > seen && !peak.compare_exchange_weak(seen, now)) {
        }
        std::this_thread::sleep_for(std::chrono::microseconds(100 * (i % 3)));
        return int(i);
      },
      60, {4, kCapacity});
  int expected = 0;
  while (auto b = loader.next()) {
    EXPECT_EQ(*b, expected++);
    --outstanding;                       // the consumer is done with it before asking for the next
    std::this_thread::sleep_for(500us);  // a slow consumer lets the window fill up
  }
  EXPECT_EQ(expected, 60);
  EXPECT_LE(peak.load(), kCapacity);
  EXPECT_EQ(peak.load(), kCapacity);  // and the window is actually used
}

}  // namespace
}  // namespace orch

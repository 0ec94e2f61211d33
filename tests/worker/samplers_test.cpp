// Patch samplers against TorchIO's documented rules (docs/MODELS.md §11): start bounds, border
// clearing, class frequencies worked out by hand, consecutive slices, N patches per volume.
#include "worker/data/samplers.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>
#include <set>

#include "common/status.h"

namespace orch {
namespace {

// Image voxel (i, j, k) of channel c holds c * 10000 + its linear index, so crops can be checked.
VolumeView make_view(int64_t nx, int64_t ny, int64_t nz, int64_t channels = 2) {
  VolumeView v;
  v.id = "case-7";
  const auto lin = torch::arange(nx * ny * nz, torch::kFloat32).reshape({1, nz, ny, nx});
  v.image = lin + 10000 * torch::arange(channels, torch::kFloat32).reshape({channels, 1, 1, 1});
  v.label = torch::zeros({nz, ny, nx}, torch::kUInt8);
  return v;
}

void set_label(VolumeView& v, int64_t i, int64_t j, int64_t k, int cls) {
  v.label.index_put_({k, j, i}, cls);
}

int64_t linear(const VolumeView& v, const Index3& x) {
  return (x[2] * v.label.size(1) + x[1]) * v.label.size(2) + x[0];
}

Index3 centre_of(const PatchLocation& l) {
  return {l.start[0] + l.size[0] / 2, l.start[1] + l.size[1] / 2, l.start[2] + l.size[2] / 2};
}

// Pearson chi-square of counts against equal expected frequencies.
double chi_square(const std::map<int64_t, int>& counts, int total, int cells) {
  const double expected = static_cast<double>(total) / cells;
  double chi = 0;
  for (const auto& [value, n] : counts) chi += (n - expected) * (n - expected) / expected;
  chi += (cells - static_cast<int>(counts.size())) * expected;  // cells never hit
  return chi;
}

TEST(UniformSampler, StartsStayInBoundsAndCoverEveryStartEvenly) {
  const auto v = make_view(7, 5, 9);
  const UniformSampler sampler({3, 2, 4});
  Rng rng(11);
  std::map<int64_t, int> ci, cj, ck;
  const int draws = 6000;
  for (int n = 0; n < draws; ++n) {
    const auto loc = sampler.draw(v, rng);
    ASSERT_GE(loc.start[0], 0);
    ASSERT_LE(loc.start[0], 7 - 3);
    ASSERT_GE(loc.start[1], 0);
    ASSERT_LE(loc.start[1], 5 - 2);
    ASSERT_GE(loc.start[2], 0);
    ASSERT_LE(loc.start[2], 9 - 4);
    ++ci[loc.start[0]], ++cj[loc.start[1]], ++ck[loc.start[2]];
  }
  // 99.9% quantiles of chi-square with 4, 3 and 5 degrees of freedom: 18.5, 16.3, 20.5.
  EXPECT_LT(chi_square(ci, draws, 5), 18.5);
  EXPECT_LT(chi_square(cj, draws, 4), 16.3);
  EXPECT_LT(chi_square(ck, draws, 6), 20.5);
}

TEST(UniformSampler, SameRngStateGivesTheSameLocations) {
  const auto v = make_view(12, 10, 8);
  const UniformSampler sampler({4, 4, 4});
  Rng a(5), b(5);
  for (int n = 0; n < 20; ++n) EXPECT_EQ(sampler.draw(v, a).start, sampler.draw(v, b).start);
}

TEST(Crop, CopiesTheVoxelsAtTheLocationInAxisOrderIJK) {
  auto v = make_view(6, 5, 4);
  set_label(v, 3, 2, 1, 4);
  const auto p = crop(v, {{2, 1, 1}, {3, 2, 1}});  // i 2..4, j 1..2, k 1
  ASSERT_EQ(p.image.sizes(), (std::vector<int64_t>{2, 1, 2, 3}));
  EXPECT_EQ(p.image[1][0][1][2].item<float>(), 10000 + linear(v, {4, 2, 1}));
  EXPECT_EQ(p.label[0][1][1].item<int>(), 4);  // voxel (3, 2, 1)
  p.image.fill_(-1);                           // the patch owns its memory
  EXPECT_EQ(v.image[0][1][2][4].item<float>(), linear(v, {4, 2, 1}));
}

TEST(Crop, PadsOverhangWithTheChannelMinimumAndBackgroundLabel) {
  auto v = make_view(3, 3, 2);
  v.label.fill_(1);
  const auto p = crop(v, {{-1, 0, 0}, {5, 3, 2}});
  EXPECT_EQ(p.image[1][0][0][0].item<float>(), 10000);  // minimum of channel 1
  EXPECT_EQ(p.image[0][0][0][4].item<float>(), 0);
  EXPECT_EQ(p.image[0][1][2][1].item<float>(), linear(v, {0, 2, 1}));
  EXPECT_EQ(p.label.sum().item<int64_t>(), 3 * 3 * 2);  // only the real voxels are labelled
}

// Foreground: interior voxels a, b and one on the i = 0 border, where a 5-wide patch can't be
// centred (its first floor(5/2) = 2 voxels are cleared).
struct BorderCase {
  VolumeView v = make_view(9, 8, 7);
  Index3 a{4, 3, 3}, b{6, 5, 2}, border{0, 4, 3};
  BorderCase() {
    set_label(v, a[0], a[1], a[2], 1);
    set_label(v, b[0], b[1], b[2], 1);
    set_label(v, border[0], border[1], border[2], 1);
  }
};

void expect_centres_on_valid_foreground(const VolumeView& v, const BorderCase& c) {
  const LabelSampler sampler({5, 4, 3});
  Rng rng(3);
  std::map<int64_t, int> hits;
  const int draws = 2000;
  for (int n = 0; n < draws; ++n) {
    const auto loc = sampler.draw(v, rng);
    ++hits[linear(v, centre_of(loc))];
    for (int ax = 0; ax < 3; ++ax) {
      EXPECT_GE(loc.start[ax], 0);
      EXPECT_LE(loc.start[ax] + loc.size[ax], v.label.size(2 - ax));
    }
  }
  EXPECT_EQ(hits.count(linear(v, c.border)), 0u);
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_NEAR(hits[linear(v, c.a)] / double(draws), 0.5, 0.05);
}

TEST(LabelSampler, CentresAreForegroundAwayFromTheBordersWhenReadingTheLabel) {
  const BorderCase c;
  expect_centres_on_valid_foreground(c.v, c);
}

TEST(LabelSampler, CentresAreForegroundAwayFromTheBordersWhenGivenIndices) {
  BorderCase c;
  c.v.fg = label_foreground(c.v.label, "case");
  expect_centres_on_valid_foreground(c.v, c);
}

// Class 1: 40 voxels, all valid centres. Class 2: 10 voxels, 5 of them in the i = 0 border.
// TorchIO gives each voxel q_c / n_c and clears the border, so with q = (0, 0.5, 0.5) the
// classes come out 0.5 * 40/40 : 0.5 * 5/10, i.e. class 2 has probability 1/3.
VolumeView two_class_case() {
  auto v = make_view(12, 10, 9);
  for (int64_t n = 0; n < 40; ++n) set_label(v, 3 + n % 5, 3 + (n / 5) % 4, 3 + n / 20, 1);
  for (int64_t n = 0; n < 5; ++n) set_label(v, 9, 2 + n, 4, 2);
  for (int64_t n = 0; n < 5; ++n) set_label(v, 0, 2 + n, 5, 2);
  return v;
}

double class_two_share(const VolumeView& v, std::vector<double> q, int draws) {
  const LabelSampler sampler({3, 3, 3}, std::move(q));
  Rng rng(17);
  int two = 0;
  for (const auto& loc : sampler.draw_many(v, draws, rng)) {
    const Index3 c = centre_of(loc);
    const int cls = v.label[c[2]][c[1]][c[0]].item<int>();
    EXPECT_GT(cls, 0);
    two += cls == 2;
  }
  return static_cast<double>(two) / draws;
}

TEST(LabelSampler, ClassProbabilitiesGiveTheRequestedFrequencies) {
  auto v = two_class_case();
  v.label.index_put_({torch::indexing::Slice(), torch::indexing::Slice(), 0}, 0);  // no border
  EXPECT_NEAR(class_two_share(v, {0, 0.2, 0.8}, 4000), 0.8, 0.03);
  v.fg = label_foreground(v.label, "case");
  EXPECT_NEAR(class_two_share(v, {0, 0.2, 0.8}, 4000), 0.8, 0.03);
}

TEST(LabelSampler, BorderClearingScalesAClassByItsValidFractionLikeTorchIO) {
  auto v = two_class_case();
  EXPECT_NEAR(class_two_share(v, {0, 0.5, 0.5}, 4000), 1.0 / 3, 0.03);
  v.fg = label_foreground(v.label, "case");
  EXPECT_NEAR(class_two_share(v, {0, 0.5, 0.5}, 4000), 1.0 / 3, 0.03);
}

TEST(LabelSampler, FindsTheOneValidVoxelAmongManyBorderVoxels) {
  auto v = make_view(20, 20, 5);
  v.label.index_put_({torch::indexing::Slice(), torch::indexing::Slice(), 0}, 1);  // 100 voxels
  set_label(v, 10, 10, 2, 1);
  v.fg = label_foreground(v.label, "case");
  const LabelSampler sampler({5, 5, 5});
  Rng rng(1);
  for (int n = 0; n < 50; ++n) EXPECT_EQ(centre_of(sampler.draw(v, rng)), (Index3{10, 10, 2}));
}

TEST(LabelSampler, EmptyMapThrowsNamingTheCase) {
  auto v = make_view(9, 9, 9);
  const LabelSampler sampler({5, 5, 5});
  Rng rng(1);
  EXPECT_THROW(sampler.draw(v, rng), Error);
  set_label(v, 8, 4, 4, 1);  // foreground only where no patch can be centred
  for (bool indices : {false, true}) {
    v.fg = indices ? label_foreground(v.label, "case") : std::vector<std::vector<int64_t>>{};
    try {
      sampler.draw(v, rng);
      ADD_FAILURE() << "expected an error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("case-7"), std::string::npos) << e.what();
    }
  }
}

TEST(LabelSampler, AxisShorterThanThePatchIsCoveredWholeAndPadded) {
  auto v = make_view(10, 10, 3);
  set_label(v, 5, 5, 0, 1);
  const LabelSampler sampler({4, 4, 8});
  Rng rng(2);
  const auto loc = sampler.draw(v, rng);
  EXPECT_EQ(loc.start[2], -2);  // -(8 - 3) / 2
  const auto p = crop(v, loc);
  EXPECT_EQ(p.label.sum().item<int64_t>(), 1);
}

TEST(ForegroundOversampler, ForcedPatchesContainForegroundAndFit) {
  auto v = make_view(15, 13, 11);
  set_label(v, 0, 12, 10, 1);  // a corner voxel: the patch must shift to fit around it
  set_label(v, 7, 6, 5, 2);
  const ForegroundOversampler sampler({6, 5, 4}, 1.0);
  Rng rng(9);
  std::set<int64_t> seen;
  for (int n = 0; n < 200; ++n) {
    const auto loc = sampler.draw(v, rng);
    EXPECT_GE(crop(v, loc).label.gt(0).sum().item<int64_t>(), 1);
    for (int ax = 0; ax < 3; ++ax) {
      EXPECT_GE(loc.start[ax], 0);
      EXPECT_LE(loc.start[ax] + loc.size[ax], v.label.size(2 - ax));
    }
    seen.insert(loc.start[0]);
  }
  EXPECT_EQ(seen, (std::set<int64_t>{0, 4}));  // 0 - 3 clamped to 0; 7 - 3 = 4
}

TEST(SliceSequenceSampler, ReturnsTConsecutiveSlicesInOrder) {
  auto v = make_view(4, 3, 12, 1);
  const SliceSequenceSampler sampler(5, 0.0);
  Rng rng(4);
  for (int n = 0; n < 30; ++n) {
    const auto loc = sampler.draw(v, rng);
    ASSERT_GE(loc.start[2], 0);
    ASSERT_LE(loc.start[2], 12 - 5);
    const auto p = crop(v, loc);
    ASSERT_EQ(p.image.sizes(), (std::vector<int64_t>{1, 5, 3, 4}));
    for (int64_t t = 0; t < 5; ++t)  // slice k starts at linear index k * 12
      EXPECT_EQ(p.image[0][t][0][0].item<float>(), (loc.start[2] + t) * 12);
  }
}

TEST(SliceSequenceSampler, ForegroundSequencesAreCentredOnAForegroundSlice) {
  auto v = make_view(4, 3, 20, 1);
  set_label(v, 1, 1, 0, 1);   // centring on slice 0 does not fit
  set_label(v, 2, 2, 11, 1);  // k0 = 11 - 3 = 8
  const SliceSequenceSampler sampler(7, 1.0);
  Rng rng(6);
  for (bool indices : {false, true}) {
    v.fg = indices ? label_foreground(v.label, "case") : std::vector<std::vector<int64_t>>{};
    EXPECT_EQ(foreground_slices(v), (std::vector<int64_t>{0, 11}));
    for (int n = 0; n < 10; ++n) EXPECT_EQ(sampler.draw(v, rng).start[2], 8);
  }
}

TEST(SliceSequenceSampler, LengthOneGivesSingleSlices) {
  const auto v = make_view(4, 3, 6, 2);
  const SliceSequenceSampler sampler(1, 0.5);
  Rng rng(8);
  const auto p = crop(v, sampler.draw(v, rng));
  EXPECT_EQ(p.image.sizes(), (std::vector<int64_t>{2, 1, 3, 4}));
}

std::vector<VolumeView> lesion_volumes() {
  std::vector<VolumeView> vs{make_view(14, 12, 10, 1), make_view(9, 16, 11, 1),
                             make_view(6, 12, 12, 1)};  // the last is narrower than the patch
  set_label(vs[0], 3, 3, 3, 1);
  set_label(vs[0], 10, 8, 6, 1);
  set_label(vs[1], 4, 9, 5, 2);
  set_label(vs[2], 1, 6, 6, 1);
  for (int n = 0; n < 3; ++n) vs[n].id = "vol" + std::to_string(n);
  return vs;
}

TEST(PatchQueue, EveryVolumeGivesExactlyNForegroundPatchesPerEpoch) {
  const auto vs = lesion_volumes();
  const LabelSampler sampler({8, 8, 8});
  QueueOptions opt;
  opt.samples_per_volume = 4;
  opt.max_length = 5;
  PatchQueue queue(vs, sampler, opt, 42);
  ASSERT_EQ(queue.patches_per_epoch(), 12);
  for (int64_t epoch = 0; epoch < 2; ++epoch) {
    std::map<size_t, int> per_volume;
    for (int n = 0; n < 12; ++n) {
      const auto item = queue.next();
      EXPECT_EQ(item.epoch, epoch);
      EXPECT_EQ(item.patch.image.sizes(), (std::vector<int64_t>{1, 8, 8, 8}));
      EXPECT_GE(item.patch.label.gt(0).sum().item<int64_t>(), 1) << vs[item.plan.volume].id;
      ++per_volume[item.plan.volume];
    }
    EXPECT_EQ(per_volume, (std::map<size_t, int>{{0, 4}, {1, 4}, {2, 4}}));
  }
}

TEST(PatchQueue, WithoutShufflingPatchesComeVolumeByVolumeInOrder) {
  const auto vs = lesion_volumes();
  const UniformSampler sampler({4, 4, 4});
  QueueOptions opt;
  opt.samples_per_volume = 2;
  opt.shuffle_subjects = opt.shuffle_patches = false;
  Rng rng(1);
  const auto plan = plan_queue_epoch(vs, sampler, opt, rng);
  std::vector<size_t> order;
  for (const auto& p : plan) order.push_back(p.volume);
  EXPECT_EQ(order, (std::vector<size_t>{0, 0, 1, 1, 2, 2}));
}

TEST(PatchQueue, ShufflesPatchesOnlyWithinWindowsOfMaxLength) {
  std::vector<VolumeView> vs;
  for (int n = 0; n < 6; ++n) vs.push_back(make_view(8, 8, 8, 1));
  const UniformSampler sampler({4, 4, 4});
  QueueOptions opt;
  opt.samples_per_volume = 3;
  opt.max_length = 6;
  opt.shuffle_subjects = false;
  Rng rng(12);
  const auto plan = plan_queue_epoch(vs, sampler, opt, rng);
  ASSERT_EQ(plan.size(), 18u);
  for (size_t n = 0; n < plan.size(); ++n)  // window w holds volumes 2w and 2w + 1
    EXPECT_EQ(plan[n].volume / 2, n / 6) << n;
}

}  // namespace
}  // namespace orch

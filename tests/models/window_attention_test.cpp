// Shifted-window attention blocks of Swin UNETR (docs/MODELS.md section 6), checked against
// brute-force computations over voxel coordinates and hand-derived facts, not against MONAI's own
// output.
#include "models/blocks/window_attention.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <set>
#include <vector>

#include "models/blocks/swin_layers.h"

namespace orch {
namespace {

using Coord = std::array<int64_t, 3>;

// Token t of a window of size w, row-major (d, h, w).
Coord token_coord(int64_t t, const Size3& w) {
  return {t / (w[1] * w[2]), (t / w[2]) % w[1], t % w[2]};
}

int64_t brute_index(const Coord& a, const Coord& b, const Size3& w) {
  return (a[0] - b[0] + w[0] - 1) * (2 * w[1] - 1) * (2 * w[2] - 1) +
         (a[1] - b[1] + w[1] - 1) * (2 * w[2] - 1) + (a[2] - b[2] + w[2] - 1);
}

// ---- get_window_size ------------------------------------------------------------------------

TEST(SwinWindowSize, AxesNoLargerThanTheWindowShrinkItAndLoseTheirShift) {
  const auto ws = get_window_size({6, 8, 7}, {7, 7, 7}, {3, 3, 3});
  EXPECT_EQ(ws.window, (Size3{6, 7, 7}));  // 6 <= 7 shrinks; 8 > 7 keeps; 7 <= 7 "shrinks" to 7
  EXPECT_EQ(ws.shift, (Size3{0, 3, 0}));   // ... and both drop their shift
  const auto big = get_window_size({48, 48, 48}, {7, 7, 7}, {3, 3, 3});
  EXPECT_EQ(big.window, (Size3{7, 7, 7}));
  EXPECT_EQ(big.shift, (Size3{3, 3, 3}));
  const auto tiny = get_window_size({1, 2, 3}, {7, 7, 7}, {0, 0, 0});
  EXPECT_EQ(tiny.window, (Size3{1, 2, 3}));
  EXPECT_EQ(tiny.shift, (Size3{0, 0, 0}));
}

// ---- window partition -----------------------------------------------------------------------

TEST(SwinWindowPartition, OrdersWindowsAndTokensRowMajorAndReverses) {
  // Value = linear voxel index of a (1, 4, 4, 4, 1) grid; windows 2x2x2.
  const auto x = torch::arange(64, torch::kFloat).view({1, 4, 4, 4, 1});
  const auto win = window_partition(x, {2, 2, 2});
  ASSERT_EQ(win.sizes(), (std::vector<int64_t>{8, 8, 1}));
  // Window 1 is (d0, h0, w1): its first voxel is (0, 0, 2) = 2; token 1 is one step in w: 3;
  // token 2 one step in h: 2 + 4 = 6; token 4 one step in d: 2 + 16 = 18.
  EXPECT_EQ(win[1][0][0].item<float>(), 2);
  EXPECT_EQ(win[1][1][0].item<float>(), 3);
  EXPECT_EQ(win[1][2][0].item<float>(), 6);
  EXPECT_EQ(win[1][4][0].item<float>(), 18);
  // Window 4 is (d1, h0, w0): first voxel (2, 0, 0) = 32.
  EXPECT_EQ(win[4][0][0].item<float>(), 32);
  const auto y = torch::randn({2, 6, 4, 9, 3});
  EXPECT_TRUE(
      torch::equal(window_reverse(window_partition(y, {3, 2, 3}), {3, 2, 3}, 2, {6, 4, 9}), y));
}

// ---- relative position index ----------------------------------------------------------------

void expect_index_matches_brute_force(const Size3& w) {
  const auto index = relative_position_index(w);
  const int64_t n = w[0] * w[1] * w[2];
  ASSERT_EQ(index.sizes(), (std::vector<int64_t>{n, n}));
  const auto acc = index.accessor<int64_t, 2>();
  const int64_t rows = (2 * w[0] - 1) * (2 * w[1] - 1) * (2 * w[2] - 1);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      const int64_t want = brute_index(token_coord(i, w), token_coord(j, w), w);
      ASSERT_EQ(acc[i][j], want) << i << "," << j;
      ASSERT_GE(acc[i][j], 0);
      ASSERT_LT(acc[i][j], rows);
    }
}

TEST(SwinRelativePositionIndex, EqualsTheBruteForceOffsetFormula) {
  expect_index_matches_brute_force({2, 2, 2});
  expect_index_matches_brute_force({7, 7, 7});
  expect_index_matches_brute_force({2, 3, 4});
}

TEST(SwinRelativePositionIndex, WindowTwoByHand) {
  const auto index = relative_position_index({2, 2, 2});
  // Offsets run -1..1 per axis, table of 27 rows; (0,0,0) offset is 1*9 + 1*3 + 1 = 13.
  EXPECT_EQ(index[0][0].item<int64_t>(), 13);
  EXPECT_EQ(index[5][5].item<int64_t>(), 13);
  EXPECT_EQ(index[0][7].item<int64_t>(), 0);   // token 0 minus token (1,1,1): (-1,-1,-1)
  EXPECT_EQ(index[7][0].item<int64_t>(), 26);  // (+1,+1,+1)
  EXPECT_EQ(index[1][0].item<int64_t>(), 14);  // (0,0,+1)
  EXPECT_EQ(index[4][0].item<int64_t>(), 22);  // (+1,0,0)
}

// A 6x6x6 window (216 tokens, layers4 at a 96^3 input) reads the bias table through
// relative_position_index[:216, :216] of the 7^3 window, i.e. token t is placed at its 7^3 grid
// coordinate, not its 6^3 one. Checked with q = k = 0 (attention = softmax(bias)), v = x and an
// identity output projection.
TEST(SwinWindowAttention, ShrunkWindowUsesTheTopLeftOfTheFullWindowsIndex) {
  torch::manual_seed(3);
  WindowAttentionOptions o;
  o.dim = 2;
  o.num_heads = 1;
  WindowAttention attn(o);
  torch::NoGradGuard no_grad;
  attn->qkv->weight.zero_();
  attn->qkv->bias.zero_();
  attn->qkv->weight.slice(0, 4, 6).copy_(torch::eye(2));  // v = x
  attn->proj->weight.copy_(torch::eye(2));
  attn->proj->bias.zero_();
  attn->relative_position_bias_table.normal_(0, 1);
  const int64_t n = 216;
  const auto x = torch::randn({1, n, 2});
  auto bias_as_7 = torch::empty({n, n});
  auto bias_as_6 = torch::empty({n, n});
  const auto table = attn->relative_position_bias_table.select(1, 0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      const Size3 w7{7, 7, 7}, w6{6, 6, 6};
      bias_as_7[i][j] = table[brute_index(token_coord(i, w7), token_coord(j, w7), w7)];
      bias_as_6[i][j] = table[brute_index(token_coord(i, w6), token_coord(j, w6), w7)];
    }
  const auto y = attn(x);
  EXPECT_TRUE(torch::allclose(y[0], torch::softmax(bias_as_7, -1).matmul(x[0]), 1e-5, 1e-6));
  EXPECT_FALSE(torch::allclose(y[0], torch::softmax(bias_as_6, -1).matmul(x[0]), 1e-3, 1e-3));
}

// ---- shifted-window mask --------------------------------------------------------------------

// Region label of a coordinate along one axis of length n: [0, n-w) -> 0, [n-w, n-s) -> 1,
// [n-s, n) -> 2; an unshifted axis (s = 0) is all one region.
int64_t axis_region(int64_t c, int64_t n, int64_t w, int64_t s) {
  if (s == 0) return 0;
  return c < n - w ? 0 : (c < n - s ? 1 : 2);
}

struct MaskFacts {
  int64_t minus_hundred = 0;     // -100 entries over all windows, brute force
  std::vector<int64_t> regions;  // distinct regions per window
};

MaskFacts brute_force_mask(const Size3& n, const Size3& w, const Size3& s) {
  MaskFacts f;
  for (int64_t wd = 0; wd < n[0] / w[0]; ++wd)
    for (int64_t wh = 0; wh < n[1] / w[1]; ++wh)
      for (int64_t ww = 0; ww < n[2] / w[2]; ++ww) {
        std::vector<Coord> labels;
        for (int64_t t = 0; t < w[0] * w[1] * w[2]; ++t) {
          const Coord c = token_coord(t, w);
          labels.push_back({axis_region(wd * w[0] + c[0], n[0], w[0], s[0]),
                            axis_region(wh * w[1] + c[1], n[1], w[1], s[1]),
                            axis_region(ww * w[2] + c[2], n[2], w[2], s[2])});
        }
        for (const auto& a : labels)
          for (const auto& b : labels) f.minus_hundred += a != b;
        f.regions.push_back(
            static_cast<int64_t>(std::set<Coord>(labels.begin(), labels.end()).size()));
      }
  return f;
}

// Distinct regions of each window as the mask sees them: classes of tokens at mask 0.
std::vector<int64_t> regions_from_mask(const torch::Tensor& mask) {
  std::vector<int64_t> out;
  const auto acc = mask.accessor<float, 3>();
  for (int64_t w = 0; w < mask.size(0); ++w) {
    int64_t classes = 0;
    for (int64_t i = 0; i < mask.size(1); ++i) {
      bool first = true;
      for (int64_t j = 0; j < i && first; ++j) first = acc[w][i][j] != 0;
      classes += first;
    }
    out.push_back(classes);
  }
  return out;
}

void expect_mask_well_formed(const torch::Tensor& mask) {
  EXPECT_TRUE(((mask == 0) | (mask == -100)).all().item<bool>());
  EXPECT_TRUE(torch::equal(mask, mask.transpose(1, 2)));
  EXPECT_TRUE((mask.diagonal(0, 1, 2) == 0).all().item<bool>());
}

TEST(SwinComputeMask, Window4Shift2On8CubeByHand) {
  const auto mask = compute_mask({8, 8, 8}, {4, 4, 4}, {2, 2, 2});
  ASSERT_EQ(mask.sizes(), (std::vector<int64_t>{8, 64, 64}));
  expect_mask_well_formed(mask);
  // Window (i, j, k) spans [4i, 4i + 4) per axis; the second half splits into [4, 6) and [6, 8),
  // so it holds 2^(i + j + k) regions of 64 / 2^(i+j+k) tokens each.
  EXPECT_EQ(regions_from_mask(mask), (std::vector<int64_t>{1, 2, 2, 4, 2, 4, 4, 8}));
  // -100 entries: 64^2 - regions * size^2 per window = 0, 3 x 2048, 3 x 3072, 3584.
  EXPECT_EQ((mask == -100).sum().item<int64_t>(), 18944);
  // Tokens 0 and 2 of window 1 (w = 4 and 6) lie in different regions; 0 and 1 (4 and 5) do not.
  EXPECT_EQ(mask[1][0][1].item<float>(), 0);
  EXPECT_EQ(mask[1][0][2].item<float>(), -100);
}

TEST(SwinComputeMask, Window7Shift3MatchesABruteForceOverVoxels) {
  const auto mask = compute_mask({14, 14, 14}, {7, 7, 7}, {3, 3, 3});
  ASSERT_EQ(mask.sizes(), (std::vector<int64_t>{8, 343, 343}));
  expect_mask_well_formed(mask);
  const auto facts = brute_force_mask({14, 14, 14}, {7, 7, 7}, {3, 3, 3});
  EXPECT_EQ(facts.regions, (std::vector<int64_t>{1, 2, 2, 4, 2, 4, 4, 8}));
  EXPECT_EQ(regions_from_mask(mask), facts.regions);
  EXPECT_EQ((mask == -100).sum().item<int64_t>(), facts.minus_hundred);
  // Window 7 splits every axis into [7, 11) and [11, 14): regions of 4*4*4 = 64, 4*4*3 = 48
  // (three of them), 4*3*3 = 36 (three) and 3*3*3 = 27 tokens.
  const int64_t same7 = 64 * 64 + 3 * 48 * 48 + 3 * 36 * 36 + 27 * 27;
  EXPECT_EQ((mask[7] == -100).sum().item<int64_t>(), 343 * 343 - same7);
}

TEST(SwinComputeMask, NonCubicGridWithAnUnshiftedAxisAgreesWithBruteForce) {
  // layers3 of a 33x35x31 input padded to 64^3 is 8x8x8; of 64x64x32 it is 8x8x4: window
  // (7,7,4), shift (3,3,0), padded 14x14x4. The W axis has shift 0 and so one label.
  const auto mask = compute_mask({14, 14, 4}, {7, 7, 4}, {3, 3, 0});
  ASSERT_EQ(mask.sizes(), (std::vector<int64_t>{4, 196, 196}));
  expect_mask_well_formed(mask);
  const auto facts = brute_force_mask({14, 14, 4}, {7, 7, 4}, {3, 3, 0});
  EXPECT_EQ(facts.regions, (std::vector<int64_t>{1, 2, 2, 4}));
  EXPECT_EQ(regions_from_mask(mask), facts.regions);
  EXPECT_EQ((mask == -100).sum().item<int64_t>(), facts.minus_hundred);
  EXPECT_EQ(compute_mask({7, 7, 7}, {7, 7, 7}, {0, 0, 0}).abs().sum().item<float>(), 0);
}

// ---- blocks ---------------------------------------------------------------------------------

SwinBlockOptions small_block(Size3 shift) {
  SwinBlockOptions o;
  o.dim = 6;
  o.num_heads = 2;
  o.shift = shift;
  return o;
}

// Which voxels of a (1, D, H, W, C) input influence the output at voxel (0, 0, 0).
torch::Tensor receptive_field(SwinTransformerBlock& block, const Size3& size,
                              const torch::Tensor& mask) {
  auto x = torch::randn({1, size[0], size[1], size[2], 6}, torch::requires_grad());
  block->forward(x, mask)[0][0][0][0].sum().backward();
  // A masked pair still gets softmax weight exp(-100) ~ 4e-44, a float32 denormal: count only
  // influence above that.
  return x.grad()[0].abs().sum(-1) > 1e-30;
}

TEST(SwinTransformerBlock, UnshiftedBlockMixesOnlyInsideItsWindow) {
  torch::manual_seed(4);
  SwinTransformerBlock block(small_block({0, 0, 0}));
  const auto field = receptive_field(block, {14, 14, 9}, torch::Tensor());
  // Window (0,0,0) is [0,7)^3; the 9-wide W axis is padded to 14.
  auto want = torch::zeros({14, 14, 9}, torch::kBool);
  want.slice(0, 0, 7).slice(1, 0, 7).slice(2, 0, 7).fill_(true);
  EXPECT_TRUE(torch::equal(field, want));
}

TEST(SwinTransformerBlock, ShiftedBlockMasksTheWrappedAroundRegion) {
  torch::manual_seed(5);
  SwinTransformerBlock block(small_block({3, 3, 3}));
  const auto mask = compute_mask({14, 14, 14}, {7, 7, 7}, {3, 3, 3});
  // Rolled by -3, voxel 0 lands at 11 in the last window, region [11, 14) = original [0, 3); it
  // shares that window with [7, 11) = original [10, 14), which the mask hides.
  const auto field = receptive_field(block, {14, 14, 14}, mask);
  auto want = torch::zeros({14, 14, 14}, torch::kBool);
  want.slice(0, 0, 3).slice(1, 0, 3).slice(2, 0, 3).fill_(true);
  EXPECT_TRUE(torch::equal(field, want));
  // Without the mask the whole wrapped window would be seen.
  const auto unmasked = receptive_field(block, {14, 14, 14}, torch::Tensor());
  EXPECT_EQ(unmasked.sum().item<int64_t>(), 343);
}

TEST(SwinTransformerBlock, SmallGridDropsTheShiftAndAttendsEverywhere) {
  torch::manual_seed(6);
  SwinTransformerBlock block(small_block({3, 3, 3}));
  const auto field = receptive_field(block, {6, 5, 6}, torch::Tensor());
  EXPECT_TRUE(field.all().item<bool>());
}

TEST(SwinPatchMerging, ConcatenatesSubGridsInMonaiV1Order) {
  torch::manual_seed(7);
  PatchMerging merge(1);
  torch::NoGradGuard no_grad;
  // x(d, h, w) = 1 + 4d + 2h + w on a 2x2x2 grid, one channel.
  const auto x = (torch::arange(8, torch::kFloat) + 1).view({1, 2, 2, 2, 1});
  // x0..x7 = (0,0,0) (1,0,0) (0,1,0) (0,0,1) (1,1,0) (1,0,1) (0,1,1) (1,1,1) -> by hand:
  const auto cat = torch::tensor({1.f, 5.f, 3.f, 2.f, 7.f, 6.f, 4.f, 8.f});
  const auto want = torch::layer_norm(cat, {8}).matmul(merge->reduction->weight.t());
  const auto y = merge(x);
  ASSERT_EQ(y.sizes(), (std::vector<int64_t>{1, 1, 1, 1, 2}));
  EXPECT_TRUE(torch::allclose(y.view({2}), want, 1e-5, 1e-6));
  // itertools.product order (v2) would give a different result.
  const auto v2 = torch::tensor({1.f, 2.f, 3.f, 4.f, 5.f, 6.f, 7.f, 8.f});
  EXPECT_FALSE(torch::allclose(
      y.view({2}), torch::layer_norm(v2, {8}).matmul(merge->reduction->weight.t()), 1e-3, 1e-3));
  EXPECT_FALSE(merge->reduction->bias.defined());
}

TEST(SwinPatchMerging, PadsOddSizesAtTheEnd) {
  torch::manual_seed(8);
  PatchMerging merge(1);
  torch::NoGradGuard no_grad;
  const auto x = (torch::arange(12, torch::kFloat) + 1).view({1, 3, 2, 2, 1});  // D = 3
  const auto y = merge(x);
  ASSERT_EQ(y.sizes(), (std::vector<int64_t>{1, 2, 1, 1, 2}));
  // Second output along D covers d = 2 (values 9..12: 9 + 2h + w) and the zero pad at d = 3.
  const auto cat = torch::tensor({9.f, 0.f, 11.f, 10.f, 0.f, 0.f, 12.f, 0.f});
  const auto want = torch::layer_norm(cat, {8}).matmul(merge->reduction->weight.t());
  EXPECT_TRUE(torch::allclose(y[0][1][0][0], want, 1e-5, 1e-6));
}

TEST(SwinBasicLayer, RunsItsBlocksThenHalvesTheGridAndDoublesChannels) {
  torch::manual_seed(9);
  BasicLayerOptions o;
  o.dim = 6;
  o.num_heads = 2;
  BasicLayer layer(o);
  EXPECT_EQ(layer->blocks->size(), 2u);
  EXPECT_EQ(layer->blocks[0]->as<SwinTransformerBlock>()->options.shift, (Size3{0, 0, 0}));
  EXPECT_EQ(layer->blocks[1]->as<SwinTransformerBlock>()->options.shift, (Size3{3, 3, 3}));
  const auto y = layer(torch::randn({2, 6, 9, 8, 5}));
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{2, 12, 5, 4, 3}));
  EXPECT_TRUE(torch::isfinite(y).all().item<bool>());
}

}  // namespace
}  // namespace orch

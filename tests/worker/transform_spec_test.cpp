// Parsing TorchIO-style transform strings: names, keys, and TorchIO's rules for turning a scalar
// into a range (RandomTransform._parse_range, RandomAffine's parse_params).
#include <gtest/gtest.h>

#include "common/status.h"
#include "worker/data/transforms.h"

namespace orch {
namespace {

std::string error_of(const std::string& text) {
  try {
    parse_transform(text);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(TransformSpec, ScalarsExpandToTorchIORanges) {
  const auto noise = std::get<NoiseOptions>(parse_transform("noise(std=0.1)").options);
  EXPECT_DOUBLE_EQ(noise.std.lo, 0.0);  // std: (0, x)
  EXPECT_DOUBLE_EQ(noise.std.hi, 0.1);
  const auto gamma = std::get<GammaOptions>(parse_transform("gamma(log_gamma=0.3)").options);
  EXPECT_DOUBLE_EQ(gamma.log_gamma.lo, -0.3);
  const auto affine =
      std::get<AffineOptions>(parse_transform("affine(scales=0.1, degrees=(1,2,3))").options);
  EXPECT_DOUBLE_EQ(affine.scales[2].lo, 0.9);  // around 1
  EXPECT_DOUBLE_EQ(affine.scales[2].hi, 1.1);
  EXPECT_DOUBLE_EQ(affine.degrees[1].lo, -2.0);  // three values: one per axis
  EXPECT_DOUBLE_EQ(affine.degrees[2].hi, 3.0);
  const auto six =
      std::get<AffineOptions>(parse_transform("affine(translation=(1,2,3,4,5,6))").options);
  EXPECT_DOUBLE_EQ(six.translation[1].lo, 3.0);
  EXPECT_DOUBLE_EQ(six.translation[1].hi, 4.0);
  const auto motion = std::get<MotionOptions>(
      parse_transform("motion(degrees=10,translation=(2,5),num_transforms=3)").options);
  EXPECT_DOUBLE_EQ(motion.degrees.lo, -10.0);
  EXPECT_DOUBLE_EQ(motion.translation.lo, 2.0);
  EXPECT_EQ(motion.num_transforms, 3);
}

TEST(TransformSpec, ReadsProbabilityAxesAndWords) {
  const auto flip = parse_transform("flip(axes=(0,1,2),flip_probability=0.5,p=0.25)");
  EXPECT_EQ(flip.name, "flip");
  EXPECT_DOUBLE_EQ(flip.p, 0.25);
  EXPECT_EQ(std::get<FlipOptions>(flip.options).axes, (std::vector<int>{0, 1, 2}));
  const auto z = std::get<ZNormOptions>(parse_transform("znorm(masking_method=label)").options);
  EXPECT_EQ(z.masking_method, "label");
  const auto e = std::get<ElasticOptions>(
      parse_transform("elastic(num_control_points=7,max_displacement=7.5,locked_borders=2)")
          .options);
  EXPECT_EQ(e.num_control_points[2], 7);
  EXPECT_EQ(parse_transform("bias_field").p, 1.0);  // defaults without parentheses
}

TEST(TransformSpec, UnknownNamesAndKeysAreNamedWithTheKnownOnes) {
  const std::string name = error_of("blur(std=1)");
  EXPECT_NE(name.find("'blur'"), std::string::npos);
  EXPECT_NE(name.find("bias_field"), std::string::npos);
  const std::string key = error_of("affine(rotation=10)");
  EXPECT_NE(key.find("'rotation'"), std::string::npos);
  EXPECT_NE(key.find("degrees"), std::string::npos);
  EXPECT_NE(error_of("flip(axes=3)"), "");
  EXPECT_NE(error_of("elastic(num_control_points=4,locked_borders=2)"), "");
  EXPECT_NE(error_of("noise(std=0.1"), "");
  EXPECT_NE(error_of("gamma(p=1.5)"), "");
}

}  // namespace
}  // namespace orch

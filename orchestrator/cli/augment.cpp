// `orch augment`: applies a TorchIO-style augmentation pipeline to one NIfTI image (and its label
// map), for looking at what the training-time augmentation does to a case.
#include <iostream>

#include <fmt/format.h>
#include <boost/program_options.hpp>

#include "common/status.h"
#include "common/strings.h"
#include "datastore/formats/nifti.h"
#include "orchestrator/cli/cli.h"
#include "worker/data/transforms.h"

namespace orch {

namespace po = boost::program_options;

namespace {

constexpr const char* kAugmentUsage =
    "orch augment --transform 'NAME(key=value,...)' [--transform ...] [--seed S] IN.nii.gz "
    "OUT.nii.gz [--label IN_LABEL --label-out OUT_LABEL]\n\n"
    "transforms (TorchIO names and keys, each also takes p=PROBABILITY):\n"
    "  flip(axes=0, flip_probability=0.5)\n"
    "  affine(scales=0.1, degrees=10, translation=0, isotropic=false)\n"
    "  elastic(num_control_points=7, max_displacement=7.5, locked_borders=2)\n"
    "  motion(degrees=10, translation=10, num_transforms=2)\n"
    "  bias_field(coefficients=0.5, order=3)\n"
    "  noise(mean=0, std=0.25)\n"
    "  gamma(log_gamma=0.3)\n"
    "  znorm(masking_method=none|label|mean)";

void write_float(const std::string& path, const NiftiImage& like, const torch::Tensor& t,
                 const std::string& dtype) {
  const auto flat = t.to(torch::kFloat).contiguous().view(-1);
  std::vector<float> data(flat.data_ptr<float>(), flat.data_ptr<float>() + flat.numel());
  NiftiWriteOptions o;
  o.dtype = dtype;
  o.description = "orch augment";
  std::vector<int64_t> shape = {like.shape[0], like.shape.size() > 1 ? like.shape[1] : 1,
                                like.shape.size() > 2 ? like.shape[2] : 1};
  const int64_t channels = t.numel() / (shape[0] * shape[1] * shape[2]);
  if (dtype != "uint8" && channels > 1) shape.push_back(channels);
  write_nifti(path, shape, data, like.spacing, like.affine, o);
}

}  // namespace

int cmd_augment(const std::vector<std::string>& args) {
  std::vector<std::string> transforms;
  std::uint64_t seed = 0;
  std::string in, out, label_in, label_out;
  po::options_description desc("orch augment options");
  desc.add_options()(
      "transform,t", po::value(&transforms)->required(),
      "one transform, e.g. 'affine(scales=0.1,degrees=10)'; repeat for a pipeline (in order)")(
      "seed", po::value(&seed)->default_value(0), "seed; the same seed gives the same bytes")(
      "input", po::value(&in)->required(), "input NIfTI image (.nii, .nii.gz)")(
      "output", po::value(&out)->required(), "output NIfTI image (float32)")(
      "label", po::value(&label_in), "label map NIfTI to transform with the image (nearest)")(
      "label-out", po::value(&label_out), "where to write the transformed label map (uint8)");
  po::positional_options_description pos;
  pos.add("input", 1).add("output", 1);
  po::variables_map vm;
  if (!parse_options(args, kAugmentUsage, desc, pos, vm)) return 0;
  if (label_in.empty() != label_out.empty()) throw Error("--label and --label-out go together");

  std::vector<TransformSpec> specs;
  for (const auto& t : transforms) specs.push_back(parse_transform(t));
  const NiftiImage image = read_nifti(in);
  Volume volume = to_volume(image);
  Subject s;
  s.spacing = volume.spacing;
  s.image = torch::from_blob(volume.data.data(),
                             {volume.channels, volume.dims[2], volume.dims[1], volume.dims[0]},
                             torch::kFloat)
                .clone();
  if (!label_in.empty()) {
    auto label = read_nifti_label(label_in, volume.dims);
    s.label = torch::from_blob(label.data(), {volume.dims[2], volume.dims[1], volume.dims[0]},
                               torch::kUInt8)
                  .clone();
  }
  const Pipeline pipeline(specs);
  const auto drawn = pipeline.draw(s, seed);
  s = pipeline.apply(std::move(s), drawn);
  write_float(out, image, s.image, "float32");
  if (!label_out.empty()) write_float(label_out, image, s.label, "uint8");
  std::vector<std::string> names;
  for (size_t i = 0; i < specs.size(); ++i)
    names.push_back(specs[i].name + (drawn[i].applied ? "" : " (skipped)"));
  const std::string applied = join(names);
  std::cout << fmt::format("wrote {}{}: {}\n", out, label_out.empty() ? "" : " and " + label_out,
                           applied);
  return 0;
}

}  // namespace orch

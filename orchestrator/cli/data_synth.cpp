// `orch data synth`: writes a phantom dataset in its publisher's layout.
#include <iostream>

#include <fmt/format.h>
#include <boost/program_options.hpp>

#include "common/fs.h"
#include "common/status.h"
#include "common/strings.h"
#include "datastore/datasets/dataset.h"
#include "orchestrator/cli/cli.h"

namespace orch {

namespace po = boost::program_options;

int cmd_data(const std::vector<std::string>& args) {
  std::string action, dataset, out;
  PhantomOptions p;
  p.enabled = true;
  std::vector<int> size;
  po::options_description desc("orch data synth options");
  desc.add_options()("action", po::value(&action)->required(), "synth")(
      "dataset", po::value(&dataset)->required(),
      ("dataset kind: " + join(dataset_kinds())).c_str())(
      "out", po::value(&out)->required(), "folder to write the dataset into (new or empty)")(
      "cases", po::value(&p.cases)->default_value(p.cases), "labelled cases (patients)")(
      "seed", po::value(&p.seed)->default_value(p.seed),
      "seed; the same seed gives the same bytes")(
      "size", po::value(&size)->multitoken(), "volume size in voxels: I J K (default 96 96 32)");
  po::positional_options_description pos;
  pos.add("action", 1);
  po::variables_map vm;
  if (!parse_options(args, "orch data synth --dataset KIND --out DIR [--cases N] [--seed S]", desc,
                     pos, vm))
    return 0;
  if (action != "synth") throw Error("unknown data action '" + action + "'; expected: synth");
  if (!size.empty()) {
    if (size.size() != 3) throw Error("--size takes three numbers: I J K");
    for (int i = 0; i < 3; ++i) p.size[static_cast<size_t>(i)] = size[static_cast<size_t>(i)];
  }
  if (p.cases < 1) throw Error("--cases must be at least 1");
  const DatasetKind& kind = dataset_kind(dataset);
  if (!dir_missing_or_empty(out))
    throw Error("--out '" + out + "' is not empty; phantoms are written into a new folder");
  const int n = kind.write_phantom(out, p);
  std::cout << fmt::format("wrote {} {} cases to {}\n", n, dataset, out);
  return 0;
}

}  // namespace orch

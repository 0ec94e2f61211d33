// Figures for comparison reports, drawn by gnuplot: training curves, clustered bar charts and box
// plots (SVG), and a segmentation overlay of one slice (PNG).
//
// gnuplot runs without a shell: fork + execvp("gnuplot"), the script written to its stdin, its
// stderr captured. The data travel inside the script as inline datablocks (no temporary data
// files); labels come from user YAML, so they are quoted and escaped and enhanced text is off.
// Every figure is written atomically (gnuplot writes a temporary sibling, which is then renamed
// over the target) and its parent folder is created. Any failure throws orch::Error.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace orch::figures {

// True when an executable `gnuplot` is on PATH (looked up once, then cached).
bool gnuplot_available();

// Runs gnuplot on `script`. Throws orch::Error("gnuplot: <its stderr>") when gnuplot cannot be
// started or exits non-zero.
void run_gnuplot(const std::string& script);

// One trial's training history. The series are empty or as long as `epoch`; val_* may hold NaN
// for epochs without validation (those points are left out, the line joins its neighbours).
struct Curve {
  std::string label;
  std::vector<double> epoch, train_loss, val_loss, val_metric;
  int best_epoch = -1;  // marked with a point and a label "best" on the metric panel; -1: none
};
// Two panels stacked: loss (train solid, val dashed) above the validation metric, one colour per
// curve, the best epoch marked on the metric panel.
void training_curves(const std::string& svg_path, const std::string& title,
                     const std::string& metric_label, const std::vector<Curve>& curves);

// One group's value per category (NaN: no bar). err_low/err_high are empty (no error bars) or as
// long as `values`, holding the absolute ends of each bar's interval (NaN: no error bar there).
struct BarGroup {
  std::string label;
  std::vector<double> values;
  std::vector<double> err_low, err_high;
};
// Clustered bars, one cluster per category (x tick labels rotated when there are more than 6),
// one colour per group (e.g. "ours" and "published"), optional error bars.
void bar_chart(const std::string& svg_path, const std::string& title, const std::string& ylabel,
               const std::vector<std::string>& categories, const std::vector<BarGroup>& groups);

struct Distribution {
  std::string label;
  std::vector<double> values;  // non-finite values are skipped
};
// The geometry of one box: quartiles by linear interpolation between order statistics (numpy's
// default), whiskers at the most extreme values within 1.5 IQR of the box. All NaN when n == 0.
struct BoxStats {
  int n = 0;
  double whisker_low, q1, median, q3, whisker_high;
};
BoxStats box_stats(const std::vector<double>& values);  // non-finite values are skipped
// One box per distribution (median, quartiles, whiskers at 1.5 IQR) with every value drawn over
// it as a point, jittered sideways (deterministically: the same input gives the same file).
void box_plot(const std::string& svg_path, const std::string& title, const std::string& ylabel,
              const std::vector<Distribution>& groups);

// One 2-D slice, row-major (index x + width * y). pred and ref are masks (non-zero: inside), each
// empty (nothing) or width * height long.
struct Slice {
  int width = 0, height = 0;
  std::vector<float> image;
  std::vector<std::uint8_t> pred, ref;
};
// The index along axis 2 (k) of the slice with the largest reference area in a volume of size
// (ni, nj, nk) stored i fastest (the first such slice on ties); -1 when the reference is empty
// everywhere (the caller then uses the largest predicted area).
int largest_area_slice(const std::vector<std::uint8_t>& ref, int ni, int nj, int nk);
// A PNG (pngcairo): the image in grey (scaled to its own 1st..99th percentile), row 0 at the
// top, square pixels enlarged by a whole factor, with TP yellow, FP red and FN blue laid over it
// at alpha 0.6, a caption line under it (e.g. "case_003  DSC 0.812 | IoU 0.683") and a small
// TP/FP/FN legend.
void overlay_png(const std::string& png_path, const Slice& slice, const std::string& caption);

}  // namespace orch::figures

// Report figures (reports/figures.h): gnuplot driven through a pipe. The SVGs are parsed as XML
// and searched for their labels and for anything that would load an external file; the overlay
// PNG is checked by its IHDR and, decoded by gnuplot's own PNG reader (libgd, not the cairo code
// that wrote it), by the colour of known pixels. Every test that draws is skipped where gnuplot
// is not installed.
#include <stdlib.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <pugixml.hpp>

#include "common/status.h"
#include "reports/figures.h"
#include "tests/support/temp_dir.h"

namespace orch::figures {
namespace {

namespace fs = std::filesystem;
using orch::testing::TempDir;

#define SKIP_WITHOUT_GNUPLOT() \
  if (!gnuplot_available()) GTEST_SKIP() << "gnuplot is not installed (not on PATH)"

// A label with everything that could break a gnuplot script or an SVG file, and how it must read
// in the figure: the newline turned into a space, the rest verbatim.
const std::string kHostile = "say \"hi\" \\back $HOME @GPVAL_TERM\nnext <&> {x}_1^2";
const std::string kHostileShown = "say \"hi\" \\back $HOME @GPVAL_TERM next <&> {x}_1^2";

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

::testing::AssertionResult Contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << text << "\" does not contain \"" << part << "\"";
}

// The files in `dir` (names only): a figure leaves no temporary sibling behind.
std::vector<std::string> files_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// A parsed SVG: the text of every <text> element, one per line.
struct Svg {
  pugi::xml_document doc;
  std::string texts;
};

void collect_text(const pugi::xml_node& node, std::string& out) {
  for (const auto& child : node.children()) {
    if (child.type() == pugi::node_pcdata || child.type() == pugi::node_cdata) out += child.value();
    collect_text(child, out);
  }
}

// Anything that would make a viewer fetch something: an href that is not a fragment, a URL in
// an attribute or in text (the xmlns declarations excepted), a script or a stylesheet.
void external_references(const pugi::xml_node& node, std::vector<std::string>& found) {
  for (const auto& child : node.children()) {
    const std::string name = child.name();
    if (child.type() == pugi::node_pi || child.type() == pugi::node_doctype)
      found.push_back(std::string("<") + (name.empty() ? "!DOCTYPE" : name) + ">");
    if (name == "script" || name == "foreignObject" || name == "iframe")
      found.push_back("<" + name + ">");
    for (const auto& a : child.attributes()) {
      const std::string key = a.name(), value = a.value();
      if (key == "xmlns" || key.rfind("xmlns:", 0) == 0) continue;
      if ((key == "href" || key == "xlink:href" || key == "src") && value.rfind('#', 0) != 0)
        found.push_back(key + "=" + value);
      else if (value.find("http") != std::string::npos || value.find("://") != std::string::npos)
        found.push_back(key + "=" + value);
      const auto url = value.find("url(");
      if (url != std::string::npos && value.compare(url, 5, "url(#") != 0)
        found.push_back(key + "=" + value);
    }
    if ((child.type() == pugi::node_pcdata || child.type() == pugi::node_cdata) &&
        (std::string(child.value()).find("@import") != std::string::npos ||
         std::string(child.value()).find("url(") != std::string::npos))
      found.push_back(child.value());
    external_references(child, found);
  }
}

::testing::AssertionResult LoadSvg(const std::string& path, Svg& svg) {
  const pugi::xml_parse_result r =
      svg.doc.load_file(path.c_str(), pugi::parse_default | pugi::parse_pi | pugi::parse_doctype);
  if (!r)
    return ::testing::AssertionFailure()
           << path << " is not well-formed XML: " << r.description() << " at byte " << r.offset;
  if (std::string(svg.doc.document_element().name()) != "svg")
    return ::testing::AssertionFailure()
           << path << ": root is <" << svg.doc.document_element().name() << ">, not <svg>";
  std::vector<std::string> refs;
  external_references(svg.doc, refs);
  if (!refs.empty())
    return ::testing::AssertionFailure() << path << " refers outside itself: " << refs.front();
  for (const auto& t : svg.doc.select_nodes("//text")) {
    collect_text(t.node(), svg.texts);
    svg.texts += '\n';
  }
  return ::testing::AssertionSuccess();
}

// A PNG's IHDR width and height; fails unless the file starts with the PNG signature and IHDR.
::testing::AssertionResult PngSize(const std::string& path, std::uint32_t& width,
                                   std::uint32_t& height) {
  const std::string d = slurp(path);
  if (d.size() < 24 || d.compare(0, 8, "\x89PNG\r\n\x1a\n") != 0 || d.compare(12, 4, "IHDR") != 0)
    return ::testing::AssertionFailure() << path << " is not a PNG file";
  const auto be32 = [&](size_t at) {
    std::uint32_t v = 0;
    for (size_t k = 0; k < 4; ++k) v = (v << 8) | static_cast<unsigned char>(d[at + k]);
    return v;
  };
  width = be32(16);
  height = be32(20);
  return ::testing::AssertionSuccess();
}

// The pixels of a PNG, read by gnuplot's libgd reader: (column, row from the top) -> RGB.
struct Rgb {
  int r = 0, g = 0, b = 0;
};
std::map<std::pair<int, int>, Rgb> png_pixels(const std::string& png, const std::string& table,
                                              int height) {
  run_gnuplot("set table \"" + table + "\"\nplot \"" + png +
              "\" binary filetype=png with rgbimage\nunset table\n");
  std::map<std::pair<int, int>, Rgb> pixels;
  std::ifstream in(table);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream s(line);
    double x, y;
    Rgb c;
    if (line.empty() || line[0] == '#' || !(s >> x >> y >> c.r >> c.g >> c.b)) continue;
    pixels[{static_cast<int>(x), height - 1 - static_cast<int>(y)}] = c;
  }
  return pixels;
}

Curve make_curve(const std::string& label, double rate, int best) {
  Curve c;
  c.label = label;
  for (int e = 0; e < 40; ++e) {
    c.epoch.push_back(e);
    c.train_loss.push_back(1.0 / (1.0 + rate * e));
    const bool validated = e % 4 == 0;  // validation every 4th epoch: NaN between
    c.val_loss.push_back(validated ? 1.2 / (1.0 + rate * e) : NAN);
    c.val_metric.push_back(validated ? 0.9 - 0.5 / (1.0 + rate * e) : NAN);
  }
  c.best_epoch = best;
  return c;
}

// ---------------------------------------------------------------------------------------------
// Without gnuplot

TEST(Figures, LargestAreaSliceFindsTheSliceWithMostReference) {
  const int ni = 4, nj = 3, nk = 5;
  std::vector<std::uint8_t> ref(ni * nj * nk, 0);
  const auto set = [&](int i, int j, int k) { ref[i + ni * (j + nj * k)] = 1; };
  // Areas per k: 0, 2, 5, 5, 1 (k = 2 and 3 tie: the first wins).
  set(0, 0, 1), set(3, 2, 1);
  for (int i = 0; i < 4; ++i) set(i, 1, 2);
  set(0, 0, 2);
  for (int j = 0; j < 3; ++j) set(2, j, 3);
  set(0, 0, 3), set(1, 0, 3);
  set(3, 2, 4);
  EXPECT_EQ(largest_area_slice(ref, ni, nj, nk), 2);
  ref[1 + ni * (2 + nj * 3)] = 7;  // any non-zero value counts
  EXPECT_EQ(largest_area_slice(ref, ni, nj, nk), 3);
  // Axis 2 is the slowest: a mask filling i = 0 only, on every k, is smallest per slice.
  std::vector<std::uint8_t> column(ni * nj * nk, 0);
  for (int k = 0; k < nk; ++k)
    for (int j = 0; j < nj; ++j) column[0 + ni * (j + nj * k)] = k == 4 || j == 0;
  EXPECT_EQ(largest_area_slice(column, ni, nj, nk), 4);

  EXPECT_EQ(largest_area_slice(std::vector<std::uint8_t>(ni * nj * nk, 0), ni, nj, nk), -1);
  EXPECT_EQ(largest_area_slice({}, 0, 0, 0), -1);
  EXPECT_THROW(largest_area_slice(ref, ni, nj, nk + 1), Error);
  EXPECT_THROW(largest_area_slice(ref, -4, -3, 5), Error);
}

TEST(Figures, BoxStatsOfKnownValues) {
  // Sorted 1..9: quartiles at ranks 2, 4, 6 (linear interpolation), no outliers.
  BoxStats b = box_stats({9, 1, 8, 2, 7, 3, 6, 4, 5, NAN, INFINITY});
  EXPECT_EQ(b.n, 9);
  EXPECT_DOUBLE_EQ(b.q1, 3);
  EXPECT_DOUBLE_EQ(b.median, 5);
  EXPECT_DOUBLE_EQ(b.q3, 7);
  EXPECT_DOUBLE_EQ(b.whisker_low, 1);
  EXPECT_DOUBLE_EQ(b.whisker_high, 9);

  // 1..8 and 100: q1 3, q3 7, fences -3 and 13; the upper whisker stops at 8.
  b = box_stats({1, 2, 3, 4, 5, 6, 7, 8, 100});
  EXPECT_DOUBLE_EQ(b.q3, 7);
  EXPECT_DOUBLE_EQ(b.whisker_high, 8);
  EXPECT_DOUBLE_EQ(b.whisker_low, 1);

  // Four values: ranks 0.75, 1.5, 2.25 between 10, 20, 30, 40.
  b = box_stats({40, 10, 30, 20});
  EXPECT_DOUBLE_EQ(b.q1, 17.5);
  EXPECT_DOUBLE_EQ(b.median, 25);
  EXPECT_DOUBLE_EQ(b.q3, 32.5);

  b = box_stats({NAN});
  EXPECT_EQ(b.n, 0);
  EXPECT_TRUE(std::isnan(b.median));
}

// ---------------------------------------------------------------------------------------------
// gnuplot itself

TEST(Figures, RunGnuplotThrowsWithGnuplotsMessage) {
  SKIP_WITHOUT_GNUPLOT();
  EXPECT_NO_THROW(run_gnuplot("a = 1\n"));
  try {
    run_gnuplot("a = 1\nplot sin(x) wiht lines\n");
    FAIL() << "no error for a bad script";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_EQ(m.rfind("gnuplot: ", 0), 0u) << m;
    EXPECT_TRUE(Contains(m, "wiht"));  // gnuplot echoes the offending command
    EXPECT_TRUE(Contains(m, "unexpected or unrecognized token"));
    EXPECT_EQ(e.code(), ErrorCode::kFailed);
  }
  try {
    run_gnuplot("exit status 3\n");
    FAIL() << "no error for exit status 3";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "gnuplot: exited with status 3");
  }
}

TEST(Figures, RunGnuplotSurvivesGnuplotLeavingEarly) {
  SKIP_WITHOUT_GNUPLOT();
  // gnuplot exits after the first line and closes the pipe with megabytes still unwritten:
  // the writer gets EPIPE, never a fatal SIGPIPE, and gnuplot's status (0) is what counts.
  EXPECT_NO_THROW(run_gnuplot("exit\n" + std::string(8 << 20, '#') + "\n"));
  // A long script read to its end (far beyond a pipe's buffer) works too.
  std::string script;
  for (int i = 0; i < 100000; ++i) script += "a = " + std::to_string(i) + "\n";
  EXPECT_NO_THROW(run_gnuplot(script));
}

TEST(Figures, MissingGnuplotIsAnErrorAndLeavesTheOldFile) {
  SKIP_WITHOUT_GNUPLOT();
  TempDir dir;
  const std::string path = dir.file("bars.svg");
  std::ofstream(path) << "old";
  const char* old_path = ::getenv("PATH");
  const std::string saved = old_path ? old_path : "";
  ::setenv("PATH", dir.path().c_str(), 1);  // execvp finds no gnuplot there
  try {
    bar_chart(path, "t", "y", {"a"}, {{"ours", {1.0}, {}, {}}});
    ADD_FAILURE() << "no error without gnuplot";
  } catch (const Error& e) {
    EXPECT_TRUE(Contains(e.what(), "gnuplot: cannot run gnuplot"));
  }
  ::setenv("PATH", saved.c_str(), 1);
  EXPECT_EQ(slurp(path), "old");
  EXPECT_EQ(files_in(dir.path()), std::vector<std::string>{"bars.svg"});
}

// ---------------------------------------------------------------------------------------------
// SVG figures

TEST(Figures, TrainingCurvesAreSelfContainedSvgWithTheirLabels) {
  SKIP_WITHOUT_GNUPLOT();
  TempDir dir;
  const std::string path = (dir.path() / "new" / "folder" / "curves.svg").string();
  training_curves(path, "Synapse UNet", "val DSC",
                  {make_curve("unet seed 1", 0.2, 36), make_curve("unet seed 2", 0.1, 20)});
  Svg svg;
  ASSERT_TRUE(LoadSvg(path, svg));
  for (const char* text : {"Synapse UNet", "val DSC", "unet seed 1", "unet seed 2", "train", "val",
                           "loss", "epoch", "best"})
    EXPECT_TRUE(Contains(svg.texts, text));
  EXPECT_EQ(files_in(dir.path() / "new" / "folder"), std::vector<std::string>{"curves.svg"});
}

TEST(Figures, HostileLabelsAreShownVerbatim) {
  SKIP_WITHOUT_GNUPLOT();
  TempDir dir;
  Curve c = make_curve(kHostile, 0.2, 8);
  training_curves(dir.file("curves.svg"), kHostile, kHostile, {c});
  bar_chart(dir.file("bars.svg"), kHostile, kHostile, {kHostile, "b"},
            {{kHostile, {0.5, 0.7}, {}, {}}});
  box_plot(dir.file("box.svg"), kHostile, kHostile, {{kHostile, {0.1, 0.2, 0.3}}});
  for (const char* name : {"curves.svg", "bars.svg", "box.svg"}) {
    SCOPED_TRACE(name);
    Svg svg;
    ASSERT_TRUE(LoadSvg(dir.file(name), svg));
    EXPECT_TRUE(Contains(svg.texts, kHostileShown));
  }
  // Bytes that are not UTF-8 would make the SVG ill-formed: they are replaced.
  bar_chart(dir.file("latin1.svg"), "caf\xe9", "y", {"a"}, {{"ours\xff", {1.0}, {}, {}}});
  Svg svg;
  ASSERT_TRUE(LoadSvg(dir.file("latin1.svg"), svg));
  EXPECT_TRUE(Contains(svg.texts, "caf?"));
  EXPECT_TRUE(Contains(svg.texts, "ours?"));
}

TEST(Figures, TrainingCurvesWithoutData) {
  SKIP_WITHOUT_GNUPLOT();
  TempDir dir;
  Curve empty;
  empty.label = "not started";
  Curve no_val = make_curve("no validation", 0.1, 5);
  no_val.val_loss.clear();
  no_val.val_metric.assign(no_val.epoch.size(), NAN);
  Curve one = make_curve("one epoch", 0.1, 0);
  for (auto* v : {&one.epoch, &one.train_loss, &one.val_loss, &one.val_metric}) v->resize(1);
  for (const auto& curves : std::vector<std::vector<Curve>>{{}, {empty}, {no_val}, {one}}) {
    const std::string path = dir.file("curves.svg");
    training_curves(path, "t", "DSC", curves);
    Svg svg;
    ASSERT_TRUE(LoadSvg(path, svg));
  }
  Curve bad = make_curve("bad", 0.1, 5);
  bad.val_loss.pop_back();
  EXPECT_THROW(training_curves(dir.file("bad.svg"), "t", "DSC", {bad}), Error);
}

TEST(Figures, BarChartWithMissingValuesAndErrors) {
  SKIP_WITHOUT_GNUPLOT();
  TempDir dir;
  const std::vector<std::string> organs = {"spleen", "kidney R", "kidney L", "gallbladder",
                                           "liver",  "stomach",  "aorta",    "pancreas"};
  BarGroup ours{"ours", {0.9, 0.8, NAN, 0.6, 0.95, 0.7, 0.85, 0.5}, {}, {}};
  ours.err_low = {0.85, 0.75, NAN, 0.5, NAN, 0.6, 0.8, 0.4};
  ours.err_high = {0.93, 0.84, NAN, 0.7, NAN, 0.8, 0.9, 0.6};
  const BarGroup published{"published", {0.88, NAN, 0.8, 0.58, 0.94, 0.72, 0.86, NAN}, {}, {}};
  const BarGroup none{"no values", std::vector<double>(8, NAN), {}, {}};
  bar_chart(dir.file("bars.svg"), "Synapse DSC", "DSC", organs, {ours, published, none});
  Svg svg;
  ASSERT_TRUE(LoadSvg(dir.file("bars.svg"), svg));
  for (const auto& text : organs) EXPECT_TRUE(Contains(svg.texts, text));
  for (const char* text : {"ours", "published", "no values", "Synapse DSC", "DSC"})
    EXPECT_TRUE(Contains(svg.texts, text));
  const std::string raw = slurp(dir.file("bars.svg"));
  EXPECT_TRUE(Contains(raw, "rotate(-45)"));  // more than 6 categories: tick labels rotated

  // Six categories are not rotated; a chart with nothing to draw still is one.
  bar_chart(dir.file("six.svg"), "t", "y", {"a", "b", "c", "d", "e", "f"},
            {{"ours", {1, 2, 3, 4, 5, -1}, {0, 1, 2, 3, 4, -2}, {2, 3, 4, 5, 6, 0}}});
  ASSERT_TRUE(LoadSvg(dir.file("six.svg"), svg));
  EXPECT_FALSE(Contains(slurp(dir.file("six.svg")), "rotate(-45)"));
  bar_chart(dir.file("empty.svg"), "t", "y", {"a"}, {{"x", {NAN}, {}, {}}});
  ASSERT_TRUE(LoadSvg(dir.file("empty.svg"), svg));
  bar_chart(dir.file("nothing.svg"), "t", "y", {}, {});
  ASSERT_TRUE(LoadSvg(dir.file("nothing.svg"), svg));

  EXPECT_THROW(bar_chart(dir.file("bad.svg"), "t", "y", {"a", "b"}, {{"g", {1.0}, {}, {}}}), Error);
  EXPECT_THROW(bar_chart(dir.file("bad.svg"), "t", "y", {"a"}, {{"g", {1.0}, {0.5}, {}}}), Error);
  EXPECT_FALSE(fs::exists(dir.file("bad.svg")));
}

TEST(Figures, BoxPlotIsDeterministicAndLabelled) {
  SKIP_WITHOUT_GNUPLOT();
  TempDir dir;
  std::vector<Distribution> groups = {{"unet", {0.7, 0.8, 0.75, 0.9, 0.2, NAN}},
                                      {"transunet", {0.82, 0.85, 0.8, 0.88}},
                                      {"empty", {NAN, INFINITY}},
                                      {"single", {0.5}}};
  box_plot(dir.file("a.svg"), "per-case DSC", "DSC", groups);
  box_plot(dir.file("b.svg"), "per-case DSC", "DSC", groups);
  Svg svg;
  ASSERT_TRUE(LoadSvg(dir.file("a.svg"), svg));
  for (const char* text : {"unet", "transunet", "empty", "single", "per-case DSC"})
    EXPECT_TRUE(Contains(svg.texts, text));
  EXPECT_EQ(slurp(dir.file("a.svg")), slurp(dir.file("b.svg")));  // the jitter is not random

  // One point per finite value: 5 + 4 + 0 + 1 filled circles (gnuplot's point type 7).
  const std::string raw = slurp(dir.file("a.svg"));
  size_t points = 0;
  for (size_t at = raw.find("href='#gpPt6'"); at != std::string::npos;
       at = raw.find("href='#gpPt6'", at + 1))
    ++points;
  EXPECT_EQ(points, 10u);

  box_plot(dir.file("none.svg"), "t", "y", {});
  ASSERT_TRUE(LoadSvg(dir.file("none.svg"), svg));
}

// ---------------------------------------------------------------------------------------------
// Overlay PNG

TEST(Figures, OverlayPngShowsTpFpFnInColour) {
  SKIP_WITHOUT_GNUPLOT();
  TempDir dir;
  const int w = 40, h = 20;
  Slice s;
  s.width = w;
  s.height = h;
  s.image.assign(w * h, 1.0f);  // flat: mid grey everywhere
  s.pred.assign(w * h, 0);
  s.ref.assign(w * h, 0);
  const auto at = [&](int x, int y) { return x + w * y; };
  s.pred[at(5, 3)] = s.ref[at(5, 3)] = 1;  // TP
  s.pred[at(6, 3)] = 1;                    // FP
  s.ref[at(7, 3)] = 1;                     // FN
  const std::string path = (dir.path() / "png" / "overlay.png").string();
  overlay_png(path, s, "case_003  DSC 0.812 | IoU 0.683");

  std::uint32_t pw = 0, ph = 0;
  ASSERT_TRUE(PngSize(path, pw, ph));
  // Enlarged by a whole factor (512 / 40 = 12), caption and legend below the image.
  EXPECT_GE(pw, 12u * w);
  EXPECT_GT(ph, 12u * h + 30);
  EXPECT_EQ(files_in(dir.path() / "png"), std::vector<std::string>{"overlay.png"});

  const auto pixels = png_pixels(path, dir.file("pixels.txt"), static_cast<int>(ph));
  ASSERT_EQ(pixels.size(), static_cast<size_t>(pw) * ph);
  // The image: the rows and columns holding many mid-grey pixels (text has few of them).
  const auto grey = [](const Rgb& c) { return c.r == c.g && c.g == c.b && c.r > 100 && c.r < 156; };
  std::map<int, int> per_row, per_col;
  for (const auto& [xy, c] : pixels)
    if (grey(c)) ++per_col[xy.first], ++per_row[xy.second];
  int x0 = -1, x1 = -1, y0 = -1, y1 = -1;
  for (const auto& [x, n] : per_col)
    if (n >= 100) x0 = x0 < 0 ? x : x0, x1 = x;
  for (const auto& [y, n] : per_row)
    if (n >= 100) y0 = y0 < 0 ? y : y0, y1 = y;
  ASSERT_GE(x0, 0);
  ASSERT_GE(y0, 0);
  const int scale = (x1 - x0 + 1) / w;
  EXPECT_EQ(scale, 12);
  EXPECT_EQ(x1 - x0 + 1, scale * w);
  EXPECT_EQ(y1 - y0 + 1, scale * h);         // square pixels
  EXPECT_GT(static_cast<int>(ph) - y1, 30);  // room for the caption below
  // Pixel (x, y) of the slice, row 0 at the top, sampled at its centre.
  const auto pixel = [&](int x, int y) {
    return pixels.at({x0 + x * scale + scale / 2, y0 + y * scale + scale / 2});
  };
  const Rgb tp = pixel(5, 3), fp = pixel(6, 3), fn = pixel(7, 3), bg = pixel(20, 10);
  EXPECT_TRUE(tp.r > 180 && tp.g > 180 && tp.b < 90) << tp.r << "," << tp.g << "," << tp.b;
  EXPECT_TRUE(fp.r > 180 && fp.g < 90 && fp.b < 90) << fp.r << "," << fp.g << "," << fp.b;
  EXPECT_TRUE(fn.r < 90 && fn.g < 90 && fn.b > 180) << fn.r << "," << fn.g << "," << fn.b;
  EXPECT_TRUE(grey(bg)) << bg.r << "," << bg.g << "," << bg.b;
  // Alpha 0.6 over mid grey: the overlay does not hide the image.
  EXPECT_GT(tp.b, 20);
  EXPECT_GT(fp.g, 20);

  // The same input gives the same file; another mask another one.
  const std::string first = slurp(path);
  overlay_png(path, s, "case_003  DSC 0.812 | IoU 0.683");
  EXPECT_EQ(slurp(path), first);
  s.pred[at(30, 15)] = 1;
  overlay_png(path, s, "case_003  DSC 0.812 | IoU 0.683");
  EXPECT_NE(slurp(path), first);
}

TEST(Figures, OverlayPngOfARealisticSlice) {
  SKIP_WITHOUT_GNUPLOT();
  TempDir dir;
  Slice s;
  s.width = 300;
  s.height = 200;
  for (int y = 0; y < s.height; ++y)
    for (int x = 0; x < s.width; ++x) {
      s.image.push_back(x == 0 && y == 0 ? NAN : static_cast<float>(std::sin(x * 0.05) * 500));
      s.ref.push_back((x - 120) * (x - 120) + (y - 100) * (y - 100) < 1600);
      s.pred.push_back((x - 135) * (x - 135) + (y - 100) * (y - 100) < 1600);
    }
  s.image[5] = INFINITY;
  overlay_png(dir.file("a.png"), s, kHostile);
  std::uint32_t pw = 0, ph = 0;
  ASSERT_TRUE(PngSize(dir.file("a.png"), pw, ph));
  EXPECT_GE(pw, 300u);
  EXPECT_GT(ph, 200u);
  s.pred.clear();  // an empty mask may be given as no vector at all
  overlay_png(dir.file("b.png"), s, "no prediction");
  ASSERT_TRUE(PngSize(dir.file("b.png"), pw, ph));

  s.ref.resize(10);
  EXPECT_THROW(overlay_png(dir.file("c.png"), s, "bad"), Error);
  EXPECT_THROW(overlay_png(dir.file("c.png"), Slice{}, "empty"), Error);
  EXPECT_FALSE(fs::exists(dir.file("c.png")));
}

}  // namespace
}  // namespace orch::figures

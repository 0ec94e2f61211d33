#include "datastore/datasets/lidc/lidc.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/fs.h"
#include "common/status.h"
#include "datastore/formats/dicom.h"
#include "tests/support/phantom_support.h"
#include "tests/support/temp_dir.h"

namespace orch {
namespace {

namespace fs = std::filesystem;

// The outline of the rectangle [x0, x1] x [y0, y1] as LIDC writes one: every pixel of the
// closed 8-connected chain, clockwise from the top-left corner.
std::vector<std::array<int, 2>> rect_chain(int x0, int y0, int x1, int y1) {
  std::vector<std::array<int, 2>> c;
  for (int x = x0; x < x1; ++x) c.push_back({x, y0});
  for (int y = y0; y < y1; ++y) c.push_back({x1, y});
  for (int x = x1; x > x0; --x) c.push_back({x, y1});
  for (int y = y1; y > y0; --y) c.push_back({x0, y});
  return c;
}

std::string edge_maps(int x0, int y0, int x1, int y1) {
  std::string out;
  for (const auto& p : rect_chain(x0, y0, x1, y1))
    out += "<edgeMap><xCoord>" + std::to_string(p[0]) + "</xCoord><yCoord>" + std::to_string(p[1]) +
           "</yCoord></edgeMap>\n";
  return out;
}

// A reader file in the real layout: default namespace, lower-case "Uid", one complete nodule with
// an inclusion and an exclusion roi plus a single-point roi, a < 3 mm nodule (no characteristics),
// a nodule with incomplete characteristics, and a nonNodule.
const std::string kXml = R"(<?xml version="1.0" encoding="UTF-8"?>
<LidcReadMessage uid="1.2.3" xmlns="http://www.nih.gov" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <ResponseHeader>
    <Version>1.8.1</Version>
    <SeriesInstanceUid>1.2.840.9.1</SeriesInstanceUid>
    <StudyInstanceUID>1.2.840.9.0</StudyInstanceUID>
  </ResponseHeader>
  <readingSession>
    <annotationVersion>3.12</annotationVersion>
    <servicingRadiologistID>anon1</servicingRadiologistID>
    <unblindedReadNodule>
      <noduleID>Nodule 001</noduleID>
      <characteristics>
        <subtlety>5</subtlety><internalStructure>1</internalStructure>
        <calcification>6</calcification><sphericity>4</sphericity><margin>4</margin>
        <lobulation>1</lobulation><spiculation>1</spiculation><texture>5</texture>
        <malignancy>3</malignancy>
      </characteristics>
      <roi>
        <imageZposition>-10.000000 </imageZposition>
        <imageSOP_UID>1.2.840.9.1.11</imageSOP_UID>
        <inclusion>TRUE</inclusion>
)" + edge_maps(1, 1, 7, 6) +
                         R"(
      </roi>
      <roi>
        <imageZposition>-10.000000</imageZposition>
        <imageSOP_UID>1.2.840.9.1.11</imageSOP_UID>
        <inclusion>FALSE</inclusion>
)" + edge_maps(3, 2, 5, 4) +
                         R"(
      </roi>
      <roi>
        <imageZposition>-7.5</imageZposition>
        <imageSOP_UID>1.2.840.9.1.12</imageSOP_UID>
        <inclusion>TRUE</inclusion>
        <edgeMap><xCoord>4</xCoord><yCoord>3</yCoord></edgeMap>
      </roi>
    </unblindedReadNodule>
    <unblindedReadNodule>
      <noduleID>small 1</noduleID>
      <roi>
        <imageZposition>-7.5</imageZposition>
        <imageSOP_UID>1.2.840.9.1.12</imageSOP_UID>
        <inclusion>TRUE</inclusion>
        <edgeMap><xCoord>9</xCoord><yCoord>9</yCoord></edgeMap>
      </roi>
    </unblindedReadNodule>
    <nonNodule>
      <nonNoduleID>Non-nodule 001</nonNoduleID>
      <imageZposition>-7.5</imageZposition>
      <imageSOP_UID>1.2.840.9.1.12</imageSOP_UID>
      <locus><xCoord>2</xCoord><yCoord>9</yCoord></locus>
    </nonNodule>
  </readingSession>
  <readingSession>
    <annotationVersion>3.12</annotationVersion>
    <unblindedReadNodule>
      <noduleID>IL057_1</noduleID>
      <characteristics><subtlety>3</subtlety></characteristics>
      <roi>
        <imageZposition>-10</imageZposition>
        <imageSOP_UID>1.2.840.9.1.11</imageSOP_UID>
        <inclusion>TRUE</inclusion>
        <edgeMap><xCoord>1</xCoord><yCoord>1</yCoord></edgeMap>
        <edgeMap><xCoord>4</xCoord><yCoord>1</yCoord></edgeMap>
        <edgeMap><xCoord>4</xCoord><yCoord>4</yCoord></edgeMap>
      </roi>
    </unblindedReadNodule>
  </readingSession>
</LidcReadMessage>
)";

TEST(LidcXml, ParsesNamespacedHeaderAndKeepsOnlyCompleteNodules) {
  const LidcRead r = parse_lidc_xml(kXml, "test.xml");
  EXPECT_EQ(r.series_uid, "1.2.840.9.1");
  EXPECT_EQ(r.study_uid, "1.2.840.9.0");
  EXPECT_EQ(r.readers, 2);
  ASSERT_EQ(r.nodules.size(), 1u);  // "small 1" has no block, "IL057_1" an incomplete one
  EXPECT_EQ(r.small_nodules, 2);
  const LidcNodule& n = r.nodules[0];
  EXPECT_EQ(n.id, "Nodule 001");
  EXPECT_EQ(n.reader, 0);
  EXPECT_EQ(n.characteristics.size(), 9u);
  EXPECT_EQ(n.characteristics.at("internalStructure"), 1);
  EXPECT_EQ(n.characteristics.at("malignancy"), 3);
  ASSERT_EQ(n.rois.size(), 2u);  // the single-point roi is dropped
  EXPECT_EQ(r.dropped_rois, 1);
  EXPECT_TRUE(n.rois[0].inclusion);
  EXPECT_FALSE(n.rois[1].inclusion);
  EXPECT_DOUBLE_EQ(n.rois[0].z, -10.0);
  EXPECT_EQ(n.rois[0].sop_uid, "1.2.840.9.1.11");
  ASSERT_EQ(n.rois[0].points.size(), 22u);  // the 6 x 5 pixel outline's perimeter
  EXPECT_EQ(n.rois[0].points[6], (std::array<int, 2>{7, 1}));
}

TEST(LidcXml, PrefixedNamespaceParsesLikeTheDefaultOne) {
  std::string xml = kXml;
  // Turn every element into nih:element with a declared prefix.
  std::string out;
  for (std::size_t i = 0; i < xml.size(); ++i) {
    out += xml[i];
    if (xml[i] == '<' && i + 1 < xml.size() && (std::isalpha(xml[i + 1]) || xml[i + 1] == '/')) {
      if (xml[i + 1] == '/') out += xml[++i];
      out += "nih:";
    }
  }
  const std::string from = "xmlns=\"http://www.nih.gov\"";
  out.replace(out.find(from), from.size(), "xmlns:nih=\"http://www.nih.gov\"");
  const LidcRead r = parse_lidc_xml(out, "prefixed.xml");
  EXPECT_EQ(r.series_uid, "1.2.840.9.1");
  ASSERT_EQ(r.nodules.size(), 1u);
  EXPECT_EQ(r.nodules[0].rois.size(), 2u);
}

TEST(LidcXml, RejectsOtherRootsAndBadNumbers) {
  EXPECT_THROW(parse_lidc_xml("<IdriReadMessage/>", "dx.xml"), Error);
  EXPECT_THROW(parse_lidc_xml("<LidcReadMessage><unclosed></LidcReadMessage>", "bad.xml"), Error);
  std::string xml = kXml;
  xml.replace(xml.find("-7.5"), 4, "abc");
  try {
    parse_lidc_xml(xml, "num.xml");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("num.xml"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("imageZposition"), std::string::npos);
  }
}

LidcGrid grid_10x10(int nk = 2) {
  LidcGrid g;
  g.ni = 10;
  g.nj = 10;
  for (int k = 0; k < nk; ++k)
    g.slices.push_back({"1.2.840.9.1." + std::to_string(11 + k), -10.0 + 2.5 * k});
  return g;
}

std::set<std::pair<int, int>> pixels(const std::vector<std::int64_t>& idx, const LidcGrid& g,
                                     int k) {
  std::set<std::pair<int, int>> out;
  for (std::int64_t v : idx)
    if (v / (g.ni * g.nj) == k) out.insert({int(v % g.ni), int((v / g.ni) % g.nj)});
  return out;
}

TEST(LidcMask, InclusionFillsInsideTheOutlineAndExclusionCutsAHole) {
  const LidcRead r = parse_lidc_xml(kXml, "test.xml");
  const LidcGrid g = grid_10x10();
  const auto px = pixels(lidc_annotation_mask(r.nodules[0], g), g, 0);
  // Outline x 1..7, y 1..6: the strict interior is x 2..6, y 2..5 (20 pixels). The exclusion
  // outline x 3..5, y 2..4 removes its 9 pixels (interior and outline), leaving 11.
  std::set<std::pair<int, int>> expect;
  for (int y = 2; y <= 5; ++y)
    for (int x = 2; x <= 6; ++x)
      if (!(x >= 3 && x <= 5 && y >= 2 && y <= 4)) expect.insert({x, y});
  EXPECT_EQ(px, expect);
  EXPECT_TRUE(pixels(lidc_annotation_mask(r.nodules[0], g), g, 1).empty());
}

TEST(LidcMask, RoisMatchBySopUidThenByZ) {
  LidcRoi roi;
  roi.sop_uid = "1.2.840.9.1.12";
  roi.z = 123;                       // ignored when the UID matches
  const LidcGrid g = grid_10x10(4);  // z = -10, -7.5, -5, -2.5
  EXPECT_EQ(lidc_match_slice(roi, g), 1);
  roi.sop_uid = "unknown";
  roi.z = -5.2;  // within a quarter step (0.625 mm) of slice 2
  EXPECT_EQ(lidc_match_slice(roi, g), 2);
  roi.z = -6.25;  // half-way: no slice
  EXPECT_EQ(lidc_match_slice(roi, g), -1);
  roi.sop_uid = "";
  roi.z = -2.5;
  EXPECT_EQ(lidc_match_slice(roi, g), 3);
}

TEST(LidcConsensus, KeepsVoxelsMarkedByAtLeastTheLevelOfReaders) {
  // Three readers: voxel 1 marked by all, 2 by two, 3 by one.
  const std::vector<std::vector<std::int64_t>> m = {{1, 2, 3}, {1, 2}, {1}};
  EXPECT_EQ(lidc_consensus(m, 0.5), (std::vector<std::int64_t>{1, 2}));
  EXPECT_EQ(lidc_consensus(m, 1.0), (std::vector<std::int64_t>{1}));
  EXPECT_EQ(lidc_consensus(m, 0.3), (std::vector<std::int64_t>{1, 2, 3}));
  // Two readers: one of two is exactly 50%, kept.
  EXPECT_EQ(lidc_consensus({{5}, {6}}, 0.5), (std::vector<std::int64_t>{5, 6}));
}

LidcNodule square(int reader, int x0, int y0, int x1, int y1, const std::string& sop) {
  LidcNodule n;
  n.reader = reader;
  n.rois.push_back({0, sop, true, rect_chain(x0, y0, x1, y1)});
  return n;
}

TEST(LidcConsensus, IsTakenPerNoduleCluster) {
  // Readers 0 and 1 outline nodule A (overlapping squares), reader 2 alone outlines nodule B far
  // away. Per-cluster consensus keeps B (1 of 1 annotations) and A's 2-of-2 overlap; 3 readers
  // in a 20x20 slice.
  LidcRead r;
  r.readers = 3;
  r.nodules = {square(0, 1, 1, 6, 6, "s0"), square(1, 2, 2, 7, 7, "s0"),
               square(2, 12, 12, 16, 16, "s0")};
  LidcGrid g;
  g.ni = g.nj = 20;
  g.slices = {{"s0", 0.0}};
  const auto groups = lidc_cluster(r.nodules, g, r.readers);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0], (std::vector<int>{0, 1}));
  EXPECT_EQ(groups[1], (std::vector<int>{2}));
  const auto label = lidc_label(r, g, 0.5);
  int count = 0;
  for (auto v : label) count += v;
  // A: union of interiors x,y 2..5 and 3..6 (0.5 of 2 keeps either) = 16 + 16 - 9 = 23;
  // B: interior 13..15 = 9.
  EXPECT_EQ(count, 23 + 9);
  EXPECT_EQ(label[2 * 20 + 2], 1);
  EXPECT_EQ(label[14 * 20 + 14], 1);
  // At level 1, A keeps only the intersection 3..5 (9 pixels).
  int strict = 0;
  for (auto v : lidc_label(r, g, 1.0)) strict += v;
  EXPECT_EQ(strict, 9 + 9);
}

TEST(LidcConsensus, TwoOfThreeReadersKeepAVoxelAtHalf) {
  LidcRead r;
  r.readers = 3;
  // Same nodule: readers 0 and 1 outline 1..5 (interior 2..4), reader 2 outlines 2..6 (3..5).
  r.nodules = {square(0, 1, 1, 5, 5, "s0"), square(1, 1, 1, 5, 5, "s0"),
               square(2, 2, 2, 6, 6, "s0")};
  LidcGrid g;
  g.ni = g.nj = 10;
  g.slices = {{"s0", 0.0}};
  const auto label = lidc_label(r, g, 0.5);
  EXPECT_EQ(label[2 * 10 + 2], 1);  // 2 of 3
  EXPECT_EQ(label[5 * 10 + 5], 0);  // 1 of 3
  EXPECT_EQ(label[3 * 10 + 3], 1);  // 3 of 3
  int count = 0;
  for (auto v : label) count += v;
  EXPECT_EQ(count, 9);
}

TEST(LidcClusters, ShrinkWhenAClusterHasMoreAnnotationsThanReaders) {
  // One reader outlines two touching nodules: at tol = 1 pixel they join; with one reader the
  // cluster is too big, so tol shrinks until they separate.
  LidcGrid g;
  g.ni = g.nj = 20;
  g.slices = {{"s0", 0.0}};
  const std::vector<LidcNodule> n = {square(0, 1, 1, 5, 5, "s0"), square(0, 6, 1, 10, 5, "s0")};
  EXPECT_EQ(lidc_cluster(n, g, 2).size(), 1u);
  EXPECT_EQ(lidc_cluster(n, g, 1).size(), 2u);
}

TEST(LidcOutline, TracesARectangleClockwiseFromItsTopLeftPixel) {
  const int w = 7, h = 6;
  std::vector<std::uint8_t> m(w * h, 0);
  for (int y = 1; y <= 3; ++y)
    for (int x = 1; x <= 4; ++x) m[y * w + x] = 1;
  EXPECT_EQ(lidc_outline(m, w, h, false), rect_chain(1, 1, 4, 3));
  EXPECT_EQ(lidc_outline(m, w, h, true), rect_chain(0, 0, 5, 4));
  std::vector<std::uint8_t> one(w * h, 0);
  one[2 * w + 5] = 1;
  EXPECT_EQ(lidc_outline(one, w, h, false), (std::vector<std::array<int, 2>>{{5, 2}}));
  EXPECT_EQ(lidc_outline(one, w, h, true), rect_chain(4, 1, 6, 3));
}

TEST(LidcOutline, OutlinesGiveBackADiscAsInclusionAndAsExclusion) {
  // A digital disc of radius 3.2 around (8, 7). Its outside outline, read as an inclusion roi,
  // masks exactly the disc (LIDC outlines lie just outside the nodule). Its inside outline, read
  // as an exclusion roi within a large inclusion, removes exactly the disc.
  const int w = 16, h = 15;
  std::vector<std::uint8_t> disc(w * h, 0);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) disc[y * w + x] = std::hypot(x - 8, y - 7) < 3.2;
  LidcGrid g;
  g.ni = w;
  g.nj = h;
  g.slices = {{"s0", 0.0}};
  LidcNodule n;
  n.rois.push_back({0, "s0", true, lidc_outline(disc, w, h, true)});
  std::vector<std::int64_t> in_disc, around;
  for (int v = 0; v < w * h; ++v) {
    const int x = v % w, y = v / w;
    if (disc[v]) in_disc.push_back(v);
    if (!disc[v] && x >= 1 && x <= 14 && y >= 1 && y <= 13) around.push_back(v);
  }
  EXPECT_EQ(lidc_annotation_mask(n, g), in_disc);
  n.rois = {{0, "s0", true, rect_chain(0, 0, 15, 14)},
            {0, "s0", false, lidc_outline(disc, w, h, false)}};
  EXPECT_EQ(lidc_annotation_mask(n, g), around);
}

using testing::phantom_options;
using testing::TempDir;
using testing::tree_bytes;

constexpr std::array<int, 3> kSize = {64, 60, 18};  // phantom volumes

TEST(LidcPhantom, SameSeedGivesIdenticalBytes) {
  TempDir a("seed_a"), b("seed_b"), c("seed_c");
  const DatasetKind& kind = dataset_kind("lidc");
  EXPECT_EQ(kind.write_phantom(a.path(), phantom_options(3, 1, kSize)), 1);
  kind.write_phantom(b.path(), phantom_options(3, 1, kSize));
  kind.write_phantom(c.path(), phantom_options(4, 1, kSize));
  const auto ta = tree_bytes(a.path());
  EXPECT_EQ(ta.size(), 18u + 1u);  // 18 slices and one XML
  EXPECT_EQ(ta, tree_bytes(b.path()));
  EXPECT_NE(ta, tree_bytes(c.path()));
}

TEST(LidcDataset, FindsEveryScanFolderAndKeepsAPatientsScansInOneGroup) {
  TempDir d("layout");
  dataset_kind("lidc").write_phantom(d.path(), phantom_options(5, 1, kSize));
  const fs::path patient = d.path() / "LIDC-IDRI-0001";
  const fs::path study = fs::directory_iterator(patient)->path();
  const fs::path series = fs::directory_iterator(study)->path();
  // A second scan of the same patient, and a radiograph folder whose XML is not an LIDC CT read.
  fs::create_directories(patient / "second-study");
  fs::copy(series, patient / "second-study" / "second-series", fs::copy_options::recursive);
  fs::create_directories(patient / "dx" / "cr");
  write_file_atomic(patient / "dx" / "cr" / "1.xml", "<IdriReadMessage/>");
  write_file_atomic(patient / "dx" / "cr" / "1-1.dcm", "not read");
  DatasetConfig config;
  config.kind = "lidc";
  config.root = d.path().string();
  const auto refs = dataset_kind("lidc").open(config)->cases();
  ASSERT_EQ(refs.size(), 2u);
  EXPECT_EQ(refs[0].id, "LIDC-IDRI-0001");
  EXPECT_EQ(refs[1].id, "LIDC-IDRI-0001_2");
  EXPECT_EQ(refs[0].group, "LIDC-IDRI-0001");
  EXPECT_EQ(refs[1].group, "LIDC-IDRI-0001");
}

struct LoadedPhantom {
  TempDir dir{"roundtrip"};
  std::vector<CaseRef> refs;
  std::vector<Case> cases;
};

const LoadedPhantom& loaded() {
  static LoadedPhantom* p = [] {
    auto* l = new LoadedPhantom;
    dataset_kind("lidc").write_phantom(l->dir.path(), phantom_options(11, 3, kSize));
    DatasetConfig config;
    config.kind = "lidc";
    config.root = l->dir.path().string();
    const auto adapter = dataset_kind("lidc").open(config);
    l->refs = adapter->cases();
    for (const auto& r : l->refs) l->cases.push_back(adapter->load(r));
    return l;
  }();
  return *p;
}

TEST(LidcPhantom, UsesTheTciaLayoutWithOneXmlPerSeriesFolder) {
  const auto& l = loaded();
  ASSERT_EQ(l.refs.size(), 3u);
  for (int p = 0; p < 3; ++p) {
    const CaseRef& r = l.refs[p];
    EXPECT_EQ(r.id, "LIDC-IDRI-000" + std::to_string(p + 1));
    EXPECT_EQ(r.group, r.id);
    ASSERT_EQ(r.files.size(), 19u);
    EXPECT_EQ(fs::path(r.files[0]).extension(), ".xml");
    // root / patient / study / series / file
    const fs::path rel = fs::relative(r.files[0], l.dir.path());
    EXPECT_EQ(std::distance(rel.begin(), rel.end()), 4);
    EXPECT_EQ(rel.begin()->string(), r.id);
    const LidcRead read = read_lidc_xml(r.files[0]);
    EXPECT_EQ(rel.parent_path().filename().string(), read.series_uid);
    EXPECT_GE(read.readers, 1);
    EXPECT_LE(read.readers, 4);
    EXPECT_FALSE(read.nodules.empty());
  }
}

TEST(LidcPhantom, LoadsChestCtWithPlausibleGeometryAndHu) {
  for (const Case& c : loaded().cases) {
    const Volume& v = c.image;
    ASSERT_EQ(v.dims, (std::array<std::int64_t, 3>{64, 60, 18}));
    EXPECT_GE(v.spacing[0], 300.0 / 64 - 0.01);
    EXPECT_LE(v.spacing[0], 400.0 / 64 + 0.01);
    EXPECT_DOUBLE_EQ(v.spacing[0], v.spacing[1]);
    EXPECT_GE(v.spacing[2], 1.25 - 1e-6);
    EXPECT_LE(v.spacing[2], 2.5 + 1e-6);
    EXPECT_NEAR(std::fabs(v.affine[0][0]), v.spacing[0], 1e-6);
    EXPECT_NEAR(std::fabs(v.affine[2][2]), v.spacing[2], 1e-6);
    // The lungs lie left and right of the midline: median HU of columns at 30% and 70% width,
    // mid-depth, over all slices, is that of aerated lung.
    for (double fx : {0.3, 0.7}) {
      std::vector<float> hu;
      for (std::int64_t k = 0; k < v.dims[2]; ++k)
        for (int dj = -2; dj <= 2; ++dj) {
          const std::int64_t i = std::llround(fx * v.dims[0]), j = v.dims[1] / 2 + dj;
          hu.push_back(v.data[(k * v.dims[1] + j) * v.dims[0] + i]);
        }
      std::nth_element(hu.begin(), hu.begin() + hu.size() / 2, hu.end());
      EXPECT_GT(hu[hu.size() / 2], -920) << c.id << " at " << fx;
      EXPECT_LT(hu[hu.size() / 2], -700) << c.id << " at " << fx;
    }
    // Corners are outside the body: air.
    EXPECT_LT(v.data[0], -900);
  }
}

TEST(LidcPhantom, LabelIsBinaryAndCoversTheBrightNodules) {
  for (const Case& c : loaded().cases) {
    ASSERT_EQ(c.label.size(), static_cast<std::size_t>(c.image.voxels()));
    std::int64_t n = 0, bright = 0;
    double sum = 0;
    for (std::size_t v = 0; v < c.label.size(); ++v) {
      ASSERT_LE(c.label[v], 1);
      if (!c.label[v]) continue;
      ++n;
      sum += c.image.data[v];
      bright += c.image.data[v] > -600;
    }
    ASSERT_GT(n, 0) << c.id;
    EXPECT_GT(sum / n, -450) << c.id;  // solid 0..50 HU, ground glass -550, partial volume
    EXPECT_GT(double(bright) / n, 0.6) << c.id;
  }
}

TEST(LidcPhantom, CavityGetsAnExclusionContourAroundAir) {
  const auto& l = loaded();
  const std::string xml = read_file(l.refs[0].files[0]);
  ASSERT_NE(xml.find("<inclusion>FALSE</inclusion>"), std::string::npos);
  const LidcRead read = read_lidc_xml(l.refs[0].files[0]);
  const Case& c = l.cases[0];
  // Slices by z only (k superior in the RAS affine), so the z fallback is exercised too.
  LidcGrid g;
  g.ni = static_cast<int>(c.image.dims[0]);
  g.nj = static_cast<int>(c.image.dims[1]);
  g.pixel_spacing = {c.image.spacing[0], c.image.spacing[1]};
  for (std::int64_t k = 0; k < c.image.dims[2]; ++k)
    g.slices.push_back({"", c.image.affine[2][3] + k * c.image.affine[2][2]});
  int holes = 0;
  double hu = 0;
  for (const auto& n : read.nodules) {
    LidcNodule by_z = n;
    for (auto& roi : by_z.rois) roi.sop_uid.clear();
    const auto mask = lidc_annotation_mask(by_z, g);
    for (const auto& roi : n.rois) {
      if (roi.inclusion) continue;
      double sx = 0, sy = 0;
      for (const auto& p : roi.points) sx += p[0], sy += p[1];
      const auto i = std::llround(sx / roi.points.size()), j = std::llround(sy / roi.points.size());
      const int k = lidc_match_slice(roi, g);  // by z: the grid has no SOP UIDs
      ASSERT_GE(k, 0);
      const std::int64_t v = (std::int64_t(k) * g.nj + j) * g.ni + i;
      EXPECT_FALSE(std::binary_search(mask.begin(), mask.end(), v));  // the reader's hole
      hu += c.image.data[v];
      ++holes;
    }
  }
  ASSERT_GT(holes, 0);
  EXPECT_LT(hu / holes, -300);  // the cavity holds air
}

TEST(LidcPhantom, SliceFilesAreNotNamedInPositionOrder) {
  for (const CaseRef& r : loaded().refs) {
    const DicomSeries s = read_dicom_series(fs::path(r.files[0]).parent_path().string());
    std::vector<std::string> names;
    for (const auto& slice : s.slices) names.push_back(fs::path(slice.file).filename().string());
    ASSERT_EQ(names.size(), 18u);
    EXPECT_FALSE(std::is_sorted(names.begin(), names.end())) << r.id;
  }
}

TEST(LidcOptions, ConsensusMustLieInZeroToOne) {
  const DatasetKind& k = dataset_kind("lidc");
  EXPECT_TRUE(k.check_options(nlohmann::json::object()).ok());
  EXPECT_TRUE(k.check_options({{"consensus", 0.25}}).ok());
  EXPECT_EQ(k.check_options({{"consensus", 0}}).key(), "consensus");
  EXPECT_EQ(k.check_options({{"consensus", 1.5}}).key(), "consensus");
  EXPECT_EQ(k.check_options({{"consensus", "half"}}).message(),
            "consensus must be a number in (0, 1], the share of a nodule's readers that must mark "
            "a voxel (pylidc clevel)");
  EXPECT_EQ(k.check_options({{"min_readers", 2}}).key(), "min_readers");
  EXPECT_TRUE(k.check_options({{"slice_gaps", "refuse"}}).ok());
  const Status gaps = k.check_options({{"slice_gaps", "resample"}});
  EXPECT_EQ(gaps.key(), "slice_gaps");
  EXPECT_EQ(gaps.message(), "slice_gaps must be warn or refuse (got \"resample\")");
}

TEST(LidcDataset, ASeriesWithAMissingSliceWarnsOrIsRefusedAsConfigured) {
  TempDir dir("gap");
  dataset_kind("lidc").write_phantom(dir.path(), phantom_options(3, 1, kSize));
  DatasetConfig config;
  config.name = "nodules";
  config.kind = "lidc";
  config.root = dir.path().string();
  const auto warn = dataset_kind("lidc").open(config);
  const CaseRef ref = warn->cases().at(0);
  // Remove the slice in the middle of the stack: its neighbours are now two steps apart.
  const DicomSeries s = read_dicom_series(fs::path(ref.files[0]).parent_path().string());
  fs::remove(s.slices[9].file);
  const Case c = warn->load(warn->cases().at(0));
  EXPECT_EQ(c.image.dims[2], 17);  // kept as they are, with a warning
  config.options = {{"slice_gaps", "refuse"}};
  const auto refuse = dataset_kind("lidc").open(config);
  try {
    refuse->load(refuse->cases().at(0));
    ADD_FAILURE() << "expected the uneven series to be refused";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("non-uniform"), std::string::npos) << e.what();
  }
}

// ---- Slice unit ----

TEST(LidcExtent, IsTheFarthestPairOfPixelCornersOnOneSlice) {
  LidcGrid g;
  g.ni = 10;
  g.nj = 8;
  g.pixel_spacing = {0.5, 2.0};
  g.slices = {{"a", 0.0}, {"b", 1.0}};
  const std::int64_t plane = 80;
  EXPECT_EQ(lidc_max_extent_mm({}, g), 0.0);
  EXPECT_DOUBLE_EQ(lidc_max_extent_mm({3 * 10 + 4}, g), std::hypot(0.5, 2.0));  // one pixel
  // A 3 x 2 block on slice 0 (x 1..3, y 2..3) and a 1 x 3 column on slice 1 (x 7, y 0..2):
  // 1.5 x 4 mm against 0.5 x 6 mm. Extents are per slice, never across slices.
  std::vector<std::int64_t> v = {21, 22, 23, 31, 32, 33, plane + 7, plane + 17, plane + 27};
  EXPECT_DOUBLE_EQ(lidc_max_extent_mm(v, g), std::hypot(0.5, 6.0));
  // A diagonal pair with a hole row between them: corners (1, 1) .. (6, 5) pixels apart.
  EXPECT_DOUBLE_EQ(lidc_max_extent_mm({11, 4 * 10 + 5}, g), std::hypot(5 * 0.5, 4 * 2.0));
}

TEST(LidcExtent, ComponentsAre26Connected) {
  LidcGrid g;
  g.ni = 10;
  g.nj = 8;
  g.slices = {{"a", 0.0}, {"b", 1.0}, {"c", 2.0}};
  const std::int64_t plane = 80;
  // 11 and 22 touch at a corner, 22 and slice 1's 33 across slices (diagonally); 66 is apart, and
  // so is slice 2's 11 from slice 0's 11 (two slices away).
  const auto parts = lidc_components({66, 11, 22, plane + 33, 2 * plane + 11}, g);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0], (std::vector<std::int64_t>{11, 22, plane + 33}));
  EXPECT_EQ(parts[1], (std::vector<std::int64_t>{66}));
  EXPECT_EQ(parts[2], (std::vector<std::int64_t>{2 * plane + 11}));
  // Row ends do not wrap: the last pixel of row 0 and the first of row 1 are not neighbours
  // unless they touch in the plane (9 and 10 are 9 columns apart).
  EXPECT_EQ(lidc_components({9, 10}, g).size(), 2u);
}

TEST(LidcOptions, UnitIsVolumeOrSliceAndMinDiameterIsAFiniteMillimetreCount) {
  const DatasetKind& k = dataset_kind("lidc");
  EXPECT_TRUE(k.check_options({{"unit", "volume"}}).ok());
  EXPECT_TRUE(k.check_options({{"unit", "slice"}}).ok());
  EXPECT_TRUE(k.check_options({{"unit", "slice"}, {"min_diameter_mm", 0}}).ok());
  EXPECT_TRUE(k.check_options({{"unit", "slice"}, {"min_diameter_mm", 3.5}}).ok());
  const Status unit = k.check_options({{"unit", "patch"}});
  EXPECT_EQ(unit.key(), "unit");
  EXPECT_NE(unit.message().find("volume"), std::string::npos) << unit.message();
  EXPECT_NE(unit.message().find("slice"), std::string::npos) << unit.message();
  EXPECT_NE(unit.message().find("\"patch\""), std::string::npos) << unit.message();
  EXPECT_EQ(k.check_options({{"unit", 2}}).key(), "unit");
  for (const nlohmann::json& bad :
       {nlohmann::json(-0.5), nlohmann::json("3"), nlohmann::json(std::nan("")),
        nlohmann::json(std::numeric_limits<double>::infinity())})
    EXPECT_EQ(k.check_options({{"unit", "slice"}, {"min_diameter_mm", bad}}).key(),
              "min_diameter_mm")
        << bad.dump();
  // It selects slices, so without unit slice it would silently do nothing.
  EXPECT_EQ(k.check_options({{"min_diameter_mm", 3}}).key(), "min_diameter_mm");
  DatasetConfig config;
  config.kind = "lidc";
  config.root = "/nonexistent";
  config.options = {{"unit", "scan"}};
  try {
    k.open(config);
    ADD_FAILURE() << "expected unit: scan to be refused";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unit"), std::string::npos) << e.what();
  }
}

constexpr std::array<int, 3> kSliceSize = {64, 64, 24};

// 8 patients in volume unit, with the nodules of each label found independently of the
// adapter: 26-connected components of the consensus label, each with its largest in-plane
// extent (every pixel pair on one slice, farthest corners) and its slices.
struct SlicePhantom {
  TempDir dir{"slices"};
  std::vector<CaseRef> refs;
  std::vector<Case> cases;
  struct Component {
    double extent = 0;
    std::set<int> slices;
  };
  std::vector<std::vector<Component>> components;  // per volume case

  std::unique_ptr<DatasetAdapter> open(nlohmann::json options) const {
    DatasetConfig config;
    config.kind = "lidc";
    config.root = dir.path().string();
    config.options = std::move(options);
    return dataset_kind("lidc").open(config);
  }

  // The slice case ids a threshold must give: volume id + "_z" + k, for every slice of every
  // component whose extent reaches `min_mm`.
  std::set<std::string> expected(double min_mm) const {
    std::set<std::string> out;
    for (std::size_t c = 0; c < cases.size(); ++c)
      for (const auto& comp : components[c])
        if (comp.extent >= min_mm)
          for (int k : comp.slices) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "%03d", k);
            out.insert(cases[c].id + "_z" + buf);
          }
    return out;
  }
};

std::vector<SlicePhantom::Component> label_components(const Case& c) {
  const int ni = static_cast<int>(c.image.dims[0]), nj = static_cast<int>(c.image.dims[1]),
            nk = static_cast<int>(c.image.dims[2]);
  const double sx = c.image.spacing[0], sy = c.image.spacing[1];
  std::vector<int> comp(c.label.size(), -1);
  std::vector<SlicePhantom::Component> out;
  for (std::size_t seed = 0; seed < c.label.size(); ++seed) {
    if (!c.label[seed] || comp[seed] >= 0) continue;
    const int id = static_cast<int>(out.size());
    std::vector<std::size_t> stack = {seed}, members;
    comp[seed] = id;
    while (!stack.empty()) {
      const std::size_t v = stack.back();
      stack.pop_back();
      members.push_back(v);
      const int i = int(v % ni), j = int((v / ni) % nj), k = int(v / (std::size_t(ni) * nj));
      for (int dk = -1; dk <= 1; ++dk)
        for (int dj = -1; dj <= 1; ++dj)
          for (int di = -1; di <= 1; ++di) {
            const int a = i + di, b = j + dj, e = k + dk;
            if (a < 0 || b < 0 || e < 0 || a >= ni || b >= nj || e >= nk) continue;
            const std::size_t w = (std::size_t(e) * nj + b) * ni + a;
            if (c.label[w] && comp[w] < 0) comp[w] = id, stack.push_back(w);
          }
    }
    SlicePhantom::Component cc;
    std::map<int, std::vector<std::array<int, 2>>> by_slice;
    for (std::size_t v : members)
      by_slice[int(v / (std::size_t(ni) * nj))].push_back({int(v % ni), int((v / ni) % nj)});
    for (const auto& [k, px] : by_slice) {
      cc.slices.insert(k);
      for (const auto& p : px)
        for (const auto& q : px)
          cc.extent = std::max(cc.extent, std::hypot((std::abs(p[0] - q[0]) + 1) * sx,
                                                     (std::abs(p[1] - q[1]) + 1) * sy));
    }
    out.push_back(std::move(cc));
  }
  return out;
}

const SlicePhantom& slice_phantom() {
  static SlicePhantom* p = [] {
    auto* s = new SlicePhantom;
    dataset_kind("lidc").write_phantom(s->dir.path(), phantom_options(7, 8, kSliceSize));
    const auto adapter = s->open(nlohmann::json::object());
    s->refs = adapter->cases();
    for (const auto& r : s->refs) {
      s->cases.push_back(adapter->load(r));
      s->components.push_back(label_components(s->cases.back()));
    }
    return s;
  }();
  return *p;
}

std::set<std::string> ids_of(const std::vector<CaseRef>& refs) {
  std::set<std::string> out;
  for (const auto& r : refs) out.insert(r.id);
  return out;
}

TEST(LidcSlices, DefaultCasesAreExactlyTheSlicesWhereTheVolumeLabelIsNonZero) {
  const SlicePhantom& p = slice_phantom();
  ASSERT_EQ(p.cases.size(), 8u);
  // At the phantom's 4.7-6.3 mm pixels every labelled pixel spans > 3 mm, so with the default
  // min_diameter_mm every labelled slice is a case: count them from the label alone.
  std::set<std::string> nonzero;
  for (const Case& c : p.cases) {
    const std::int64_t plane = c.image.dims[0] * c.image.dims[1];
    for (std::int64_t k = 0; k < c.image.dims[2]; ++k)
      if (std::any_of(c.label.begin() + k * plane, c.label.begin() + (k + 1) * plane,
                      [](std::uint8_t v) { return v != 0; })) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "%03d", int(k));
        nonzero.insert(c.id + "_z" + buf);
      }
  }
  EXPECT_GE(nonzero.size(), 24u);  // a few dozen slice cases
  EXPECT_LT(nonzero.size(), 8u * 24u);
  const auto refs = p.open({{"unit", "slice"}})->cases();
  EXPECT_EQ(ids_of(refs), nonzero);
  EXPECT_EQ(refs.size(), nonzero.size());  // no duplicates
  EXPECT_TRUE(std::is_sorted(refs.begin(), refs.end(),
                             [](const CaseRef& a, const CaseRef& b) { return a.id < b.id; }));
  EXPECT_EQ(p.expected(3.0), nonzero);
}

TEST(LidcSlices, MinDiameterKeepsOnlyTheSlicesOfLargeEnoughNodules) {
  const SlicePhantom& p = slice_phantom();
  std::vector<double> extents;
  for (const auto& cs : p.components)
    for (const auto& c : cs) extents.push_back(c.extent);
  std::sort(extents.begin(), extents.end());
  extents.erase(std::unique(extents.begin(), extents.end()), extents.end());
  ASSERT_GE(extents.size(), 3u);
  // Thresholds half-way between distinct nodule sizes, so no nodule sits on the boundary.
  for (std::size_t at : {std::size_t(1), extents.size() / 2, extents.size() - 1}) {
    const double t = (extents[at - 1] + extents[at]) / 2;
    const std::set<std::string> want = p.expected(t);
    ASSERT_FALSE(want.empty());
    ASSERT_LT(want.size(), p.expected(0).size());  // the threshold drops some slices
    EXPECT_EQ(ids_of(p.open({{"unit", "slice"}, {"min_diameter_mm", t}})->cases()), want)
        << "min_diameter_mm " << t;
  }
  EXPECT_TRUE(
      p.open({{"unit", "slice"}, {"min_diameter_mm", extents.back() + 1}})->cases().empty());
  EXPECT_EQ(ids_of(p.open({{"unit", "slice"}, {"min_diameter_mm", 0}})->cases()), p.expected(0));
}

TEST(LidcSlices, EachSliceCaseIsItsVolumesSliceWithTheScansGroupAndFiles) {
  const SlicePhantom& p = slice_phantom();
  const auto adapter = p.open({{"unit", "slice"}});
  const auto refs = adapter->cases();
  ASSERT_FALSE(refs.empty());
  std::map<std::string, std::size_t> volume;  // id -> index
  for (std::size_t c = 0; c < p.refs.size(); ++c) volume[p.refs[c].id] = c;
  std::set<std::string> patients;
  for (const CaseRef& r : refs) {
    // "<volume id>_z<NNN>"
    const std::size_t tag = r.id.rfind("_z");
    ASSERT_NE(tag, std::string::npos) << r.id;
    const std::string digits = r.id.substr(tag + 2);
    ASSERT_EQ(digits.size(), 3u) << r.id;
    ASSERT_TRUE(std::all_of(digits.begin(), digits.end(), ::isdigit)) << r.id;
    const int k = std::stoi(digits);
    ASSERT_TRUE(volume.count(r.id.substr(0, tag))) << r.id;
    const std::size_t vc = volume[r.id.substr(0, tag)];
    const CaseRef& vref = p.refs[vc];
    EXPECT_EQ(r.group, vref.group);
    EXPECT_EQ(r.group, r.id.substr(0, 14));  // LIDC-IDRI-NNNN
    EXPECT_EQ(r.files, vref.files);
    patients.insert(r.group);

    const Case c = adapter->load(r);
    const Case& v = p.cases[vc];
    EXPECT_EQ(c.id, r.id);
    ASSERT_EQ(c.image.dims, (std::array<std::int64_t, 3>{v.image.dims[0], v.image.dims[1], 1}));
    EXPECT_EQ(c.image.channels, 1);
    EXPECT_EQ(c.image.spacing, v.image.spacing);
    const std::int64_t plane = v.image.dims[0] * v.image.dims[1];
    ASSERT_EQ(c.image.data.size(), std::size_t(plane));
    ASSERT_EQ(c.label.size(), std::size_t(plane));
    EXPECT_TRUE(
        std::equal(c.image.data.begin(), c.image.data.end(), v.image.data.begin() + k * plane))
        << r.id;
    EXPECT_TRUE(std::equal(c.label.begin(), c.label.end(), v.label.begin() + k * plane)) << r.id;
    EXPECT_TRUE(std::any_of(c.label.begin(), c.label.end(), [](auto x) { return x != 0; }));
    // Voxel (i, j, 0) of the slice lies where voxel (i, j, k) of the volume does.
    for (int r3 = 0; r3 < 3; ++r3) {
      for (int col = 0; col < 3; ++col)
        EXPECT_DOUBLE_EQ(c.image.affine[r3][col], v.image.affine[r3][col]);
      EXPECT_NEAR(c.image.affine[r3][3], v.image.affine[r3][3] + k * v.image.affine[r3][2], 1e-9);
    }
  }
  EXPECT_GE(patients.size(), 6u);  // nodule slices come from most patients
  // A slice id that names no slice of the scan is an error, not a wrapped read.
  CaseRef beyond = refs.front();
  beyond.id = beyond.id.substr(0, beyond.id.rfind("_z")) + "_z999";
  EXPECT_THROW(adapter->load(beyond), Error);
  CaseRef plain = refs.front();
  plain.id = plain.group;
  EXPECT_THROW(adapter->load(plain), Error);
}

TEST(LidcSlices, VolumeUnitIsUnchangedByTheNewOptions) {
  const SlicePhantom& p = slice_phantom();
  const auto adapter = p.open({{"unit", "volume"}});
  const auto refs = adapter->cases();
  ASSERT_EQ(ids_of(refs), ids_of(p.refs));
  const Case c = adapter->load(refs.back());
  EXPECT_EQ(c.image.dims, p.cases.back().image.dims);
  EXPECT_EQ(c.label, p.cases.back().label);
}

}  // namespace
}  // namespace orch

// make_split: a seeded, deterministic train/val/test division of case ids.
#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/config/config.h"
#include "common/status.h"
#include "datastore/datasets/dataset.h"

namespace orch {
namespace {

std::vector<std::string> case_ids(int n) {
  std::vector<std::string> ids;
  for (int i = 1; i <= n; ++i) {
    std::string num = std::to_string(i);
    ids.push_back("case_" + std::string(3 - num.size(), '0') + num);
  }
  return ids;
}

SplitOptions options(double train, double val, std::uint64_t seed = 0) {
  SplitOptions o;
  o.train = train;
  o.val = val;
  o.seed = seed;
  return o;
}

std::vector<std::string> all_of(const Split& s) {
  std::vector<std::string> out = s.train;
  out.insert(out.end(), s.val.begin(), s.val.end());
  out.insert(out.end(), s.test.begin(), s.test.end());
  return out;
}

::testing::AssertionResult HasSizes(const Split& s, std::size_t train, std::size_t val,
                                    std::size_t test) {
  if (s.train.size() == train && s.val.size() == val && s.test.size() == test)
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "split is " << s.train.size() << "/" << s.val.size() << "/" << s.test.size()
         << ", expected " << train << "/" << val << "/" << test;
}

TEST(MakeSplitTest, SameSeedGivesTheSameSplit) {
  const Split a = make_split(case_ids(30), options(0.6, 0.2, 5));
  const Split b = make_split(case_ids(30), options(0.6, 0.2, 5));
  EXPECT_EQ(a.train, b.train);
  EXPECT_EQ(a.val, b.val);
  EXPECT_EQ(a.test, b.test);
}

TEST(MakeSplitTest, DifferentSeedsGiveDifferentSplits) {
  const Split a = make_split(case_ids(30), options(0.6, 0.2, 0));
  const Split b = make_split(case_ids(30), options(0.6, 0.2, 1));
  EXPECT_NE(all_of(a), all_of(b));
  // Same sizes whatever the seed.
  EXPECT_EQ(a.train.size(), b.train.size());
  EXPECT_EQ(a.val.size(), b.val.size());
}

TEST(MakeSplitTest, CasesAreShuffledNotTakenInOrder) {
  // With 30 cases the chance that a seeded shuffle leaves them sorted is 1 / 30!.
  const std::vector<std::string> ids = case_ids(30);
  EXPECT_NE(all_of(make_split(ids, options(0.6, 0.2, 0))), ids);
}

TEST(MakeSplitTest, PartsAreDisjointAndCoverEveryCase) {
  const std::vector<std::string> ids = case_ids(25);
  for (std::uint64_t seed : {0u, 1u, 2u, 99u}) {
    SCOPED_TRACE(seed);
    std::vector<std::string> all = all_of(make_split(ids, options(0.7, 0.15, seed)));
    std::sort(all.begin(), all.end());
    EXPECT_EQ(all, ids);  // every case exactly once
  }
}

TEST(MakeSplitTest, FractionsAreRoundedToCaseCounts) {
  // 12 * 0.5 = 6; 12 * 0.17 = 2.04 -> 2; the test split takes the remaining 4.
  EXPECT_TRUE(HasSizes(make_split(case_ids(12), options(0.5, 0.17)), 6, 2, 4));
  // 13 * 0.5 = 6.5 -> 7 (std::round: halves away from zero); 13 * 0.17 = 2.21 -> 2; test 4.
  EXPECT_TRUE(HasSizes(make_split(case_ids(13), options(0.5, 0.17)), 7, 2, 4));
  // 10 * 0.78 = 7.8 -> 8; 10 * 0.18 = 1.8 -> 2; that would leave no test case, so the rounded
  // train share gives one up: 7 / 2 / 1.
  EXPECT_TRUE(HasSizes(make_split(case_ids(10), options(0.78, 0.18)), 7, 2, 1));
  // 303 MSD hepatic-vessel cases: 0.8 * 303 = 242.4 -> 242; 0.1 * 303 = 30.3 -> 30; test 31.
  EXPECT_TRUE(HasSizes(make_split(case_ids(303), options(0.8, 0.1)), 242, 30, 31));
}

TEST(MakeSplitTest, SharesOfOneOrMoreAreCaseCounts) {
  EXPECT_TRUE(HasSizes(make_split(case_ids(10), options(7, 2)), 7, 2, 1));
  EXPECT_TRUE(HasSizes(make_split(case_ids(303), options(253, 25)), 253, 25, 25));
  // A count mixed with a fraction: 20 * 0.1 = 2 val cases.
  EXPECT_TRUE(HasSizes(make_split(case_ids(20), options(15, 0.1)), 15, 2, 3));
}

TEST(MakeSplitTest, EveryPartGetsACaseWhenThereAreThree) {
  // 3 * 0.8 = 2.4 -> 2 train and 3 * 0.1 = 0.3 -> 0 val would leave val empty.
  EXPECT_TRUE(HasSizes(make_split(case_ids(3), options(0.8, 0.1)), 1, 1, 1));
  // 4 * 0.8 = 3.2 -> 3 and 4 * 0.1 = 0.4 -> 0: val takes one, train gives one up.
  EXPECT_TRUE(HasSizes(make_split(case_ids(4), options(0.8, 0.1)), 2, 1, 1));
  // 3 * 0.1 = 0.3 -> 0 train and 3 * 0.8 = 2.4 -> 2 val would leave train or test empty.
  EXPECT_TRUE(HasSizes(make_split(case_ids(3), options(0.1, 0.8)), 1, 1, 1));
  // 5 * 0.12 = 0.6 -> 1 train; 5 * 0.85 = 4.25 -> 4 val would leave test empty, so the rounded
  // val share gives one up.
  EXPECT_TRUE(HasSizes(make_split(case_ids(5), options(0.12, 0.85)), 1, 3, 1));
}

TEST(MakeSplitTest, ZeroValidationShareGivesNoValidationCases) {
  EXPECT_TRUE(HasSizes(make_split(case_ids(10), options(0.8, 0)), 8, 0, 2));
}

TEST(MakeSplitTest, TooFewCasesForTheRequestedCountsIsAnError) {
  // 8 + 5 > 10: the counts cannot be met, and shrinking them silently would train on other
  // data than the file says.
  try {
    make_split(case_ids(10), options(8, 5));
    ADD_FAILURE() << "no error for 8 train + 5 val cases out of 10";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("8 train"), std::string::npos) << what;
    EXPECT_NE(what.find("5 val"), std::string::npos) << what;
    EXPECT_NE(what.find("10"), std::string::npos) << what;
  }
  EXPECT_THROW(make_split(case_ids(5), options(10, 0.1)), Error);  // more train than cases
  EXPECT_THROW(make_split(case_ids(5), options(1, 5)), Error);     // more val than cases
  EXPECT_THROW(make_split(case_ids(5), options(1, 4)), Error);     // nothing left for test
  EXPECT_THROW(make_split(case_ids(10), options(8, 2)), Error);    // nothing left for test
}

TEST(MakeSplitTest, InputOrderDoesNotMatter) {
  std::vector<std::string> ids = case_ids(20);
  const Split sorted = make_split(ids, options(0.6, 0.2, 3));
  std::reverse(ids.begin(), ids.end());
  const Split reversed = make_split(ids, options(0.6, 0.2, 3));
  std::rotate(ids.begin(), ids.begin() + 7, ids.end());
  const Split rotated = make_split(ids, options(0.6, 0.2, 3));
  EXPECT_EQ(sorted.train, reversed.train);
  EXPECT_EQ(sorted.val, reversed.val);
  EXPECT_EQ(sorted.test, reversed.test);
  EXPECT_EQ(sorted.train, rotated.train);
  EXPECT_EQ(sorted.test, rotated.test);
}

TEST(MakeSplitTest, GroupsStayTogetherAndEveryCaseLandsOnce) {
  // Five patients with 1-4 cases each: the split is drawn over patients, so no patient spans two
  // parts, and every case appears exactly once.
  std::vector<CaseRef> cases;
  const std::vector<int> per_patient = {3, 1, 4, 2, 2};
  for (std::size_t p = 0; p < per_patient.size(); ++p)
    for (int t = 0; t < per_patient[p]; ++t)
      cases.push_back(
          {"pat" + std::to_string(p) + "_t" + std::to_string(t), "pat" + std::to_string(p), {}});
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    SplitOptions o = options(2, 1);
    o.seed = seed;
    const Split s = make_split(cases, o);
    std::map<std::string, std::string> part_of_patient;
    std::size_t total = 0;
    for (const auto& [name, part] :
         {std::pair{"train", &s.train}, {"val", &s.val}, {"test", &s.test}}) {
      std::set<std::string> patients;
      for (const auto& id : *part) patients.insert(id.substr(0, id.find('_')));
      for (const auto& p : patients) {
        EXPECT_EQ(part_of_patient.count(p), 0u) << p << " in two parts, seed " << seed;
        part_of_patient[p] = name;
      }
      total += part->size();
    }
    EXPECT_EQ(total, cases.size());
    EXPECT_EQ(part_of_patient.size(), 5u);
    // Two patients train, one validates, two test: counts are of groups, not cases.
    std::set<std::string> train_patients;
    for (const auto& id : s.train) train_patients.insert(id.substr(0, id.find('_')));
    EXPECT_EQ(train_patients.size(), 2u);
  }
}

TEST(NamedSplitTest, KeepsOnlyPresentCasesAndNeedsTrainAndTest) {
  const std::vector<CaseRef> cases = {{"a", "", {}}, {"b", "", {}}, {"c", "", {}}};
  const Split s = named_split(cases, {"a", "x"}, {"y"}, {"c", "z"}, "paper");
  EXPECT_EQ(s.train, (std::vector<std::string>{"a"}));
  EXPECT_TRUE(s.val.empty());
  EXPECT_EQ(s.test, (std::vector<std::string>{"c"}));
  EXPECT_THROW(named_split(cases, {"x"}, {}, {"c"}, "paper"), Error);
}

TEST(MakeSplitTest, AFractionalValGivesWayToAnExplicitTrainCount) {
  // 10 cases, train 8, val 0.2 (= 2): val shrinks to 1 so that the test split keeps one.
  EXPECT_TRUE(HasSizes(make_split(case_ids(10), options(8, 0.2)), 8, 1, 1));
}

TEST(MakeSplitTest, GroupSplitErrorsCountSubjects) {
  std::vector<CaseRef> cases;
  for (int n = 0; n < 8; ++n)
    cases.push_back({"c" + std::to_string(n), "pat" + std::to_string(n / 2), {}});
  try {
    make_split(cases, options(4, 1));
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("val subjects but the dataset has 4"), std::string::npos)
        << e.what();
  }
}

TEST(MakeSplitTest, TinyAndEmptyDatasets) {
  EXPECT_TRUE(HasSizes(make_split(std::vector<std::string>{}, options(0.8, 0.1)), 0, 0, 0));
  // One case: 0.8 -> 1 train, 0.1 -> 0 val, nothing for test (fewer than three cases).
  EXPECT_TRUE(HasSizes(make_split(std::vector<std::string>{"only"}, options(0.8, 0.1)), 1, 0, 0));
  // Two cases: 1.6 -> 2 train.
  EXPECT_TRUE(HasSizes(make_split(std::vector<std::string>{"b", "a"}, options(0.8, 0.1)), 2, 0, 0));
}

// 21 cases of 5 subjects (sizes 5, 4, 4, 4, 4), as the ISBI MS scans: subject "p<n>", case
// "p<n>_t<k>".
std::vector<CaseRef> ms_like_cases() {
  std::vector<CaseRef> cases;
  const std::vector<int> per_subject = {5, 4, 4, 4, 4};
  for (std::size_t p = 0; p < per_subject.size(); ++p)
    for (int t = 0; t < per_subject[p]; ++t)
      cases.push_back(
          {"p" + std::to_string(p) + "_t" + std::to_string(t), "p" + std::to_string(p), {}});
  return cases;
}

std::string subject_of(const std::string& id) { return id.substr(0, id.find('_')); }

std::set<std::string> subjects_of(const std::vector<std::string>& ids) {
  std::set<std::string> out;
  for (const auto& id : ids) out.insert(subject_of(id));
  return out;
}

TEST(MakeSplitTest, WithoutGroupingTheCountsFollowTheCasesAndASubjectMaySpanParts) {
  const std::vector<CaseRef> cases = ms_like_cases();
  std::vector<std::string> ids;
  for (const auto& c : cases) ids.push_back(c.id);
  for (std::uint64_t seed = 0; seed < 10; ++seed) {
    SCOPED_TRACE(seed);
    SplitOptions o = options(0.8, 0.1, seed);
    o.group_by_subject = false;
    const Split s = make_split(cases, o);
    // Over 21 cases: train round(0.8 * 21) = round(16.8) = 17, val round(0.1 * 21) = round(2.1)
    // = 2; neither limit (val <= 21 - 2, train <= 21 - 2 - 1 = 18) applies; test 21 - 19 = 2.
    EXPECT_TRUE(HasSizes(s, 17, 2, 2));
    std::vector<std::string> all = all_of(s);
    std::sort(all.begin(), all.end());
    std::vector<std::string> sorted_ids = ids;
    std::sort(sorted_ids.begin(), sorted_ids.end());
    EXPECT_EQ(all, sorted_ids);  // each case once
    // val holds 2 cases, but every subject has 4 or 5: whatever the seed, val's subject (or
    // subjects) also has cases in another part.
    bool spans = false;
    for (const auto& subject : subjects_of(s.val))
      for (const auto* other : {&s.train, &s.test})
        spans = spans || subjects_of(*other).count(subject) > 0;
    EXPECT_TRUE(spans);
    // It is exactly the split of the bare case ids (each case its own group).
    const Split bare = make_split(ids, o);
    EXPECT_EQ(s.train, bare.train);
    EXPECT_EQ(s.val, bare.val);
    EXPECT_EQ(s.test, bare.test);
  }
}

TEST(MakeSplitTest, WithGroupingTheSameCasesSplitBySubjects) {
  const std::vector<CaseRef> cases = ms_like_cases();
  for (std::uint64_t seed = 0; seed < 10; ++seed) {
    SCOPED_TRACE(seed);
    const Split s = make_split(cases, options(0.8, 0.1, seed));  // group_by_subject: the default
    // Over 5 subjects: train round(4.0) = 4, val round(0.5) = 1 (half away from zero); train
    // gives way to leave one test subject: min(4, 5 - 1 - 1) = 3. So 3 / 1 / 1 subjects.
    const auto train = subjects_of(s.train), val = subjects_of(s.val), test = subjects_of(s.test);
    EXPECT_EQ(train.size(), 3u);
    EXPECT_EQ(val.size(), 1u);
    EXPECT_EQ(test.size(), 1u);
    std::set<std::string> every = train;
    every.insert(val.begin(), val.end());
    every.insert(test.begin(), test.end());
    EXPECT_EQ(every.size(), 5u);  // no subject in two parts
    // Whole subjects: the case counts are the subjects' sizes (p0 has 5, the others 4).
    const auto cases_of = [](const std::set<std::string>& subjects) {
      std::size_t n = 0;
      for (const auto& p : subjects) n += p == "p0" ? 5 : 4;
      return n;
    };
    EXPECT_EQ(s.train.size(), cases_of(train));
    EXPECT_EQ(s.val.size(), cases_of(val));
    EXPECT_EQ(s.test.size(), cases_of(test));
  }
}

// Checks of a `val: test` split: val is the test part, train and test divide every case.
void expect_val_is_test(const Split& s, const std::vector<std::string>& every_case) {
  EXPECT_EQ(s.val, s.test);
  std::vector<std::string> both = s.train;
  both.insert(both.end(), s.test.begin(), s.test.end());
  std::sort(both.begin(), both.end());
  std::vector<std::string> sorted = every_case;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(both, sorted);  // together every case, and none twice (so none in both)
  for (const auto& id : s.train)
    EXPECT_EQ(std::count(s.test.begin(), s.test.end(), id), 0) << id << " in train and test";
}

TEST(MakeSplitTest, ValTestValidatesOnTheTestCases) {
  const std::vector<CaseRef> cases = ms_like_cases();
  std::vector<std::string> ids;
  for (const auto& c : cases) ids.push_back(c.id);
  for (std::uint64_t seed = 0; seed < 5; ++seed) {
    SCOPED_TRACE(seed);
    SplitOptions o = options(0.8, 0.1, seed);  // val's 0.1 is ignored
    o.val_is_test = true;
    o.group_by_subject = false;
    // 21 cases: train round(16.8) = 17, no val part of its own, test 4.
    const Split s = make_split(cases, o);
    EXPECT_TRUE(HasSizes(s, 17, 4, 4));
    expect_val_is_test(s, ids);

    // By subjects: train round(0.8 * 5) = 4 subjects (at most 5 - 1), test the fifth.
    o.group_by_subject = true;
    const Split g = make_split(cases, o);
    EXPECT_EQ(subjects_of(g.train).size(), 4u);
    ASSERT_EQ(subjects_of(g.test).size(), 1u);
    EXPECT_EQ(subjects_of(g.train).count(*subjects_of(g.test).begin()), 0u);
    expect_val_is_test(g, ids);
  }
  // Bare ids: 10 cases, train 0.7 -> 7, test 3; train 0.95 -> round(9.5) = 10, which leaves no
  // test case, so it gives way to 9.
  SplitOptions o = options(0.7, 0.1);
  o.val_is_test = true;
  const Split a = make_split(case_ids(10), o);
  EXPECT_TRUE(HasSizes(a, 7, 3, 3));
  expect_val_is_test(a, case_ids(10));
  o.train = 0.95;
  EXPECT_TRUE(HasSizes(make_split(case_ids(10), o), 9, 1, 1));
  o.train = 3;  // an explicit count
  EXPECT_TRUE(HasSizes(make_split(case_ids(10), o), 3, 7, 7));
}

// make_split's rule (dataset.cpp): "rounded fractions give way, explicit counts that do not fit
// are an error". With `val: test` an explicit train count of every case (or more) leaves no test
// case, so it does not fit.
TEST(MakeSplitTest, ValTestWithAnExplicitTrainCountThatLeavesNoTestCaseIsAnError) {
  SplitOptions o = options(10, 0.1);
  o.val_is_test = true;
  EXPECT_THROW(make_split(case_ids(10), o), Error);
  o.train = 30;
  EXPECT_THROW(make_split(case_ids(10), o), Error);
  o.train = 9;  // fits: one test case
  EXPECT_TRUE(HasSizes(make_split(case_ids(10), o), 9, 1, 1));
}

}  // namespace
}  // namespace orch

// Certificate names, wildcard matching and the checks `nines check` makes.
#include "tls/certificate.h"

#include <gtest/gtest.h>

#include <ctime>

#include "support/process.h"
#include "support/test_tls.h"

namespace nines::tls {
namespace {

using test::MakeTestCa;
using test::MakeTestLeaf;

int64_t Now() {
  return static_cast<int64_t>(std::time(nullptr));
}

TEST(NameMatches, ExactAndWildcardFirstLabelOnly) {
  EXPECT_TRUE(NameMatches("a.test", "a.test"));
  EXPECT_TRUE(NameMatches("a.test", "A.Test"));
  EXPECT_TRUE(NameMatches("a.test", "a.test."));
  EXPECT_FALSE(NameMatches("a.test", "b.test"));
  EXPECT_TRUE(NameMatches("*.a.test", "x.a.test"));
  EXPECT_FALSE(NameMatches("*.a.test", "a.test"));
  EXPECT_FALSE(NameMatches("*.a.test", "y.x.a.test"));
  EXPECT_FALSE(NameMatches("*.a.test", ".a.test"));
}

class CertificateCheck : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::TestDir(::testing::UnitTest::GetInstance()->current_test_info()->name());
    ca_ = MakeTestCa(dir_);
  }
  CertificateFiles Files(const std::string& base) {
    return {dir_ + "/" + base + ".pem", dir_ + "/" + base + ".key"};
  }
  std::string dir_;
  test::TestCa ca_;
};

TEST_F(CertificateCheck, GoodCertificateHasItsNamesAndNoFindings) {
  MakeTestLeaf(ca_, dir_ + "/good", {"a.test", "*.a.test"});
  CertificateReport r = CheckCertificate(Files("good"), Now());
  EXPECT_TRUE(r.errors.empty()) << r.errors[0];
  EXPECT_TRUE(r.warnings.empty());
  EXPECT_EQ(r.names, (std::vector<std::string>{"a.test", "*.a.test"}));
  EXPECT_GT(r.not_after_unix, Now() + 29 * 86400);
}

TEST_F(CertificateCheck, KeyOfAnotherCertificateIsAnError) {
  MakeTestLeaf(ca_, dir_ + "/one", {"one.test"});
  MakeTestLeaf(ca_, dir_ + "/two", {"two.test"});
  CertificateReport r = CheckCertificate({dir_ + "/one.pem", dir_ + "/two.key"}, Now());
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].find("does not match"), std::string::npos) << r.errors[0];
}

TEST_F(CertificateCheck, ExpiredAndNotYetValidAreErrors) {
  MakeTestLeaf(ca_, dir_ + "/old", {"old.test"}, -30, -1);
  CertificateReport old = CheckCertificate(Files("old"), Now());
  ASSERT_EQ(old.errors.size(), 1u);
  EXPECT_NE(old.errors[0].find("expired"), std::string::npos) << old.errors[0];
  MakeTestLeaf(ca_, dir_ + "/future", {"future.test"}, 2, 30);
  CertificateReport future = CheckCertificate(Files("future"), Now());
  ASSERT_EQ(future.errors.size(), 1u);
  EXPECT_NE(future.errors[0].find("not valid yet"), std::string::npos) << future.errors[0];
}

TEST_F(CertificateCheck, ExpiringWithinFourteenDaysIsAWarning) {
  MakeTestLeaf(ca_, dir_ + "/soon", {"soon.test"}, -1, 5);
  CertificateReport r = CheckCertificate(Files("soon"), Now());
  EXPECT_TRUE(r.errors.empty());
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].find("the certificate expires in "), std::string::npos) << r.warnings[0];
}

TEST_F(CertificateCheck, MissingFilesAndChainOutOfOrder) {
  CertificateReport missing = CheckCertificate(Files("nothing"), Now());
  ASSERT_EQ(missing.errors.size(), 1u);
  EXPECT_NE(missing.errors[0].find("cannot read certificate"), std::string::npos);

  // The CA first, then the leaf: the CA did not get issued by the leaf.
  MakeTestLeaf(ca_, dir_ + "/leaf", {"leaf.test"});
  std::string leaf_pem = test::ReadTextFile(dir_ + "/leaf.pem");
  std::string ca_pem = test::ReadTextFile(ca_.cert_file);
  test::WriteFile(dir_ + "/swapped.pem", ca_pem + leaf_pem.substr(0, leaf_pem.find(ca_pem)));
  CertificateReport swapped = CheckCertificate({dir_ + "/swapped.pem", dir_ + "/leaf.key"}, Now());
  EXPECT_FALSE(swapped.errors.empty());
}

}  // namespace
}  // namespace nines::tls

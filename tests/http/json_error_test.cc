// JsonErrorBody: the one JSON error body every nines API answers with.
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "http/response.h"

namespace nines::http {
namespace {

TEST(JsonErrorBody, EscapesTheMessage) {
  EXPECT_EQ(JsonErrorBody("not found"), R"({"error":"not found"})");
  EXPECT_EQ(JsonErrorBody("no key \"a\\b\"\n"), R"({"error":"no key \"a\\b\"\n"})");
}

TEST(JsonErrorBody, FieldsFollowTheError) {
  EXPECT_EQ(JsonErrorBody("no such server", {{"server", "a"}}),
            R"({"error":"no such server","server":"a"})");
  EXPECT_EQ(JsonErrorBody("version mismatch", {{"version", 7}}),
            R"({"error":"version mismatch","version":7})");
}

TEST(JsonErrorBody, InvalidUtf8IsReplacedNotThrown) {
  std::string body = JsonErrorBody(std::string("no key \xff", 8));
  EXPECT_TRUE(nlohmann::json::accept(body)) << body;
}

}  // namespace
}  // namespace nines::http

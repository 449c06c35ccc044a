// Differential test: the same command sequences go to redis-server (7.x, the
// reference) and to a three-member nines store group, and the replies are
// compared byte for byte. The sequences are in redis_diff_cases.txt (one
// command per line, redis-cli-like quoting), so a case is added without a
// rebuild. Where Redis's reply order is unspecified (SMEMBERS, HGETALL,
// SINTER, ...), the case says so with a prefix and the elements are compared
// sorted:
//   sorted:  a flat array, compared as a sorted list of elements;
//   pairs:   a flat array of field/value pairs, compared as sorted pairs;
//   scan:    [cursor, array]: the cursor exactly, the array sorted;
//   shape:   random replies (SPOP, SRANDMEMBER, ...): only the reply's type
//            and element count;
//   any:     sent to both, replies not compared (set-up with randomness);
//   scanall: a SCAN-family command run from cursor 0 until it returns 0 on
//            each side: the union of everything returned, sorted and
//            deduplicated (cursors differ: nines pages in its own hash order);
//   other:   sent on a second connection to each side (another client: a
//            write between WATCH and EXEC); combines with the others.
//   replies:N  the command has N replies (SUBSCRIBE a b: one per channel),
//            compared one after another;
//   push:    nothing is sent: the next reply each side pushes (a Pub/Sub
//            message) is read and compared.
// Tokens "@list:P:N" and "@pairs:P:Q:N" expand to P0..P(N-1) and to
// P0 Q0 P1 Q1 ... (big collections, Redis's hashtable encodings).
// "=== title" starts a block: both are flushed first. Skipped when
// redis-server is not installed (NINES_REDIS_SERVER names another binary).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "store/store_cluster.h"

namespace nines::test {
namespace {

constexpr int kNet = 193;
constexpr int kRedisPort = 16399;

// Splits a line like redis-cli: spaces separate, "..." with \n \r \t \\ \"
// and \xHH escapes.
std::vector<std::string> SplitArgs(const std::string& line) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    if (i >= line.size()) break;
    std::string arg;
    if (line[i] == '"') {
      ++i;
      while (i < line.size() && line[i] != '"') {
        char c = line[i++];
        if (c == '\\' && i < line.size()) {
          char e = line[i++];
          if (e == 'n') {
            c = '\n';
          } else if (e == 'r') {
            c = '\r';
          } else if (e == 't') {
            c = '\t';
          } else if (e == 'x' && i + 1 < line.size()) {
            c = static_cast<char>(std::stoi(line.substr(i, 2), nullptr, 16));
            i += 2;
          } else {
            c = e;
          }
        }
        arg.push_back(c);
      }
      ++i;  // closing quote
    } else {
      while (i < line.size() && line[i] != ' ') arg.push_back(line[i++]);
    }
    out.push_back(arg);
  }
  std::vector<std::string> expanded;
  for (const std::string& arg : out) {
    std::vector<std::string> parts;
    size_t start = 0;
    for (size_t colon; (colon = arg.find(':', start)) != std::string::npos; start = colon + 1) {
      parts.push_back(arg.substr(start, colon - start));
    }
    parts.push_back(arg.substr(start));
    if (parts.size() == 3 && parts[0] == "@list") {
      for (int k = 0; k < std::stoi(parts[2]); ++k)
        expanded.push_back(parts[1] + std::to_string(k));
    } else if (parts.size() == 4 && parts[0] == "@pairs") {
      for (int k = 0; k < std::stoi(parts[3]); ++k) {
        expanded.push_back(parts[1] + std::to_string(k));
        expanded.push_back(parts[2] + std::to_string(k));
      }
    } else {
      expanded.push_back(arg);
    }
  }
  return expanded;
}

// Runs a SCAN-family command (cursor at args[cursor_at]) to the end; the
// sorted, deduplicated raw elements of every page, or "" on an error reply.
std::string ScanAll(RespClient& c, std::vector<std::string> args, size_t cursor_at);

// A parsed RESP2 reply, enough to compare unordered arrays.
struct Reply {
  char type = 0;  // + - : $ *
  std::string text;
  bool null = false;
  std::vector<Reply> elements;
  std::string raw;
};

bool Parse(const std::string& in, size_t* pos, Reply* r) {
  const size_t start = *pos;
  size_t eol = in.find("\r\n", *pos);
  if (eol == std::string::npos || eol == *pos) return false;
  r->type = in[*pos];
  std::string line = in.substr(*pos + 1, eol - *pos - 1);
  *pos = eol + 2;
  if (r->type == '$') {
    long n = std::stol(line);
    if (n < 0) {
      r->null = true;
    } else {
      r->text = in.substr(*pos, static_cast<size_t>(n));
      *pos += static_cast<size_t>(n) + 2;
    }
  } else if (r->type == '*') {
    long n = std::stol(line);
    r->null = n < 0;
    for (long k = 0; k < n; ++k) {
      Reply e;
      if (!Parse(in, pos, &e)) return false;
      r->elements.push_back(std::move(e));
    }
  } else {
    r->text = line;
  }
  r->raw = in.substr(start, *pos - start);
  return true;
}

std::vector<std::string> SortedRaw(const std::vector<Reply>& elements, size_t group) {
  std::vector<std::string> items;
  for (size_t i = 0; i < elements.size(); i += group) {
    std::string item;
    for (size_t k = i; k < i + group && k < elements.size(); ++k) item += elements[k].raw;
    items.push_back(item);
  }
  std::sort(items.begin(), items.end());
  return items;
}

// The comparable form of a reply under a mode.
std::string Canonical(const std::string& mode, const std::string& raw) {
  Reply r;
  size_t pos = 0;
  if (!Parse(raw, &pos, &r)) return "unparsable: " + raw;
  auto join = [](const std::vector<std::string>& v) {
    std::string out;
    for (const std::string& s : v) out += s + "|";
    return out;
  };
  if (mode == "shape" && r.type == '$') return r.null ? "$nil" : "$bulk";
  if (r.type != '*' || r.null) return r.type == '-' || mode.empty() ? raw : r.raw;
  if (mode == "sorted") return "*sorted " + join(SortedRaw(r.elements, 1));
  if (mode == "pairs") return "*pairs " + join(SortedRaw(r.elements, 2));
  if (mode == "scan" && r.elements.size() == 2) {
    return r.elements[0].raw + join(SortedRaw(r.elements[1].elements, 1));
  }
  if (mode == "shape") return "*" + std::to_string(r.elements.size());
  return raw;
}

bool EqualsNoCase(std::string a, std::string b) {
  std::transform(a.begin(), a.end(), a.begin(), ::tolower);
  std::transform(b.begin(), b.end(), b.begin(), ::tolower);
  return a == b;
}

std::string ScanAll(RespClient& c, std::vector<std::string> args, size_t cursor_at) {
  std::vector<std::string> all;
  std::string cursor = "0";
  for (int pages = 0; pages < 100000; ++pages) {
    args[cursor_at] = cursor;
    std::string raw = c.Call(args);
    Reply r;
    size_t pos = 0;
    if (!Parse(raw, &pos, &r) || r.type != '*' || r.elements.size() != 2) return "";
    for (const Reply& e : r.elements[1].elements) all.push_back(e.raw);
    cursor = r.elements[0].text;
    if (cursor == "0") break;
  }
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  std::string out = std::to_string(all.size()) + ":";
  for (const std::string& s : all) out += s;
  return out;
}

class RedisDiffTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* dir : {"/usr/bin", "/usr/local/bin"}) {
      std::string path = std::string(dir) + "/redis-server";
      if (::access(path.c_str(), X_OK) == 0) redis_server_ = path;
    }
    // NINES_REDIS_SERVER: another redis-server binary (Debian's redis-tools
    // ships the same binary as redis-check-rdb; a symlink named redis-server
    // to it runs the server).
    if (const char* env = std::getenv("NINES_REDIS_SERVER"); env != nullptr && *env != '\0') {
      redis_server_ = env;
    }
    if (redis_server_.empty()) GTEST_SKIP() << "redis-server is not installed";
  }
  std::string redis_server_;
};

TEST_F(RedisDiffTest, RepliesMatchRedis) {
  const char* source = std::getenv("NINES_SOURCE_DIR");
  ASSERT_NE(source, nullptr);
  std::ifstream cases(std::string(source) + "/tests/store/redis_diff_cases.txt");
  ASSERT_TRUE(cases.good()) << "redis_diff_cases.txt not found";

  const std::string redis_host = "127.0." + std::to_string(kNet) + ".9";
  std::string dir = TestDir("redis_diff_reference");  // not StoreGroup's directory
  ChildProcess redis({redis_server_, "--bind", redis_host, "--port", std::to_string(kRedisPort),
                      "--save", "", "--appendonly", "no", "--dir", dir},
                     dir + "/redis.log");
  StoreGroup g("redis_diff", kNet);
  g.StartAll();
  const int leader = g.WaitLeader(g.All());
  ASSERT_GE(leader, 0) << "no leader elected";

  RespClient ref;
  ASSERT_TRUE(WaitUntil([&] { return ref.Connect(redis_host, kRedisPort); }, 10000, 20));
  // Through a follower: its writes are forwarded, its reads barriered.
  const int follower = (leader + 1) % 3;
  RespClient ours;
  ASSERT_TRUE(ours.Connect(g.host(), g.member(follower).client));
  // The second client of "other:" lines: on the leader for nines.
  RespClient ref_other;
  ASSERT_TRUE(ref_other.Connect(redis_host, kRedisPort));
  RespClient ours_other;
  ASSERT_TRUE(ours_other.Connect(g.host(), g.member(leader).client));

  std::string line;
  std::string block;
  int line_no = 0;
  int compared = 0;
  int mismatches = 0;
  while (std::getline(cases, line)) {
    ++line_no;
    if (line.empty() || line[0] == '#') continue;
    if (line.rfind("=== ", 0) == 0) {
      block = line.substr(4);
      ASSERT_EQ(ref.Call({"FLUSHALL"}), "+OK\r\n");
      ASSERT_EQ(ours.Call({"FLUSHALL"}), "+OK\r\n");
      continue;
    }
    bool other = false;
    if (line.rfind("other: ", 0) == 0) {
      other = true;
      line = line.substr(7);
    }
    RespClient& ref_client = other ? ref_other : ref;
    RespClient& ours_client = other ? ours_other : ours;
    std::string mode;
    for (const char* m : {"sorted", "pairs", "scan", "shape", "any", "scanall"}) {
      std::string prefix = std::string(m) + ": ";
      if (line.rfind(prefix, 0) == 0) {
        mode = m;
        line = line.substr(prefix.size());
      }
    }
    int replies = 1;
    if (line.rfind("replies:", 0) == 0) {
      size_t space = line.find(' ');
      replies = std::stoi(line.substr(8, space - 8));
      line = line.substr(space + 1);
    }
    if (line == "push:") {
      std::string expected = ref_client.ReadReply();
      std::string got = ours_client.ReadReply();
      ++compared;
      if (expected.empty() || expected != got) {
        ++mismatches;
        ADD_FAILURE() << "[" << block << "] line " << line_no << ": push"
                      << "\n  redis: " << expected << "  nines: " << got;
      }
      continue;
    }
    std::vector<std::string> args = SplitArgs(line);
    if (mode == "scanall") {
      const size_t cursor_at = EqualsNoCase(args[0], "scan") ? 1 : 2;
      std::string expected = ScanAll(ref_client, args, cursor_at);
      std::string got = ScanAll(ours_client, args, cursor_at);
      ++compared;
      if (expected.empty() || expected != got) {
        ++mismatches;
        ADD_FAILURE() << "[" << block << "] line " << line_no << ": " << line
                      << "\n  redis: " << expected.substr(0, 300)
                      << "\n  nines: " << got.substr(0, 300);
      }
      continue;
    }
    std::string expected = ref_client.Call(args);
    std::string got = ours_client.Call(args);
    for (int k = 1; k < replies; ++k) {
      expected += ref_client.ReadReply();
      got += ours_client.ReadReply();
    }
    ASSERT_FALSE(expected.empty()) << "redis-server gave no reply to line " << line_no;
    ASSERT_FALSE(got.empty()) << "nines gave no reply to line " << line_no << ": " << line;
    if (mode == "any") continue;
    ++compared;
    if (Canonical(mode, expected) != Canonical(mode, got)) {
      ++mismatches;
      ADD_FAILURE() << "[" << block << "] line " << line_no << ": " << line
                    << "\n  redis: " << expected << "  nines: " << got;
    }
  }
  std::printf("redis_diff: %d replies compared, %d mismatches\n", compared, mismatches);
  EXPECT_GT(compared, 100);
  redis.Stop(SIGTERM, 5000);
}

}  // namespace
}  // namespace nines::test

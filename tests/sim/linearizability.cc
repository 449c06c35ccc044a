// WGL search over a single key's history with (linearized set, state) caching.
#include "linearizability.h"

#include <algorithm>
#include <cstdlib>
#include <unordered_set>

namespace nines::sim {
namespace {

struct Event {
  int64_t time;
  bool is_call;
  size_t op;
};

// Node of the doubly linked list of events the search lifts out and back.
struct Node {
  bool is_call;
  size_t op;
  int match;  // index of the partner node (return for a call and vice versa)
  int prev, next;
};

// Model step: may `op` run in `state`? If so, the next state.
bool Step(const ClientOp& op, const std::string& state, std::string* next) {
  switch (op.kind) {
    case ClientOp::Kind::kGet:
      *next = state;
      return op.output == state;
    case ClientOp::Kind::kPut:
      *next = op.input;
      return true;
    case ClientOp::Kind::kCas: {
      bool matches = state == op.expected;
      if (op.ret == kNeverReturned) {  // outcome unknown: whatever the model says
        *next = matches ? op.input : state;
        return true;
      }
      bool ok = op.output == "1";
      if (ok != matches) return false;
      *next = ok ? op.input : state;
      return true;
    }
    case ClientOp::Kind::kIncr: {
      char* end = nullptr;
      long long value = state.empty() ? 0 : std::strtoll(state.c_str(), &end, 10);
      if (!state.empty() && *end != '\0') return false;  // INCR of a non-number fails
      *next = std::to_string(value + 1);
      return op.ret == kNeverReturned || op.output == *next;
    }
  }
  return false;
}

struct CacheKey {
  uint64_t mask;
  std::string state;
  bool operator==(const CacheKey&) const = default;
};
struct CacheHash {
  size_t operator()(const CacheKey& k) const {
    return std::hash<std::string>()(k.state) ^ (k.mask * 0x9e3779b97f4a7c15ULL);
  }
};

}  // namespace

LinearizabilityResult CheckKey(const std::vector<ClientOp>& ops, uint64_t max_steps) {
  if (ops.empty()) return LinearizabilityResult::kOk;
  if (ops.size() > kMaxOpsPerKey) return LinearizabilityResult::kGaveUp;
  std::vector<Event> events;
  for (size_t i = 0; i < ops.size(); ++i) {
    events.push_back(Event{ops[i].call, true, i});
    events.push_back(Event{ops[i].ret, false, i});
  }
  // Calls before returns at equal times: concurrent, the permissive reading.
  std::stable_sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
    if (a.time != b.time) return a.time < b.time;
    return a.is_call && !b.is_call;
  });
  // nodes[0] is the head sentinel.
  std::vector<Node> nodes(events.size() + 1);
  std::vector<int> call_node(ops.size()), ret_node(ops.size());
  nodes[0] = Node{false, 0, -1, -1, events.empty() ? -1 : 1};
  for (size_t i = 0; i < events.size(); ++i) {
    int n = static_cast<int>(i) + 1;
    nodes[n] = Node{events[i].is_call, events[i].op, -1, n - 1, i + 1 < events.size() ? n + 1 : -1};
    (events[i].is_call ? call_node : ret_node)[events[i].op] = n;
  }
  for (size_t i = 0; i < ops.size(); ++i) {
    nodes[call_node[i]].match = ret_node[i];
    nodes[ret_node[i]].match = call_node[i];
  }
  auto lift = [&](int n) {
    for (int x : {n, nodes[n].match}) {
      nodes[nodes[x].prev].next = nodes[x].next;
      if (nodes[x].next != -1) nodes[nodes[x].next].prev = nodes[x].prev;
    }
  };
  auto unlift = [&](int n) {
    for (int x : {nodes[n].match, n}) {
      nodes[nodes[x].prev].next = x;
      if (nodes[x].next != -1) nodes[nodes[x].next].prev = x;
    }
  };

  std::unordered_set<CacheKey, CacheHash> cache;
  struct Frame {
    int node;
    std::string state;
  };
  std::vector<Frame> stack;
  std::string state;  // absent key reads as ""
  uint64_t mask = 0;
  int cur = nodes[0].next;
  uint64_t steps = 0;
  while (nodes[0].next != -1) {
    if (++steps > max_steps) return LinearizabilityResult::kGaveUp;
    if (cur == -1) return LinearizabilityResult::kViolation;  // defensive
    const Node& n = nodes[cur];
    if (n.is_call) {
      std::string next;
      if (Step(ops[n.op], state, &next)) {
        uint64_t new_mask = mask | (uint64_t{1} << n.op);
        if (cache.insert(CacheKey{new_mask, next}).second) {
          stack.push_back(Frame{cur, state});
          state = std::move(next);
          mask = new_mask;
          lift(cur);
          cur = nodes[0].next;
          continue;
        }
      }
      cur = nodes[cur].next;
    } else {
      // A return whose call could not be linearized before it: backtrack.
      if (stack.empty()) return LinearizabilityResult::kViolation;
      Frame f = std::move(stack.back());
      stack.pop_back();
      state = std::move(f.state);
      mask &= ~(uint64_t{1} << nodes[f.node].op);
      unlift(f.node);
      cur = nodes[f.node].next;
    }
  }
  return LinearizabilityResult::kOk;
}

LinearizabilityResult CheckHistory(const std::vector<ClientOp>& ops, std::string* bad_key,
                                   uint64_t max_steps_per_key) {
  std::map<std::string, std::vector<ClientOp>> by_key;
  for (const ClientOp& op : ops) by_key[op.key].push_back(op);
  LinearizabilityResult worst = LinearizabilityResult::kOk;
  for (const auto& [key, key_ops] : by_key) {
    LinearizabilityResult r = CheckKey(key_ops, max_steps_per_key);
    if (r == LinearizabilityResult::kViolation) {
      if (bad_key) *bad_key = key;
      return r;
    }
    if (r == LinearizabilityResult::kGaveUp) worst = r;
  }
  return worst;
}

}  // namespace nines::sim

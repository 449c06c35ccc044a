// Sorted set commands: the order of checks follows Redis 7.0's t_zset.c
// (arguments, then the key lookup, then the type), so errors match byte for
// byte. Scores in replies are %.17g (FormatScore); ZSCAN gives them as Redis
// keeps them in a listpack (integers plainly).
#include "store/zset_commands.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "store/command_args.h"
#include "store/command_groups.h"
#include "store/resp_writer.h"
#include "store/set_value.h"
#include "store/sorted_set.h"

namespace nines::store {
namespace {

using resp::ReplyWriter;
using Node = SortedSet::Node;

constexpr std::string_view kErrMustBePositive = "ERR value is out of range, must be positive";
// Redis keeps sorted sets this small in a listpack: ZSCAN then returns them
// whole, in order (zset-max-listpack-entries / -value).
constexpr uint64_t kListpackEntries = 128;
constexpr size_t kListpackValue = 64;

KvResult Error(std::string_view text) {
  return KvResult::Error(std::string(text));
}

// Scores are kept without a negative zero, as Redis's listpack keeps them.
double Normalize(double score) {
  return score == 0 ? 0.0 : score;
}

// Redis's d2string, as ZSCAN shows a score kept in a listpack.
std::string FormatStoredScore(double score) {
  constexpr double kHalf = 4611686018427387904.0;  // LLONG_MAX / 2 as a double: 2^62
  if (!std::isinf(score) && score >= -kHalf && score <= kHalf) {
    auto as_int = static_cast<int64_t>(score);
    if (static_cast<double>(as_int) == score) return fmt::format("{}", as_int);
  }
  return FormatScore(score);
}

// ------------------------------------------------------------ sources

// A sorted set or (as Redis allows for the set operations) a set, whose
// members all score 1.
struct Source {
  const SortedSet* zset = nullptr;
  const SetValue* set = nullptr;
  double weight = 1;

  uint64_t size() const { return zset ? zset->size() : set ? set->size() : 0; }
  bool Lookup(std::string_view member, double* score) const {
    if (zset != nullptr) {
      const Node* node = zset->Find(member);
      if (node == nullptr) return false;
      *score = node->score;
      return true;
    }
    if (set != nullptr && set->Contains(member)) {
      *score = 1;
      return true;
    }
    return false;
  }
  template <typename Visit>
  void ForEach(Visit&& visit) const {
    if (zset != nullptr) {
      for (const Node* x = zset->first(); x != nullptr; x = x->next()) visit(x->member, x->score);
    } else if (set != nullptr) {
      for (size_t i = 0; i < set->size(); ++i) visit(set->at(i), 1.0);
    }
  }
};

// The source for an entry; false if it is neither a sorted set nor a set.
bool SourceOf(const KvEntry* e, Source* source) {
  *source = Source{};
  if (e == nullptr) return true;
  if (e->type == ValueType::kZset) {
    source->zset = e->zset.get();
  } else if (e->type == ValueType::kSet) {
    source->set = e->set.get();
  } else {
    return false;
  }
  return true;
}

enum class SetOp { kUnion, kInter, kDiff };
enum class Aggregate { kSum, kMin, kMax };

void AggregateInto(double* target, double value, Aggregate aggregate) {
  switch (aggregate) {
    case Aggregate::kSum:
      *target += value;
      if (std::isnan(*target)) *target = 0;  // inf + -inf: Redis's convention
      break;
    case Aggregate::kMin:
      *target = value < *target ? value : *target;
      break;
    case Aggregate::kMax:
      *target = value > *target ? value : *target;
      break;
  }
}

struct SetOpRequest {
  SetOp op = SetOp::kUnion;
  std::vector<std::string_view> keys;
  std::vector<double> weights;
  Aggregate aggregate = Aggregate::kSum;
  bool withscores = false;
};

// Parses "numkeys key... [WEIGHTS w...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]"
// from args[numkeys_index], in Redis's order of checks; the key lookup
// (lookup) happens between the key list and the options, as in Redis. Ok with
// the sources filled, or InvalidArgument carrying Redis's error reply.
template <typename Lookup>
Status ParseSetOp(std::span<const std::string_view> args, size_t numkeys_index, bool store,
                  std::string_view name, Lookup&& lookup, SetOpRequest* request,
                  std::vector<Source>* sources) {
  int64_t numkeys = 0;
  if (!ParseRedisInt64(args[numkeys_index], &numkeys))
    return Status::InvalidArgument(std::string(kErrNotInteger));
  if (numkeys < 1) {
    return Status::InvalidArgument(
        fmt::format("ERR at least 1 input key is needed for '{}' command", name));
  }
  if (static_cast<uint64_t>(numkeys) > args.size() - numkeys_index - 1) {
    return Status::InvalidArgument(std::string(kErrSyntax));
  }
  const auto n = static_cast<size_t>(numkeys);
  size_t j = numkeys_index + 1;
  sources->assign(n, Source{});
  for (size_t i = 0; i < n; ++i, ++j) {
    if (!SourceOf(lookup(args[j]), &(*sources)[i]))
      return Status::InvalidArgument(std::string(kErrWrongType));
  }
  while (j < args.size()) {
    const size_t remaining = args.size() - j;
    if (request->op != SetOp::kDiff && remaining >= n + 1 && EqualsIgnoreCase(args[j], "weights")) {
      ++j;
      for (size_t i = 0; i < n; ++i, ++j) {
        if (!ParseScore(args[j], &(*sources)[i].weight)) {
          return Status::InvalidArgument("ERR weight value is not a float");
        }
      }
    } else if (request->op != SetOp::kDiff && remaining >= 2 &&
               EqualsIgnoreCase(args[j], "aggregate")) {
      std::string_view how = args[j + 1];
      if (EqualsIgnoreCase(how, "sum")) {
        request->aggregate = Aggregate::kSum;
      } else if (EqualsIgnoreCase(how, "min")) {
        request->aggregate = Aggregate::kMin;
      } else if (EqualsIgnoreCase(how, "max")) {
        request->aggregate = Aggregate::kMax;
      } else {
        return Status::InvalidArgument(std::string(kErrSyntax));
      }
      j += 2;
    } else if (!store && EqualsIgnoreCase(args[j], "withscores")) {
      request->withscores = true;
      ++j;
    } else {
      return Status::InvalidArgument(std::string(kErrSyntax));
    }
  }
  return Status::Ok();
}

// Computes the union, intersection or difference as Redis does (inputs by
// size for union and intersection, weights multiplied first, NaN as 0).
// store: the result is kept (a zero score loses its sign, as in a listpack);
// else it is only replied (Redis replies from its skip list: -0 stays).
std::unique_ptr<SortedSet> ComputeSetOp(SetOp op, std::vector<Source> sources, Aggregate aggregate,
                                        bool store) {
  auto keep = [store](double score) { return store ? Normalize(score) : score; };
  auto result = std::make_unique<SortedSet>();
  if (op != SetOp::kDiff) {
    std::stable_sort(sources.begin(), sources.end(),
                     [](const Source& a, const Source& b) { return a.size() < b.size(); });
  }
  if (op == SetOp::kInter) {
    if (sources[0].size() == 0) return result;
    sources[0].ForEach([&](std::string_view member, double score0) {
      double score = sources[0].weight * score0;
      if (std::isnan(score)) score = 0;
      for (size_t j = 1; j < sources.size(); ++j) {
        double value = 0;
        if (!sources[j].Lookup(member, &value)) return;
        AggregateInto(&score, value * sources[j].weight, aggregate);
      }
      result->Insert(member, keep(score));
    });
  } else if (op == SetOp::kUnion) {
    std::unordered_map<std::string_view, double> scores;
    std::vector<std::string_view> order;
    for (const Source& source : sources) {
      source.ForEach([&](std::string_view member, double score0) {
        double score = source.weight * score0;
        if (std::isnan(score)) score = 0;
        auto [it, added] = scores.emplace(member, score);
        if (added) {
          order.push_back(member);
        } else {
          AggregateInto(&it->second, score, aggregate);
        }
      });
    }
    for (std::string_view member : order) result->Insert(member, keep(scores[member]));
  } else {
    sources[0].ForEach([&](std::string_view member, double score) {
      double ignored = 0;
      for (size_t j = 1; j < sources.size(); ++j) {
        if (sources[j].Lookup(member, &ignored)) return;
      }
      result->Insert(member, score);
    });
  }
  return result;
}

void WriteMembers(ReplyWriter& reply, const SortedSet& z, bool withscores) {
  reply.ArrayHeader(z.size() * (withscores ? 2 : 1));
  for (const Node* x = z.first(); x != nullptr; x = x->next()) {
    reply.Bulk(x->member);
    if (withscores) reply.Bulk(FormatScore(x->score));
  }
}

// ------------------------------------------------------------ ranges

enum class RangeBy { kAuto, kRank, kScore, kLex };
enum class Direction { kAuto, kForward, kReverse };

struct RangeQuery {
  RangeBy by = RangeBy::kRank;
  bool reverse = false;
  bool withscores = false;
  int64_t start = 0;
  int64_t end = 0;
  ScoreRange score;
  LexRange lex;
  int64_t offset = 0;
  int64_t limit = -1;
};

// Redis's zrangeGenericCommand argument parsing: args[first] is the key,
// then min and max, then options. InvalidArgument carries Redis's error reply.
Status ParseRange(std::span<const std::string_view> args, size_t first, bool store, RangeBy by,
                  Direction direction, RangeQuery* q) {
  size_t min_index = first + 1;
  size_t max_index = first + 2;
  for (size_t j = first + 3; j < args.size(); ++j) {
    const size_t left = args.size() - j - 1;
    if (!store && EqualsIgnoreCase(args[j], "withscores")) {
      q->withscores = true;
    } else if (EqualsIgnoreCase(args[j], "limit") && left >= 2) {
      if (!ParseRedisInt64(args[j + 1], &q->offset) || !ParseRedisInt64(args[j + 2], &q->limit)) {
        return Status::InvalidArgument(std::string(kErrNotInteger));
      }
      j += 2;
    } else if (direction == Direction::kAuto && EqualsIgnoreCase(args[j], "rev")) {
      direction = Direction::kReverse;
    } else if (by == RangeBy::kAuto && EqualsIgnoreCase(args[j], "bylex")) {
      by = RangeBy::kLex;
    } else if (by == RangeBy::kAuto && EqualsIgnoreCase(args[j], "byscore")) {
      by = RangeBy::kScore;
    } else {
      return Status::InvalidArgument(std::string(kErrSyntax));
    }
  }
  if (direction == Direction::kAuto) direction = Direction::kForward;
  if (by == RangeBy::kAuto) by = RangeBy::kRank;
  if (q->limit != -1 && by == RangeBy::kRank) {
    return Status::InvalidArgument(
        "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or "
        "BYLEX");
  }
  if (q->withscores && by == RangeBy::kLex) {
    return Status::InvalidArgument(
        "ERR syntax error, WITHSCORES not supported in combination with BYLEX");
  }
  q->by = by;
  q->reverse = direction == Direction::kReverse;
  if (q->reverse && by != RangeBy::kRank) std::swap(min_index, max_index);
  switch (by) {
    case RangeBy::kAuto:
    case RangeBy::kRank:
      if (!ParseRedisInt64(args[min_index], &q->start) ||
          !ParseRedisInt64(args[max_index], &q->end)) {
        return Status::InvalidArgument(std::string(kErrNotInteger));
      }
      break;
    case RangeBy::kScore:
      if (!ParseScoreRange(args[min_index], args[max_index], &q->score)) {
        return Status::InvalidArgument(std::string(kErrMinMaxNotFloat));
      }
      break;
    case RangeBy::kLex:
      if (!ParseLexRange(args[min_index], args[max_index], &q->lex)) {
        return Status::InvalidArgument(std::string(kErrMinMaxNotString));
      }
      break;
  }
  return Status::Ok();
}

// Clamps a rank range as Redis; false if it is empty.
bool ClampRanks(int64_t start, int64_t end, uint64_t length, uint64_t* first, uint64_t* last) {
  const auto n = static_cast<int64_t>(length);
  if (start < 0) start += n;
  if (end < 0) end += n;
  if (start < 0) start = 0;
  if (start > end || start >= n) return false;
  if (end >= n) end = n - 1;
  *first = static_cast<uint64_t>(start);
  *last = static_cast<uint64_t>(end);
  return true;
}

// The nodes a range query selects, in reply order: O(log n + m).
std::vector<const Node*> SelectRange(const SortedSet& z, const RangeQuery& q) {
  std::vector<const Node*> out;
  const uint64_t length = z.size();
  if (q.by == RangeBy::kRank) {
    uint64_t first = 0;
    uint64_t last = 0;
    if (!ClampRanks(q.start, q.end, length, &first, &last)) return out;
    const Node* x = q.reverse ? z.AtRank(length - 1 - first) : z.AtRank(first);
    for (uint64_t i = first; i <= last && x != nullptr; ++i) {
      out.push_back(x);
      x = q.reverse ? x->prev() : x->next();
    }
    return out;
  }
  if (q.offset > 0 && static_cast<uint64_t>(q.offset) >= length) return out;
  if (q.offset < 0) return out;  // Redis walks past the end
  const bool by_score = q.by == RangeBy::kScore;
  const Node* x = by_score ? (q.reverse ? z.LastInRange(q.score) : z.FirstInRange(q.score))
                           : (q.reverse ? z.LastInLexRange(q.lex) : z.FirstInLexRange(q.lex));
  if (x == nullptr) return out;
  if (q.offset > 0) {
    const uint64_t rank = z.RankOf(x);
    const auto offset = static_cast<uint64_t>(q.offset);
    if (q.reverse) {
      x = offset > rank ? nullptr : z.AtRank(rank - offset);
    } else {
      x = z.AtRank(rank + offset);
    }
  }
  int64_t limit = q.limit;
  while (x != nullptr && limit-- != 0) {
    const bool inside = by_score
                            ? (q.reverse ? q.score.AboveMin(x->score) : q.score.BelowMax(x->score))
                            : (q.reverse ? q.lex.AboveMin(x->member) : q.lex.BelowMax(x->member));
    if (!inside) break;
    out.push_back(x);
    x = q.reverse ? x->prev() : x->next();
  }
  return out;
}

// The range type and direction a ZRANGE-family command name fixes.
void RangeKindOf(std::string_view name, RangeBy* by, Direction* direction) {
  *by = RangeBy::kAuto;
  *direction = Direction::kAuto;
  if (name == "zrevrange") {
    *by = RangeBy::kRank;
    *direction = Direction::kReverse;
  } else if (name == "zrangebyscore") {
    *by = RangeBy::kScore;
    *direction = Direction::kForward;
  } else if (name == "zrevrangebyscore") {
    *by = RangeBy::kScore;
    *direction = Direction::kReverse;
  } else if (name == "zrangebylex") {
    *by = RangeBy::kLex;
    *direction = Direction::kForward;
  } else if (name == "zrevrangebylex") {
    *by = RangeBy::kLex;
    *direction = Direction::kReverse;
  }
}

// The live sorted set under key for a read: null if absent; *wrong_type if
// the key holds something else.
const SortedSet* FindZset(const ReadCall& call, const KvState& state, std::string_view key,
                          bool* wrong_type) {
  *wrong_type = false;
  const KvEntry* e = state.Find(key, call.context.now_ms);
  if (e == nullptr) return nullptr;
  if (e->type != ValueType::kZset) {
    *wrong_type = true;
    return nullptr;
  }
  return e->zset.get();
}

// Stores result under key (replacing whatever it held) or deletes the key
// if the result is empty, as the STORE commands do. Returns the size, or -1
// (nothing changed) when the result is over the element bound.
int64_t StoreResult(KvWriter& w, std::string_view key, std::unique_ptr<SortedSet> result) {
  if (w.OverElementLimit(result->size())) return -1;
  w.Erase(key);
  const auto size = static_cast<int64_t>(result->size());
  if (size == 0) return 0;
  KvEntry* e = w.Create(key, ValueType::kZset);
  e->zset = std::move(result);
  w.Changed(key, e);
  return size;
}

}  // namespace

// ------------------------------------------------------------ writes

KvResult ZAddApply(KvWriter& w, std::span<const std::string_view> args) {
  const bool zincrby = args[0] == "zincrby";
  bool nx = false;
  bool xx = false;
  bool gt = false;
  bool lt = false;
  bool ch = false;
  bool incr = zincrby;
  size_t score_index = 2;
  if (!zincrby) {
    for (; score_index < args.size(); ++score_index) {
      std::string_view opt = args[score_index];
      if (EqualsIgnoreCase(opt, "nx")) {
        nx = true;
      } else if (EqualsIgnoreCase(opt, "xx")) {
        xx = true;
      } else if (EqualsIgnoreCase(opt, "ch")) {
        ch = true;
      } else if (EqualsIgnoreCase(opt, "incr")) {
        incr = true;
      } else if (EqualsIgnoreCase(opt, "gt")) {
        gt = true;
      } else if (EqualsIgnoreCase(opt, "lt")) {
        lt = true;
      } else {
        break;
      }
    }
  }
  const size_t elements = args.size() - score_index;
  if (elements % 2 != 0 || elements == 0) return Error(kErrSyntax);
  const size_t pairs = elements / 2;
  if (nx && xx) return Error("ERR XX and NX options at the same time are not compatible");
  if ((gt && nx) || (lt && nx) || (gt && lt)) {
    return Error("ERR GT, LT, and/or NX options at the same time are not compatible");
  }
  if (incr && pairs > 1) return Error("ERR INCR option supports a single increment-element pair");
  std::vector<double> scores(pairs);
  for (size_t j = 0; j < pairs; ++j) {
    if (!ParseScore(args[score_index + j * 2], &scores[j])) return Error(kErrNotFloat);
  }
  std::string_view key = args[1];
  bool wrong_type = false;
  KvEntry* e = w.FindTyped(key, ValueType::kZset, &wrong_type);
  if (wrong_type) return Error(kErrWrongType);
  if (!xx) {
    uint64_t size = e ? e->zset->size() : 0;
    for (size_t j = 0; j < pairs; ++j) {
      size += e == nullptr || e->zset->Find(args[score_index + 1 + j * 2]) == nullptr;
    }
    if (w.OverElementLimit(size)) return w.ElementLimitError(ValueType::kZset);
  }
  int64_t added = 0;
  int64_t updated = 0;
  int64_t processed = 0;
  double score = 0;
  if (e != nullptr || !xx) {
    const bool created = e == nullptr;
    if (created) e = w.Create(key, ValueType::kZset);
    SortedSet& z = *e->zset;
    for (size_t j = 0; j < pairs; ++j) {
      std::string_view member = args[score_index + 1 + j * 2];
      score = scores[j];
      const Node* node = z.Find(member);
      if (node != nullptr) {
        if (nx) continue;
        const double current = node->score;
        if (incr) {
          score += current;
          if (std::isnan(score)) return Error(kErrScoreNaN);  // INCR: nothing changed
        }
        if ((lt && score >= current) || (gt && score <= current)) continue;
        ++processed;
        if (score != current) {
          z.Set(member, Normalize(score));
          ++updated;
        }
      } else if (!xx) {
        z.Insert(member, Normalize(score));
        ++added;
        ++processed;
      }
    }
    // Only a change counts as a write of the key (WATCH), as in Redis; a new
    // set that got nothing is removed again.
    if (created || added + updated > 0) w.Changed(key, e);
  }
  if (incr) return processed > 0 ? KvResult::Bulk(FormatScore(score)) : KvResult::Nil();
  return KvResult::Integer(ch ? added + updated : added);
}

KvResult ZRemApply(KvWriter& w, std::span<const std::string_view> args) {
  bool wrong_type = false;
  KvEntry* e = w.FindTyped(args[1], ValueType::kZset, &wrong_type);
  if (wrong_type) return Error(kErrWrongType);
  if (e == nullptr) return KvResult::Integer(0);
  int64_t removed = 0;
  for (size_t i = 2; i < args.size(); ++i) removed += e->zset->Erase(args[i]) ? 1 : 0;
  if (removed > 0) w.Changed(args[1], e);
  return KvResult::Integer(removed);
}

KvResult ZRemRangeApply(KvWriter& w, std::span<const std::string_view> args) {
  const std::string_view name = args[0];
  int64_t start = 0;
  int64_t end = 0;
  ScoreRange score;
  LexRange lex;
  if (name == "zremrangebyrank") {
    if (!ParseRedisInt64(args[2], &start) || !ParseRedisInt64(args[3], &end)) {
      return Error(kErrNotInteger);
    }
  } else if (name == "zremrangebyscore") {
    if (!ParseScoreRange(args[2], args[3], &score)) return Error(kErrMinMaxNotFloat);
  } else if (!ParseLexRange(args[2], args[3], &lex)) {
    return Error(kErrMinMaxNotString);
  }
  bool wrong_type = false;
  KvEntry* e = w.FindTyped(args[1], ValueType::kZset, &wrong_type);
  if (wrong_type) return Error(kErrWrongType);
  if (e == nullptr) return KvResult::Integer(0);
  SortedSet& z = *e->zset;
  uint64_t removed = 0;
  if (name == "zremrangebyrank") {
    uint64_t first = 0;
    uint64_t last = 0;
    if (!ClampRanks(start, end, z.size(), &first, &last)) return KvResult::Integer(0);
    removed = z.EraseRun(z.AtRank(first), last - first + 1);
  } else if (name == "zremrangebyscore") {
    removed = z.EraseRun(z.FirstInRange(score), z.CountInRange(score));
  } else {
    removed = z.EraseRun(z.FirstInLexRange(lex), z.CountInLexRange(lex));
  }
  if (removed > 0) w.Changed(args[1], e);
  return KvResult::Integer(static_cast<int64_t>(removed));
}

KvResult ZPopApply(KvWriter& w, std::span<const std::string_view> args) {
  const bool max = args[0] == "zpopmax";
  if (args.size() > 3) return Error(kErrSyntax);
  int64_t count = 1;
  if (args.size() == 3 && (!ParseRedisInt64(args[2], &count) || count < 0)) {
    return Error(kErrMustBePositive);
  }
  std::string out;
  ReplyWriter reply(&out);
  bool wrong_type = false;
  KvEntry* e = w.FindTyped(args[1], ValueType::kZset, &wrong_type);
  if (wrong_type) return Error(kErrWrongType);
  if (e == nullptr || count == 0) {
    reply.ArrayHeader(0);
    return KvResult::Raw(std::move(out));
  }
  SortedSet& z = *e->zset;
  const uint64_t n = std::min<uint64_t>(static_cast<uint64_t>(count), z.size());
  reply.ArrayHeader(n * 2);
  for (uint64_t i = 0; i < n; ++i) {
    const Node* x = max ? z.last() : z.first();
    reply.Bulk(x->member);
    reply.Bulk(FormatScore(x->score));
    z.Erase(x);
  }
  w.Changed(args[1], e);
  return KvResult::Raw(std::move(out));
}

KvResult ZSetOpStoreApply(KvWriter& w, std::span<const std::string_view> args) {
  SetOpRequest request;
  request.op = args[0] == "zunionstore"   ? SetOp::kUnion
               : args[0] == "zinterstore" ? SetOp::kInter
                                          : SetOp::kDiff;
  std::vector<Source> sources;
  Status parsed = ParseSetOp(
      args, 2, true, args[0], [&](std::string_view key) -> const KvEntry* { return w.Find(key); },
      &request, &sources);
  if (!parsed.ok()) return KvResult::Error(parsed.message());
  auto result = ComputeSetOp(request.op, std::move(sources), request.aggregate, true);
  const int64_t stored = StoreResult(w, args[1], std::move(result));
  return stored < 0 ? w.ElementLimitError(ValueType::kZset) : KvResult::Integer(stored);
}

KvResult ZRangeStoreApply(KvWriter& w, std::span<const std::string_view> args) {
  RangeQuery q;
  Status parsed = ParseRange(args, 2, true, RangeBy::kAuto, Direction::kAuto, &q);
  if (!parsed.ok()) return KvResult::Error(parsed.message());
  const KvEntry* source = w.Find(args[2]);
  if (source != nullptr && source->type != ValueType::kZset) return Error(kErrWrongType);
  auto result = std::make_unique<SortedSet>();
  if (source != nullptr) {
    for (const Node* x : SelectRange(*source->zset, q)) result->Insert(x->member, x->score);
  }
  const int64_t stored = StoreResult(w, args[1], std::move(result));
  return stored < 0 ? w.ElementLimitError(ValueType::kZset) : KvResult::Integer(stored);
}

// ------------------------------------------------------------ reads

void ZCardRead(const ReadCall& call, const KvState& state) {
  ReplyWriter reply(call.out);
  bool wrong_type = false;
  const SortedSet* z = FindZset(call, state, call.args[1], &wrong_type);
  if (wrong_type) return reply.Error(kErrWrongType);
  reply.Integer(z == nullptr ? 0 : static_cast<int64_t>(z->size()));
}

void ZScoreRead(const ReadCall& call, const KvState& state) {
  ReplyWriter reply(call.out);
  bool wrong_type = false;
  const SortedSet* z = FindZset(call, state, call.args[1], &wrong_type);
  if (wrong_type) return reply.Error(kErrWrongType);
  const Node* node = z == nullptr ? nullptr : z->Find(call.args[2]);
  if (node == nullptr) return reply.NullBulk();
  reply.Bulk(FormatScore(node->score));
}

void ZMScoreRead(const ReadCall& call, const KvState& state) {
  ReplyWriter reply(call.out);
  bool wrong_type = false;
  const SortedSet* z = FindZset(call, state, call.args[1], &wrong_type);
  if (wrong_type) return reply.Error(kErrWrongType);
  reply.ArrayHeader(call.args.size() - 2);
  for (size_t i = 2; i < call.args.size(); ++i) {
    const Node* node = z == nullptr ? nullptr : z->Find(call.args[i]);
    if (node == nullptr) {
      reply.NullBulk();
    } else {
      reply.Bulk(FormatScore(node->score));
    }
  }
}

void ZRankRead(const ReadCall& call, const KvState& state) {
  ReplyWriter reply(call.out);
  bool wrong_type = false;
  const SortedSet* z = FindZset(call, state, call.args[1], &wrong_type);
  if (wrong_type) return reply.Error(kErrWrongType);
  const Node* node = z == nullptr ? nullptr : z->Find(call.args[2]);
  if (node == nullptr) return reply.NullBulk();
  const uint64_t rank = z->RankOf(node);
  const bool reverse = call.plan.spec->name == "zrevrank";
  reply.Integer(static_cast<int64_t>(reverse ? z->size() - 1 - rank : rank));
}

void ZCountRead(const ReadCall& call, const KvState& state) {
  ReplyWriter reply(call.out);
  ScoreRange range;
  if (!ParseScoreRange(call.args[2], call.args[3], &range)) return reply.Error(kErrMinMaxNotFloat);
  bool wrong_type = false;
  const SortedSet* z = FindZset(call, state, call.args[1], &wrong_type);
  if (wrong_type) return reply.Error(kErrWrongType);
  reply.Integer(z == nullptr ? 0 : static_cast<int64_t>(z->CountInRange(range)));
}

void ZLexCountRead(const ReadCall& call, const KvState& state) {
  ReplyWriter reply(call.out);
  LexRange range;
  if (!ParseLexRange(call.args[2], call.args[3], &range)) return reply.Error(kErrMinMaxNotString);
  bool wrong_type = false;
  const SortedSet* z = FindZset(call, state, call.args[1], &wrong_type);
  if (wrong_type) return reply.Error(kErrWrongType);
  reply.Integer(z == nullptr ? 0 : static_cast<int64_t>(z->CountInLexRange(range)));
}

void ZRangeRead(const ReadCall& call, const KvState& state) {
  ReplyWriter reply(call.out);
  RangeBy by = RangeBy::kAuto;
  Direction direction = Direction::kAuto;
  RangeKindOf(call.plan.spec->name, &by, &direction);
  RangeQuery q;
  Status parsed = ParseRange(call.args, 1, false, by, direction, &q);
  if (!parsed.ok()) return reply.Error(parsed.message());
  bool wrong_type = false;
  const SortedSet* z = FindZset(call, state, call.args[1], &wrong_type);
  if (wrong_type) return reply.Error(kErrWrongType);
  if (z == nullptr) return reply.ArrayHeader(0);
  const std::vector<const Node*> nodes = SelectRange(*z, q);
  reply.ArrayHeader(nodes.size() * (q.withscores ? 2 : 1));
  for (const Node* x : nodes) {
    reply.Bulk(x->member);
    if (q.withscores) reply.Bulk(FormatScore(x->score));
  }
}

void ZSetOpRead(const ReadCall& call, const KvState& state) {
  ReplyWriter reply(call.out);
  const std::string_view name = call.plan.spec->name;
  SetOpRequest request;
  request.op = name == "zunion" ? SetOp::kUnion : name == "zinter" ? SetOp::kInter : SetOp::kDiff;
  std::vector<Source> sources;
  Status parsed = ParseSetOp(
      call.args, 1, false, name,
      [&](std::string_view key) { return state.Find(key, call.context.now_ms); }, &request,
      &sources);
  if (!parsed.ok()) return reply.Error(parsed.message());
  auto result = ComputeSetOp(request.op, std::move(sources), request.aggregate, false);
  WriteMembers(reply, *result, request.withscores);
}

void ZRandMemberRead(const ReadCall& call, const KvState& state) {
  ReplyWriter reply(call.out);
  const auto& args = call.args;
  if (args.size() == 2) {
    bool wrong_type = false;
    const SortedSet* z = FindZset(call, state, args[1], &wrong_type);
    if (wrong_type) return reply.Error(kErrWrongType);
    if (z == nullptr) return reply.NullBulk();
    return reply.Bulk(z->AtRank(ReadRandom() % z->size())->member);
  }
  int64_t count = 0;
  if (Status s = ParseRandomCount(args[2], &count); !s.ok()) return reply.Error(s.message());
  if (args.size() > 4 || (args.size() == 4 && !EqualsIgnoreCase(args[3], "withscores"))) {
    return reply.Error(kErrSyntax);
  }
  const bool withscores = args.size() == 4;
  constexpr int64_t kHalf = std::numeric_limits<int64_t>::max() / 2;
  if (withscores && (count < -kHalf || count > kHalf)) {
    return reply.Error("ERR value is out of range");
  }
  bool wrong_type = false;
  const SortedSet* z = FindZset(call, state, args[1], &wrong_type);
  if (wrong_type) return reply.Error(kErrWrongType);
  if (z == nullptr || count == 0) return reply.ArrayHeader(0);
  auto emit = [&](const Node* x) {
    reply.Bulk(x->member);
    if (withscores) reply.Bulk(FormatScore(x->score));
  };
  const uint64_t size = z->size();
  const int per = withscores ? 2 : 1;
  if (count < 0 || count == 1) {
    // Repeats allowed: every draw independent.
    const uint64_t n = count < 0 ? static_cast<uint64_t>(-count) : 1;
    if (n > kMaxRandomReply) return reply.Error(kErrRandomTooMany);
    reply.ArrayHeader(n * per);
    for (uint64_t i = 0; i < n; ++i) emit(z->AtRank(ReadRandom() % size));
    return;
  }
  if (static_cast<uint64_t>(count) >= size) {
    // The whole set, highest first (as Redis 7.0 walks a listpack).
    reply.ArrayHeader(size * per);
    for (const Node* x = z->last(); x != nullptr; x = x->prev()) emit(x);
    return;
  }
  // Distinct members: a partial Fisher-Yates shuffle over the ranks.
  const auto n = static_cast<uint64_t>(count);
  std::unordered_map<uint64_t, uint64_t> swapped;
  auto slot = [&](uint64_t i) {
    auto it = swapped.find(i);
    return it == swapped.end() ? i : it->second;
  };
  reply.ArrayHeader(n * per);
  for (uint64_t i = 0; i < n; ++i) {
    const uint64_t j = i + ReadRandom() % (size - i);
    const uint64_t pick = slot(j);
    swapped[j] = slot(i);
    emit(z->AtRank(pick));
  }
}

void ZScanRead(const ReadCall& call, const KvState& state) {
  ReplyWriter reply(call.out);
  ScanOptions options;
  if (!ParseScanCursor(call.args[2], &options.cursor)) return reply.Error(kErrInvalidCursor);
  bool wrong_type = false;
  const SortedSet* z = FindZset(call, state, call.args[1], &wrong_type);
  if (wrong_type) return reply.Error(kErrWrongType);
  if (z == nullptr) {
    reply.ArrayHeader(2);
    reply.Bulk("0");
    return reply.ArrayHeader(0);
  }
  if (Status s = ParseScanOptions(call.args, 3, &options); !s.ok()) return reply.Error(s.message());
  std::vector<const Node*> nodes;
  nodes.reserve(z->size());
  bool small = z->size() <= kListpackEntries;
  for (const Node* x = z->first(); x != nullptr; x = x->next()) {
    nodes.push_back(x);
    small = small && x->member.size() <= kListpackValue;
  }
  uint64_t next_cursor = 0;
  std::vector<const Node*> page;
  if (small) {
    page = std::move(nodes);  // as Redis with a listpack: everything at once, in order
  } else {
    for (size_t i : ScanCollection(
             nodes.size(), options, [&](size_t i) { return std::string_view(nodes[i]->member); },
             &next_cursor)) {
      page.push_back(nodes[i]);
    }
  }
  const bool match_all = options.pattern == "*";
  std::erase_if(
      page, [&](const Node* x) { return !match_all && !GlobMatch(options.pattern, x->member); });
  reply.ArrayHeader(2);
  reply.Bulk(fmt::format("{}", next_cursor));
  reply.ArrayHeader(page.size() * 2);
  for (const Node* x : page) {
    reply.Bulk(x->member);
    reply.Bulk(FormatStoredScore(x->score));
  }
}

namespace {

constexpr uint32_t kW = kCmdWrite;
constexpr uint32_t kR = kCmdReadonly;
constexpr uint32_t kF = kCmdFast;
constexpr uint32_t kM = kCmdDenyOom;

const CommandSpec kZsetCommands[] = {
    // name, arity, flags, prepare, read, subcommands, first key, last key, step, apply
    {"zadd", -4, kW | kM | kF, ProposeAsCommand, nullptr, {}, 1, 1, 1, ZAddApply},
    {"zcard", 2, kR | kF, nullptr, ZCardRead, {}, 1, 1, 1},
    {"zcount", 4, kR | kF, nullptr, ZCountRead, {}, 1, 1, 1},
    {"zdiff", -3, kR, nullptr, ZSetOpRead, {}},
    {"zdiffstore", -4, kW | kM, ProposeAsCommand, nullptr, {}, 1, 1, 1, ZSetOpStoreApply},
    {"zincrby", 4, kW | kM | kF, ProposeAsCommand, nullptr, {}, 1, 1, 1, ZAddApply},
    {"zinter", -3, kR, nullptr, ZSetOpRead, {}},
    {"zinterstore", -4, kW | kM, ProposeAsCommand, nullptr, {}, 1, 1, 1, ZSetOpStoreApply},
    {"zlexcount", 4, kR | kF, nullptr, ZLexCountRead, {}, 1, 1, 1},
    {"zmscore", -3, kR | kF, nullptr, ZMScoreRead, {}, 1, 1, 1},
    {"zpopmax", -2, kW | kF, ProposeAsCommand, nullptr, {}, 1, 1, 1, ZPopApply},
    {"zpopmin", -2, kW | kF, ProposeAsCommand, nullptr, {}, 1, 1, 1, ZPopApply},
    {"zrandmember", -2, kR, nullptr, ZRandMemberRead, {}, 1, 1, 1},
    {"zrange", -4, kR, nullptr, ZRangeRead, {}, 1, 1, 1},
    {"zrangebylex", -4, kR, nullptr, ZRangeRead, {}, 1, 1, 1},
    {"zrangebyscore", -4, kR, nullptr, ZRangeRead, {}, 1, 1, 1},
    {"zrangestore", -5, kW | kM, ProposeAsCommand, nullptr, {}, 1, 2, 1, ZRangeStoreApply},
    {"zrank", 3, kR | kF, nullptr, ZRankRead, {}, 1, 1, 1},
    {"zrem", -3, kW | kF, ProposeAsCommand, nullptr, {}, 1, 1, 1, ZRemApply},
    {"zremrangebylex", 4, kW, ProposeAsCommand, nullptr, {}, 1, 1, 1, ZRemRangeApply},
    {"zremrangebyrank", 4, kW, ProposeAsCommand, nullptr, {}, 1, 1, 1, ZRemRangeApply},
    {"zremrangebyscore", 4, kW, ProposeAsCommand, nullptr, {}, 1, 1, 1, ZRemRangeApply},
    {"zrevrange", -4, kR, nullptr, ZRangeRead, {}, 1, 1, 1},
    {"zrevrangebylex", -4, kR, nullptr, ZRangeRead, {}, 1, 1, 1},
    {"zrevrangebyscore", -4, kR, nullptr, ZRangeRead, {}, 1, 1, 1},
    {"zrevrank", 3, kR | kF, nullptr, ZRankRead, {}, 1, 1, 1},
    {"zscan", -3, kR, nullptr, ZScanRead, {}, 1, 1, 1},
    {"zscore", 3, kR | kF, nullptr, ZScoreRead, {}, 1, 1, 1},
    {"zunion", -3, kR, nullptr, ZSetOpRead, {}},
    {"zunionstore", -4, kW | kM, ProposeAsCommand, nullptr, {}, 1, 1, 1, ZSetOpStoreApply},
};

}  // namespace

std::span<const CommandSpec> ZsetCommands() {
  return kZsetCommands;
}

}  // namespace nines::store

// Membership changes: POST /v1/members adds a member (directory entry, then
// learner, then voter once caught up), DELETE /v1/members/ID removes one (a
// leader removing itself hands leadership over first and redirects). The
// HTTP handler (StoreServer) parses the request; the change itself is a
// StoreNode job, one at a time, stepped by the tick; see docs/store.md.
#include <nlohmann/json.hpp>

#include <algorithm>

#include "base/log.h"
#include "raft/membership.h"
#include "store/store_node.h"
#include "store/store_server.h"

namespace nines::store {

namespace {

constexpr char kDirectoryEntry = 'D';
constexpr int64_t kMinJobMs = 10000;

using http::JsonError;

bool ValidMemberId(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

// Parses one "H:P" field of the POST body; error names the field.
bool EndpointField(const nlohmann::json& body, const char* name, bool required, Endpoint* out,
                   bool* present, std::string* error) {
  *present = body.contains(name);
  if (!*present) {
    if (required) *error = std::string("missing \"") + name + "\"";
    return !required;
  }
  if (!body[name].is_string()) {
    *error = std::string("\"") + name + "\" must be a string \"HOST:PORT\"";
    return false;
  }
  if (Status s = ParseEndpoint(body[name].get<std::string>(), out); !s.ok()) {
    *error = std::string("\"") + name + "\": " + s.message();
    return false;
  }
  return true;
}

}  // namespace

std::string StoreNode::MembersJson() const {
  const raft::Membership& m = raft_->membership();
  std::vector<raft::NodeId> ids = m.voters;
  ids.insert(ids.end(), m.learners.begin(), m.learners.end());
  nlohmann::json members = nlohmann::json::array();
  for (raft::NodeId id : ids) {
    nlohmann::json jm;
    const StoreMember* member = directory_.ByRaftId(id);
    if (member) {
      jm["id"] = member->id;
      jm["peer"] = member->peer.ToString();
      jm["client"] = member->client.ToString();
      if (member->http) jm["http"] = member->http->ToString();
    }
    jm["raft_id"] = id;
    jm["role"] = raft::IsLearner(m, id) ? "learner" : "voter";
    if (id == raft_->leader()) jm["leader"] = true;
    if (id == self_->raft_id) jm["self"] = true;
    if (IsLeader()) {
      raft::Index last = raft_->log().LastIndex();
      if (id == self_->raft_id) {
        jm["match"] = last;
        jm["lag"] = 0;
      } else if (const raft::ReplicationProgress* pr = raft_->progress(id)) {
        jm["match"] = pr->match;
        jm["lag"] = last - std::min(pr->match, last);
      }
    }
    members.push_back(std::move(jm));
  }
  return members.dump();
}

void StoreServer::HandleMembers(const http::Request& request, const http::Responder& respond) {
  if (!node_->IsLeader()) {
    const StoreMember* leader = node_->LeaderMember();
    if (leader && leader->http) {
      http::Response r = JsonError(307, "not the leader");
      r.headers.emplace_back("Location", "http://" + leader->http->ToString() + request.target);
      respond(std::move(r));
    } else {
      respond(JsonError(503, leader ? "not the leader; leader is " + leader->id : "no leader"));
    }
    return;
  }
  auto done = [respond](const MemberChangeResult& result) {
    if (result.status == 200) {
      respond(http::Response::Json(200, result.body));
      return;
    }
    http::Response r = JsonError(result.status, result.body);
    if (!result.location.empty()) r.headers.emplace_back("Location", result.location);
    respond(std::move(r));
  };
  if (request.method == "POST") {
    nlohmann::json body = nlohmann::json::parse(request.body, nullptr, false);
    if (!body.is_object()) {
      respond(JsonError(400, "body must be a JSON object {\"id\",\"peer\",\"client\",\"http\"}"));
      return;
    }
    std::string error;
    bool present = false;
    StoreMember m;
    if (!body.contains("id") || !body["id"].is_string() ||
        !ValidMemberId(body["id"].get<std::string>())) {
      respond(JsonError(400, "\"id\" must be 1-64 characters of [A-Za-z0-9._-]"));
      return;
    }
    m.id = body["id"];
    Endpoint http_at;
    if (!EndpointField(body, "peer", true, &m.peer, &present, &error) ||
        !EndpointField(body, "client", true, &m.client, &present, &error) ||
        !EndpointField(body, "http", false, &http_at, &present, &error)) {
      respond(JsonError(400, error));
      return;
    }
    if (present) m.http = http_at;
    m.raft_id = StableRaftId(m.id);
    node_->AddMember(std::move(m), std::move(done));
  } else if (request.method == "DELETE") {
    node_->RemoveMember(request.path.substr(std::string("/v1/members/").size()), std::move(done));
  } else {
    respond(JsonError(405, "use POST /v1/members or DELETE /v1/members/ID"));
  }
}

void StoreNode::AddMember(StoreMember m, MemberChangeDone done) {
  auto refuse = [&](int status, const std::string& why) {
    done(MemberChangeResult{status, why, ""});
  };
  if (!IsLeader()) return refuse(503, "not the leader");
  if (member_job_) return refuse(409, "a membership change is in progress; retry when it is done");
  if (directory_.WasRemoved(m.id)) {
    return refuse(409, "member id '" + m.id + "' was removed before; use a new id");
  }
  if (raft::IsMember(raft_->membership(), m.raft_id)) {
    return refuse(409, "'" + m.id + "' is already a member");
  }
  for (const StoreMember& other : directory_.members) {
    if (other.raft_id == m.raft_id && other.id != m.id) {
      return refuse(
          409, "id '" + m.id + "' hashes to the Raft id of '" + other.id + "'; choose another id");
    }
  }
  MemberJob job;
  job.add = true;
  job.member = std::move(m);
  job.step = MemberJob::Step::kDirectory;
  job.done = std::move(done);
  StartMemberJob(&job);
}

void StoreNode::RemoveMember(const std::string& id, MemberChangeDone done) {
  auto refuse = [&](int status, const std::string& why) {
    done(MemberChangeResult{status, why, ""});
  };
  if (!IsLeader()) return refuse(503, "not the leader");
  if (member_job_) return refuse(409, "a membership change is in progress; retry when it is done");
  const raft::Membership& membership = raft_->membership();
  const StoreMember* m = directory_.ById(id);
  if (m == nullptr || !raft::IsMember(membership, m->raft_id)) {
    return refuse(404, "no member '" + id + "'");
  }
  if (raft::IsVoter(membership, m->raft_id) && membership.voters.size() == 1) {
    return refuse(409, "cannot remove the last voter");
  }
  MemberJob job;
  job.add = false;
  job.member = *m;
  job.step = MemberJob::Step::kDirectory;
  if (m->raft_id == self_->raft_id) {
    // Removing the leader: hand leadership to the most up-to-date voter first;
    // the client is then redirected to the new leader to finish the removal.
    raft::NodeId best = raft::kNoNode;
    raft::Index best_match = 0;
    for (raft::NodeId voter : membership.voters) {
      const raft::ReplicationProgress* pr = raft_->progress(voter);
      if (voter == self_->raft_id || pr == nullptr) continue;
      if (best == raft::kNoNode || pr->match > best_match) {
        best = voter;
        best_match = pr->match;
      }
    }
    if (best == raft::kNoNode || !raft_->TransferLeadership(best)) {
      return refuse(503, "cannot hand leadership over before removing this member");
    }
    RequestDrain();
    job.step = MemberJob::Step::kTransfer;
  }
  job.done = std::move(done);
  StartMemberJob(&job);
}

void StoreNode::StartMemberJob(MemberJob* job) {
  job->deadline = NowMs() + std::max<int64_t>(kMinJobMs, 5 * config_.request_timeout_ms);
  LogInfo("store", "membership change: {} member {}", job->add ? "adding" : "removing",
          job->member.id);
  member_job_ = std::move(*job);
  StepMemberJob();
}

void StoreNode::FinishMemberJob(int status, const std::string& body) {
  if (!member_job_) return;
  MemberChangeDone done = std::move(member_job_->done);
  LogInfo("store", "membership change of {} finished: {}", member_job_->member.id, status);
  member_job_.reset();
  done(MemberChangeResult{status, body, ""});
}

void StoreNode::StepMemberJob() {
  if (!member_job_) return;
  MemberJob& job = *member_job_;
  using Step = MemberJob::Step;
  if (job.step == Step::kTransfer) {
    const StoreMember* leader = LeaderMember();
    if (!IsLeader() && leader && leader->raft_id != self_->raft_id && leader->http) {
      MemberChangeDone done = std::move(job.done);
      member_job_.reset();
      // The member to remove is this one: send the client to the new leader.
      done(MemberChangeResult{307, "leadership handed over; finish the removal there",
                              "http://" + leader->http->ToString() + "/v1/members/" + config_.id});
    } else if (NowMs() > job.deadline) {
      FinishMemberJob(503, "leadership hand-over did not complete");
    }
    return;
  }
  if (NowMs() > job.deadline) {
    FinishMemberJob(503, "membership change of '" + job.member.id +
                             "' did not complete in time; check GET /status");
    return;
  }
  if (!IsLeader()) {
    FinishMemberJob(503, "lost leadership during the change; check GET /status and retry");
    return;
  }
  auto conf_change = [&](raft::ConfChangeType type, Step next) {
    std::string error;
    raft::ProposeError e = raft_->ProposeConfChange({type, job.member.raft_id}, &error);
    if (e == raft::ProposeError::kNone) {
      job.wait_index = raft_->log().LastIndex();
      job.step = next;
      RequestDrain();
    } else if (e == raft::ProposeError::kInvalidConfig) {
      FinishMemberJob(409, "configuration change refused: " + error);
    }  // else (pending change, transfer, backlog): retry on the next tick
  };
  switch (job.step) {
    case Step::kDirectory: {
      MemberDirectory d = directory_;
      if (job.add) {
        d.Upsert(job.member);
      } else if (!d.WasRemoved(job.member.id)) {
        d.removed.push_back(job.member.id);
      }
      std::string payload(1, kDirectoryEntry);
      payload += EncodeDirectory(d);
      job.step = Step::kWaitDirectory;
      bool proposed = ProposeEntry(
          payload, nullptr, [this](const KvResult* result, uint64_t, const std::string& error) {
            if (!member_job_) return;
            if (result == nullptr) {
              FinishMemberJob(503, error);
              return;
            }
            member_job_->step = member_job_->add ? Step::kAddLearner : Step::kRemove;
          });
      if (!proposed) job.step = Step::kDirectory;
      break;
    }
    case Step::kWaitDirectory:
      break;
    case Step::kAddLearner:
      conf_change(raft::ConfChangeType::kAddLearner, Step::kCatchUp);
      break;
    case Step::kCatchUp: {
      // Ready once it holds everything committed now (etcd refuses to
      // promote a learner that is "not ready"): having only the entry that
      // added it, it could lag far behind and still count toward quorums.
      const raft::ReplicationProgress* pr = raft_->progress(job.member.raft_id);
      const uint64_t ready_at = std::max<uint64_t>(job.wait_index, raft_->log().committed());
      if (pr && pr->match >= ready_at) {
        // Checked and proposed in one step; a refused proposal (a change
        // still pending) is retried from here, readiness checked again.
        conf_change(raft::ConfChangeType::kPromoteLearner, Step::kWaitConfig);
      }
      break;
    }
    case Step::kRemove:
      conf_change(raft::ConfChangeType::kRemove, Step::kWaitConfig);
      break;
    case Step::kWaitConfig:
      if (applied_ >= job.wait_index) {
        FinishMemberJob(
            200, nlohmann::json{{"members", nlohmann::json::parse(MembersJson())}}.dump() + "\n");
      }
      break;
    case Step::kTransfer:
      break;
  }
}

}  // namespace nines::store

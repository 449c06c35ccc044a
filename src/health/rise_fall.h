// The rise/fall state machine shared by every health check in nines (HAProxy
// semantics): a target goes down after `fall` consecutive failures and comes
// back up after `rise` consecutive successes. Pure logic, no I/O.
#pragma once

namespace nines::health {

class RiseFall {
 public:
  RiseFall(int rise, int fall, bool initially_up) : rise_(rise), fall_(fall), up_(initially_up) {}

  // Records one check result. Returns true when the state flipped.
  bool Record(bool ok) {
    if (ok) {
      failures_ = 0;
      if (!up_ && ++successes_ >= rise_) {
        up_ = true;
        successes_ = 0;
        return true;
      }
    } else {
      successes_ = 0;
      if (up_ && ++failures_ >= fall_) {
        up_ = false;
        failures_ = 0;
        return true;
      }
    }
    return false;
  }

  bool up() const { return up_; }
  // Forces a state (admin action or a reload carrying state over).
  void Set(bool up) {
    up_ = up;
    successes_ = failures_ = 0;
  }
  void SetThresholds(int rise, int fall) {
    rise_ = rise;
    fall_ = fall;
  }

 private:
  int rise_;
  int fall_;
  bool up_;
  int successes_ = 0;
  int failures_ = 0;
};

}  // namespace nines::health

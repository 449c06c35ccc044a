#!/usr/bin/env python3
# Debian's python3-redis (redis-py) against three `nines store` members, run by
# redis_py_client_test.cc: three client threads (one starting on each member)
# write hashes, lists, sets, sorted sets, pipelines, MULTI/EXEC and WATCH
# transactions; the test kills the leader (SIGKILL) while they run. A client
# retries on -TRYAGAIN (certainly not applied) and on -UNKNOWN or a broken
# connection (maybe applied) through the next member. Afterwards every
# surviving member must hold every acknowledged write, no transaction half
# applied, no write applied more often than it was sent.
#
# usage: redis_py_client.py CONTROL_DIR HOST:PORT HOST:PORT HOST:PORT
#   CONTROL_DIR/progress  written here: acknowledged operations so far
#   CONTROL_DIR/killed    written by the test: index of the member it killed
# Exit status 0 when every check passed; failures are printed.
import os
import sys
import threading
import time

import redis

THREADS = 3
AFTER_KILL = 25  # acknowledged iterations each thread must make after the kill
OP_DEADLINE_S = 15.0  # one operation, retries included
RUN_DEADLINE_S = 25.0  # the whole workload

failures = []
failures_lock = threading.Lock()


def fail(text):
    with failures_lock:
        failures.append(text)
    print("FAIL:", text, flush=True)


class Unavailable(Exception):
    pass


def outcome_of(error):
    """'no' (certainly not applied), 'maybe', or None (a real error)."""
    if isinstance(error, (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)):
        return "maybe"
    if isinstance(error, redis.exceptions.WatchError):
        # redis-py turns a broken connection while watching into WatchError:
        # the EXEC may have been applied.
        return "maybe"
    text = str(error)
    # Pipelines prefix the reply: "Command # 2 (...) of pipeline caused error: TRYAGAIN ..."
    text = text.split("caused error: ")[-1]
    if text.startswith("TRYAGAIN"):
        return "no"
    if text.startswith("UNKNOWN"):
        return "maybe"
    return None


class Client:
    """One application client: a redis.Redis per member, moving to the next on failures."""

    def __init__(self, addresses, first):
        self.members = []
        for address in addresses:
            host, port = address.rsplit(":", 1)
            self.members.append(
                redis.Redis(
                    host=host,
                    port=int(port),
                    decode_responses=True,
                    socket_timeout=6,
                    socket_connect_timeout=1,
                )
            )
        self.at = first
        self.switches = 0
        self.retries = {"no": 0, "maybe": 0}

    def run(self, fn):
        """fn(redis.Redis) with retries; returns (result, attempts that may have applied)."""
        maybe = 0
        deadline = time.monotonic() + OP_DEADLINE_S
        pause = 0.005
        while True:
            try:
                return fn(self.members[self.at]), maybe
            except redis.exceptions.RedisError as error:
                kind = outcome_of(error)
                if kind is None:
                    raise
                self.retries[kind] += 1
                if kind == "maybe":
                    maybe += 1
                if time.monotonic() > deadline:
                    raise Unavailable(f"no answer within {OP_DEADLINE_S} s: {error}")
                self.at = (self.at + 1) % len(self.members)
                self.switches += 1
                time.sleep(pause)  # back-off between retries, bounded by the deadline
                pause = min(pause * 2, 0.2)


class Worker(threading.Thread):
    def __init__(self, t, addresses):
        super().__init__(daemon=True)
        self.t = t
        self.client = Client(addresses, t % len(addresses))
        self.stop = threading.Event()
        self.acked_iterations = 0
        self.error = None
        # What was sent and acknowledged, per kind: name -> {n: (acked, maybe_attempts)}
        self.sent = {k: {} for k in ("hash", "list", "set", "zset", "pipe", "tx")}
        self.cas_acked = []  # values this thread's WATCH transactions set

    def record(self, kind, n, maybe, acked):
        self.sent[kind][n] = (acked, maybe + (1 if acked else 0))

    def run(self):
        try:
            n = 0
            while not self.stop.is_set():
                self.iteration(n)
                n += 1
                self.acked_iterations += 1
        except Exception as error:  # reported by the main thread
            self.error = f"thread {self.t}: {type(error).__name__}: {error}"

    def iteration(self, n):
        t, c = self.t, self.client
        # Hash: HSET, then HGET must see it (reads are linearizable).
        _, maybe = c.run(lambda r: r.hset(f"h:{t}", f"f{n}", f"v{n}"))
        self.record("hash", n, maybe, True)
        got, _ = c.run(lambda r: r.hget(f"h:{t}", f"f{n}"))
        if got != f"v{n}":
            fail(f"thread {t}: HGET h:{t} f{n} after an acknowledged HSET answered {got!r}")
        # List: RPUSH is not idempotent: a retry after a maybe may add it twice.
        _, maybe = c.run(lambda r: r.rpush(f"l:{t}", f"i{n}"))
        self.record("list", n, maybe, True)
        # Set and sorted set.
        _, maybe = c.run(lambda r: r.sadd(f"s:{t}", f"m{n}"))
        self.record("set", n, maybe, True)
        _, maybe = c.run(lambda r: r.zadd(f"z:{t}", {f"m{n}": n}))
        self.record("zset", n, maybe, True)

        # A pipeline (not a transaction) of idempotent writes.
        def pipeline(r):
            p = r.pipeline(transaction=False)
            p.hset(f"h:{t}", f"p{n}", f"pv{n}")
            p.sadd(f"s:{t}", f"p{n}")
            p.zadd(f"z:{t}", {f"p{n}": -n})
            p.lrange(f"l:{t}", -1, -1)
            return p.execute()

        _, maybe = c.run(pipeline)
        self.record("pipe", n, maybe, True)

        # MULTI/EXEC: four writes, applied whole or not at all.
        def transaction(r):
            p = r.pipeline(transaction=True)
            p.incr(f"tx:{t}:count")
            p.hset(f"tx:{t}:h", f"f{n}", n)
            p.rpush(f"tx:{t}:l", n)
            p.sadd(f"tx:{t}:s", n)
            return p.execute()

        reply, maybe = c.run(transaction)
        if not isinstance(reply[0], int) or reply[2] != reply[0]:
            fail(f"thread {t}: EXEC replied {reply!r}")
        self.record("tx", n, maybe, True)

        # WATCH: compare-and-set on a counter every thread increments; each
        # successful EXEC appends the value it set to w:log.
        def cas(r):
            with r.pipeline(transaction=True) as p:
                while True:
                    try:
                        p.watch("w:counter")
                        value = int(p.get("w:counter") or 0) + 1
                        p.multi()
                        p.set("w:counter", value)
                        p.rpush("w:log", value)
                        p.execute()
                        return value
                    except redis.exceptions.WatchError as error:
                        if str(error) != "Watched variable changed.":
                            raise  # a broken connection: maybe applied
                        continue  # another client won: read again

        value, _ = c.run(cas)
        self.cas_acked.append(value)


def write_progress(control, value):
    tmp = os.path.join(control, "progress.tmp")
    with open(tmp, "w") as f:
        f.write(str(value))
    os.replace(tmp, os.path.join(control, "progress"))


def read_killed(control):
    try:
        with open(os.path.join(control, "killed")) as f:
            text = f.read().strip()
        return int(text) if text else None
    except FileNotFoundError:
        return None


def verify(r, workers, where):
    """Every acknowledged write is on member r (a READONLY connection after the fence)."""
    before = len(failures)
    for w in workers:
        t = w.t
        hash_ = r.hgetall(f"h:{t}")
        lst = r.lrange(f"l:{t}", 0, -1)
        set_ = r.smembers(f"s:{t}")
        zset = dict(r.zrange(f"z:{t}", 0, -1, withscores=True))
        counts = {}
        for item in lst:
            counts[item] = counts.get(item, 0) + 1
        for n, (acked, most) in w.sent["hash"].items():
            if acked and hash_.get(f"f{n}") != f"v{n}":
                fail(f"{where}: acknowledged HSET h:{t} f{n} missing ({hash_.get(f'f{n}')!r})")
        for n, (acked, most) in w.sent["list"].items():
            got = counts.pop(f"i{n}", 0)
            if acked and got < 1:
                fail(f"{where}: acknowledged RPUSH l:{t} i{n} missing")
            if got > most:
                fail(f"{where}: RPUSH l:{t} i{n} applied {got} times, sent {most} that may apply")
        if counts:
            fail(f"{where}: l:{t} holds items never sent: {sorted(counts)[:5]}")
        for n, (acked, _) in w.sent["set"].items():
            if acked and f"m{n}" not in set_:
                fail(f"{where}: acknowledged SADD s:{t} m{n} missing")
        for n, (acked, _) in w.sent["zset"].items():
            if acked and zset.get(f"m{n}") != float(n):
                fail(f"{where}: acknowledged ZADD z:{t} m{n} missing ({zset.get(f'm{n}')!r})")
        for n, (acked, _) in w.sent["pipe"].items():
            if acked and (
                hash_.get(f"p{n}") != f"pv{n}" or f"p{n}" not in set_ or zset.get(f"p{n}") != -n
            ):
                fail(f"{where}: acknowledged pipeline {n} of thread {t} missing")
        if set_ - {f"m{n}" for n in w.sent["set"]} - {f"p{n}" for n in w.sent["pipe"]}:
            fail(f"{where}: s:{t} holds members never sent")
        if len(zset) != len(set_):
            fail(f"{where}: z:{t} has {len(zset)} members, s:{t} {len(set_)}")
        # Transactions: whole or absent. Each applied EXEC incremented the
        # count once and pushed its n once (a maybe retry can apply one n twice).
        count = int(r.get(f"tx:{t}:count") or 0)
        tx_h = r.hgetall(f"tx:{t}:h")
        tx_l = r.lrange(f"tx:{t}:l", 0, -1)
        tx_s = r.smembers(f"tx:{t}:s")
        if count != len(tx_l):
            fail(f"{where}: tx:{t}:count {count} != {len(tx_l)} items in tx:{t}:l: half applied")
        if set(tx_l) != tx_s or set(tx_h) != {f"f{n}" for n in tx_s}:
            fail(f"{where}: thread {t}'s transaction keys disagree: half applied")
        for n, (acked, most) in w.sent["tx"].items():
            got = tx_l.count(str(n))
            if acked and got < 1:
                fail(f"{where}: acknowledged EXEC {n} of thread {t} missing")
            if got > most:
                fail(f"{where}: EXEC {n} of thread {t} applied {got} times (at most {most})")
    # WATCH: each EXEC that went through set counter+1 and logged it, so the
    # log is exactly 1..counter, and every acknowledged value is in it.
    counter = int(r.get("w:counter") or 0)
    log = r.lrange("w:log", 0, -1)
    if log != [str(v) for v in range(1, counter + 1)]:
        fail(f"{where}: w:log is not 1..{counter}: a WATCH transaction was lost or doubled")
    for w in workers:
        for v in w.cas_acked:
            if v > counter:
                fail(f"{where}: acknowledged WATCH transaction that set {v} missing")
    if len(failures) == before:
        print(f"{where}: every acknowledged write present", flush=True)


def main():
    control, addresses = sys.argv[1], sys.argv[2:]
    workers = [Worker(t, addresses) for t in range(THREADS)]
    for w in workers:
        w.start()
    start = time.monotonic()
    killed = None
    after_kill = None
    while True:
        if any(w.error for w in workers):
            break
        total = sum(w.acked_iterations for w in workers)
        write_progress(control, total)
        if killed is None:
            killed = read_killed(control)
            if killed is not None:
                after_kill = [w.acked_iterations for w in workers]
                print(f"member {killed} killed at {total} acknowledged iterations", flush=True)
        elif all(w.acked_iterations >= a + AFTER_KILL for w, a in zip(workers, after_kill)):
            break
        if time.monotonic() - start > RUN_DEADLINE_S:
            fail(f"workload did not finish in {RUN_DEADLINE_S} s (killed: {killed})")
            break
        time.sleep(0.01)  # polls the threads' counters and the control file
    for w in workers:
        w.stop.set()
    for w in workers:
        w.join(OP_DEADLINE_S * 4)
        if w.is_alive():
            fail(f"thread {w.t} did not stop")
        if w.error:
            fail(w.error)
    for w in workers:
        print(
            f"thread {w.t}: {w.acked_iterations} iterations, {w.client.switches} member switches,"
            f" retries {w.client.retries}",
            flush=True,
        )
    if killed is None:
        fail("the test never killed a member")
    elif workers[killed % THREADS].client.switches == 0:
        # The thread that started on the killed member went on through another.
        fail(f"thread {killed % THREADS} never left the killed member {killed}")
    if failures:
        return 1

    # A fence through any member: once a member has applied it, it has every
    # write acknowledged before.
    fence = Client(addresses, 0)
    fence.run(lambda r: r.set("fence", "done"))
    for i, address in enumerate(addresses):
        if i == killed:
            continue
        host, port = address.rsplit(":", 1)
        r = redis.Redis(
            host=host,
            port=int(port),
            decode_responses=True,
            socket_timeout=6,
            single_connection_client=True,  # READONLY holds for this connection
        )
        r.execute_command("READONLY")
        deadline = time.monotonic() + 10
        while r.get("fence") != "done":
            if time.monotonic() > deadline:
                fail(f"member {i} did not apply the fence in 10 s")
                break
            time.sleep(0.01)
        verify(r, workers, f"member {i}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

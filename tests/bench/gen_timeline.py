#!/usr/bin/env python3
"""Write a callaudit timeline database directly, for the correlate+diagnose micro-benchmark.

    gen_timeline.py --callaudit build-bench/callaudit --states 3M --failures 1M -o timeline.db

The schema comes from callaudit itself: `callaudit ingest` of the small FreeSWITCH fixture
creates the database; then the state changes and failed results are bulk-inserted with
sqlite3 executemany (indexes dropped during the load and created again after, as ingest
does). Deterministic with --seed. Standard library only.

The timeline looks like a year of a large FreeSWITCH/mod_callcenter contact centre: --agents
agents (default 500) alternate between Available and On Break / Logged Out (mostly their own
changes, some by the platform); failures are spread over the span with the kinds and causes
FreeSWITCH gives, and some are placed to exercise every rule: 8% right after the agent's own
change away from Available (R1 for ORIGINATOR_CANCEL, R2 otherwise), short no-answers (R4),
network incidents across agents every few hours (R5), agents whose phone keeps refusing
(R6 kinds). Failures that fall in a long not-ready period exercise R3 by themselves.
"""

import argparse
import bisect
import json
import os
import random
import sqlite3
import subprocess
import sys
import time

US = 1_000_000


def parse_count(text):
    t = text.strip().upper()
    mult = 1
    if t and t[-1] in "KMG":
        mult = 1000 ** ("KMG".index(t[-1]) + 1)
        t = t[:-1]
    return int(float(t) * mult)


# (kind, kind_basis, reason, sip, q850, weight, ring_ms range)
KINDS = [
    ("no_answer", "cause NO_ANSWER", "NO_ANSWER", None, 19, 33, (15000, 30000)),
    ("caller_cancelled", "sip 487", "ORIGINATOR_CANCEL", 487, 487, 20, (1000, 20000)),
    ("caller_cancelled", "cause ORIGINATOR_CANCEL", "ORIGINATOR_CANCEL", None, 487, 4, (1000, 20000)),
    ("lost_race", "cause LOSE_RACE", "LOSE_RACE", None, 502, 13, (1000, 12000)),
    ("declined_by_agent", "sip 603", "CALL_REJECTED", 603, 21, 8, (500, 6000)),
    ("busy", "sip 486", "USER_BUSY", 486, 17, 7, (50, 1500)),
    ("endpoint_unavailable", "cause USER_NOT_REGISTERED", "USER_NOT_REGISTERED", None, 606, 3, (0, 10)),
    ("network_error", "sip 408", "NO_USER_RESPONSE", 408, 18, 3, (30000, 32000)),
    ("network_error", "sip 503", "NORMAL_TEMPORARY_FAILURE", 503, 41, 3, (100, 300)),
    ("forbidden", "sip 403", "CALL_REJECTED", 403, 21, 2, (20, 200)),
    ("no_answer", "cause NO_ANSWER", "NO_ANSWER", None, 19, 4, (300, 1900)),  # R4: never really rang
]
NOT_READY = [("On Break", 70), ("Logged Out", 30)]


def fs_time(t_us, cache={}):
    s, us = divmod(t_us, US)
    m, sec = divmod(s, 60)
    p = cache.get(m)
    if p is None:
        if len(cache) > 4096:
            cache.clear()
        p = cache[m] = time.strftime("%Y-%m-%d %H:%M:", time.gmtime(m * 60))
    return "%s%02d.%06d" % (p, sec, us)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--callaudit", required=True, help="the callaudit executable (creates the schema)")
    ap.add_argument("--fixture", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                                      "fixtures", "logs", "freeswitch-log", "freeswitch.log"))
    ap.add_argument("--states", default="3M")
    ap.add_argument("--failures", default="1M")
    ap.add_argument("--agents", type=int, default=500)
    ap.add_argument("--days", type=float, default=365)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("-o", "--output", required=True)
    args = ap.parse_args()
    n_states, n_fail = parse_count(args.states), parse_count(args.failures)
    rng = random.Random(args.seed)
    rand = rng.random
    t_start = time.monotonic()

    tmp = args.output + ".part"
    for p in (tmp, tmp + "-journal"):
        if os.path.exists(p):
            os.remove(p)
    r = subprocess.run([args.callaudit, "ingest", "--db", tmp, "--tz", "UTC", args.fixture],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.exit("callaudit ingest failed: " + r.stderr)
    db = sqlite3.connect(tmp)
    db.execute("PRAGMA synchronous = OFF")
    db.execute("PRAGMA journal_mode = OFF")
    input_id = db.execute("SELECT id FROM inputs ORDER BY id LIMIT 1").fetchone()[0]
    db.execute("DELETE FROM evidence")
    db.execute("DELETE FROM diagnosis")
    db.execute("DELETE FROM incidents")
    db.execute("DELETE FROM events")
    for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'").fetchall():
        db.execute("DROP INDEX " + name)
    db.commit()

    t0 = 1704067200 * US  # 2024-01-01 00:00:00Z
    span = int(args.days * 86400 * US)
    agents = [str(1001 + i) for i in range(args.agents)]
    per_agent = max(2, n_states // len(agents))
    line_no = [0]

    # ---- state changes: each agent alternates Available / not ready, mostly by its own hand
    changes = {}  # agent -> (times, states) of its changes, for placing failures
    state_rows = []
    made = 0
    for ai, a in enumerate(agents):
        n = per_agent if ai < len(agents) - 1 else n_states - made
        made += n
        # ready stretches last four times as long as not-ready ones: agents are away ~20% of the time
        ready = rand() < 0.5
        states = []
        for _ in range(n):
            ready = not ready
            states.append(ready)
        gaps = [rand() * (4.0 if not st else 1.0) for st in states]  # the gap before a change to `st`
        scale = span / sum(gaps)
        t = t0
        times = []
        for g in gaps:
            t += max(1, int(g * scale))
            times.append(t)
        changes[a] = (times, states)
        for t, ready in zip(times, states):
            x = rand()
            initiator = "agent" if x < 0.85 else "system" if x < 0.95 else "unknown"
            if ready:
                vendor = "Available"
            else:
                vendor = "On Break" if rand() < 0.7 else "Logged Out"
            state_rows.append((t, a, vendor, "ready" if ready else "not_ready", initiator))
    # ---- failures
    weights = [k[5] for k in KINDS]
    total_w = sum(weights)
    cum = []
    acc = 0
    for w in weights:
        acc += w
        cum.append(acc / total_w)
    fail_rows = []
    n_agentish = int(n_fail * 0.08)
    n_incident = 0
    # incidents: every 2-8 hours, 3-8 agents fail with network errors within two minutes
    t = t0
    while n_incident < n_fail * 0.01:
        t += int((2 + 6 * rand()) * 3600 * US)
        if t >= t0 + span:
            t = t0 + int(rand() * span)
        k = 3 + int(rand() * 6)
        for a in rng.sample(agents, k):
            ft = t + int(rand() * 110 * US)
            fail_rows.append((ft, a, KINDS[7] if rand() < 0.5 else KINDS[8], int(rand() * 32000)))
            n_incident += 1
    # the agent's own change away from Available right before the failure (R1/R2)
    for _ in range(n_agentish):
        a = agents[int(rand() * len(agents))]
        times, states = changes[a]
        i = int(rand() * len(times))
        if states[i]:
            i = i - 1 if i > 0 else i + 1
        ft = times[i] + 500_000 + int(rand() * 1_500_000)
        kind = KINDS[1] if rand() < 0.6 else KINDS[0]
        fail_rows.append((ft, a, kind, int(kind[6][0] + rand() * (kind[6][1] - kind[6][0]))))
    # agents whose phone keeps refusing for a while (R6 kinds), a few per month
    n_setup = 0
    while n_setup < n_fail * 0.002:
        a = agents[int(rand() * len(agents))]
        t = t0 + int(rand() * span)
        for _ in range(3 + int(rand() * 4)):
            t += int(rand() * 600 * US)
            fail_rows.append((t, a, KINDS[9], int(20 + rand() * 180)))
            n_setup += 1
    # the rest: anywhere, any agent
    while len(fail_rows) < n_fail:
        x = rand()
        kind = KINDS[bisect.bisect_left(cum, x)]
        lo, hi = kind[6]
        fail_rows.append((t0 + int(rand() * span), agents[int(rand() * len(agents))], kind, int(lo + rand() * (hi - lo))))
    del fail_rows[n_fail:]

    # ---- insert, in time order (the order ingest would store them), in one transaction
    rows = [(t, 0, a, x) for (t, a, *x) in state_rows] + [(t, 1, a, x) for (t, a, *x) in fail_rows]
    del state_rows, fail_rows
    rows.sort(key=lambda r: (r[0], r[1]))
    pct = "97.50%"

    def gen():
        line = 0
        for t, is_fail, a, x in rows:
            line += 1
            ts = fs_time(t)
            if is_fail:
                kind, ring = x
                k, basis, reason, sip, q850, _, _ = kind
                call = "%08x-0000-4000-8000-%012x" % (line & 0xFFFFFFFF, line)
                raw = "%s %s %s [DEBUG] mod_callcenter.c:2139 Agent %s@default Origination Canceled : %s" % (
                    call, ts, pct, a, reason)
                yield (input_id, line, "result", t, t, "microsecond", a, a + "@default", None, call, "support@default",
                       k, basis, None, sip, q850, reason, ring, None, None, None, None, raw)
            else:
                vendor, state, initiator = x
                raw = "%s %s [DEBUG] mod_callcenter.c:1180 Updated Agent %s@default set status = %s" % (ts, pct, a, vendor)
                detail = "set by the platform after the preceding failure" if initiator == "system" else None
                yield (input_id, line, "state", t, t, "microsecond", a, a + "@default", None, None, None,
                       None, None, None, None, None, None, None, state, vendor, initiator, detail, raw)
        line_no[0] = line

    db.executemany(
        "INSERT INTO events (input_id, line, type, at, at_end, precision, agent, agent_raw, agent_name, call, queue,"
        " kind, kind_basis, confidence, sip, q850, reason, ring_ms, state, vendor_state, initiator, detail, raw)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", gen())
    db.execute("UPDATE inputs SET lines = ?, records = ?, parsed = ?, events = ?, results = ?, failures = ?,"
               " states = ?, offers = 0, first_at = ?, last_at = ? WHERE id = ?",
               (line_no[0], line_no[0], line_no[0], len(rows), n_fail, n_fail, n_states, rows[0][0], rows[-1][0],
                input_id))
    db.commit()
    db.executescript(
        "CREATE INDEX IF NOT EXISTS events_agent_at ON events (agent, at);"
        "CREATE INDEX IF NOT EXISTS events_type_at ON events (type, at);"
        "CREATE INDEX IF NOT EXISTS events_input_line ON events (input_id, line);"
        "CREATE INDEX IF NOT EXISTS unmatched_input ON unmatched (input_id, line);")
    db.commit()
    db.close()
    os.replace(tmp, args.output)
    stats = {"states": n_states, "failures": n_fail, "agents": args.agents, "days": args.days,
             "incident_failures": n_incident, "agent_caused": n_agentish, "setup_failures": n_setup,
             "bytes": os.path.getsize(args.output), "seconds": round(time.monotonic() - t_start, 1)}
    print(json.dumps(stats), file=sys.stderr)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Generate large, realistic-shaped inputs for the callaudit performance benchmark.

    gen.py --format freeswitch --size 1G --seed 1 -o freeswitch.log
    gen.py --format asterisk   --size 100M -o queue_log
    gen.py --format cxone      --size 100M -o refusals.csv   (also writes refusals.states.csv)

Deterministic: the same --seed, --size and --format give the same bytes. Standard library
only. Sizes take K, M, G (binary: 1G = 1 GiB). The FreeSWITCH log is cut at the first line
end at or past the size (it may end inside a call, as a rotated log does); asterisk and cxone
stop at the first chunk of 20,000 lines past it. A summary is printed to standard error, or
written as JSON with --stats FILE: bytes and lines of the file (exact), event-bearing lines
and noise share, and the offers, results, failures and state changes the simulation wrote
(the FreeSWITCH ones may run a few hundred past the cut).

FreeSWITCH (mod_logfile, FS >= 1.10.2 with the idle-CPU field): a contact centre of --agents
agents (default 50, 1001..1050@default) on mod_callcenter. Around each queue call: sofia SIP
traces (recv/send N bytes ... followed by indented SIP headers, SDP and ---- separators),
channel lifecycle lines (New Channel, State Change, Callstate Change, Ring-Ready, answered,
Hangup NORMAL_CLEARING), sofia DEBUG lines, and the mod_callcenter events: Updated Agent
10xx@default set status/state, Origination Canceled with a mix of causes, max-no-answer
sequences (reach maximum no answer -> On Break), agent leg hangups with SIP statuses
([terminated][603] ...), status changes while ringing, network incidents across agents.
About 70% of the lines are noise (no event). Time only moves forward.
"""

import argparse
import heapq
import json
import os
import random
import sys
import time

CHUNK_LINES = 20000  # lines buffered before one write
FLUSH_LINES = 4000  # freeswitch: buffered lines before one write (the size is cut at a line end)


def parse_size(text):
    t = text.strip().upper().rstrip("B").rstrip("I")
    mult = 1
    if t and t[-1] in "KMGT":
        mult = 1024 ** ("KMGT".index(t[-1]) + 1)
        t = t[:-1]
    return int(float(t) * mult)


class Clock:
    """Monotonic microsecond clock with cached text prefixes (formatting is the hot path)."""

    def __init__(self, start_epoch_s):
        self.t = start_epoch_s * 1_000_000
        self._min = -1
        self._prefix = ""
        self._hm = ""

    def stamp(self):
        """'YYYY-MM-DD HH:MM:SS.ffffff' of the current time."""
        s, us = divmod(self.t, 1_000_000)
        m, sec = divmod(s, 60)
        if m != self._min:
            self._min = m
            self._prefix = time.strftime("%Y-%m-%d %H:%M:", time.gmtime(m * 60))
        return "%s%02d.%06d" % (self._prefix, sec, us)


# ---------------------------------------------------------------------------------------
# FreeSWITCH

FIRST = ["Alice", "Bob", "Carol", "Dan", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy", "Karl", "Laura",
         "Mallory", "Niaj", "Olivia", "Peggy", "Quentin", "Rupert", "Sybil", "Trent", "Uma", "Victor", "Wendy",
         "Xavier", "Yasmin", "Zoe"]
LAST = ["Walker", "Turner", "Evans", "Price", "Hughes", "Smith", "Jones", "Taylor", "Brown", "Wilson", "Moreau",
        "Haddad", "Natarajan", "Okafor", "Kowalski", "Silva", "Novak", "Larsen", "Romero", "Kim"]
QUEUES = ["support@default", "sales@default", "billing@default"]

# agent leg failures: (cause, weight, ring seconds range, sip final status or None, hangup file)
FAILURES = [
    ("NO_ANSWER", 34, (15.0, 30.0), None, "switch_ivr_originate.c:3820"),
    ("ORIGINATOR_CANCEL", 22, (1.0, 20.0), "487", "switch_core_session.c:2927"),
    ("LOSE_RACE", 14, (1.0, 12.0), None, "switch_ivr_originate.c:3820"),
    ("CALL_REJECTED", 8, (0.5, 6.0), "603", "sofia.c:8748"),
    ("CALL_REJECTED", 3, (0.02, 0.2), "403", "sofia.c:8748"),
    ("USER_BUSY", 7, (0.05, 1.5), "486", "sofia.c:8748"),
    ("USER_NOT_REGISTERED", 3, (0.0, 0.01), None, "switch_ivr_originate.c:3820"),
    ("NO_USER_RESPONSE", 3, (30.0, 32.0), "408", "sofia.c:8748"),
    ("RECOVERY_ON_TIMER_EXPIRE", 3, (32.0, 32.0), "408", "sofia.c:8748"),
    ("NORMAL_TEMPORARY_FAILURE", 3, (0.1, 0.3), "503", "sofia.c:8748"),
]
INCIDENT_CAUSES = [("RECOVERY_ON_TIMER_EXPIRE", (32.0, 32.0), "408"), ("NORMAL_TEMPORARY_FAILURE", (0.1, 0.3), "503")]
BREAKS = ["On Break", "On Break", "On Break", "Logged Out"]


def hexid(rng, n):
    return "%0*x" % (n, rng.getrandbits(4 * n))


def uuid4(rng):
    h = "%032x" % rng.getrandbits(128)
    return "%s-%s-4%s-%s-%s" % (h[:8], h[8:12], h[13:16], "89ab"[int(h[16], 16) & 3] + h[17:20], h[20:32])


INVITE_IN = (
    "recv {size} bytes from udp/[203.0.113.10]:5060 at {at}:\n"
    "   ------------------------------------------------------------------------\n"
    "   INVITE sip:{queue}@10.0.0.10:5080 SIP/2.0\n"
    "   Via: SIP/2.0/UDP 203.0.113.10:5060;branch=z9hG4bK{branch}\n"
    "   Max-Forwards: 69\n"
    "   From: \"{name}\" <sip:{num}@203.0.113.10>;tag={tag}\n"
    "   To: <sip:{queue}@10.0.0.10:5080>\n"
    "   Call-ID: {callid}@203.0.113.10\n"
    "   CSeq: 101 INVITE\n"
    "   Contact: <sip:{num}@203.0.113.10:5060>\n"
    "   Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE\n"
    "   Supported: timer, replaces\n"
    "   Content-Type: application/sdp\n"
    "   Content-Length: 243\n"
    "\n"
    "   v=0\n"
    "   o=- {sess} {sess} IN IP4 203.0.113.10\n"
    "   s=-\n"
    "   c=IN IP4 203.0.113.10\n"
    "   t=0 0\n"
    "   m=audio {port} RTP/AVP 0 8 101\n"
    "   a=rtpmap:0 PCMU/8000\n"
    "   a=rtpmap:8 PCMA/8000\n"
    "   a=rtpmap:101 telephone-event/8000\n"
    "   a=fmtp:101 0-16\n"
    "   a=ptime:20\n"
    "   ------------------------------------------------------------------------\n"
)

RESP_OUT = (
    "send {size} bytes to udp/[203.0.113.10]:5060 at {at}:\n"
    "   ------------------------------------------------------------------------\n"
    "   SIP/2.0 {status}\n"
    "   Via: SIP/2.0/UDP 203.0.113.10:5060;branch=z9hG4bK{branch};rport=5060\n"
    "   From: \"{name}\" <sip:{num}@203.0.113.10>;tag={tag}\n"
    "   To: <sip:{queue}@10.0.0.10:5080>;tag={tag2}\n"
    "   Call-ID: {callid}@203.0.113.10\n"
    "   CSeq: 101 INVITE\n"
    "   User-Agent: FreeSWITCH-mod_sofia/1.10.11-release~64bit\n"
    "   Content-Length: 0\n"
    "   ------------------------------------------------------------------------\n"
)

INVITE_OUT = (
    "send {size} bytes to udp/[{ip}]:5060 at {at}:\n"
    "   ------------------------------------------------------------------------\n"
    "   INVITE sip:{agent}@{ip}:5060;rinstance={rinst} SIP/2.0\n"
    "   Via: SIP/2.0/UDP 10.0.0.10:5060;rport;branch=z9hG4bK{branch}\n"
    "   Max-Forwards: 70\n"
    "   From: \"{name}\" <sip:{num}@10.0.0.10>;tag={tag}\n"
    "   To: <sip:{agent}@{ip}:5060;rinstance={rinst}>\n"
    "   Call-ID: {callid}\n"
    "   CSeq: 29017185 INVITE\n"
    "   Contact: <sip:mod_sofia@10.0.0.10:5060>\n"
    "   User-Agent: FreeSWITCH-mod_sofia/1.10.11-release~64bit\n"
    "   Content-Type: application/sdp\n"
    "   Content-Length: 254\n"
    "\n"
    "   v=0\n"
    "   o=FreeSWITCH {sess} {sess2} IN IP4 10.0.0.10\n"
    "   s=FreeSWITCH\n"
    "   c=IN IP4 10.0.0.10\n"
    "   t=0 0\n"
    "   m=audio {port} RTP/AVP 0 8 101\n"
    "   a=rtpmap:0 PCMU/8000\n"
    "   a=rtpmap:101 telephone-event/8000\n"
    "   a=ptime:20\n"
    "   ------------------------------------------------------------------------\n"
)


def gen_freeswitch(out, size, rng, agents_n, noise_target, stats):
    """A discrete-event simulation: every queue call is a generator that writes its lines at the
    current time and yields how long (µs) until its next step; a heap runs the steps in time
    order, so concurrent calls interleave and time never goes backwards."""
    rand = rng.random

    def ri(lo, hi):  # rng.randint without its overhead (the hot path)
        return lo + int(rand() * (hi - lo + 1))

    clock = Clock(1709596800 + 8 * 3600)  # 2024-03-05 08:00:00 (written as local time)
    stamp = clock.stamp
    agents = [str(1001 + i) for i in range(agents_n)]
    ips = {a: "10.0.%d.%d:5060" % (1 + i // 200, 20 + i % 200) for i, a in enumerate(agents)}
    bare_ip = {a: v.split(":")[0] for a, v in ips.items()}
    status = {a: "Available" for a in agents}  # mod_callcenter status
    busy = {a: False for a in agents}  # ringing or on a call (mod_callcenter state != Waiting)
    no_answer = {a: 0 for a in agents}
    buf = []
    add = buf.append
    c = {"lines": 0, "event_lines": 0, "offers": 0, "results": 0, "failures": 0, "states": 0, "calls": 0,
         "answered": 0, "capture_noise_lines": 0, "garbage": 0, "sip_traces": 0}
    n = [0, 0]  # lines, event lines (for the noise target)
    idle = [97.5]
    session_no = [1000]
    next_incident = [clock.t + ri(3600, 3 * 3600) * 1_000_000]
    cpu = ["97.50%"]

    def line(level, where, msg, uuid=None):
        clock.t += ri(3, 400)
        n[0] += 1
        if uuid:
            add("%s %s %s [%s] %s %s\n" % (uuid, stamp(), cpu[0], level, where, msg))
        else:
            add("%s %s [%s] %s %s\n" % (stamp(), cpu[0], level, where, msg))

    def event(level, where, msg, uuid=None):
        n[1] += 1
        line(level, where, msg, uuid)

    def capture(level, where, msg, uuid=None):
        c["capture_noise_lines"] += 1
        line(level, where, msg, uuid)

    def filler():
        """True while the noise share is under the target: optional noise is written then."""
        return n[0] - n[1] < noise_target * n[0]

    def trace(tmpl, **kw):
        clock.t += ri(50, 900)
        text = tmpl.format(at=stamp()[11:], **kw)
        n[0] += text.count("\n")
        c["sip_traces"] += 1
        add(text)

    def set_status(a, st):
        status[a] = st
        event("DEBUG", "mod_callcenter.c:1180", "Updated Agent %s@default set status = %s" % (a, st))
        c["states"] += 1

    def agent_back(a, after_us):
        yield after_us
        if status[a] != "Available":
            set_status(a, "Available")
            no_answer[a] = 0

    def free_later(a, after_us):
        yield after_us
        busy[a] = False

    def breaks():
        """Agents' own status changes: breaks and log-outs, about one a minute across the team."""
        while True:
            yield ri(5, 120) * 1_000_000
            a = rng.choice(agents)
            if status[a] == "Available" and not busy[a]:
                set_status(a, rng.choice(BREAKS))
                spawn(agent_back(a, ri(60, 1800) * 1_000_000))

    def arrivals():
        while True:
            yield ri(1_000_000, 12_000_000)
            idle[0] = min(99.9, max(60.0, idle[0] + rng.uniform(-0.3, 0.3)))
            cpu[0] = "%.2f%%" % idle[0]
            spawn(queue_call())

    def queue_call():
        c["calls"] += 1
        call = uuid4(rng)
        queue = rng.choice(QUEUES)
        qname = queue.split("@")[0]
        name = "%s %s" % (rng.choice(FIRST), rng.choice(LAST))
        num = "+4420794%05d" % rng.randrange(100000)
        callid = uuid4(rng)
        tag = hexid(rng, 6)
        branch = hexid(rng, 8)
        inbound = "sofia/external/%s@203.0.113.10" % num
        if filler():
            trace(INVITE_IN, size=ri(900, 1100), queue=qname, branch=branch, name=name, num=num, tag=tag,
                  callid=callid, sess=ri(10 ** 8, 10 ** 9), port=rng.randrange(10000, 30000, 2))
        if filler():
            line("DEBUG", "sofia.c:10279", "sofia/external/%s@203.0.113.10 receiving invite from 203.0.113.10:5060 "
                 "version: 1.10.11-release 64bit call-id: %s@203.0.113.10" % (num, callid), call)
        line("NOTICE", "switch_channel.c:1143", "New Channel %s [%s]" % (inbound, call), call)
        if filler():
            line("DEBUG", "switch_channel.c:2616", "(%s) State Change CS_NEW -> CS_INIT" % inbound, call)
            line("DEBUG", "switch_core_state_machine.c:600", "(%s) Running State Change CS_INIT (Cur 1 Tot %d)"
                 % (inbound, session_no[0]), call)
            line("DEBUG", "mod_sofia.c:93", "%s SOFIA INIT" % inbound, call)
            line("DEBUG", "switch_core_state_machine.c:48", "%s Standard ROUTING" % inbound, call)
        if filler():
            line("INFO", "mod_dialplan_xml.c:637", "Processing %s <%s>->%s in context public" % (name, num, qname), call)
        yield ri(500, 5000)
        if filler():
            line("DEBUG", "switch_channel.c:297", "(%s) Callstate Change DOWN -> ACTIVE" % inbound, call)
        if filler():
            line("NOTICE", "switch_channel.c:3885", "Channel [%s] has been answered" % inbound, call)
        if filler():
            trace(RESP_OUT, size=ri(800, 900), status="200 OK", branch=branch, name=name, num=num, tag=tag,
                  tag2=hexid(rng, 10), queue=qname, callid=callid)
        line("DEBUG", "mod_callcenter.c:3128", "Member %s <%s> joining queue %s" % (name, num, queue), call)
        session_no[0] += 1
        yield ri(200_000, 2_000_000)

        incident = clock.t >= next_incident[0]
        if incident:
            next_incident[0] = clock.t + ri(2 * 3600, 6 * 3600) * 1_000_000
            spawn(network_incident())
        waited = 0
        attempts = 0
        while attempts < 4 and waited < 90_000_000:
            free = [a for a in agents if status[a] == "Available" and not busy[a]]
            if rng.random() < 0.01:
                # routing offers to an agent that is not available (R3): rare
                a = rng.choice(agents)
                if busy[a]:
                    continue
            elif not free:
                w = ri(1_000_000, 5_000_000)
                waited += w
                yield w
                continue
            else:
                a = rng.choice(free)
            attempts += 1
            busy[a] = True
            res = yield from offer(a, call, name, num, queue, inbound, None)
            if res:
                break
            w = ri(500_000, 3_000_000)
            waited += w
            yield w
        else:
            yield ri(1_000_000, 20_000_000)
            capture("NOTICE", "sofia.c:1065", "Hangup %s [CS_EXECUTE] [NORMAL_CLEARING]" % inbound, call)
            line("DEBUG", "mod_callcenter.c:3262", "Member %s <%s> abandoned waiting in queue %s" % (name, num, queue), call)
        if rng.random() < 0.0005:
            add("%s %s [DEBUG] mod_callcenter.c:1\n" % (stamp()[:15], cpu[0]))  # a line cut mid-write
            add("ok lets see if the queue picks it up now\n")  # text pasted into the log
            n[0] += 2
            c["garbage"] += 2

    def network_incident():
        """A burst of failures of one network cause across several agents within two minutes (R5)."""
        cause, ring_rng, sip = rng.choice(INCIDENT_CAUSES)
        for _ in range(ri(4, 8)):
            free = [a for a in agents if status[a] == "Available" and not busy[a]]
            if free:
                a = rng.choice(free)
                busy[a] = True
                call = uuid4(rng)
                num = "+4420794%05d" % rng.randrange(100000)
                yield from offer(a, call, "Incident Caller", num, QUEUES[0], "sofia/external/%s@203.0.113.10" % num,
                                 (cause, ring_rng, sip, "sofia.c:8748"))
            yield ri(1_000_000, 10_000_000)

    def offer(a, call, name, num, queue, inbound, forced):
        """One ring of an agent's phone; returns True when answered."""
        leg_uuid = uuid4(rng)
        leg = "sofia/internal/sip:%s@%s" % (a, ips[a])
        event("DEBUG", "mod_callcenter.c:1180", "Updated Agent %s@default set state = Receiving" % a)
        yield ri(500, 4000)
        event("NOTICE", "switch_channel.c:1143", "New Channel %s [%s]" % (leg, leg_uuid), leg_uuid)
        c["offers"] += 1
        if filler():
            line("DEBUG", "switch_channel.c:2616", "(%s) State Change CS_NEW -> CS_INIT" % leg, leg_uuid)
            line("DEBUG", "switch_core_state_machine.c:600", "(%s) Running State Change CS_INIT (Cur 2 Tot %d)"
                 % (leg, session_no[0]), leg_uuid)
            line("DEBUG", "mod_sofia.c:93", "%s SOFIA INIT" % leg, leg_uuid)
            line("DEBUG", "switch_channel.c:2616", "(%s) State Change CS_ROUTING -> CS_CONSUME_MEDIA" % leg, leg_uuid)
        capture("DEBUG", "sofia.c:7505", "Channel %s entering state [calling][0]" % leg, leg_uuid)
        session_no[0] += 1
        if filler():
            trace(INVITE_OUT, size=ri(1200, 1400), ip=bare_ip[a], agent=a, rinst=hexid(rng, 16),
                  branch=hexid(rng, 12), name=name, num=num, tag=hexid(rng, 12), callid=uuid4(rng),
                  sess=ri(10 ** 9, 2 * 10 ** 9), sess2=ri(10 ** 9, 2 * 10 ** 9),
                  port=rng.randrange(16384, 32768, 2))
        if forced:
            ok = False
            cause, ring_rng, sip, hangup_at = forced
        elif rng.random() < 0.55 and status[a] == "Available":
            ok = True
        else:
            ok = False
            r = rng.random() * 100
            acc = 0
            for cause, w, ring_rng, sip, hangup_at in FAILURES:
                acc += w
                if r < acc:
                    break
        ring_us = ri(2_000_000, 15_000_000) if ok else int(rng.uniform(*ring_rng) * 1e6)
        if ring_us > 300_000:
            yield ri(50_000, 200_000)
            ring_us -= 200_000
            if filler():
                capture("DEBUG", "sofia.c:7505", "Channel %s entering state [proceeding][180]" % leg, leg_uuid)
                line("DEBUG", "switch_channel.c:297", "(%s) Callstate Change DOWN -> RINGING" % leg, leg_uuid)
                line("NOTICE", "switch_channel.c:3484", "Ring-Ready %s!" % leg, leg_uuid)
        if ok:
            yield ring_us
            capture("DEBUG", "sofia.c:7505", "Channel %s entering state [completed][200]" % leg, leg_uuid)
            line("DEBUG", "switch_channel.c:297", "(%s) Callstate Change RINGING -> ACTIVE" % leg, leg_uuid)
            event("NOTICE", "switch_channel.c:3885", "Channel [%s] has been answered" % leg, leg_uuid)
            if filler():
                line("DEBUG", "switch_core_media.c:3713", "Set Codec %s PCMU/8000 20 ms 160 samples 64000 bits 1 channels"
                     % leg, leg_uuid)
                line("DEBUG", "switch_rtp.c:4461", "Starting timer [soft] 160 bytes per 20ms", leg_uuid)
            yield ri(200, 3000)
            event("DEBUG", "mod_callcenter.c:1965", "Agent %s@default answered \"%s\" <%s> from queue %s"
                  % (a, name, num, queue), call)
            if filler():
                line("DEBUG", "mod_callcenter.c:1180", "Updated Agent %s@default set state = In a queue call" % a)
                line("DEBUG", "mod_callcenter.c:2016", "Member \"%s\" %s is bridged to agent %s@default" % (name, num, a), call)
            c["results"] += 1
            c["answered"] += 1
            no_answer[a] = 0
            # the conversation, then both legs hang up normally
            yield ri(30_000_000, 400_000_000)
            capture("NOTICE", "sofia.c:1065", "Hangup %s [CS_EXCHANGE_MEDIA] [NORMAL_CLEARING]" % leg, leg_uuid)
            if filler():
                capture("NOTICE", "switch_ivr_bridge.c:1445", "Hangup %s [CS_EXCHANGE_MEDIA] [NORMAL_CLEARING]"
                        % inbound, call)
                line("NOTICE", "switch_core_session.c:1708", "Session %d (%s) Ended" % (session_no[0] - 1, leg), leg_uuid)
                line("NOTICE", "switch_core_session.c:2927", "Close Channel %s [CS_DESTROY]" % leg, leg_uuid)
            if filler():
                line("DEBUG", "mod_callcenter.c:1180", "Updated Agent %s@default set state = Waiting" % a)
            spawn(free_later(a, ri(3, 15) * 1_000_000))  # wrap-up time
            return True
        # ---- a failed leg
        yield ring_us
        # the agent changes status while it rings (R1): a quarter of the caller-side cancels
        if cause == "ORIGINATOR_CANCEL" and status[a] == "Available" and rng.random() < 0.25:
            set_status(a, rng.choice(BREAKS))
            spawn(agent_back(a, ri(60, 900) * 1_000_000))
            yield ri(500, 5000)
        if sip:
            capture("DEBUG", "sofia.c:7505", "Channel %s entering state [terminated][%s]" % (leg, sip), leg_uuid)
        event("NOTICE", hangup_at, "Hangup %s [CS_CONSUME_MEDIA] [%s]" % (leg, cause), leg_uuid)
        if filler():
            line("NOTICE", "switch_core_session.c:2927", "Close Channel %s [CS_DESTROY]" % leg, leg_uuid)
        yield ri(1000, 8000)
        event("DEBUG", "mod_callcenter.c:2139", "Agent %s@default Origination Canceled : %s" % (a, cause), call)
        c["results"] += 1
        c["failures"] += 1
        if cause == "NO_ANSWER":
            no_answer[a] += 1
            if no_answer[a] >= 3 and status[a] == "Available":
                capture("DEBUG", "mod_callcenter.c:2173",
                        "Agent %s@default reach maximum no answer of 3, setting agent status to On Break" % a, call)
                set_status(a, "On Break")
                line("DEBUG", "mod_callcenter.c:1180", "Updated Agent %s@default set ready_time = %d"
                     % (a, clock.t // 1_000_000 + 30))
                spawn(agent_back(a, ri(30, 600) * 1_000_000))
                no_answer[a] = 0
        # mod_callcenter's reject/busy/no-answer delay: the agent is not offered again meanwhile
        delay = rng.choice((5, 10, 30))
        if filler():
            line("DEBUG", "mod_callcenter.c:2196", "Agent %s@default sleeping for %d seconds" % (a, delay), call)
        spawn(free_later(a, delay * 1_000_000))
        return False

    heap = []
    seq = [0]

    def spawn(g, at=None):
        seq[0] += 1
        heapq.heappush(heap, (clock.t if at is None else at, seq[0], g))

    for a in agents:
        set_status(a, "Available")
    spawn(arrivals())
    spawn(breaks())
    written = 0
    pop, push = heapq.heappop, heapq.heappush
    while heap:
        t, s, g = pop(heap)
        if t > clock.t:
            clock.t = t
        try:
            d = next(g)
        except StopIteration:
            continue
        seq[0] += 1
        push(heap, (clock.t + d, seq[0], g))
        if len(buf) >= FLUSH_LINES:
            data = "".join(buf).encode()
            buf.clear()
            if written + len(data) >= size:
                cut = data.find(b"\n", size - written - 1)
                data = data[: cut + 1] if cut >= 0 else data
                out.write(data)
                written += len(data)
                c["lines"] += data.count(b"\n")
                break
            out.write(data)
            written += len(data)
            c["lines"] += data.count(b"\n")
    # the counts above are for the whole simulation; the file may end inside its last chunk
    c["event_lines"] = n[1]
    c["bytes"] = written
    c["noise_share"] = round(1 - n[1] / max(1, n[0]), 4)
    c["first_time"] = "2024-03-05 08:00"
    c["last_time"] = stamp()
    stats.update(c)


# ---------------------------------------------------------------------------------------
# Asterisk queue_log


def gen_asterisk(out, size, rng, agents_n, stats):
    t = 1709625600  # 2024-03-05 08:00:00Z
    agents = ["PJSIP/%d" % (1001 + i) for i in range(agents_n)]
    paused = {a: False for a in agents}
    back = {}
    buf = []
    later = []  # (time, seq, line): lines of the future, written once the clock passes them
    seq_no = [0]

    def add(text):
        seq_no[0] += 1
        heapq.heappush(later, (int(text[:text.index("|")]), seq_no[0], text))

    written = 0
    c = {"lines": 0, "event_lines": 0, "results": 0, "failures": 0, "states": 0, "calls": 0}
    add("%d|NONE|NONE|NONE|QUEUESTART|\n" % t)
    for a in agents:
        add("%d|REALTIME|support|%s|ADDMEMBER|\n" % (t, a))
    c["lines"] += 1 + len(agents)
    c["states"] += len(agents)
    c["event_lines"] += len(agents)
    seq = 0
    while written < size:
        c["calls"] += 1
        t += rng.randint(1, 8)
        for a in [a for a, u in back.items() if u <= t]:
            del back[a]
            paused[a] = False
            add("%d|NONE|support|%s|UNPAUSE|%s\n" % (t, a, rng.choice(("", "Auto-Unpause", ""))))
            c["lines"] += 1
            c["states"] += 1
            c["event_lines"] += 1
        if rng.random() < 0.03:
            a = rng.choice(agents)
            if not paused[a]:
                paused[a] = True
                back[a] = t + rng.randint(60, 1800)
                add("%d|NONE|support|%s|PAUSE|%s\n" % (t, a, rng.choice(("Lunch", "Break", "Training", "Meeting"))))
                c["lines"] += 1
                c["states"] += 1
                c["event_lines"] += 1
        seq += 1
        callid = "%d.%d" % (t, seq)
        queue = rng.choice(("support", "sales", "billing"))
        add("%d|%s|%s|NONE|ENTERQUEUE||+4420794%05d|1\n" % (t, callid, queue, rng.randrange(100000)))
        c["lines"] += 1
        wait = 0
        done = False
        for attempt in range(4):
            avail = [a for a in agents if not paused[a]] or agents
            a = rng.choice(avail)
            r = rng.random()
            if r < 0.55:
                ring = rng.randint(2, 15)
                wait += ring
                add("%d|%s|%s|%s|CONNECT|%d|%d.%d|%d\n" % (t + wait, callid, queue, a, wait, t + wait, seq + 1, ring))
                talk = rng.randint(30, 400)
                add("%d|%s|%s|%s|%s|%d|%d|1\n" % (t + wait + talk, callid, queue, a,
                                                  rng.choice(("COMPLETECALLER", "COMPLETEAGENT")), wait, talk))
                c["lines"] += 2
                c["event_lines"] += 1
                c["results"] += 1
                done = True
                break
            ring_ms = rng.choice((rng.randint(15000, 30000), rng.randint(100, 1500), rng.randint(1000, 12000)))
            wait += ring_ms // 1000 + 1
            kind = "RINGNOANSWER" if r < 0.85 else "RINGCANCELED"
            add("%d|%s|%s|%s|%s|%d\n" % (t + wait, callid, queue, a, kind, ring_ms))
            c["lines"] += 1
            c["event_lines"] += 1
            c["results"] += 1
            c["failures"] += 1
            if kind == "RINGNOANSWER" and ring_ms >= 15000 and rng.random() < 0.3:
                paused[a] = True
                back[a] = t + wait + rng.randint(30, 600)
                add("%d|NONE|%s|%s|PAUSE|Auto-Pause\n" % (t + wait, queue, a))
                c["lines"] += 1
                c["states"] += 1
                c["event_lines"] += 1
        if not done:
            add("%d|%s|%s|NONE|ABANDON|1|1|%d\n" % (t + wait + 2, callid, queue, wait + 2))
            c["lines"] += 1
        while later and later[0][0] <= t:
            buf.append(heapq.heappop(later)[2])
        if len(buf) >= CHUNK_LINES:
            data = "".join(buf).encode()
            out.write(data)
            written += len(data)
            buf.clear()
    while later:
        buf.append(heapq.heappop(later)[2])
    if buf:
        data = "".join(buf).encode()
        out.write(data)
        written += len(data)
    c["bytes"] = written
    c["noise_share"] = round(1 - c["event_lines"] / max(1, c["lines"]), 4)
    stats.update(c)


# ---------------------------------------------------------------------------------------
# NICE CXone: Agent Refusal report and agent state history (two CSV files)


def gen_cxone(out, states_out, size, rng, agents_n, stats):
    agents = [(str(1042 + i), '"%s, %s"' % (rng.choice(LAST), rng.choice(FIRST)), str(3301 + i)) for i in range(agents_n)]
    reasons = [("NoAnswer", 40), ("Agent Cancelled", 15), ("Busy", 10), ("Bad Number", 5), ("ContactAlreadyRouted", 8),
               ("Invalid Call Leg", 5), ("Error", 5), ("LinkFailed", 4), ("AgentLinkTimeout", 4), ("Dropped", 4)]
    total_w = sum(w for _, w in reasons)
    states = ["Available", "Inbound Contact", "ACW", "Available", "Unavailable"]
    codes = ["Break", "Lunch", "Personal Call", "Training", "Refused"]
    t = 1773475200  # 03/14/2026 08:00:00 UTC
    contact = 581200000
    out.write("\ufeffContact_ID,Agent_No,FullName,Station_ID,Reason,Refuse_Time\r\n".encode())
    states_out.write(b"Agent_No,FullName,State_Start,State,Unavailable_Code\r\n")
    rbuf, sbuf = [], []
    written = 0
    c = {"lines": 2, "event_lines": 0, "results": 0, "failures": 0, "states": 0}
    while written < size:
        t += rng.randint(1, 20)
        ag, name, station = rng.choice(agents)
        tm = time.gmtime(t)
        st = rng.choice(states)
        code = rng.choice(codes) if st == "Unavailable" else ""
        sbuf.append("%s,%s,%s,%s,%s\r\n" % (ag, name, time.strftime("%m/%d/%Y %H:%M:%S", tm), st, code))
        c["states"] += 1
        if rng.random() < 0.5:
            contact += rng.randint(1, 9)
            r = rng.random() * total_w
            for reason, w in reasons:
                r -= w
                if r < 0:
                    break
            rbuf.append("%d,%s,%s,%s,%s,%s\r\n" % (contact, ag, name, station, reason, time.strftime("%m/%d/%Y %H:%M", tm)))
            c["results"] += 1
            c["failures"] += 1
        if len(sbuf) >= CHUNK_LINES:
            a, b = "".join(rbuf).encode(), "".join(sbuf).encode()
            out.write(a)
            states_out.write(b)
            written += len(a) + len(b)
            rbuf.clear()
            sbuf.clear()
    a, b = "".join(rbuf).encode(), "".join(sbuf).encode()
    out.write(a)
    states_out.write(b)
    written += len(a) + len(b)
    c["lines"] += c["states"] + c["results"]
    c["event_lines"] = c["states"] + c["results"]
    c["bytes"] = written
    c["noise_share"] = 0.0
    stats.update(c)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--format", choices=("freeswitch", "asterisk", "cxone"), default="freeswitch")
    ap.add_argument("--size", default="100M", help="bytes to write, with K/M/G (binary); default 100M")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--agents", type=int, default=50)
    ap.add_argument("--noise", type=float, default=0.70, help="freeswitch: target share of noise lines (default 0.70)")
    ap.add_argument("-o", "--output", required=True, help="output file (cxone: the refusal CSV; the state CSV goes beside it)")
    ap.add_argument("--stats", help="write the summary as JSON to this file")
    args = ap.parse_args()
    size = parse_size(args.size)
    rng = random.Random(args.seed)
    stats = {"format": args.format, "seed": args.seed, "size": args.size}
    t0 = time.monotonic()
    tmp = args.output + ".part"
    with open(tmp, "wb", buffering=1 << 22) as f:
        if args.format == "freeswitch":
            gen_freeswitch(f, size, rng, args.agents, args.noise, stats)
        elif args.format == "asterisk":
            gen_asterisk(f, size, rng, args.agents, stats)
        else:
            base, ext = os.path.splitext(args.output)
            states_path = base + ".states" + (ext or ".csv")
            with open(states_path + ".part", "wb", buffering=1 << 22) as g:
                gen_cxone(f, g, size, rng, args.agents, stats)
            os.replace(states_path + ".part", states_path)
            stats["states_file"] = states_path
    os.replace(tmp, args.output)
    stats["seconds"] = round(time.monotonic() - t0, 2)
    stats["mb_per_s"] = round(stats["bytes"] / 1e6 / max(1e-9, stats["seconds"]), 1)
    text = json.dumps(stats, indent=1)
    if args.stats:
        with open(args.stats, "w") as f:
            f.write(text + "\n")
    print(text, file=sys.stderr)


if __name__ == "__main__":
    main()

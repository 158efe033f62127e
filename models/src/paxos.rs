//! `paxos`: the lecture's Paxos with three servers, leader IDs and explicit takeover.
//!
//! Lecture section: "Consensus in Faulty Systems with Crash Failures: Example: Paxos".
//!
//! How it maps the lecture: servers `S1..Sn` (three by default) and clients `C1..Cm`; client
//! `Ci` submits operation `oi` and takes the first result it gets. As the lecture assumes,
//! commands themselves can always be restored from clients or servers, so only control
//! messages are modelled: a submitted operation is known to every server. The leader
//! assigns each operation a timestamp (a log slot `t`) and sends `ACCEPT(o, t)`; an acceptor
//! that accepts records it and broadcasts `LEARN(o, t)`; a server executes the operation of
//! slot `t` once a majority (itself and one other, with three servers) has learned it and
//! every earlier slot is executed, and returns the sequence it has executed to the client —
//! the lecture's `⟨σ⟩`. Leadership follows a deterministic succession (`S1`, then `S2`, then
//! `S3`, …) on suspicion, which may be false. Every message carries the leader ID of its
//! ballot (ballot `b` is led by server `(b - 1) mod n + 1`); a server rejects `ACCEPT`s of an
//! older leader. A takeover is explicit: the successor announces its ballot (`PREPARE`), the
//! servers that join it report what they have accepted (`PROMISE`), and once a majority has
//! joined, the new leader flushes the outstanding operations — it re-sends, under its own ID,
//! the latest accepted operation of every slot (a no-op for a gap) — before it assigns new
//! slots. Servers fail by crashing (fail-stop).
//!
//! Where it abstracts: the network is the set of messages ever sent, each deliverable to each
//! of its receivers at any time, any number of times, or never (loss, duplication and
//! reordering; the lecture's retransmissions are redeliveries), minus the messages whose
//! delivery can no longer change anything. Suspicion is nondeterministic and bounded by
//! `takeovers`; the log by `slots`; each client submits one operation. A server that executes
//! an operation it already executed in an earlier slot skips it (clients' requests carry an
//! identity). Ghost variables record, per slot and ballot, which servers accepted which
//! operation (to define "chosen"), and the clients' history for stateright's
//! linearizability tester (the sequential object is an append-only log: appending `o`
//! returns the log with `o` at its end).
//!
//! Liveness `clients-answered` assumes weak fairness of submitting, of every delivery and of the
//! successor's takeover once the leader has crashed; crashes and false suspicions are never
//! forced. With `suspicion = unreliable` (the default) it is violated: false suspicions can use
//! up the bounded takeovers before the leader crashes — the FLP boundary, which only timing
//! assumptions cross. With `suspicion = accurate` (only a crashed leader is suspected) it holds
//! when a majority survives and the log has a slot to spare for an operation the crashed leader
//! had assigned but not sent.

use crate::sorted_set::SortedSet;
use ftcheck_protocol::{
    Fairness, ParamKind, ParamSpec, Params, Protocol, Value, VariantSpec, Variants,
};
use serde::{Serialize, Serializer};
use stateright::semantics::{ConsistencyTester, LinearizabilityTester, SequentialSpec};
use stateright::{Model, Property};
use std::fmt;

/// Largest group the model supports.
pub const MAX_SERVERS: usize = 5;
/// Most clients (and so operations) the model supports.
pub const MAX_CLIENTS: usize = 3;
/// Most log slots the model supports.
pub const MAX_SLOTS: usize = 4;
/// Most ballots: the initial leader plus at most `MAX_SERVERS - 1` takeovers.
pub const MAX_BALLOTS: usize = MAX_SERVERS;

/// The no-op a new leader proposes for a gap in the log.
pub const NOOP: u8 = 0;

fn op_name(op: u8) -> String {
    if op == NOOP {
        "no-op".into()
    } else {
        format!("o{op}")
    }
}

/// A sequence of operations (a client's result, or a server's executed log).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Seq {
    len: u8,
    ops: [u8; MAX_SLOTS],
}

impl Seq {
    /// The operations.
    pub fn ops(&self) -> &[u8] {
        &self.ops[..self.len as usize]
    }
    fn push(&mut self, op: u8) {
        self.ops[self.len as usize] = op;
        self.len += 1;
    }
}

impl fmt::Debug for Seq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self.ops().iter().map(|&o| op_name(o)).collect();
        write!(f, "[{}]", names.join(", "))
    }
}

impl Serialize for Seq {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{self:?}"))
    }
}

/// The sequential object clients see: an append-only log whose append returns the log.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct AppendLog(pub Seq);

impl SequentialSpec for AppendLog {
    type Op = u8;
    type Ret = Seq;
    fn invoke(&mut self, op: &u8) -> Seq {
        if self.0.len as usize == MAX_SLOTS {
            return Seq::default(); // never a valid result: the model has no longer logs
        }
        self.0.push(*op);
        self.0
    }
}

/// What one acceptor accepted for a slot, or what one learner has heard for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Vote {
    /// Ballot (leader ID) of the `ACCEPT`.
    pub ballot: u8,
    /// The operation.
    pub op: u8,
}

fn votes<S: Serializer>(vs: &[Option<Vote>; MAX_SLOTS], s: S) -> Result<S::Ok, S::Error> {
    let shown: Vec<Option<String>> = vs
        .iter()
        .map(|v| v.map(|v| format!("{} (b{})", op_name(v.op), v.ballot)))
        .collect();
    let len = shown.iter().rposition(Option::is_some).map_or(0, |i| i + 1);
    shown[..len].serialize(s)
}

fn heard<S: Serializer>(hs: &[Heard; MAX_SLOTS], s: S) -> Result<S::Ok, S::Error> {
    let shown: Vec<Option<String>> = hs
        .iter()
        .map(|h| {
            h.vote.map(|v| {
                format!(
                    "{} (b{}) from {}",
                    op_name(v.op),
                    v.ballot,
                    names(h.from, "S").join("+")
                )
            })
        })
        .collect();
    let len = shown.iter().rposition(Option::is_some).map_or(0, |i| i + 1);
    shown[..len].serialize(s)
}

fn names(mask: u8, prefix: &str) -> Vec<String> {
    (0..8)
        .filter(|i| mask & (1 << i) != 0)
        .map(|i| format!("{prefix}{}", i + 1))
        .collect()
}

fn server_set<S: Serializer>(mask: &u8, s: S) -> Result<S::Ok, S::Error> {
    names(*mask, "S").serialize(s)
}

fn is_zero(x: &u8) -> bool {
    *x == 0
}

fn is_false(x: &bool) -> bool {
    !*x
}

fn no_votes(vs: &[Option<Vote>; MAX_SLOTS]) -> bool {
    vs.iter().all(Option::is_none)
}

fn nothing_heard(hs: &[Heard; MAX_SLOTS]) -> bool {
    hs.iter().all(|h| h.vote.is_none())
}

/// The `LEARN`s a server has heard for one slot: the operation of the latest ballot, and from
/// which servers (itself included when it accepted it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Heard {
    /// The ballot and operation.
    pub vote: Option<Vote>,
    /// The servers it was heard from.
    pub from: u8,
}

/// One server: acceptor, learner, and (when it leads) proposer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Server {
    /// Not crashed.
    pub alive: bool,
    /// The highest ballot (leader ID) it has joined.
    pub ballot: u8,
    /// It leads `ballot` (the takeover is complete).
    #[serde(skip_serializing_if = "is_false")]
    pub leading: bool,
    /// During its takeover: the servers that joined.
    #[serde(serialize_with = "server_set", skip_serializing_if = "is_zero")]
    pub promises: u8,
    /// During its takeover: per slot, the latest accepted operation they reported.
    #[serde(serialize_with = "votes", skip_serializing_if = "no_votes")]
    pub flush: [Option<Vote>; MAX_SLOTS],
    /// Acceptor: per slot, the operation it accepted and under which ballot.
    #[serde(serialize_with = "votes", skip_serializing_if = "no_votes")]
    pub accepted: [Option<Vote>; MAX_SLOTS],
    /// Learner: per slot not yet executed, the `LEARN`s heard.
    #[serde(serialize_with = "heard", skip_serializing_if = "nothing_heard")]
    pub learned: [Heard; MAX_SLOTS],
    /// The operations it executed, slot by slot.
    pub executed: Seq,
}

impl Server {
    fn new(leading: bool) -> Self {
        Server {
            alive: true,
            ballot: 1,
            leading,
            promises: 0,
            flush: [None; MAX_SLOTS],
            accepted: [None; MAX_SLOTS],
            learned: [Heard::default(); MAX_SLOTS],
            executed: Seq::default(),
        }
    }
}

/// A client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Client {
    /// Has not submitted its operation yet.
    Idle,
    /// Waits for a result.
    Waiting,
    /// Got this result.
    Done(Seq),
}

impl Serialize for Client {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Client::Idle => s.serialize_str("idle"),
            Client::Waiting => s.serialize_str("waiting"),
            Client::Done(r) => s.collect_str(&format_args!("got {r:?}")),
        }
    }
}

/// A message. Server and client numbers are 0-based.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Msg {
    /// The leader of `ballot` assigns `op` to `slot`, to every other server.
    Accept {
        /// Ballot (leader ID).
        ballot: u8,
        /// Slot (timestamp), 0-based.
        slot: u8,
        /// Operation.
        op: u8,
    },
    /// `from` accepted `op` for `slot` under `ballot`, to every other server.
    Learn {
        /// Ballot (leader ID).
        ballot: u8,
        /// Slot, 0-based.
        slot: u8,
        /// Operation.
        op: u8,
        /// The acceptor.
        from: u8,
    },
    /// The successor announces its ballot, to every other server.
    Prepare {
        /// The new ballot.
        ballot: u8,
    },
    /// `from` joins `ballot` and reports what it accepted, to the ballot's leader.
    Promise {
        /// The ballot joined.
        ballot: u8,
        /// The server joining.
        from: u8,
        /// Its accepted operations.
        accepted: [Option<Vote>; MAX_SLOTS],
    },
    /// A server's result for the client of `op`.
    Reply {
        /// The operation answered.
        op: u8,
        /// The executed sequence, ending with `op`.
        result: Seq,
    },
}

impl fmt::Debug for Msg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Msg::Accept { ballot, slot, op } => {
                write!(f, "ACCEPT({}, t{}, b{ballot})", op_name(op), slot + 1)
            }
            Msg::Learn {
                ballot,
                slot,
                op,
                from,
            } => write!(
                f,
                "LEARN({}, t{}, b{ballot}) from S{}",
                op_name(op),
                slot + 1,
                from + 1
            ),
            Msg::Prepare { ballot } => write!(f, "PREPARE(b{ballot})"),
            Msg::Promise {
                ballot,
                from,
                accepted,
            } => {
                let acc: Vec<String> = accepted
                    .iter()
                    .enumerate()
                    .filter_map(|(t, v)| {
                        v.map(|v| format!("t{}: {} (b{})", t + 1, op_name(v.op), v.ballot))
                    })
                    .collect();
                write!(
                    f,
                    "PROMISE(b{ballot}) from S{} [{}]",
                    from + 1,
                    acc.join(", ")
                )
            }
            Msg::Reply { op, result } => write!(f, "RESULT({}) = {result:?}", op_name(op)),
        }
    }
}

impl Serialize for Msg {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{self:?}"))
    }
}

/// Who a message is delivered to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum To {
    /// A server (0-based).
    Server(u8),
    /// A client (0-based).
    Client(u8),
}

fn by_name<S: Serializer, T: Serialize>(xs: &[T], prefix: &str, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = s.serialize_map(Some(xs.len()))?;
    for (i, v) in xs.iter().enumerate() {
        map.serialize_entry(&format!("{prefix}{}", i + 1), v)?;
    }
    map.end()
}

fn servers_by_name<S: Serializer>(xs: &[Server], s: S) -> Result<S::Ok, S::Error> {
    by_name(xs, "S", s)
}

fn clients_by_name<S: Serializer>(xs: &[Client], s: S) -> Result<S::Ok, S::Error> {
    by_name(xs, "C", s)
}

/// Ghost: per slot and ballot, the operation accepted under it and by which servers.
pub type Acceptances = [[Option<(u8, u8)>; MAX_BALLOTS]; MAX_SLOTS];

/// A state of the whole system.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct PaxosState {
    /// The servers.
    #[serde(serialize_with = "servers_by_name")]
    pub servers: Vec<Server>,
    /// The clients.
    #[serde(serialize_with = "clients_by_name")]
    pub clients: Vec<Client>,
    /// The messages that may still be delivered.
    pub network: SortedSet<Msg>,
    /// Takeovers started so far.
    pub takeovers: u8,
    /// Ghost: acceptances per slot and ballot, `(operation, servers)`.
    #[serde(skip)]
    pub acceptances: Acceptances,
    /// Ghost: the clients' invocations and results, for the linearizability tester.
    #[serde(skip)]
    pub history: LinearizabilityTester<u8, AppendLog>,
}

/// A step.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// A client submits its operation to every server.
    Submit(u8),
    /// A server suspects the leader (rightly or not) and, as its successor, starts a takeover;
    /// the flag says whether the suspicion is due (the leader of its ballot has crashed).
    Suspect(u8, bool),
    /// A server crashes for good.
    Crash(u8),
    /// A message is delivered (again, possibly).
    Deliver(Msg, To),
}

impl fmt::Debug for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Action::Submit(c) => write!(f, "C{} submits o{}", c + 1, c + 1),
            Action::Suspect(s, _) => write!(f, "S{} suspects the leader and takes over", s + 1),
            Action::Crash(s) => write!(f, "S{} crashes", s + 1),
            Action::Deliver(m, To::Server(s)) => write!(f, "deliver {m:?} to S{}", s + 1),
            Action::Deliver(m, To::Client(c)) => write!(f, "deliver {m:?} to C{}", c + 1),
        }
    }
}

/// The broken variants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// Acceptors and learners ignore the leader ID.
    NoLeaderId,
    /// A server executes what it accepted without waiting for a majority.
    ExecuteWithoutMajority,
    /// A successor leads at once, without flushing what others accepted.
    NoTakeover,
}

impl Variants for Variant {
    const ALL: &'static [(Variant, VariantSpec)] = &[
        (
            Variant::NoLeaderId,
            VariantSpec {
                name: "no-leader-id",
                summary: "servers ignore the leader ID: a delayed ACCEPT of the old leader is \
                          accepted after a takeover (agreement)",
            },
        ),
        (
            Variant::ExecuteWithoutMajority,
            VariantSpec {
                name: "execute-without-majority",
                summary: "a server executes what it accepted without waiting for a majority \
                          (consistent-execution, linearizability)",
            },
        ),
        (
            Variant::NoTakeover,
            VariantSpec {
                name: "no-takeover",
                summary: "the successor sends ACCEPTs at once, without flushing what others \
                          accepted (agreement)",
            },
        ),
    ];
}

/// The model.
#[derive(Clone, Debug)]
pub struct Paxos {
    /// Number of servers.
    pub servers: usize,
    /// Number of clients, each with one operation.
    pub clients: usize,
    /// Log slots.
    pub slots: usize,
    /// Takeovers allowed in a run.
    pub takeovers: usize,
    /// Crashes allowed in a run.
    pub crashes: usize,
    /// Only a crashed leader is suspected (a perfect failure detector).
    pub accurate: bool,
    /// Which variant, if any.
    pub variant: Option<Variant>,
}

impl Paxos {
    fn majority(&self) -> usize {
        self.servers / 2 + 1
    }

    /// Whether server `i` is next in line to take over (the takeover bound aside): `Some(due)`,
    /// `due` when the leader of its ballot has crashed (else the suspicion is false).
    fn takeover(&self, s: &PaxosState, i: usize) -> Option<bool> {
        let v = &s.servers[i];
        (self.leader_of(v.ballot + 1) == i && !v.leading)
            .then(|| !s.servers[self.leader_of(v.ballot)].alive)
    }

    fn leader_of(&self, ballot: u8) -> usize {
        (ballot as usize - 1) % self.servers
    }

    /// What an acceptance or a `LEARN` is compared by: ballot and operation, or (without
    /// leader IDs) the operation alone.
    fn same(&self, a: Vote, b: Vote) -> bool {
        a.op == b.op && (self.variant == Some(Variant::NoLeaderId) || a.ballot == b.ballot)
    }

    /// Learner `i` hears that `from` accepted `v` for `slot`, then executes what it can.
    fn hear(&self, next: &mut PaxosState, i: usize, slot: usize, v: Vote, from: usize) {
        let s = &mut next.servers[i];
        if slot < s.executed.len as usize {
            return;
        }
        let h = &mut s.learned[slot];
        match h.vote {
            Some(old) if self.same(old, v) => {
                if h.from.count_ones() as usize >= self.needed() {
                    return; // enough heard: more changes nothing
                }
                h.from |= 1 << from;
                h.vote = Some(Vote {
                    ballot: old.ballot.max(v.ballot),
                    op: v.op,
                });
            }
            Some(old) if old.ballot > v.ballot && self.variant != Some(Variant::NoLeaderId) => {}
            _ => {
                *h = Heard {
                    vote: Some(v),
                    from: 1 << from,
                }
            }
        }
        self.execute(next, i);
    }

    /// How many servers must have learned an operation before a server executes it.
    fn needed(&self) -> usize {
        if self.variant == Some(Variant::ExecuteWithoutMajority) {
            1
        } else {
            self.majority()
        }
    }

    fn execute(&self, next: &mut PaxosState, i: usize) {
        let needed = self.needed();
        loop {
            let s = &mut next.servers[i];
            let t = s.executed.len as usize;
            if t >= self.slots || (s.learned[t].from.count_ones() as usize) < needed {
                return;
            }
            let op = s.learned[t].vote.expect("heard").op;
            s.learned[t] = Heard::default();
            let fresh = op != NOOP && !s.executed.ops().contains(&op);
            s.executed.push(if fresh { op } else { NOOP });
            if fresh {
                let mut result = Seq::default();
                for &o in s.executed.ops().iter().filter(|&&o| o != NOOP) {
                    result.push(o);
                }
                next.network.insert(Msg::Reply { op, result });
            }
        }
    }

    /// Acceptor `i` accepts `v` for `slot`, tells the others, and hears itself.
    fn accept(&self, next: &mut PaxosState, i: usize, slot: usize, v: Vote) {
        next.servers[i].accepted[slot] = Some(v);
        let g = &mut next.acceptances[slot][v.ballot as usize - 1];
        *g = Some((v.op, g.map_or(0, |(_, m)| m) | 1 << i));
        next.network.insert(Msg::Learn {
            ballot: v.ballot,
            slot: slot as u8,
            op: v.op,
            from: i as u8,
        });
        self.hear(next, i, slot, v, i);
    }

    /// The leader `i` assigns every submitted operation it has not yet placed to a free slot.
    fn propose_pending(&self, next: &mut PaxosState, i: usize) {
        let s = next.servers[i];
        if !s.leading || !s.alive {
            return;
        }
        let mine = |v: &Option<Vote>| v.is_some_and(|v| v.ballot == s.ballot);
        let placed: Vec<u8> = s
            .accepted
            .iter()
            .filter(|v| mine(v))
            .map(|v| v.expect("mine").op)
            .collect();
        let mut free = (0..self.slots).filter(|&t| !mine(&s.accepted[t]));
        for op in 1..=self.clients as u8 {
            if next.clients[op as usize - 1] == Client::Idle || placed.contains(&op) {
                continue;
            }
            match free.next() {
                Some(t) => self.propose(next, i, t, op),
                None => return,
            }
        }
    }

    fn propose(&self, next: &mut PaxosState, i: usize, slot: usize, op: u8) {
        let ballot = next.servers[i].ballot;
        next.network.insert(Msg::Accept {
            ballot,
            slot: slot as u8,
            op,
        });
        self.accept(next, i, slot, Vote { ballot, op });
    }

    /// The takeover of `i` is complete: flush every slot up to the last one reported, then
    /// place the pending operations.
    fn lead(&self, next: &mut PaxosState, i: usize) {
        let s = &mut next.servers[i];
        s.leading = true;
        s.promises = 0;
        let flush = std::mem::replace(&mut s.flush, [None; MAX_SLOTS]);
        if let Some(last) = flush.iter().rposition(Option::is_some) {
            for (t, v) in flush.iter().enumerate().take(last + 1) {
                self.propose(next, i, t, v.map_or(NOOP, |v| v.op));
            }
        }
        self.propose_pending(next, i);
    }

    fn merge(flush: &mut [Option<Vote>; MAX_SLOTS], reported: &[Option<Vote>; MAX_SLOTS]) {
        for (f, r) in flush.iter_mut().zip(reported) {
            if r.is_some_and(|r| f.is_none_or(|f| r.ballot > f.ballot)) {
                *f = *r;
            }
        }
    }

    /// The receivers of a message (no allocation: this runs for every message of every state).
    fn receivers(&self, m: &Msg) -> impl Iterator<Item = To> {
        let all = (1u8 << self.servers) - 1;
        let (servers, client): (u8, Option<u8>) = match *m {
            Msg::Accept { ballot, .. } | Msg::Prepare { ballot } => {
                (all & !(1 << self.leader_of(ballot)), None)
            }
            Msg::Learn { from, .. } => (all & !(1 << from), None),
            Msg::Promise { ballot, .. } => (1 << self.leader_of(ballot), None),
            Msg::Reply { op, .. } => (0, Some(op - 1)),
        };
        (0..8u8)
            .filter(move |j| servers & (1 << j) != 0)
            .map(To::Server)
            .chain(client.map(To::Client))
    }

    /// Delivering `m` to `to` can change nothing, now or later (see each case).
    fn inert(&self, s: &PaxosState, m: &Msg, to: To) -> bool {
        let r = match to {
            To::Client(c) => return s.clients[c as usize] != Client::Waiting, // answered for good
            To::Server(j) => &s.servers[j as usize],
        };
        if !r.alive {
            return true; // crashes are for good
        }
        let blind = self.variant == Some(Variant::NoLeaderId);
        match *m {
            // Ballots only grow, and a slot takes one operation per ballot.
            // (Without leader IDs a later ACCEPT can overwrite a slot and this one restore it.)
            Msg::Accept { ballot, slot, op } => {
                !blind
                    && (r.accepted[slot as usize] == Some(Vote { ballot, op }) || r.ballot > ballot)
            }
            // Executed slots are done; a learner keeps only the latest ballot.
            Msg::Learn {
                ballot,
                slot,
                op,
                from,
            } => {
                let h = r.learned[slot as usize];
                slot < r.executed.len
                    || (!blind
                        && h.vote.is_some_and(|v| {
                            v.ballot > ballot
                                || (v == Vote { ballot, op }
                                    && (h.from & 1 << from != 0
                                        || h.from.count_ones() as usize >= self.needed()))
                        }))
            }
            Msg::Prepare { ballot } => r.ballot >= ballot,
            Msg::Promise { ballot, from, .. } => {
                r.ballot > ballot || r.leading || r.promises & 1 << from != 0
            }
            Msg::Reply { .. } => true,
        }
    }

    fn deliver(&self, next: &mut PaxosState, m: Msg, to: To) {
        let i = match to {
            To::Client(c) => {
                if let Msg::Reply { result, .. } = m {
                    next.clients[c as usize] = Client::Done(result);
                    let _ = next.history.on_return(c, result);
                }
                return;
            }
            To::Server(i) => i as usize,
        };
        match m {
            Msg::Accept { ballot, slot, op } => {
                let s = &mut next.servers[i];
                if ballot >= s.ballot || self.variant == Some(Variant::NoLeaderId) {
                    if ballot > s.ballot {
                        s.ballot = ballot;
                        s.leading = false;
                        s.promises = 0;
                        s.flush = [None; MAX_SLOTS];
                    }
                    self.accept(next, i, slot as usize, Vote { ballot, op });
                }
            }
            Msg::Learn {
                ballot,
                slot,
                op,
                from,
            } => self.hear(next, i, slot as usize, Vote { ballot, op }, from as usize),
            Msg::Prepare { ballot } => {
                let s = &mut next.servers[i];
                if ballot <= s.ballot {
                    return;
                }
                s.ballot = ballot;
                s.leading = false;
                s.promises = 0;
                s.flush = [None; MAX_SLOTS];
                let promise = Msg::Promise {
                    ballot,
                    from: i as u8,
                    accepted: s.accepted,
                };
                next.network.insert(promise);
            }
            Msg::Promise {
                ballot,
                from,
                accepted,
            } => {
                let s = &mut next.servers[i];
                if ballot != s.ballot || s.leading {
                    return;
                }
                s.promises |= 1 << from;
                Self::merge(&mut s.flush, &accepted);
                if s.promises.count_ones() as usize >= self.majority() {
                    self.lead(next, i);
                }
            }
            Msg::Reply { .. } => {}
        }
    }

    fn collect_garbage(&self, next: &mut PaxosState) {
        let mut network = std::mem::take(&mut next.network);
        network.retain(|m| !self.receivers(m).all(|to| self.inert(next, m, to)));
        next.network = network;
    }

    /// The operations chosen for `slot`: accepted by a majority under one ballot.
    fn chosen(&self, s: &PaxosState, slot: usize) -> impl Iterator<Item = u8> + '_ {
        let majority = self.majority();
        s.acceptances[slot]
            .into_iter()
            .flatten()
            .filter(move |(_, m)| m.count_ones() as usize >= majority)
            .map(|(op, _)| op)
    }
}

impl Model for Paxos {
    type State = PaxosState;
    type Action = Action;

    fn init_states(&self) -> Vec<PaxosState> {
        vec![PaxosState {
            servers: (0..self.servers).map(|i| Server::new(i == 0)).collect(),
            clients: vec![Client::Idle; self.clients],
            network: SortedSet::new(),
            takeovers: 0,
            acceptances: [[None; MAX_BALLOTS]; MAX_SLOTS],
            history: LinearizabilityTester::new(AppendLog::default()),
        }]
    }

    fn actions(&self, s: &PaxosState, actions: &mut Vec<Action>) {
        for (c, client) in s.clients.iter().enumerate() {
            if *client == Client::Idle {
                actions.push(Action::Submit(c as u8));
            }
        }
        let crashed = s.servers.iter().filter(|v| !v.alive).count();
        for (i, v) in s.servers.iter().enumerate() {
            if !v.alive {
                continue;
            }
            if (s.takeovers as usize) < self.takeovers {
                if let Some(due) = self.takeover(s, i) {
                    if due || !self.accurate {
                        actions.push(Action::Suspect(i as u8, due));
                    }
                }
            }
            if crashed < self.crashes {
                actions.push(Action::Crash(i as u8));
            }
        }
        for m in s.network.iter() {
            for to in self.receivers(m) {
                if !self.inert(s, m, to) {
                    actions.push(Action::Deliver(*m, to));
                }
            }
        }
    }

    fn next_state(&self, s: &PaxosState, action: Action) -> Option<PaxosState> {
        let mut next = s.clone();
        match action {
            Action::Submit(c) => {
                next.clients[c as usize] = Client::Waiting;
                let _ = next.history.on_invoke(c, c + 1);
                for i in 0..self.servers {
                    self.propose_pending(&mut next, i);
                }
            }
            Action::Suspect(i, _) => {
                next.takeovers += 1;
                let me = &mut next.servers[i as usize];
                me.ballot += 1;
                me.promises = 1 << i;
                me.flush = me.accepted;
                let ballot = me.ballot;
                if self.variant == Some(Variant::NoTakeover) {
                    self.lead(&mut next, i as usize);
                } else {
                    next.network.insert(Msg::Prepare { ballot });
                }
            }
            Action::Crash(i) => {
                // Only what it executed (and answered) matters once it is gone.
                let executed = s.servers[i as usize].executed;
                next.servers[i as usize] = Server {
                    alive: false,
                    ballot: 0,
                    executed,
                    ..Server::new(false)
                };
            }
            Action::Deliver(m, to) => self.deliver(&mut next, m, to),
        }
        self.collect_garbage(&mut next);
        (next != *s).then_some(next)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always("agreement", |m: &Self, s: &PaxosState| {
                (0..m.slots).all(|t| {
                    let mut ops = m.chosen(s, t);
                    let first = ops.next();
                    ops.all(|o| Some(o) == first)
                })
            }),
            Property::always("consistent-execution", |_: &Self, s: &PaxosState| {
                s.servers.iter().all(|a| {
                    s.servers.iter().all(|b| {
                        let (x, y) = (a.executed.ops(), b.executed.ops());
                        x.starts_with(y) || y.starts_with(x)
                    })
                })
            }),
            Property::always("validity", |m: &Self, s: &PaxosState| {
                (0..m.slots).all(|t| {
                    m.chosen(s, t)
                        .all(|o| o == NOOP || s.clients[o as usize - 1] != Client::Idle)
                })
            }),
            Property::always("linearizability", |_: &Self, s: &PaxosState| {
                s.history.serialized_history().is_some()
            }),
            Property::sometimes("operation-chosen", |m: &Self, s: &PaxosState| {
                (0..m.slots).any(|t| m.chosen(s, t).next().is_some())
            }),
            Property::sometimes("takeover", |_: &Self, s: &PaxosState| {
                s.servers.iter().any(|v| v.leading && v.ballot > 1)
            }),
            Property::sometimes("all-answered", |_: &Self, s: &PaxosState| {
                s.clients.iter().all(|c| matches!(c, Client::Done(_)))
            }),
            Property::eventually("clients-answered", |_: &Self, s: &PaxosState| {
                s.clients.iter().all(|c| matches!(c, Client::Done(_)))
            }),
        ]
    }
}

impl Protocol for Paxos {
    type Model = Paxos;
    type Variant = Variant;
    const NAME: &'static str = "paxos";
    const SUMMARY: &'static str =
        "Paxos with leader IDs and explicit takeover over a lossy, duplicating, reordering network";
    const SECTION: &'static str = "Consensus in Faulty Systems with Crash Failures: Example: Paxos";
    const FAIRNESS: &'static str = "weak: submitting, delivering each message to each receiver, \
         the successor's takeover once the leader crashed; unfair: crashes, false suspicions";

    fn fairness(_: &Paxos, action: &Action) -> Fairness {
        match action {
            Action::Submit(_) | Action::Deliver(..) | Action::Suspect(_, true) => Fairness::Weak,
            Action::Suspect(_, false) | Action::Crash(_) => Fairness::Unfair,
        }
    }

    /// `takeovers`: a due takeover (the next leader is alive, its leader crashed) that only
    /// the bound forbids.
    fn bound_blocked(m: &Paxos, s: &PaxosState) -> Option<&'static str> {
        let spent = s.takeovers as usize >= m.takeovers;
        let due = |i: usize| s.servers[i].alive && m.takeover(s, i) == Some(true);
        (spent && (0..s.servers.len()).any(due)).then_some("takeovers")
    }

    fn params() -> Vec<ParamSpec> {
        vec![
            ParamSpec {
                name: "servers",
                help: "number of servers",
                kind: ParamKind::Int {
                    min: 3,
                    max: MAX_SERVERS as i64,
                },
                default: Value::Int(3),
            },
            ParamSpec {
                name: "clients",
                help: "number of clients, each submitting one operation",
                kind: ParamKind::Int {
                    min: 1,
                    max: MAX_CLIENTS as i64,
                },
                default: Value::Int(2),
            },
            ParamSpec {
                name: "slots",
                help: "log slots (timestamps)",
                kind: ParamKind::Int {
                    min: 1,
                    max: MAX_SLOTS as i64,
                },
                default: Value::Int(2),
            },
            ParamSpec {
                name: "takeovers",
                help: "leader takeovers (on true or false suspicion) allowed in a run",
                kind: ParamKind::Int {
                    min: 0,
                    max: MAX_BALLOTS as i64 - 1,
                },
                default: Value::Int(1),
            },
            ParamSpec {
                name: "crashes",
                help: "servers that may crash, for good",
                kind: ParamKind::Int { min: 0, max: 2 },
                default: Value::Int(1),
            },
            ParamSpec {
                name: "suspicion",
                help: "unreliable: a live leader may be suspected (false suspicions); accurate: \
                       only a crashed leader is (a perfect failure detector)",
                kind: ParamKind::Choice {
                    options: &["unreliable", "accurate"],
                },
                default: Value::Choice("unreliable"),
            },
        ]
    }

    fn build(params: &Params, variant: Option<Variant>) -> Paxos {
        let servers = params.usize("servers");
        Paxos {
            servers,
            clients: params.usize("clients"),
            slots: params.usize("slots"),
            takeovers: params.usize("takeovers").min(MAX_BALLOTS - 1),
            crashes: params.usize("crashes").min(servers - 1),
            accurate: params.choice("suspicion") == "accurate",
            variant,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appending_returns_the_log_so_far() {
        let mut log = AppendLog::default();
        assert_eq!(log.invoke(&2).ops(), &[2]);
        assert_eq!(log.invoke(&1).ops(), &[2, 1]);
        assert!(log.is_valid_step(&3, &{
            let mut s = Seq::default();
            s.push(2);
            s.push(1);
            s.push(3);
            s
        }));
    }

    #[test]
    fn two_clients_answered_out_of_real_time_order_are_not_linearizable() {
        let one = |o| {
            let mut s = Seq::default();
            s.push(o);
            s
        };
        let mut h = LinearizabilityTester::new(AppendLog::default());
        h.on_invoke(0u8, 1).unwrap();
        h.on_return(0, one(1)).unwrap();
        h.on_invoke(1, 2).unwrap();
        h.on_return(1, one(2)).unwrap(); // o2 ignores o1, which completed before it began
        assert!(h.serialized_history().is_none());
    }
}

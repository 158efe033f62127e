//! `paxos`: the lecture's Paxos with three servers, leader IDs and explicit takeover, as a
//! stateright actor system (one actor per server and per client).
//!
//! Lecture section: "Consensus in Faulty Systems with Crash Failures: Example: Paxos".
//!
//! How it maps the lecture: servers `S1..Sn` (three by default) and clients `C1..Cm`; client
//! `Ci` submits operation `oi` and takes the first result it gets. As the lecture assumes,
//! commands themselves can always be restored from clients or servers, so only control
//! messages are modelled: a client's request reaching the leader is the leader's `Request`
//! timer (the client's first request is its invocation; a later leader may get it again, as a
//! client retries). The leader assigns each operation a timestamp (a log slot `t`) and sends
//! `ACCEPT(o, t)`; an acceptor that accepts records it and broadcasts `LEARN(o, t)`; a server
//! executes the operation of slot `t` once a majority (itself and one other, with three
//! servers) has learned it and every earlier slot is executed, and returns the sequence it has
//! executed to the client — the lecture's `⟨σ⟩`. Leadership follows a deterministic succession
//! (`S1`, then `S2`, then `S3`, …) on suspicion, which may be false. Every message carries the
//! leader ID of its ballot (ballot `b` is led by server `(b - 1) mod n + 1`); a server rejects
//! `ACCEPT`s of an older leader. A takeover is explicit: the successor announces its ballot
//! (`PREPARE`), the servers that join it report what they have accepted (`PROMISE`), and once
//! a majority has joined, the new leader flushes the outstanding operations — it re-sends,
//! under its own ID, the latest accepted operation of every slot (a no-op for a gap) — before
//! it assigns new slots. Servers fail by crashing (fail-stop, `crashes`); with `restarts` a
//! server crashes and recovers from its storage (the promised ballot, what it accepted and
//! executed) in one step, and with `amnesia` a restart loses the ballot or what it accepted:
//! the generic fault layer of [`ftcheck_protocol::guarded`].
//!
//! Where it abstracts: the network is the set of messages ever sent (stateright's duplicating
//! network), each deliverable at any time, any number of times, or never (loss, duplication
//! and reordering; the lecture's retransmissions are redeliveries), minus the messages whose
//! delivery can no longer change anything. Suspicion is nondeterministic and bounded by
//! `takeovers` (a server's `Takeover` timer when the leader has crashed, its `Suspect` timer
//! when it has not); the log by `slots`. A server that executes an operation it already
//! executed in an earlier slot skips it (clients' requests carry an identity). Ghost variables,
//! kept in the history by an observer of steps and not in the actors, record per slot and
//! ballot which servers accepted which operation (to define "chosen"), the takeovers so far,
//! and the clients' history for stateright's linearizability tester (the sequential object is
//! an append-only log: appending `o` returns the log with `o` at its end).
//!
//! Liveness `clients-answered` assumes weak fairness of clients' requests reaching the leader,
//! of every delivery and of the successor's takeover once the leader has crashed; crashes and
//! false suspicions are never forced. With `suspicion = unreliable` (the default) it is
//! violated: false suspicions can use up the bounded takeovers before the leader crashes — the
//! FLP boundary, which only timing assumptions cross. With `suspicion = accurate` (only a
//! crashed leader is suspected) it holds when a majority survives and the log has a slot to
//! spare for an operation the crashed leader had assigned but not sent.
//!
//! The real bug of crash-recovery Paxos it refutes: `volatile-ballot`, a server that keeps its
//! ballot in memory only. Restarted, it joins ballot 1 again and accepts an `ACCEPT` of the old
//! leader it had promised to ignore, so two operations are chosen for one slot; with the
//! ballot durable (the correct protocol) the same restarts keep agreement.

use ftcheck_protocol::guarded::{
    soon, Durable, Faults, GuardedAction, GuardedActors, GuardedState, TimerGuard,
};
use ftcheck_protocol::{
    Fairness, ParamKind, ParamSpec, Params, Protocol, Value, VariantSpec, Variants,
};
use serde::{Serialize, Serializer};
use stateright::actor::{
    Actor, ActorModel, ActorModelAction, ActorModelState, Envelope, Id, Network, Out,
};
use stateright::semantics::{ConsistencyTester, LinearizabilityTester, SequentialSpec};
use stateright::Expectation;
use std::borrow::Cow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

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

fn op_set<S: Serializer>(mask: &u8, s: S) -> Result<S::Ok, S::Error> {
    let ops: Vec<String> = (0..8u8)
        .filter(|o| mask & (1 << o) != 0)
        .map(op_name)
        .collect();
    ops.serialize(s)
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

/// One server's local state: acceptor, learner, and (when it leads) proposer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Server {
    /// The highest ballot (leader ID) it has joined (0 once crashed for good).
    pub ballot: u8,
    /// It leads `ballot` (the takeover is complete).
    #[serde(skip_serializing_if = "is_false")]
    pub leading: bool,
    /// During its takeover: the servers that joined (itself first; empty otherwise).
    #[serde(serialize_with = "server_set", skip_serializing_if = "is_zero")]
    pub promises: u8,
    /// During its takeover: per slot, the latest accepted operation they reported.
    #[serde(serialize_with = "votes", skip_serializing_if = "no_votes")]
    pub flush: [Option<Vote>; MAX_SLOTS],
    /// As leader: the operations it proposed under its ballot (bit `o`); each once.
    #[serde(serialize_with = "op_set", skip_serializing_if = "is_zero")]
    pub proposed: u8,
    /// Acceptor: per slot, the operation it accepted and under which ballot.
    #[serde(serialize_with = "votes", skip_serializing_if = "no_votes")]
    pub accepted: [Option<Vote>; MAX_SLOTS],
    /// Learner: per slot not yet executed, the `LEARN`s heard.
    #[serde(serialize_with = "heard", skip_serializing_if = "nothing_heard")]
    pub learned: [Heard; MAX_SLOTS],
    /// The operations it executed, slot by slot.
    pub executed: Seq,
}

/// A server is hashed as one string of its fields' bytes (an absent vote as three zeros): one
/// call of the fingerprint's hasher instead of one per field, which was a tenth of the search.
impl Hash for Server {
    fn hash<H: Hasher>(&self, h: &mut H) {
        let vote = |v: Option<Vote>| v.map_or([0, 0, 0], |v| [1, v.ballot, v.op]);
        let mut bytes = [0u8; 5 + 11 * MAX_SLOTS];
        bytes[..4].copy_from_slice(&[
            self.ballot,
            self.leading.into(),
            self.promises,
            self.proposed,
        ]);
        for t in 0..MAX_SLOTS {
            let at = 4 + 11 * t;
            bytes[at..at + 3].copy_from_slice(&vote(self.flush[t]));
            bytes[at + 3..at + 6].copy_from_slice(&vote(self.accepted[t]));
            bytes[at + 6..at + 9].copy_from_slice(&vote(self.learned[t].vote));
            bytes[at + 9] = self.learned[t].from;
            bytes[at + 10] = self.executed.ops[t];
        }
        bytes[4 + 11 * MAX_SLOTS] = self.executed.len;
        h.write(&bytes);
    }
}

impl Server {
    fn new(ballot: u8, leading: bool) -> Self {
        Server {
            ballot,
            leading,
            promises: 0,
            flush: [None; MAX_SLOTS],
            proposed: 0,
            accepted: [None; MAX_SLOTS],
            learned: [Heard::default(); MAX_SLOTS],
            executed: Seq::default(),
        }
    }

    fn stored(&self) -> Stored {
        Stored {
            ballot: self.ballot,
            accepted: self.accepted,
            executed: self.executed,
        }
    }

    /// The first of the `slots` slots it has not placed an operation in under its ballot.
    fn free_slot(&self, slots: usize) -> Option<usize> {
        (0..slots).find(|&t| self.accepted[t].is_none_or(|v| v.ballot != self.ballot))
    }
}

/// What a server keeps in its storage: the ballot it joined, what it accepted and what it
/// executed (what a restart recovers).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub struct Stored {
    /// The ballot it joined.
    pub ballot: u8,
    /// What it accepted, per slot.
    #[serde(serialize_with = "votes")]
    pub accepted: [Option<Vote>; MAX_SLOTS],
    /// What it executed.
    pub executed: Seq,
}

/// One actor's local state.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum Local {
    /// A server's.
    Server(Server),
    /// A client's: the result it took, if any.
    Client(Option<Seq>),
}

impl Serialize for Local {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Local::Server(v) => v.serialize(s),
            Local::Client(None) => s.serialize_str("no result"),
            Local::Client(Some(r)) => s.collect_str(&format_args!("got {r:?}")),
        }
    }
}

/// As traces draw it: `b2 leading, proposed [o2], accepted [t1: o2 (b2)], learned [t1: o2 (b2)
/// from S2], executed [o1]` (what is empty left out), `no result`, `got [o1, o2]`.
impl fmt::Debug for Local {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Local::Client(None) => return f.write_str("no result"),
            Local::Client(Some(r)) => return write!(f, "got {r:?}"),
            Local::Server(s) => s,
        };
        let vote = |v: Vote| format!("{} (b{})", op_name(v.op), v.ballot);
        let slots = |vs: &[Option<Vote>; MAX_SLOTS]| {
            let shown: Vec<String> = vs
                .iter()
                .enumerate()
                .filter_map(|(t, v)| v.map(|v| format!("t{}: {}", t + 1, vote(v))))
                .collect();
            shown.join(", ")
        };
        write!(f, "b{}", s.ballot)?;
        if s.leading {
            f.write_str(" leading")?;
        }
        if s.promises != 0 {
            write!(f, ", promises from {}", names(s.promises, "S").join("+"))?;
        }
        if s.flush.iter().any(Option::is_some) {
            write!(f, ", to flush [{}]", slots(&s.flush))?;
        }
        if s.proposed != 0 {
            let ops: Vec<String> = (0..8u8)
                .filter(|o| s.proposed & (1 << o) != 0)
                .map(op_name)
                .collect();
            write!(f, ", proposed [{}]", ops.join(", "))?;
        }
        if s.accepted.iter().any(Option::is_some) {
            write!(f, ", accepted [{}]", slots(&s.accepted))?;
        }
        let heard: Vec<String> = s
            .learned
            .iter()
            .enumerate()
            .filter_map(|(t, h)| {
                h.vote.map(|v| {
                    let from = names(h.from, "S").join("+");
                    format!("t{}: {} from {from}", t + 1, vote(v))
                })
            })
            .collect();
        if !heard.is_empty() {
            write!(f, ", learned [{}]", heard.join(", "))?;
        }
        write!(f, ", executed {:?}", s.executed)
    }
}

impl Local {
    fn server(&self) -> Option<&Server> {
        match self {
            Local::Server(v) => Some(v),
            Local::Client(_) => None,
        }
    }
}

/// A message. The sender is the envelope's.
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
    /// The sender accepted `op` for `slot` under `ballot`, to every other server.
    Learn {
        /// Ballot (leader ID).
        ballot: u8,
        /// Slot, 0-based.
        slot: u8,
        /// Operation.
        op: u8,
    },
    /// The successor announces its ballot, to every other server.
    Prepare {
        /// The new ballot.
        ballot: u8,
    },
    /// The sender joins `ballot` and reports what it accepted, to the ballot's leader.
    Promise {
        /// The ballot joined.
        ballot: u8,
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
            Msg::Learn { ballot, slot, op } => {
                write!(f, "LEARN({}, t{}, b{ballot})", op_name(op), slot + 1)
            }
            Msg::Prepare { ballot } => write!(f, "PREPARE(b{ballot})"),
            Msg::Promise { ballot, accepted } => {
                let acc: Vec<String> = accepted
                    .iter()
                    .enumerate()
                    .filter_map(|(t, v)| {
                        v.map(|v| format!("t{}: {} (b{})", t + 1, op_name(v.op), v.ballot))
                    })
                    .collect();
                write!(f, "PROMISE(b{ballot}) [{}]", acc.join(", "))
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

/// A server's timers (clients have none).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Timer {
    /// The leader of its ballot has crashed and it is the successor: it takes over.
    Takeover,
    /// It suspects the leader of its ballot, which is alive (a false suspicion), and as the
    /// successor takes over.
    Suspect,
    /// Client `c`'s request (0-based) reaches it while it leads: it places the operation.
    Request(u8),
}

impl fmt::Debug for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Timer::Takeover => f.write_str("the leader crashed: takes over"),
            Timer::Suspect => f.write_str("suspects the live leader: takes over"),
            Timer::Request(c) => write!(f, "C{}'s request o{} arrives", c + 1, c + 1),
        }
    }
}

/// Ghost: per slot and ballot, the operation accepted under it and by which servers.
pub type Acceptances = [[Option<(u8, u8)>; MAX_BALLOTS]; MAX_SLOTS];

/// The ghost variables, in the history: not part of any actor.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Ghost {
    /// Takeovers started so far.
    pub takeovers: u8,
    /// The operations some client has submitted (bit `o`).
    pub submitted: u8,
    /// Acceptances per slot and ballot, `(operation, servers)`.
    pub acceptances: Acceptances,
    /// The clients' invocations and results, for the linearizability tester: shared by the
    /// states whose clients did nothing since (a step copies a pointer, not the tester's
    /// maps; one that changes it copies it then).
    pub history: Arc<LinearizabilityTester<u8, AppendLog>>,
}

impl Default for Ghost {
    fn default() -> Self {
        Ghost {
            takeovers: 0,
            submitted: 0,
            acceptances: [[None; MAX_BALLOTS]; MAX_SLOTS],
            history: Arc::new(LinearizabilityTester::new(AppendLog::default())),
        }
    }
}

impl Serialize for Ghost {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        struct Ops(u8);
        impl Serialize for Ops {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                op_set(&self.0, s)
            }
        }
        let mut st = s.serialize_struct("Ghost", 2)?;
        st.serialize_field("takeovers", &self.takeovers)?;
        st.serialize_field("submitted", &Ops(self.submitted))?;
        st.end()
    }
}

/// The model.
pub type PaxosModel = GuardedActors<PaxosActor, PaxosConfig, Ghost>;
/// A state of the model.
pub type PaxosState = GuardedState<PaxosActor, Ghost>;
/// A step of the model.
pub type PaxosAction = GuardedAction<Msg, Timer, ()>;

/// The broken variants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Variant {
    /// Acceptors and learners ignore the leader ID.
    NoLeaderId,
    /// A server executes what it accepted without waiting for a majority.
    ExecuteWithoutMajority,
    /// A successor leads at once, without flushing what others accepted.
    NoTakeover,
    /// The ballot is kept in memory only: a restart joins ballot 1 again.
    VolatileBallot,
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
        (
            Variant::VolatileBallot,
            VariantSpec {
                name: "volatile-ballot",
                summary: "the ballot is not durable: a restarted server joins ballot 1 again and \
                          accepts the old leader's ACCEPT it had promised to ignore (agreement; \
                          needs restarts=1)",
            },
        ),
    ];
}

/// An actor: a server or a client. Servers are actors `0..servers`, clients follow.
#[derive(Clone, Debug)]
pub enum PaxosActor {
    /// A server.
    Server(Node),
    /// Client `c` (0-based), which submits operation `o(c+1)`.
    Client(u8),
}

/// A server's code and what it knows of the group.
#[derive(Clone, Debug)]
pub struct Node {
    /// Its number (0-based).
    pub me: u8,
    /// The group: servers, clients, slots, the variant.
    pub group: PaxosConfig,
}

impl Node {
    fn has(&self, v: Variant) -> bool {
        self.group.variant == Some(v)
    }

    fn majority(&self) -> usize {
        self.group.majority()
    }

    fn needed(&self) -> usize {
        self.group.needed()
    }

    /// What an acceptance or a `LEARN` is compared by: ballot and operation, or (without
    /// leader IDs) the operation alone.
    fn same(&self, a: Vote, b: Vote) -> bool {
        a.op == b.op && (self.has(Variant::NoLeaderId) || a.ballot == b.ballot)
    }

    fn others(&self) -> impl Iterator<Item = Id> + '_ {
        (0..self.group.servers)
            .filter(move |&j| j != usize::from(self.me))
            .map(Id::from)
    }

    fn broadcast(&self, m: Msg, o: &mut Out<PaxosActor>) {
        for j in self.others() {
            o.send(j, m);
        }
    }

    /// It hears that `from` accepted `v` for `slot`, then executes what it can.
    fn hear(&self, s: &mut Server, slot: usize, v: Vote, from: u8, o: &mut Out<PaxosActor>) {
        if slot < usize::from(s.executed.len) {
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
            Some(old) if old.ballot > v.ballot && !self.has(Variant::NoLeaderId) => {}
            _ => {
                *h = Heard {
                    vote: Some(v),
                    from: 1 << from,
                }
            }
        }
        self.execute(s, o);
    }

    fn execute(&self, s: &mut Server, o: &mut Out<PaxosActor>) {
        let needed = self.needed();
        loop {
            let t = usize::from(s.executed.len);
            if t >= self.group.slots || (s.learned[t].from.count_ones() as usize) < needed {
                return;
            }
            let op = s.learned[t].vote.expect("heard").op;
            s.learned[t] = Heard::default();
            let fresh = op != NOOP && !s.executed.ops().contains(&op);
            s.executed.push(if fresh { op } else { NOOP });
            if fresh {
                let mut result = Seq::default();
                for &x in s.executed.ops().iter().filter(|&&x| x != NOOP) {
                    result.push(x);
                }
                let client = self.group.servers + usize::from(op) - 1;
                o.send(Id::from(client), Msg::Reply { op, result });
            }
        }
    }

    /// It accepts `v` for `slot`, tells the others, and hears itself.
    fn accept(&self, s: &mut Server, slot: usize, v: Vote, o: &mut Out<PaxosActor>) {
        s.accepted[slot] = Some(v);
        self.broadcast(
            Msg::Learn {
                ballot: v.ballot,
                slot: slot as u8,
                op: v.op,
            },
            o,
        );
        self.hear(s, slot, v, self.me, o);
    }

    fn propose(&self, s: &mut Server, slot: usize, op: u8, o: &mut Out<PaxosActor>) {
        let ballot = s.ballot;
        s.proposed |= 1 << op;
        self.broadcast(
            Msg::Accept {
                ballot,
                slot: slot as u8,
                op,
            },
            o,
        );
        self.accept(s, slot, Vote { ballot, op }, o);
    }

    /// Its takeover is complete: it flushes every slot up to the last one reported.
    fn lead(&self, s: &mut Server, o: &mut Out<PaxosActor>) {
        s.leading = true;
        s.promises = 0;
        let flush = std::mem::replace(&mut s.flush, [None; MAX_SLOTS]);
        if let Some(last) = flush.iter().rposition(Option::is_some) {
            for (t, v) in flush.iter().enumerate().take(last + 1) {
                self.propose(s, t, v.map_or(NOOP, |v| v.op), o);
            }
        }
    }

    /// It joins a later ballot as an acceptor.
    fn join(s: &mut Server, ballot: u8) {
        s.ballot = ballot;
        s.leading = false;
        s.promises = 0;
        s.flush = [None; MAX_SLOTS];
        s.proposed = 0;
    }

    fn on_msg(&self, s: &mut Server, src: Id, m: Msg, o: &mut Out<PaxosActor>) {
        match m {
            Msg::Accept { ballot, slot, op } => {
                if s.accepted[usize::from(slot)] == Some(Vote { ballot, op }) {
                    return; // accepted, and its LEARNs sent, already
                }
                if ballot >= s.ballot || self.has(Variant::NoLeaderId) {
                    if ballot > s.ballot {
                        Self::join(s, ballot);
                    }
                    self.accept(s, usize::from(slot), Vote { ballot, op }, o);
                }
            }
            Msg::Learn { ballot, slot, op } => {
                let from = usize::from(src) as u8;
                self.hear(s, usize::from(slot), Vote { ballot, op }, from, o)
            }
            Msg::Prepare { ballot } => {
                if ballot > s.ballot {
                    Self::join(s, ballot);
                    let accepted = s.accepted;
                    o.send(src, Msg::Promise { ballot, accepted });
                }
            }
            Msg::Promise { ballot, accepted } => {
                // A takeover of this incarnation only (`promises` holds itself while one is
                // under way): after a restart, the promises of its earlier takeover are stale.
                if ballot != s.ballot || s.leading || s.promises == 0 {
                    return;
                }
                s.promises |= 1 << usize::from(src);
                for (f, r) in s.flush.iter_mut().zip(&accepted) {
                    if r.is_some_and(|r| f.is_none_or(|f| r.ballot > f.ballot)) {
                        *f = *r;
                    }
                }
                if s.promises.count_ones() as usize >= self.majority() {
                    self.lead(s, o);
                }
            }
            Msg::Reply { .. } => {}
        }
    }

    fn on_timeout(&self, s: &mut Server, timer: Timer, o: &mut Out<PaxosActor>) {
        match timer {
            Timer::Takeover | Timer::Suspect => {
                s.ballot += 1;
                s.leading = false;
                s.promises = 1 << self.me;
                s.flush = s.accepted;
                s.proposed = 0;
                if self.has(Variant::NoTakeover) {
                    self.lead(s, o);
                } else {
                    self.broadcast(Msg::Prepare { ballot: s.ballot }, o);
                }
            }
            Timer::Request(c) => {
                let op = c + 1;
                if s.leading && s.proposed & (1 << op) == 0 {
                    if let Some(t) = s.free_slot(self.group.slots) {
                        self.propose(s, t, op, o);
                    }
                }
            }
        }
        o.set_timer(timer, soon());
    }
}

impl Actor for PaxosActor {
    type Msg = Msg;
    type State = Local;
    type Timer = Timer;
    type Random = ();
    type Storage = Stored;

    fn name(&self) -> String {
        match self {
            PaxosActor::Server(n) => format!("S{}", n.me + 1),
            PaxosActor::Client(c) => format!("C{}", c + 1),
        }
    }

    fn on_start(&self, _id: Id, storage: &Option<Stored>, o: &mut Out<Self>) -> Local {
        let n = match self {
            PaxosActor::Client(_) => return Local::Client(None),
            PaxosActor::Server(n) => n,
        };
        let s = match storage {
            None => Server::new(1, n.me == 0),
            Some(d) => Server {
                accepted: d.accepted,
                executed: d.executed,
                ..Server::new(
                    if n.has(Variant::VolatileBallot) {
                        1
                    } else {
                        d.ballot
                    },
                    false,
                )
            },
        };
        if storage.is_some_and(|d| d != s.stored()) {
            o.save(s.stored());
        }
        for t in [Timer::Takeover, Timer::Suspect] {
            o.set_timer(t, soon());
        }
        for c in 0..n.group.clients as u8 {
            o.set_timer(Timer::Request(c), soon());
        }
        Local::Server(s)
    }

    fn on_msg(&self, _id: Id, state: &mut Cow<Local>, src: Id, msg: Msg, o: &mut Out<Self>) {
        match (self, **state) {
            (PaxosActor::Server(n), Local::Server(mut s)) => {
                n.on_msg(&mut s, src, msg, o);
                finish(state, s, o);
            }
            (PaxosActor::Client(_), Local::Client(None)) => {
                if let Msg::Reply { result, .. } = msg {
                    *state.to_mut() = Local::Client(Some(result));
                }
            }
            _ => {}
        }
    }

    fn on_timeout(&self, _id: Id, state: &mut Cow<Local>, timer: &Timer, o: &mut Out<Self>) {
        if let (PaxosActor::Server(n), Local::Server(mut s)) = (self, **state) {
            n.on_timeout(&mut s, *timer, o);
            finish(state, s, o);
        }
    }
}

/// Applies a server's step computed on a copy: the new state if it changed, and its storage
/// if that changed.
fn finish(state: &mut Cow<Local>, next: Server, o: &mut Out<PaxosActor>) {
    let Local::Server(before) = **state else {
        return;
    };
    if next == before {
        return;
    }
    if next.stored() != before.stored() {
        o.save(next.stored());
    }
    *state.to_mut() = Local::Server(next);
}

/// The model's bounds and switches, which the timer guard, the inert rule and the properties
/// read.
#[derive(Clone, Debug)]
pub struct PaxosConfig {
    /// Number of servers.
    pub servers: usize,
    /// Number of clients, each with one operation.
    pub clients: usize,
    /// Log slots.
    pub slots: usize,
    /// Takeovers allowed in a run.
    pub takeovers: u8,
    /// Only a crashed leader is suspected (a perfect failure detector).
    pub accurate: bool,
    /// A server may restart (its volatile state lost: what it heard, its takeover).
    pub restarts: bool,
    /// A restart may lower a server's ballot or lose what it accepted (amnesia, or the
    /// `volatile-ballot` variant): what only grows otherwise may shrink.
    pub forgetful: bool,
    /// Which variant, if any.
    pub variant: Option<Variant>,
}

impl PaxosConfig {
    fn majority(&self) -> usize {
        self.servers / 2 + 1
    }

    fn leader_of(&self, ballot: u8) -> usize {
        (usize::from(ballot) + self.servers - 1) % self.servers
    }

    /// How many servers must have learned an operation before a server executes it.
    fn needed(&self) -> usize {
        if self.variant == Some(Variant::ExecuteWithoutMajority) {
            1
        } else {
            self.majority()
        }
    }

    /// Whether server `i` is next in line to take over (the takeover bound aside): `Some(due)`,
    /// `due` when the leader of its ballot has crashed (else the suspicion is false).
    fn takeover(&self, s: &ActorModelState<PaxosActor, Ghost>, i: usize) -> Option<bool> {
        let v = s.actor_states[i].server()?;
        (!s.crashed[i] && self.leader_of(v.ballot + 1) == i && !v.leading)
            .then(|| s.crashed[self.leader_of(v.ballot)])
    }

    /// The operations chosen for `slot`: accepted by a majority under one ballot.
    fn chosen<'a>(&self, g: &'a Ghost, slot: usize) -> impl Iterator<Item = u8> + 'a {
        let majority = self.majority();
        g.acceptances[slot]
            .into_iter()
            .flatten()
            .filter(move |(_, m)| m.count_ones() as usize >= majority)
            .map(|(op, _)| op)
    }
}

fn server_states(state: &ActorModelState<PaxosActor, Ghost>) -> impl Iterator<Item = &Server> + '_ {
    state.actor_states.iter().filter_map(|s| s.server())
}

fn client_results(
    state: &ActorModelState<PaxosActor, Ghost>,
) -> impl Iterator<Item = Option<Seq>> + '_ {
    state.actor_states.iter().filter_map(|s| match **s {
        Local::Client(r) => Some(r),
        Local::Server(_) => None,
    })
}

/// When a timer may fire: a takeover when the server is next in line, within the bound (a
/// `Takeover` once the leader crashed, a `Suspect` while it is alive and suspicion is
/// unreliable); a client's request at a leader that has not proposed it and has a slot free.
fn timer_guard(cfg: &PaxosConfig, state: &PaxosState, id: Id, timer: &Timer) -> bool {
    let i = usize::from(id);
    let Some(me) = state.actor_states[i].server() else {
        return false;
    };
    match timer {
        Timer::Takeover | Timer::Suspect => {
            state.history.takeovers < cfg.takeovers
                && cfg.takeover(state, i).is_some_and(|due| {
                    if *timer == Timer::Takeover {
                        due
                    } else {
                        !due && !cfg.accurate
                    }
                })
        }
        Timer::Request(c) => {
            me.leading && me.proposed & (1 << (c + 1)) == 0 && me.free_slot(cfg.slots).is_some()
        }
    }
}

/// Records the ghost variables of a step: a takeover started (a server's ballot grew to one it
/// leads), acceptances (a client's operation accepted for the first time is its invocation),
/// a client's result.
fn observe(
    cfg: &PaxosConfig,
    before: &ActorModelState<PaxosActor, Ghost>,
    after: &ActorModelState<PaxosActor, Ghost>,
) -> Option<Ghost> {
    let mut ghost: Option<Ghost> = None;
    for (i, (old, new)) in before
        .actor_states
        .iter()
        .zip(&after.actor_states)
        .enumerate()
    {
        if Arc::ptr_eq(old, new) {
            continue;
        }
        match (**old, **new) {
            (Local::Server(a), Local::Server(b)) => {
                if b.ballot > a.ballot && cfg.leader_of(b.ballot) == i {
                    ghost.get_or_insert_with(|| after.history.clone()).takeovers += 1;
                }
                for t in 0..MAX_SLOTS {
                    let Some(v) = b.accepted[t].filter(|_| b.accepted[t] != a.accepted[t]) else {
                        continue;
                    };
                    let g = ghost.get_or_insert_with(|| after.history.clone());
                    let slot = &mut g.acceptances[t][usize::from(v.ballot) - 1];
                    *slot = Some((v.op, slot.map_or(0, |(_, m)| m) | 1 << i));
                    if v.op != NOOP && g.submitted & (1 << v.op) == 0 {
                        g.submitted |= 1 << v.op;
                        let _ = Arc::make_mut(&mut g.history).on_invoke(v.op - 1, v.op);
                    }
                }
            }
            (Local::Client(None), Local::Client(Some(result))) => {
                let g = ghost.get_or_insert_with(|| after.history.clone());
                let _ = Arc::make_mut(&mut g.history).on_return((i - cfg.servers) as u8, result);
            }
            _ => {}
        }
    }
    ghost
}

/// Delivering the message can change nothing, now or later. Ballots only grow and a slot takes
/// one operation per ballot, so an `ACCEPT` already accepted or of an older ballot stays inert
/// (not without leader IDs, where a later `ACCEPT` can overwrite a slot and this one restore
/// it); a `LEARN` for an executed slot, or older than the learner's latest, or already heard
/// (or heard enough of); a `PREPARE` at or below the receiver's ballot; a `PROMISE` of an
/// older ballot or one its leader no longer waits for; a result to a client that has one;
/// anything to a server crashed for good. With restarts, what a server heard and its takeover
/// are volatile, and with amnesia (or a volatile ballot) its ballot and acceptances may shrink,
/// so the rules that read them are off there.
fn inert(cfg: &PaxosConfig, state: &ActorModelState<PaxosActor, Ghost>, e: Envelope<&Msg>) -> bool {
    let dst = usize::from(e.dst);
    let r = match &*state.actor_states[dst] {
        Local::Client(r) => return r.is_some(),
        Local::Server(r) => r,
    };
    if state.crashed[dst] {
        return true; // crashes are for good (a restart is one step: never crashed after it)
    }
    let blind = cfg.variant == Some(Variant::NoLeaderId);
    let stable = !cfg.forgetful;
    let from = usize::from(e.src);
    match *e.msg {
        Msg::Accept { ballot, slot, op } => {
            stable
                && !blind
                && (r.accepted[usize::from(slot)] == Some(Vote { ballot, op }) || r.ballot > ballot)
        }
        Msg::Learn { ballot, slot, op } => {
            let h = r.learned[usize::from(slot)];
            slot < r.executed.len
                || (!blind
                    && !cfg.restarts
                    && h.vote.is_some_and(|v| {
                        v.ballot > ballot
                            || (v == Vote { ballot, op }
                                && (h.from & 1 << from != 0
                                    || h.from.count_ones() as usize >= cfg.needed()))
                    }))
        }
        Msg::Prepare { ballot } => stable && r.ballot >= ballot,
        Msg::Promise { ballot, .. } => {
            stable
                && (r.ballot > ballot
                    || r.leading
                    || r.promises == 0
                    || r.promises & 1 << from != 0)
        }
        Msg::Reply { .. } => true,
    }
}

/// What a crash for good leaves of a server: only what it executed (and answered) matters once
/// it is gone.
fn wipe(local: &Local) -> Local {
    match local {
        Local::Server(s) => Local::Server(Server {
            executed: s.executed,
            ..Server::new(0, false)
        }),
        client => *client,
    }
}

/// `paxos` in the catalog.
pub struct Paxos;

impl Protocol for Paxos {
    type Model = PaxosModel;
    type Variant = Variant;
    const NAME: &'static str = "paxos";
    const SUMMARY: &'static str =
        "Paxos with leader IDs and explicit takeover over a lossy, duplicating, reordering network";
    const SECTION: &'static str = "Consensus in Faulty Systems with Crash Failures: Example: Paxos";
    const FAIRNESS: &'static str = "weak: a client's request reaching the leader, delivering \
         each message, the successor's takeover once the leader crashed; unfair: false \
         suspicions and every fault (crashes, restarts, amnesia)";

    fn fairness(_: &PaxosModel, action: &PaxosAction) -> Fairness {
        match action.actor() {
            Some(ActorModelAction::Deliver { .. })
            | Some(ActorModelAction::Timeout(_, Timer::Takeover | Timer::Request(_))) => {
                Fairness::Weak
            }
            _ => Fairness::Unfair,
        }
    }

    /// `takeovers`: a due takeover (the next leader is alive, its leader crashed) that only
    /// the bound forbids.
    fn bound_blocked(m: &PaxosModel, s: &PaxosState) -> Option<&'static str> {
        let cfg = &m.inner.cfg;
        let spent = s.history.takeovers >= cfg.takeovers;
        let due = |i: usize| cfg.takeover(s, i) == Some(true);
        (spent && (0..cfg.servers).any(due)).then_some("takeovers")
    }

    fn params() -> Vec<ParamSpec> {
        let mut params = vec![
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
        ];
        for mut fault in Faults::params(&["restarts", "amnesia"], 2) {
            if fault.name == "restarts" {
                fault.help = "server restarts (a crash and a recovery from storage in one step) \
                              allowed in a run";
            }
            params.push(fault);
        }
        params
    }

    fn build(params: &Params, variant: Option<Variant>) -> PaxosModel {
        let servers = params.usize("servers");
        let clients = params.usize("clients");
        let faults = Faults {
            crashes: params.usize("crashes").min(servers - 1) as u8,
            ..Faults::from_params(params)
        };
        let cfg = PaxosConfig {
            servers,
            clients,
            slots: params.usize("slots"),
            takeovers: params.usize("takeovers").min(MAX_BALLOTS - 1) as u8,
            accurate: params.choice("suspicion") == "accurate",
            restarts: faults.restarts > 0 || faults.amnesia > 0,
            forgetful: faults.amnesia > 0
                || (faults.restarts > 0 && variant == Some(Variant::VolatileBallot)),
            variant,
        };
        let mut actors = ActorModel::new(cfg.clone(), Ghost::default());
        for me in 0..servers {
            actors = actors.actor(PaxosActor::Server(Node {
                me: me as u8,
                group: cfg.clone(),
            }));
        }
        for c in 0..clients {
            actors = actors.actor(PaxosActor::Client(c as u8));
        }
        let actors = actors.init_network(Network::new_unordered_duplicating([]));
        let durable = |name, forget| Durable { name, forget };
        GuardedActors::new(actors, Some(timer_guard as TimerGuard<_, _, _>))
            .observe(observe)
            .inert(inert)
            .on_crash(wipe)
            .durable(vec![
                durable("ballot", |s: &mut Stored| s.ballot = 1),
                durable("accepted", |s: &mut Stored| s.accepted = [None; MAX_SLOTS]),
            ])
            .fault_prone((0..servers).map(Id::from).collect())
            .faults(faults)
            .property(Expectation::Always, "agreement", |m, s| {
                let cfg = &m.inner.cfg;
                (0..cfg.slots).all(|t| {
                    let mut ops = cfg.chosen(&s.history, t);
                    let first = ops.next();
                    ops.all(|o| Some(o) == first)
                })
            })
            .property(Expectation::Always, "consistent-execution", |_, s| {
                server_states(s).all(|a| {
                    server_states(s).all(|b| {
                        let (x, y) = (a.executed.ops(), b.executed.ops());
                        x.starts_with(y) || y.starts_with(x)
                    })
                })
            })
            .property(Expectation::Always, "validity", |m, s| {
                let cfg = &m.inner.cfg;
                (0..cfg.slots).all(|t| {
                    cfg.chosen(&s.history, t)
                        .all(|o| o == NOOP || s.history.submitted & (1 << o) != 0)
                })
            })
            .property(Expectation::Always, "linearizability", |_, s| {
                s.history.history.serialized_history().is_some()
            })
            .property(Expectation::Sometimes, "operation-chosen", |m, s| {
                let cfg = &m.inner.cfg;
                (0..cfg.slots).any(|t| cfg.chosen(&s.history, t).next().is_some())
            })
            .property(Expectation::Sometimes, "takeover", |_, s| {
                server_states(s).any(|v| v.leading && v.ballot > 1)
            })
            .property(Expectation::Sometimes, "all-answered", |_, s| {
                client_results(s).all(|c| c.is_some())
            })
            .property(Expectation::Eventually, "clients-answered", |_, s| {
                client_results(s).all(|c| c.is_some())
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stateright::Model;

    fn model(assignments: &[(&str, Value)], variant: Option<Variant>) -> PaxosModel {
        let mut p = Params::default();
        for spec in Paxos::params() {
            p.0.insert(spec.name.into(), spec.default);
        }
        for (name, v) in assignments {
            p.0.insert((*name).into(), *v);
        }
        Paxos::build(&p, variant)
    }

    /// An `ACCEPT` of an older ballot than its receiver's is inert while ballots only grow,
    /// and not when a restart may lower them (`volatile-ballot`).
    #[test]
    fn an_older_accept_is_inert_only_while_ballots_are_durable() {
        let accept = Msg::Accept {
            ballot: 1,
            slot: 0,
            op: 1,
        };
        let env = Envelope {
            src: Id::from(0),
            dst: Id::from(2),
            msg: &accept,
        };
        for (variant, expected) in [(None, true), (Some(Variant::VolatileBallot), false)] {
            let m = model(&[("restarts", Value::Int(1))], variant);
            let mut s = m.init_states().remove(0);
            s.0.actor_states[2] = Arc::new(Local::Server(Server::new(2, false)));
            assert_eq!(inert(&m.inner.cfg, &s, env), expected, "{variant:?}");
        }
    }

    /// A restart recovers the ballot, what was accepted and what was executed, and loses the
    /// rest; with a volatile ballot it starts again from ballot 1.
    #[test]
    fn a_restart_recovers_the_durable_fields() {
        for (variant, ballot) in [(None, 2), (Some(Variant::VolatileBallot), 1)] {
            let m = model(&[("restarts", Value::Int(1))], variant);
            let s = m.init_states().remove(0);
            let suspect =
                PaxosAction::Actor(ActorModelAction::Timeout(Id::from(1), Timer::Suspect));
            let s = m.next_state(&s, suspect).expect("S2 may suspect S1");
            let s = m
                .next_state(&s, PaxosAction::Restart(Id::from(1)))
                .expect("the restart loses the takeover");
            let Local::Server(s2) = *s.actor_states[1] else {
                panic!("S2 is a server")
            };
            assert_eq!((s2.ballot, s2.promises, s2.leading), (ballot, 0, false));
        }
    }

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

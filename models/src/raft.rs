//! `raft`: the lecture's Raft, with the safety properties of the Raft paper, as a stateright
//! actor system (one actor per server).
//!
//! Lecture section: "Consensus in Faulty Systems with Crash Failures: Raft".
//!
//! How it maps the lecture: a fixed group of servers, each with a log of `⟨operation, term,
//! index⟩` entries and the index of the last committed entry. A follower or candidate whose
//! election timer expires starts an election in the next term and asks every server for its
//! vote; a server votes at most once per term, and never for a candidate whose log is less
//! up to date than its own (a later last term, or the same last term and a longer log). A
//! candidate with the votes of a majority leads its term: it appends client operations to its
//! log (its `Client` timer: a client's request arriving), replicates them with AppendEntries
//! (its `Heartbeat` timer: one entry per message, with the index and term of the entry before
//! it and the leader's commit index), and commits an entry of its own term once a majority
//! stores it, together with every entry before it. Followers copy the leader's log,
//! discarding conflicting entries, and commit up to the leader's commit index. Every message
//! carries its term: a server that sees a later term adopts it and becomes a follower;
//! messages of earlier terms are rejected. A crash and recovery (a `restart` of the fault
//! layer) keeps the durable currentTerm, votedFor and log (the actor's storage) and loses the
//! rest (role, votes, commit index, the leader's replication state).
//!
//! Where it abstracts, as the TLA+ specification of Raft does: the network is the set of
//! messages ever sent (stateright's duplicating network); any of them may be delivered at any
//! time, any number of times, or never, which is loss, duplication and reordering. Terms are
//! bounded by `max-term` (an election timeout is not offered past it) and the log by
//! `client-ops` (the number of client operations the leaders may append in all; a leader
//! numbers the operations of its term `o1`, `o2`, …); timeouts are nondeterministic (a leader
//! may be suspected while it is alive). A restart is one atomic step, and `restarts` bounds
//! how many a run may have; `amnesia` bounds restarts that lose one durable field
//! (currentTerm, votedFor or the log), and `cuts` links cut (with `heal`, they may heal):
//! the generic fault layer of [`ftcheck_protocol::guarded`]. `candidates=k` restricts
//! elections to `S1..Sk` (a restriction, for reaching deep scenarios such as figure 8;
//! verdicts under it hold for that restriction only). Ghost variables, kept in the history by
//! an observer of steps and not in the servers, record every entry any server applied
//! (`applied`), every entry a leader committed with the term it was committed in
//! (`committed`), whether a leader ever removed or changed an entry of its own log
//! (`leader_log_rewritten`) and the client operations appended (`ops`).
//!
//! The same actors run outside the checker over UDP (stateright's `spawn`), where clients
//! send `ClientRequest`s and the leader answers `Committed` once the operation is committed
//! (see [`RaftActor::model_clients`]).
//!
//! Liveness `leader-eventually` ("a leader is eventually elected once elections are fair")
//! assumes weak fairness of election timeouts, deliveries, client requests and replication;
//! faults are never forced. With `elections = asynchronous` (the default) it is violated:
//! three candidates split the vote in the last term the bound allows — the livelock that Raft's
//! randomized timeouts make unlikely but not impossible. `elections = one-at-a-time` is the fair
//! elections those timeouts aim at: an election timer fires only while no server leads and no
//! election under way can still be won (a candidate whose votes, with those of the servers that
//! may still grant theirs, make a majority). There it holds as long as `max-term` exceeds
//! `restarts` (each restart of a candidate uses up a term).
//!
//! Raft's extensions against disruptive servers (Ongaro's thesis §9.6 and §6.2, etcd's
//! `PreVote` and `CheckQuorum`) are parameters, off by default: with `pre-vote` an election
//! timeout first asks for pre-votes (granted for a later term than the voter's and an up to
//! date log) and stands only with a majority, so a refused server keeps its term; with
//! `check-quorum` a leader that reaches no majority steps down (its `CheckQuorum` timer), and
//! a follower that heard from its term's leader since its election timer last fired (its
//! lease) ignores RequestVote and PreVote of later terms. `elections = timely` is the timing
//! these assume: an election timer fires only while the server hears from no leader (none of
//! its term or later reaches it over an uncut link), no election under way can still be won,
//! and every leader has heard back from every server it reaches (heartbeats take far less
//! than an election timeout); a leader's check-quorum timer only while it reaches no
//! majority. Timely elections add the safety property `leader-kept`: a leader that reaches a
//! majority keeps the followers that acknowledged it (none it reaches moves to a later term,
//! which would depose it). Under a partial partition (`cuts=1`, the link between the leader
//! and one server cut for good) plain Raft violates it: the cut-off server stands in a later
//! term and pulls the leader's follower after it; unbounded, this repeats for ever (the
//! disruption behind etcd's PreVote and CheckQuorum). PreVote alone still violates it (the
//! follower grants a pre-vote to a server as up to date as itself); CheckQuorum's lease keeps
//! the leader, with or without PreVote. A bounded search cannot show the endless repetition
//! as a lasso, since every disruption uses up a term: at the bound the run stops, which the
//! liveness check reports `incomplete (bound: max-term)`, never `violated`; so the first
//! disruption is the counterexample, as a safety property.
//!
//! The real bugs of Raft implementations it refutes, each a variant: `forget-vote` and
//! `forget-term` (votedFor, or currentTerm, kept in memory only), `clear-vote-on-step-down`
//! (a server that hears from its term's leader forgets whom it voted for),
//! `follower-commit-beyond-match` (a follower commits up to its own log's end, past the prefix
//! the leader verified), besides the paper's `vote-without-log-check` and
//! `commit-previous-term` (figure 8).

use crate::sorted_set::SortedSet;
use ftcheck_protocol::guarded::{Faults, GuardedAction, GuardedActors, GuardedState, TimerGuard};
use ftcheck_protocol::{
    Fairness, ParamKind, ParamSpec, Params, Protocol, Value, VariantSpec, Variants,
};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use stateright::actor::{Actor, ActorModel, ActorModelAction, ActorModelState, Id, Network, Out};
use stateright::{Expectation, Rewrite, RewritePlan};
use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

/// Largest group the model supports.
pub const MAX_SERVERS: usize = 5;
/// Longest log the model supports (the largest `client-ops`).
pub const MAX_LOG: usize = 4;

/// A log entry: the term it was created in and its operation (`o1`, `o2`, … within a term).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LogEntry {
    /// Term of the leader that appended it.
    pub term: u8,
    /// The operation, numbered from 1.
    pub op: u8,
}

impl fmt::Debug for LogEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "o{}@t{}", self.op, self.term)
    }
}

impl Serialize for LogEntry {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{self:?}"))
    }
}

/// A log of at most [`MAX_LOG`] entries, stored inline.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Log {
    len: u8,
    entries: [LogEntry; MAX_LOG],
}

impl Log {
    /// The entries.
    pub fn entries(&self) -> &[LogEntry] {
        &self.entries[..self.len as usize]
    }
    /// The number of entries.
    pub fn len(&self) -> u8 {
        self.len
    }
    /// No entries.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// The entry at 1-based `index`.
    pub fn at(&self, index: u8) -> Option<LogEntry> {
        (index >= 1 && index <= self.len).then(|| self.entries[index as usize - 1])
    }
    /// The term of the entry at 1-based `index`; 0 for index 0.
    pub fn term_at(&self, index: u8) -> u8 {
        self.at(index).map_or(0, |e| e.term)
    }
    /// The term of the last entry (0 when empty).
    pub fn last_term(&self) -> u8 {
        self.term_at(self.len)
    }
    fn push(&mut self, e: LogEntry) {
        self.entries[self.len as usize] = e;
        self.len += 1;
    }
    fn truncate(&mut self, len: u8) {
        for e in &mut self.entries[len as usize..self.len as usize] {
            *e = LogEntry::default();
        }
        self.len = self.len.min(len);
    }
}

impl fmt::Debug for Log {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.entries()).finish()
    }
}

impl Serialize for Log {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.entries().serialize(s)
    }
}

/// A server's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Follows the leader of its term (or waits for one).
    Follower,
    /// Asks for votes in its term.
    Candidate,
    /// Leads its term.
    Leader,
    /// With `pre-vote`: asks whether it could win an election in the next term, before
    /// standing in it.
    #[serde(rename = "pre-candidate")]
    PreCandidate,
}

impl<'de> Deserialize<'de> for LogEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let parsed = text
            .strip_prefix('o')
            .and_then(|rest| rest.split_once("@t"))
            .and_then(|(op, term)| Some((op.parse().ok()?, term.parse().ok()?)));
        match parsed {
            Some((op, term)) => Ok(LogEntry { term, op }),
            None => Err(serde::de::Error::custom(format!(
                "not a log entry `o<op>@t<term>`: {text}"
            ))),
        }
    }
}

impl<'de> Deserialize<'de> for Log {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let entries = Vec::<LogEntry>::deserialize(d)?;
        if entries.len() > MAX_LOG {
            return Err(serde::de::Error::custom(format!(
                "a log of {} entries (at most {MAX_LOG})",
                entries.len()
            )));
        }
        let mut log = Log::default();
        for e in entries {
            log.push(e);
        }
        Ok(log)
    }
}

/// An entry a leader committed, with the term it was committed in.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Commit {
    /// Log index.
    pub index: u8,
    /// The entry.
    pub entry: LogEntry,
    /// The committing leader's term.
    pub in_term: u8,
}

impl fmt::Debug for Commit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {:?} in t{}", self.index, self.entry, self.in_term)
    }
}

impl Serialize for Commit {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{self:?}"))
    }
}

fn server_name<S: Serializer>(id: &Option<u8>, s: S) -> Result<S::Ok, S::Error> {
    id.map(|i| format!("S{}", i + 1)).serialize(s)
}

fn server_set<S: Serializer>(mask: &u8, s: S) -> Result<S::Ok, S::Error> {
    let names: Vec<String> = (0..8)
        .filter(|i| mask & (1 << i) != 0)
        .map(|i| format!("S{}", i + 1))
        .collect();
    names.serialize(s)
}

fn is_zero(x: &u8) -> bool {
    *x == 0
}

fn is_false(x: &bool) -> bool {
    !*x
}

fn all_zero(s: &[u8; MAX_SERVERS]) -> bool {
    s.iter().all(|&x| x == 0)
}

fn per_server<S: Serializer>(xs: &[u8; MAX_SERVERS], s: S) -> Result<S::Ok, S::Error> {
    let len = xs.iter().rposition(|&x| x != 0).map_or(0, |i| i + 1);
    xs[..len].serialize(s)
}

/// Server `i` renamed by a rewrite plan of the actor ids (servers are actors `0..n`).
fn rename<S>(i: u8, plan: &RewritePlan<Id, S>) -> u8 {
    usize::from(Id::from(i as usize).rewrite(plan)) as u8
}

/// One server's state. Durable (its [`Stored`] storage): `term`, `voted_for`, `log`. The rest
/// is lost in a restart. Its `Debug` text is what traces draw: `leader t1, voted S1, log
/// [o1@t1], commit 1, matched S2:1`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Server {
    /// currentTerm.
    pub term: u8,
    /// votedFor, in `term` (a server's number, 0-based).
    #[serde(serialize_with = "server_name")]
    pub voted_for: Option<u8>,
    /// Role.
    pub role: Role,
    /// The log.
    pub log: Log,
    /// commitIndex.
    pub commit: u8,
    /// A candidate's votes (bit per server).
    #[serde(serialize_with = "server_set", skip_serializing_if = "is_zero")]
    pub votes: u8,
    /// A leader's matchIndex per server (zero otherwise). Its nextIndex for a server is
    /// always `matched + 1`: a new leader starts each follower at the beginning of the log
    /// and moves on as the follower confirms (Raft allows any nextIndex above matchIndex; the
    /// paper's `len + 1` only saves messages when logs already agree).
    #[serde(serialize_with = "per_server", skip_serializing_if = "all_zero")]
    pub matched: [u8; MAX_SERVERS],
    /// Constant: its election timer may fire (see the `candidates` parameter). Kept in the
    /// state so that symmetry sees it.
    #[serde(skip)]
    pub may_campaign: bool,
    /// With `check-quorum`: it heard from its term's leader since its election timer last
    /// fired (the leader's lease), so it ignores RequestVote and PreVote of later terms.
    /// Always false without `check-quorum`.
    #[serde(skip_serializing_if = "is_false")]
    pub lease: bool,
    /// With `elections = timely`: a leader's followers that acknowledged its AppendEntries
    /// in its term (bit per server; what `leader-kept` reads). Always zero otherwise.
    #[serde(serialize_with = "server_set", skip_serializing_if = "is_zero")]
    pub acked: u8,
}

impl Server {
    /// Adopts a later term: follower, no vote yet, no leader heard.
    fn adopt(&mut self, term: u8) {
        if term > self.term {
            self.term = term;
            self.voted_for = None;
            self.lease = false;
            self.step_down();
        }
    }

    fn step_down(&mut self) {
        self.role = Role::Follower;
        self.votes = 0;
        self.matched = [0; MAX_SERVERS];
        self.acked = 0;
    }

    fn stored(&self) -> Stored {
        Stored {
            term: self.term,
            voted_for: self.voted_for,
            log: self.log,
        }
    }

    fn is_leader(&self) -> bool {
        self.role == Role::Leader
    }
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let role = match self.role {
            Role::Follower => "follower",
            Role::Candidate => "candidate",
            Role::Leader => "leader",
            Role::PreCandidate => "pre-candidate",
        };
        write!(f, "{role} t{}", self.term)?;
        if let Some(v) = self.voted_for {
            write!(f, ", voted S{}", v + 1)?;
        }
        write!(f, ", log {:?}, commit {}", self.log, self.commit)?;
        let names = |mask: u8| {
            let names: Vec<String> = (0..8)
                .filter(|j| mask & (1 << j) != 0)
                .map(|j| format!("S{}", j + 1))
                .collect();
            names.join(" ")
        };
        if self.votes != 0 {
            write!(f, ", votes {}", names(self.votes))?;
        }
        if self.lease {
            f.write_str(", lease")?;
        }
        if self.acked != 0 {
            write!(f, ", acked {}", names(self.acked))?;
        }
        if self.matched.iter().any(|&m| m != 0) {
            let matched: Vec<String> = (0..MAX_SERVERS)
                .filter(|&j| self.matched[j] != 0)
                .map(|j| format!("S{}:{}", j + 1, self.matched[j]))
                .collect();
            write!(f, ", matched {}", matched.join(" "))?;
        }
        Ok(())
    }
}

impl Rewrite<Id> for Server {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        let mut out = *self;
        out.voted_for = self.voted_for.map(|v| rename(v, plan));
        let renamed = |mask: u8| {
            (0..8u8)
                .filter(|j| mask & (1 << j) != 0)
                .fold(0, |m, j| m | (1 << rename(j, plan)))
        };
        out.votes = renamed(self.votes);
        out.acked = renamed(self.acked);
        out.matched = [0; MAX_SERVERS];
        for (j, &m) in self.matched.iter().enumerate() {
            if m != 0 {
                out.matched[rename(j as u8, plan) as usize] = m;
            }
        }
        out
    }
}

/// What a server keeps in stable storage (`Out::save`): currentTerm, votedFor, log.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub struct Stored {
    /// currentTerm.
    pub term: u8,
    /// votedFor.
    pub voted_for: Option<u8>,
    /// The log.
    pub log: Log,
}

impl Rewrite<Id> for Stored {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        Stored {
            voted_for: self.voted_for.map(|v| rename(v, plan)),
            ..*self
        }
    }
}

/// A message; the envelope says who sends it and to whom. Every message of the protocol
/// carries the sender's term.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Msg {
    /// RequestVote.
    VoteRequest {
        /// Candidate's term.
        term: u8,
        /// Term of the candidate's last entry.
        last_term: u8,
        /// Length of the candidate's log.
        last_index: u8,
    },
    /// Reply to RequestVote.
    VoteResponse {
        /// Voter's term.
        term: u8,
        /// Vote granted.
        granted: bool,
    },
    /// AppendEntries with at most one entry.
    Append {
        /// Leader's term.
        term: u8,
        /// Index of the entry before `entry`.
        prev_index: u8,
        /// Its term.
        prev_term: u8,
        /// The entry at `prev_index + 1`, if any (none: a heartbeat).
        entry: Option<LogEntry>,
        /// Leader's commit index (at most `prev_index` + 1 when carrying an entry, except
        /// in `follower-commit-beyond-match`, which sends the paper's leaderCommit whole).
        commit: u8,
    },
    /// Reply to AppendEntries.
    AppendResponse {
        /// Follower's term.
        term: u8,
        /// The follower's log matched at `prev_index`.
        success: bool,
        /// On success, the index up to which the follower's log matches the leader's.
        match_index: u8,
    },
    /// A client's operation (outside the checker; in the model the `Client` timer stands
    /// for it). Sent again until `Committed` comes back.
    ClientRequest {
        /// The operation.
        op: u8,
    },
    /// The leader's answer to a `ClientRequest` whose operation is committed.
    Committed {
        /// The operation.
        op: u8,
        /// Its log index.
        index: u8,
    },
    /// PreVote (with `pre-vote`): would the receiver vote for the sender in `term`? The
    /// sender stays in its current term.
    PreVoteRequest {
        /// The term the sender would stand in (its own plus one).
        term: u8,
        /// Term of the sender's last entry.
        last_term: u8,
        /// Length of the sender's log.
        last_index: u8,
    },
    /// Reply to PreVote: `term` is the asked term when granted, the receiver's own otherwise.
    PreVoteResponse {
        /// The asked term (granted) or the receiver's term (refused).
        term: u8,
        /// It would vote.
        granted: bool,
    },
}

impl Rewrite<Id> for Msg {
    fn rewrite<S>(&self, _: &RewritePlan<Id, S>) -> Self {
        *self
    }
}

impl fmt::Debug for Msg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Msg::VoteRequest {
                term,
                last_term,
                last_index,
            } => write!(
                f,
                "RequestVote(t{term}, last index {last_index} term {last_term})"
            ),
            Msg::VoteResponse { term, granted } => write!(
                f,
                "Vote(t{term}, {})",
                if granted { "granted" } else { "refused" }
            ),
            Msg::Append {
                term,
                prev_index,
                prev_term,
                entry,
                commit,
            } => {
                write!(
                    f,
                    "AppendEntries(t{term}, prev index {prev_index} term {prev_term}, "
                )?;
                match entry {
                    Some(e) => write!(f, "[{e:?}]")?,
                    None => write!(f, "[]")?,
                }
                write!(f, ", commit {commit})")
            }
            Msg::AppendResponse {
                term,
                success,
                match_index,
            } => {
                if success {
                    write!(f, "AppendReply(t{term}, match {match_index})")
                } else {
                    write!(f, "AppendReply(t{term}, mismatch)")
                }
            }
            Msg::ClientRequest { op } => write!(f, "ClientRequest(o{op})"),
            Msg::Committed { op, index } => write!(f, "Committed(o{op} at {index})"),
            Msg::PreVoteRequest {
                term,
                last_term,
                last_index,
            } => write!(
                f,
                "PreVote(t{term}, last index {last_index} term {last_term})"
            ),
            Msg::PreVoteResponse { term, granted } => write!(
                f,
                "PreVoteReply(t{term}, {})",
                if granted { "granted" } else { "refused" }
            ),
        }
    }
}

/// A server's timers.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Timer {
    /// A follower's or candidate's election timeout: it stands in the next term.
    Election,
    /// A leader's replication: AppendEntries to every follower (the entry at its next index,
    /// or a heartbeat). One step for all: sending to some and not others is the same as
    /// sending to all and some messages never arriving, which the network allows.
    Heartbeat,
    /// In the model: a client's operation reaches the leader, which appends it.
    Client,
    /// With `pre-vote`, a follower's or candidate's election timeout: it asks for pre-votes
    /// for the next term, staying in its own.
    PreVote,
    /// With `check-quorum`, a leader's election timeout: it has not heard from a majority
    /// and steps down.
    CheckQuorum,
}

/// Timers name no actor.
impl Rewrite<Id> for Timer {
    fn rewrite<S>(&self, _: &RewritePlan<Id, S>) -> Self {
        *self
    }
}

impl fmt::Debug for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Timer::Election => "election timeout: stands as candidate",
            Timer::Heartbeat => "sends AppendEntries",
            Timer::Client => "appends a client operation",
            Timer::PreVote => "election timeout: asks for pre-votes",
            Timer::CheckQuorum => "check-quorum timeout: steps down",
        })
    }
}

/// The ghost variables, in the history: not part of any server.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Ghost {
    /// Client operations appended so far.
    pub ops: u8,
    /// Every `(index, entry)` some server applied.
    pub applied: SortedSet<(u8, LogEntry)>,
    /// Every entry a leader committed, with the term it did so in.
    pub committed: SortedSet<Commit>,
    /// A leader removed or changed an entry of its log within its term.
    pub leader_log_rewritten: bool,
}

impl Rewrite<Id> for Ghost {
    fn rewrite<S>(&self, _: &RewritePlan<Id, S>) -> Self {
        self.clone()
    }
}

/// The model.
pub type RaftModel = GuardedActors<RaftActor, RaftConfig, Ghost>;
/// A state of the model.
pub type RaftState = GuardedState<RaftActor, Ghost>;
/// A step of the model.
pub type RaftAction = GuardedAction<Msg, Timer, ()>;

/// The broken variants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Variant {
    /// Votes are granted without the up-to-date check.
    VoteWithoutLogCheck,
    /// A leader commits entries of earlier terms by counting replicas.
    CommitPreviousTerm,
    /// votedFor is volatile: a restart forgets it.
    ForgetVote,
    /// currentTerm is volatile: a restart starts again from term 0.
    ForgetTerm,
    /// A server that hears from its term's leader clears its vote.
    ClearVoteOnStepDown,
    /// A follower commits up to its log's end rather than the prefix the leader verified.
    FollowerCommitBeyondMatch,
}

impl Variants for Variant {
    const ALL: &'static [(Variant, VariantSpec)] = &[
        (
            Variant::VoteWithoutLogCheck,
            VariantSpec {
                name: "vote-without-log-check",
                summary: "grant votes without the up-to-date check (leader-completeness)",
            },
        ),
        (
            Variant::CommitPreviousTerm,
            VariantSpec {
                name: "commit-previous-term",
                summary: "commit earlier terms' entries by counting replicas, the Raft paper's \
                          figure 8 (state-machine-safety; needs max-term=4, client-ops=2)",
            },
        ),
        (
            Variant::ForgetVote,
            VariantSpec {
                name: "forget-vote",
                summary: "votedFor is not durable: a restart forgets it (election-safety)",
            },
        ),
        (
            Variant::ForgetTerm,
            VariantSpec {
                name: "forget-term",
                summary: "currentTerm is not durable: a restart starts from term 0 and may vote \
                          again in a term it voted in (election-safety)",
            },
        ),
        (
            Variant::ClearVoteOnStepDown,
            VariantSpec {
                name: "clear-vote-on-step-down",
                summary: "a server that hears AppendEntries from its term's leader becomes its \
                          follower anew and clears votedFor: two leaders in one term, no crash \
                          needed (election-safety)",
            },
        ),
        (
            Variant::FollowerCommitBeyondMatch,
            VariantSpec {
                name: "follower-commit-beyond-match",
                summary: "a follower commits up to min(leaderCommit, its log's length), past the \
                          prefix the leader verified (state-machine-safety; needs client-ops=3)",
            },
        ),
    ];
}

/// One server, as an actor: the protocol's code, which the checker explores and `spawn` runs.
#[derive(Clone, Debug)]
pub struct RaftActor {
    /// Every server of the group, this one included, in order (`S1`, `S2`, …): a server is
    /// known by its position here (votedFor, the votes, matchIndex).
    pub peers: Vec<Id>,
    /// This server's position in `peers`.
    pub me: usize,
    /// Its election timer may fire.
    pub may_campaign: bool,
    /// The model's clients: a leader appends an operation when its `Client` timer fires.
    /// Outside the checker (false), operations come in `ClientRequest` messages instead.
    pub model_clients: bool,
    /// Which variant, if any.
    pub variant: Option<Variant>,
    /// The extensions against disruption it runs.
    pub extensions: Extensions,
}

/// Raft's extensions against disruptive servers (Ongaro's thesis, §9.6 and §6.2; etcd's
/// `PreVote` and `CheckQuorum`), each off in the lecture's Raft.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Extensions {
    /// PreVote: an election timeout first asks the others whether they would vote in the next
    /// term (their log check, and a later term than theirs), and stands only with a
    /// majority of yeses; a refused server keeps its term, so it cannot push others into
    /// later terms.
    pub pre_vote: bool,
    /// CheckQuorum: a leader that has not heard from a majority within an election timeout
    /// steps down, and a server that heard from its term's leader since its own election
    /// timer last fired (its lease) ignores RequestVote and PreVote of later terms.
    pub check_quorum: bool,
    /// Leaders record which followers acknowledged their AppendEntries (`Server::acked`),
    /// for the `leader-kept` property of timely elections; no protocol behaviour.
    pub acks: bool,
}

/// The election timeout's range (outside the checker; the model ignores durations).
fn election_timeout() -> std::ops::Range<Duration> {
    Duration::from_millis(300)..Duration::from_millis(600)
}

/// How often a leader replicates (outside the checker).
fn heartbeat() -> std::ops::Range<Duration> {
    Duration::from_millis(50)..Duration::from_millis(60)
}

impl RaftActor {
    fn majority(&self) -> usize {
        self.peers.len() / 2 + 1
    }

    fn index(&self, id: Id) -> Option<u8> {
        self.peers.iter().position(|&p| p == id).map(|i| i as u8)
    }

    fn has(&self, v: Variant) -> bool {
        self.variant == Some(v)
    }

    /// The timer of a server that is not a leader: `PreVote` with pre-vote, else `Election`.
    fn election_timer(&self) -> Timer {
        if self.extensions.pre_vote {
            Timer::PreVote
        } else {
            Timer::Election
        }
    }

    /// Stands in the next term: votes for itself and asks every other server for its vote.
    fn stand(&self, me: &mut Server, o: &mut Out<Self>) {
        let i = self.me as u8;
        me.term += 1;
        me.role = Role::Candidate;
        me.voted_for = Some(i);
        me.votes = 1 << i;
        me.lease = false;
        self.ask(me, me.term, o, |term, last_term, last_index| {
            Msg::VoteRequest {
                term,
                last_term,
                last_index,
            }
        });
    }

    /// Sends every other server a request for its vote (or pre-vote) in `term`, as `msg`
    /// builds it from the term and the server's last entry.
    fn ask(&self, me: &Server, term: u8, o: &mut Out<Self>, msg: fn(u8, u8, u8) -> Msg) {
        for (j, &peer) in self.peers.iter().enumerate() {
            if j != self.me {
                o.send(peer, msg(term, me.log.last_term(), me.log.len()));
            }
        }
    }

    /// Whether a candidate with this last entry is at least as up to date as the server (or
    /// the variant skips the check).
    fn log_ok(&self, me: &Server, last_term: u8, last_index: u8) -> bool {
        last_term > me.log.last_term()
            || (last_term == me.log.last_term() && last_index >= me.log.len())
            || self.has(Variant::VoteWithoutLogCheck)
    }

    /// With check-quorum: a server under a leader's lease ignores requests of later terms.
    fn ignores(&self, me: &Server, term: u8) -> bool {
        self.extensions.check_quorum && me.lease && term > me.term
    }

    /// The reply to a RequestVote, and whether it is granted.
    fn vote(&self, me: &mut Server, from: u8, term: u8, last_term: u8, last_index: u8) -> bool {
        me.adopt(term);
        let granted = term == me.term
            && me.voted_for.is_none_or(|v| v == from)
            && self.log_ok(me, last_term, last_index);
        if granted {
            me.voted_for = Some(from);
        }
        granted
    }

    /// Handles one message on a copy of the server, sending through `o`.
    fn handle(&self, me: &mut Server, src: Id, msg: Msg, o: &mut Out<Self>) {
        let Some(from) = self.index(src) else {
            if let Msg::ClientRequest { op } = msg {
                self.client_request(me, src, op, o);
            }
            return;
        };
        match msg {
            Msg::VoteRequest { term, .. } | Msg::PreVoteRequest { term, .. }
                if self.ignores(me, term) => {}
            Msg::PreVoteRequest {
                term,
                last_term,
                last_index,
            } => {
                let granted = term > me.term && self.log_ok(me, last_term, last_index);
                o.send(
                    src,
                    Msg::PreVoteResponse {
                        term: if granted { term } else { me.term },
                        granted,
                    },
                );
            }
            Msg::PreVoteResponse { term, granted } => {
                if !granted {
                    me.adopt(term);
                } else if me.role == Role::PreCandidate && term == me.term + 1 {
                    me.votes |= 1 << from;
                    if me.votes.count_ones() as usize >= self.majority() {
                        self.stand(me, o);
                    }
                }
            }
            Msg::VoteRequest {
                term,
                last_term,
                last_index,
            } => {
                let granted = self.vote(me, from, term, last_term, last_index);
                o.send(
                    src,
                    Msg::VoteResponse {
                        term: me.term,
                        granted,
                    },
                );
            }
            Msg::VoteResponse { term, granted } => {
                me.adopt(term);
                if term == me.term && me.role == Role::Candidate && granted {
                    me.votes |= 1 << from;
                    if me.votes.count_ones() as usize >= self.majority() {
                        me.role = Role::Leader;
                        me.votes = 0;
                        me.matched = [0; MAX_SERVERS];
                    }
                }
            }
            Msg::Append {
                term,
                prev_index,
                prev_term,
                entry,
                commit,
            } => self.append(me, src, term, prev_index, prev_term, entry, commit, o),
            Msg::AppendResponse {
                term,
                success,
                match_index,
            } => {
                me.adopt(term);
                if term != me.term || !me.is_leader() {
                    return;
                }
                let j = from as usize;
                if success && self.extensions.acks {
                    me.acked |= 1 << from;
                }
                if success && self.extensions.check_quorum && !self.model_clients {
                    // Outside the checker: heard from a follower (a majority of three, with
                    // itself), so the quorum check starts again.
                    o.set_timer(Timer::CheckQuorum, election_timeout());
                }
                if success && match_index > me.matched[j] {
                    me.matched[j] = match_index;
                    self.advance_commit(me);
                }
            }
            Msg::ClientRequest { op } => self.client_request(me, src, op, o),
            Msg::Committed { .. } => {}
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn append(
        &self,
        me: &mut Server,
        src: Id,
        term: u8,
        prev_index: u8,
        prev_term: u8,
        entry: Option<LogEntry>,
        commit: u8,
        o: &mut Out<Self>,
    ) {
        me.adopt(term);
        if term == me.term && matches!(me.role, Role::Candidate | Role::PreCandidate) {
            me.step_down();
        }
        let refuse = |me: &Server| Msg::AppendResponse {
            term: me.term,
            success: false,
            match_index: 0,
        };
        if term < me.term {
            o.send(src, refuse(me));
            return;
        }
        if me.role != Role::Follower {
            // A second leader of this term (only in a broken variant).
            return;
        }
        if self.has(Variant::ClearVoteOnStepDown) {
            // The bug: "become follower of this term's leader" resets votedFor.
            me.voted_for = None;
        }
        me.lease = self.extensions.check_quorum;
        if !self.model_clients {
            // Outside the checker: the leader is alive, so wait before standing.
            o.set_timer(self.election_timer(), election_timeout());
        }
        let log_ok = prev_index == 0
            || (prev_index <= me.log.len() && me.log.term_at(prev_index) == prev_term);
        if !log_ok {
            o.send(src, refuse(me));
            return;
        }
        let mut matched = prev_index;
        if let Some(e) = entry {
            let index = prev_index + 1;
            if me.log.at(index).map(|x| x.term) != Some(e.term) {
                me.log.truncate(prev_index);
                me.log.push(e);
            }
            matched = index;
        }
        let verified = if self.has(Variant::FollowerCommitBeyondMatch) {
            me.log.len()
        } else {
            matched
        };
        me.commit = me.commit.max(commit.min(verified));
        o.send(
            src,
            Msg::AppendResponse {
                term: me.term,
                success: true,
                match_index: matched,
            },
        );
    }

    /// The leader commits the longest prefix a majority stores (the last entry of it from its
    /// own term, unless the variant counts replicas of earlier terms' entries).
    fn advance_commit(&self, me: &mut Server) {
        let own = self.me;
        for n in (me.commit + 1..=me.log.len()).rev() {
            let replicas = (0..self.peers.len())
                .filter(|&j| j == own || me.matched[j] >= n)
                .count();
            if replicas >= self.majority()
                && (me.log.term_at(n) == me.term || self.has(Variant::CommitPreviousTerm))
            {
                me.commit = n;
                return;
            }
        }
    }

    /// Outside the checker: a leader appends a client's operation once, and answers once it
    /// is committed.
    fn client_request(&self, me: &mut Server, src: Id, op: u8, o: &mut Out<Self>) {
        match (1..=me.log.len()).find(|&k| me.log.at(k).is_some_and(|e| e.op == op)) {
            Some(index) if index <= me.commit => o.send(src, Msg::Committed { op, index }),
            Some(_) => {}
            None if me.is_leader() && (me.log.len() as usize) < MAX_LOG => {
                me.log.push(LogEntry { term: me.term, op })
            }
            None => {}
        }
    }

    /// AppendEntries to every other server: the entry after what it is known to match.
    fn replicate(&self, me: &Server, o: &mut Out<Self>) {
        for (j, &peer) in self.peers.iter().enumerate() {
            if j == self.me {
                continue;
            }
            let prev_index = me.matched[j];
            let entry = me.log.at(prev_index + 1);
            let commit = if self.has(Variant::FollowerCommitBeyondMatch) {
                me.commit
            } else {
                me.commit.min(prev_index + u8::from(entry.is_some()))
            };
            o.send(
                peer,
                Msg::Append {
                    term: me.term,
                    prev_index,
                    prev_term: me.log.term_at(prev_index),
                    entry,
                    commit,
                },
            );
        }
    }

    /// Applies a step computed on a copy: the new state if it changed, its storage if that
    /// changed, and the timers of a role it took up.
    fn finish(&self, state: &mut Cow<Server>, next: Server, o: &mut Out<Self>) {
        let before = **state;
        if next == before {
            return;
        }
        if next.stored() != before.stored() {
            o.save(next.stored());
        }
        match (before.is_leader(), next.is_leader()) {
            (false, true) => {
                o.cancel_timer(self.election_timer());
                o.set_timer(Timer::Heartbeat, heartbeat());
                if self.model_clients {
                    o.set_timer(Timer::Client, heartbeat());
                }
                if self.extensions.check_quorum {
                    o.set_timer(Timer::CheckQuorum, election_timeout());
                }
            }
            (true, false) => {
                o.cancel_timer(Timer::Heartbeat);
                o.cancel_timer(Timer::Client);
                o.cancel_timer(Timer::CheckQuorum);
                o.set_timer(self.election_timer(), election_timeout());
            }
            _ => {}
        }
        *state.to_mut() = next;
    }
}

impl Actor for RaftActor {
    type Msg = Msg;
    type State = Server;
    type Timer = Timer;
    type Random = ();
    type Storage = Stored;

    fn name(&self) -> String {
        format!("S{}", self.me + 1)
    }

    fn on_start(&self, _id: Id, storage: &Option<Stored>, o: &mut Out<Self>) -> Server {
        let mut stored = storage.unwrap_or_default();
        if self.has(Variant::ForgetVote) {
            stored.voted_for = None;
        }
        if self.has(Variant::ForgetTerm) {
            stored.term = 0;
        }
        if *storage != Some(stored) {
            o.save(stored);
        }
        o.set_timer(self.election_timer(), election_timeout());
        Server {
            term: stored.term,
            voted_for: stored.voted_for,
            role: Role::Follower,
            log: stored.log,
            commit: 0,
            votes: 0,
            matched: [0; MAX_SERVERS],
            may_campaign: self.may_campaign,
            lease: false,
            acked: 0,
        }
    }

    fn on_msg(&self, _id: Id, state: &mut Cow<Server>, src: Id, msg: Msg, o: &mut Out<Self>) {
        let mut next = **state;
        self.handle(&mut next, src, msg, o);
        self.finish(state, next, o);
    }

    fn on_timeout(&self, _id: Id, state: &mut Cow<Server>, timer: &Timer, o: &mut Out<Self>) {
        let mut next = **state;
        match timer {
            Timer::Election => {
                self.stand(&mut next, o);
                o.set_timer(Timer::Election, election_timeout());
            }
            Timer::PreVote => {
                // Asking again in the same campaign keeps the pre-votes already granted (the
                // network may deliver their replies again anyway).
                if next.role != Role::PreCandidate {
                    next.role = Role::PreCandidate;
                    next.votes = 1 << self.me;
                }
                next.lease = false;
                self.ask(&next, next.term + 1, o, |term, last_term, last_index| {
                    Msg::PreVoteRequest {
                        term,
                        last_term,
                        last_index,
                    }
                });
                o.set_timer(Timer::PreVote, election_timeout());
            }
            Timer::CheckQuorum => next.step_down(),
            Timer::Heartbeat => {
                self.replicate(&next, o);
                o.set_timer(Timer::Heartbeat, heartbeat());
            }
            Timer::Client => {
                let term = next.term;
                let op = next.log.entries().iter().filter(|e| e.term == term).count() as u8 + 1;
                next.log.push(LogEntry { term, op });
                o.set_timer(Timer::Client, heartbeat());
            }
        }
        self.finish(state, next, o);
    }
}

/// When election timers may fire (the `elections` parameter).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Elections {
    /// At any time (timeouts are nondeterministic: a live leader may be suspected).
    Asynchronous,
    /// Only while no server leads and no election under way can still be won.
    OneAtATime,
    /// Only while the server hears from no leader (none of its term or later reaches it over
    /// a link that is not cut) and no election under way can still be won; a leader's
    /// check-quorum timer only while it reaches no majority. Heartbeats are taken to arrive
    /// well within an election timeout, and randomized timeouts to separate elections.
    Timely,
}

/// The model's bounds and switches, which the timer guard reads.
#[derive(Clone, Debug)]
pub struct RaftConfig {
    /// Highest term an election may start.
    pub max_term: u8,
    /// Client operations the leaders may append, in all.
    pub client_ops: u8,
    /// When election timers may fire.
    pub elections: Elections,
    /// Which variant, if any.
    pub variant: Option<Variant>,
    /// A restart may lower a server's term (amnesia, or the `forget-term` variant), so the
    /// inert rules, which rely on terms never decreasing, are off.
    pub forgetful: bool,
}

fn servers(state: &ActorModelState<RaftActor, Ghost>) -> impl Iterator<Item = &Server> + '_ {
    state.actor_states.iter().map(|s| &**s)
}

/// Whether server `i`'s election timer may fire (see [`Elections`]).
fn quiet(cfg: &RaftConfig, state: &RaftState, i: usize) -> bool {
    match cfg.elections {
        Elections::Asynchronous => true,
        Elections::OneAtATime => {
            !(servers(state).any(Server::is_leader) || election_open(cfg, state))
        }
        Elections::Timely => {
            !(hears_leader(state, i) || election_open(cfg, state)) && settled(state)
        }
    }
}

/// Whether every leader has heard back from every server it reaches: heartbeats take far
/// less than an election timeout, so a leader's first round completes before any timer that
/// its election did not stop fires.
fn settled(state: &RaftState) -> bool {
    servers(state).enumerate().all(|(l, leader)| {
        !leader.is_leader()
            || (0..state.actor_states.len())
                .all(|j| j == l || leader.acked & (1 << j) != 0 || !linked(state, l, j))
    })
}

/// Whether servers `i` and `j` can talk: the link between them is not cut.
fn linked(state: &RaftState, i: usize, j: usize) -> bool {
    !state.1.is_cut(Id::from(i), Id::from(j))
}

/// Whether a leader of server `i`'s term or later reaches it.
fn hears_leader(state: &RaftState, i: usize) -> bool {
    let me = &state.actor_states[i];
    servers(state)
        .enumerate()
        .any(|(j, l)| j != i && l.is_leader() && l.term >= me.term && linked(state, i, j))
}

/// Whether server `i` reaches a majority (itself included) over links that are not cut.
fn reaches_majority(state: &RaftState, i: usize) -> bool {
    let n = state.actor_states.len();
    (0..n).filter(|&j| linked(state, i, j)).count() > n / 2
}

/// Whether the protocol lets a server time out and stand (the term bound aside).
fn may_time_out(me: &Server) -> bool {
    !me.is_leader() && me.may_campaign
}

/// Whether an election under way can still be won: a candidate (or pre-candidate) whose votes
/// (pre-votes), with those of the servers that may still grant it theirs (a vote in flight
/// included; not over a cut link), make a majority.
fn election_open(cfg: &RaftConfig, state: &RaftState) -> bool {
    let all: Vec<&Server> = servers(state).collect();
    let majority = all.len() / 2 + 1;
    all.iter().enumerate().any(|(c, cand)| {
        let may_grant = |(j, v): &(usize, &&Server)| {
            let log_ok = cand.log.last_term() > v.log.last_term()
                || (cand.log.last_term() == v.log.last_term() && cand.log.len() >= v.log.len());
            // A vote can still come over a link that is not cut, from a server not kept
            // from granting by its leader's lease (check-quorum).
            let reachable = linked(state, c, *j) && !(v.lease && hears_leader(state, *j));
            let term_ok = match cand.role {
                // A pre-vote is for the next term, and binds nobody.
                Role::PreCandidate => v.term <= cand.term,
                _ => {
                    v.term < cand.term
                        || (v.term == cand.term && v.voted_for.is_none_or(|x| x as usize == c))
                }
            };
            *j == c
                || cand.votes & (1 << j) != 0
                || (reachable
                    && term_ok
                    && (log_ok || cfg.variant == Some(Variant::VoteWithoutLogCheck)))
        };
        matches!(cand.role, Role::Candidate | Role::PreCandidate)
            && all.iter().enumerate().filter(may_grant).count() >= majority
    })
}

/// When a timer may fire: an election (or pre-vote) within the term bound and as
/// [`Elections`] says, a leader's check-quorum as it says, a client operation within the
/// operations bound; replication always.
fn timer_guard(cfg: &RaftConfig, state: &RaftState, id: Id, timer: &Timer) -> bool {
    let i = usize::from(id);
    let me = &state.actor_states[i];
    match timer {
        Timer::Election | Timer::PreVote => {
            may_time_out(me) && me.term < cfg.max_term && quiet(cfg, state, i)
        }
        Timer::CheckQuorum => match cfg.elections {
            Elections::Asynchronous => true,
            Elections::OneAtATime => false,
            Elections::Timely => !reaches_majority(state, i),
        },
        Timer::Heartbeat => true,
        Timer::Client => state.history.ops < cfg.client_ops,
    }
}

/// `leader-kept` (with timely elections): a leader that reaches a majority over links that
/// are not cut keeps the followers that acknowledged its AppendEntries: none of them that it
/// reaches has moved on to a later term (which would depose it at its next heartbeat). This
/// is what PreVote and CheckQuorum protect against a server that is cut off from the leader
/// alone (a partial partition); unbounded, plain Raft's disruption repeats for ever.
fn leader_kept(_: &RaftModel, state: &RaftState) -> bool {
    servers(state).enumerate().all(|(l, leader)| {
        !leader.is_leader()
            || !reaches_majority(state, l)
            || servers(state).enumerate().all(|(j, f)| {
                leader.acked & (1 << j) == 0 || !linked(state, l, j) || f.term <= leader.term
            })
    })
}

/// Records the ghost variables of a step: the entries applied (a commit index that grew), the
/// entries a leader committed, a leader's log rewritten within its term, client operations.
fn observe(
    _: &RaftConfig,
    before: &ActorModelState<RaftActor, Ghost>,
    after: &ActorModelState<RaftActor, Ghost>,
) -> Option<Ghost> {
    let mut ghost: Option<Ghost> = None;
    for (old, new) in servers(before).zip(servers(after)) {
        if std::ptr::eq(old, new) {
            continue;
        }
        let g = ghost.get_or_insert_with(|| after.history.clone());
        for k in old.commit + 1..=new.commit {
            if let Some(e) = new.log.at(k) {
                g.applied.insert((k, e));
            }
        }
        if !(old.is_leader() && new.is_leader() && old.term == new.term) {
            continue;
        }
        for k in old.commit + 1..=new.commit {
            g.committed.insert(Commit {
                index: k,
                entry: new.log.at(k).expect("a leader commits within its log"),
                in_term: new.term,
            });
        }
        if !new.log.entries().starts_with(old.log.entries()) {
            g.leader_log_rewritten = true;
        }
        g.ops += new.log.len().saturating_sub(old.log.len());
    }
    ghost
}

/// The replies whose delivery can no longer change anything, now or later. Terms never
/// decrease and a server leaves candidacy or leadership of a term for good, so these stay
/// inert: a reply of an earlier term than its receiver's; a refused, already counted or too
/// late vote; an AppendEntries reply to a follower of the reply's term (it cannot lead that
/// term any more), or one its leader has already taken in (a mismatch changes nothing;
/// `matched` only grows within a term, and so do a timely election's `acked`); a pre-vote reply
/// of its receiver's term or earlier. Where a restart may lower a term (amnesia, `forget-term`)
/// none of this holds, and no message is inert.
fn inert(
    cfg: &RaftConfig,
    state: &ActorModelState<RaftActor, Ghost>,
    e: stateright::actor::Envelope<&Msg>,
) -> bool {
    if cfg.forgetful {
        return false;
    }
    let r = &state.actor_states[usize::from(e.dst)];
    let from = usize::from(e.src);
    match *e.msg {
        Msg::VoteResponse { term, granted } => {
            term < r.term
                || (term == r.term
                    && (r.role != Role::Candidate || !granted || r.votes & (1 << from) != 0))
        }
        Msg::AppendResponse {
            term,
            success,
            match_index,
        } => {
            term < r.term
                || (term == r.term
                    && (r.role == Role::Follower
                        || (r.is_leader()
                            && (!success
                                || (r.matched[from] >= match_index
                                    && (cfg.elections != Elections::Timely
                                        || r.acked & (1 << from) != 0))))))
        }
        // A pre-vote reply counts only for a pre-candidate one term below it, and a refusal
        // only adopts a later term.
        Msg::PreVoteResponse { term, .. } => term <= r.term,
        _ => false,
    }
}

/// Servers are interchangeable in Raft (none is distinguished by its id): the actors are
/// sorted by their local view with ids left out (whether they may campaign first, so that
/// the servers `candidates` names stay in front; term, role, log, commit index, votes,
/// matchIndex values, the messages they sent and receive).
fn representative(state: &RaftState) -> RaftState {
    let mail = ftcheck_protocol::guarded::mail(state);
    ftcheck_protocol::guarded::sorted_by_key(state, |i| {
        let s = &state.actor_states[i];
        let mut matched = s.matched;
        matched.sort();
        (
            !s.may_campaign,
            (
                s.term,
                s.role,
                s.log,
                s.commit,
                s.lease,
                s.acked.count_ones(),
            ),
            (s.voted_for.map(|v| v as usize == i), s.votes.count_ones()),
            matched,
            state.actor_storages[i].map(|d| d.voted_for.map(|v| v as usize == i)),
            mail[i],
        )
    })
}

/// `raft` in the catalog.
pub struct Raft;

impl Protocol for Raft {
    type Model = RaftModel;
    type Variant = Variant;
    const NAME: &'static str = "raft";
    const SUMMARY: &'static str =
        "Raft leader election and log replication over a lossy, duplicating, reordering network";
    const SECTION: &'static str = "Consensus in Faulty Systems with Crash Failures: Raft";
    const FAIRNESS: &'static str = "weak: election timeouts, delivering each message, client \
         requests, replication; unfair: every fault (restarts, amnesia, cut links)";

    fn fairness(_: &RaftModel, action: &RaftAction) -> Fairness {
        match action.actor() {
            Some(ActorModelAction::Deliver { .. } | ActorModelAction::Timeout(..)) => {
                Fairness::Weak
            }
            _ => Fairness::Unfair,
        }
    }

    /// `max-term`: an election timeout the protocol offers (the server is not a leader, may
    /// campaign, and elections are open) that only the term bound forbids; `client-ops`: a
    /// client request to a leader past the operations bound.
    fn bound_blocked(m: &RaftModel, s: &RaftState) -> Option<&'static str> {
        let cfg = &m.inner.cfg;
        if servers(s)
            .enumerate()
            .any(|(i, me)| may_time_out(me) && me.term >= cfg.max_term && quiet(cfg, s, i))
        {
            return Some("max-term");
        }
        let leads = servers(s).any(Server::is_leader);
        (leads && s.history.ops >= cfg.client_ops).then_some("client-ops")
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
                name: "elections",
                help: "asynchronous: election timers fire at any time; one-at-a-time: only while \
                       no server leads and no election can still be won (the fair elections \
                       that randomized timeouts aim at; for liveness); timely: only while the \
                       server hears from no leader over an uncut link and no election can still \
                       be won (adds the property leader-kept)",
                kind: ParamKind::Choice {
                    options: &["asynchronous", "one-at-a-time", "timely"],
                },
                default: Value::Choice("asynchronous"),
            },
            ParamSpec {
                name: "candidates",
                help: "servers S1..Sk whose election timers may fire (all, when k >= servers)",
                kind: ParamKind::Int {
                    min: 1,
                    max: MAX_SERVERS as i64,
                },
                default: Value::Int(MAX_SERVERS as i64),
            },
            ParamSpec {
                name: "max-term",
                help: "highest term an election may start in",
                kind: ParamKind::Int { min: 1, max: 8 },
                default: Value::Int(2),
            },
            ParamSpec {
                name: "client-ops",
                help: "client operations the leaders may append, in all",
                kind: ParamKind::Int {
                    min: 0,
                    max: MAX_LOG as i64,
                },
                default: Value::Int(1),
            },
            ParamSpec {
                name: "pre-vote",
                help: "PreVote: an election timeout first asks for pre-votes and stands only \
                       with a majority (Ongaro's thesis 9.6)",
                kind: ParamKind::Bool,
                default: Value::Bool(false),
            },
            ParamSpec {
                name: "check-quorum",
                help: "CheckQuorum: a leader that hears from no majority steps down, and a \
                       server that heard from its leader ignores later terms' vote requests \
                       until its election timer fires (Ongaro's thesis 6.2)",
                kind: ParamKind::Bool,
                default: Value::Bool(false),
            },
        ];
        for mut fault in Faults::params(&["restarts", "amnesia", "cuts"], 4) {
            if fault.name == "restarts" {
                fault.help =
                    "crashes (each followed by recovery from durable state) allowed in a run";
                fault.default = Value::Int(1);
            }
            params.push(fault);
        }
        params
    }

    fn build(params: &Params, variant: Option<Variant>) -> RaftModel {
        let n = params.usize("servers");
        let candidates = params.usize("candidates").min(n);
        let peers: Vec<Id> = (0..n).map(Id::from).collect();
        let elections = match params.choice("elections") {
            "one-at-a-time" => Elections::OneAtATime,
            "timely" => Elections::Timely,
            _ => Elections::Asynchronous,
        };
        let faults = Faults::from_params(params);
        let cfg = RaftConfig {
            max_term: params.usize("max-term") as u8,
            client_ops: params.usize("client-ops") as u8,
            elections,
            variant,
            forgetful: faults.amnesia > 0 || variant == Some(Variant::ForgetTerm),
        };
        let extensions = Extensions {
            pre_vote: params.bool("pre-vote"),
            check_quorum: params.bool("check-quorum"),
            acks: elections == Elections::Timely,
        };
        let mut actors = ActorModel::new(cfg, Ghost::default());
        for me in 0..n {
            actors = actors.actor(RaftActor {
                peers: peers.clone(),
                me,
                may_campaign: me < candidates,
                model_clients: true,
                variant,
                extensions,
            });
        }
        let actors = actors.init_network(Network::new_unordered_duplicating([]));
        let durable = |name, forget| ftcheck_protocol::guarded::Durable { name, forget };
        let model = GuardedActors::new(actors, Some(timer_guard as TimerGuard<_, _, _>))
            .observe(observe)
            .inert(inert)
            .durable(vec![
                durable("currentTerm", |s: &mut Stored| s.term = 0),
                durable("votedFor", |s: &mut Stored| s.voted_for = None),
                durable("log", |s: &mut Stored| s.log = Log::default()),
            ])
            .faults(faults)
            .property(Expectation::Always, "election-safety", |_, s| {
                let leaders: Vec<&Server> = servers(s).filter(|v| v.is_leader()).collect();
                leaders
                    .iter()
                    .all(|a| leaders.iter().filter(|b| b.term == a.term).count() == 1)
            })
            .property(Expectation::Always, "leader-append-only", |_, s| {
                !s.history.leader_log_rewritten
            })
            .property(Expectation::Always, "log-matching", |_, s| {
                servers(s).all(|a| {
                    servers(s).all(|b| {
                        let (x, y) = (a.log.entries(), b.log.entries());
                        (0..x.len().min(y.len()))
                            .all(|k| x[k].term != y[k].term || x[..=k] == y[..=k])
                    })
                })
            })
            .property(Expectation::Always, "leader-completeness", |_, s| {
                servers(s).filter(|v| v.is_leader()).all(|l| {
                    s.history
                        .committed
                        .iter()
                        .filter(|c| c.in_term < l.term)
                        .all(|c| l.log.at(c.index) == Some(c.entry))
                })
            })
            .property(Expectation::Always, "state-machine-safety", |_, s| {
                let applied: Vec<&(u8, LogEntry)> = s.history.applied.iter().collect();
                applied.windows(2).all(|w| w[0].0 != w[1].0)
            })
            .property(Expectation::Sometimes, "leader-elected", |_, s| {
                servers(s).any(Server::is_leader)
            })
            .property(Expectation::Sometimes, "entry-committed", |_, s| {
                !s.history.committed.is_empty()
            })
            .property(Expectation::Eventually, "leader-eventually", |_, s| {
                servers(s).any(Server::is_leader)
            });
        if elections == Elections::Timely {
            model.property(Expectation::Always, "leader-kept", leader_kept)
        } else {
            model
        }
    }

    fn symmetry() -> Option<ftcheck_protocol::Symmetry<RaftModel>> {
        Some(representative)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ftcheck_protocol::permutations;
    use stateright::Model;

    fn model_with(given: &[(&str, Value)]) -> RaftModel {
        let mut p = Params::default();
        for spec in Raft::params() {
            p.0.insert(spec.name.into(), spec.default);
        }
        for (name, value) in given {
            p.0.insert((*name).into(), *value);
        }
        Raft::build(&p, None)
    }

    fn model() -> RaftModel {
        model_with(&[])
    }

    /// Over the first 20,000 reachable states (breadth first): the representative is a symmetry
    /// (`check_symmetry`), the same for every renaming of the servers; and over all 8,056
    /// states of a partial partition with PreVote and CheckQuorum (leases, acknowledgements and
    /// the cut link renamed with the servers).
    #[test]
    fn the_representative_is_a_symmetry() {
        let renamings = |s: &RaftState| {
            permutations(3)
                .iter()
                .map(|p| ftcheck_protocol::guarded::permuted(s, p))
                .collect()
        };
        assert_eq!(
            crate::check_symmetry::<Raft>(&model(), &renamings, 20_000),
            20_000
        );
        let extended = model_with(&[
            ("elections", Value::Choice("timely")),
            ("cuts", Value::Int(1)),
            ("restarts", Value::Int(0)),
            ("pre-vote", Value::Bool(true)),
            ("check-quorum", Value::Bool(true)),
        ]);
        assert_eq!(
            crate::check_symmetry::<Raft>(&extended, &renamings, 20_000),
            8_056
        );
    }

    /// CheckQuorum's lease: a follower that heard from its leader ignores a later term's
    /// RequestVote and PreVote (no reply, no change); without the lease it answers.
    #[test]
    fn a_leased_follower_ignores_later_terms() {
        let peers: Vec<Id> = (0..3).map(Id::from).collect();
        let actor = |check_quorum| RaftActor {
            peers: peers.clone(),
            me: 1,
            may_campaign: true,
            model_clients: true,
            variant: None,
            extensions: Extensions {
                pre_vote: true,
                check_quorum,
                acks: false,
            },
        };
        let mut follower = *model().init_states()[0].actor_states[1];
        follower.term = 1;
        follower.lease = true;
        for msg in [
            Msg::VoteRequest {
                term: 2,
                last_term: 0,
                last_index: 0,
            },
            Msg::PreVoteRequest {
                term: 2,
                last_term: 0,
                last_index: 0,
            },
        ] {
            for check_quorum in [true, false] {
                let mut state = Cow::Borrowed(&follower);
                let mut out = Out::new();
                actor(check_quorum).on_msg(Id::from(1), &mut state, Id::from(2), msg, &mut out);
                assert_eq!(out.is_empty(), check_quorum, "{msg:?}");
                // A vote request of a later term is adopted; a pre-vote never changes its
                // receiver.
                let adopts = !check_quorum && matches!(msg, Msg::VoteRequest { .. });
                assert_eq!(matches!(state, Cow::Owned(_)), adopts, "{msg:?}");
            }
        }
    }

    #[test]
    fn a_stale_reply_is_inert_and_a_fresh_one_is_not() {
        let m = model();
        let mut s = m.init_states().remove(0);
        let mut cand = *s.actor_states[0];
        cand.term = 2;
        cand.role = Role::Candidate;
        s.0.actor_states[0] = std::sync::Arc::new(cand);
        let vote = |term| Msg::VoteResponse {
            term,
            granted: true,
        };
        let env = |msg| stateright::actor::Envelope {
            src: Id::from(1),
            dst: Id::from(0),
            msg,
        };
        let (stale, fresh) = (vote(1), vote(2));
        assert!(inert(&m.inner.cfg, &s, env(&stale)));
        assert!(!inert(&m.inner.cfg, &s, env(&fresh)));
    }

    #[test]
    fn a_log_entry_reads_back_from_its_text() {
        let e = LogEntry { term: 3, op: 2 };
        let text = serde_json::to_string(&e).unwrap();
        assert_eq!(text, "\"o2@t3\"");
        assert_eq!(serde_json::from_str::<LogEntry>(&text).unwrap(), e);
        assert!(serde_json::from_str::<LogEntry>("\"x\"").is_err());
    }
}

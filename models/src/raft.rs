//! `raft`: the lecture's Raft, with the safety properties of the Raft paper.
//!
//! Lecture section: "Consensus in Faulty Systems with Crash Failures: Raft".
//!
//! How it maps the lecture: a fixed group of servers, each with a log of `⟨operation, term,
//! index⟩` entries and the index of the last committed entry. A follower or candidate whose
//! election timer expires starts an election in the next term and asks every server for its
//! vote; a server votes at most once per term, and never for a candidate whose log is less
//! up to date than its own (a later last term, or the same last term and a longer log). A
//! candidate with the votes of a majority leads its term: it appends client operations to its
//! log, replicates them with AppendEntries (one entry per message, with the index and term of
//! the entry before it and the leader's commit index), and commits an entry of its own term
//! once a majority stores it, together with every entry before it. Followers copy the leader's
//! log, discarding conflicting entries, and commit up to the leader's commit index. Every
//! message carries its term: a server that sees a later term adopts it and becomes a follower;
//! messages of earlier terms are rejected. A crash and recovery (`restart`) keeps the durable
//! currentTerm, votedFor and log and loses the rest (role, votes, commit index, the leader's
//! replication state).
//!
//! Where it abstracts, as the TLA+ specification of Raft does: the network is the set of
//! messages ever sent; any of them may be delivered at any time, any number of times, or never,
//! which is loss, duplication and reordering. Terms are bounded by `max-term` (an election
//! timeout is not offered past it) and the log by `client-ops` (the number of client operations
//! a leader may append, `o1`, `o2`, …); timeouts are nondeterministic (a leader may be
//! suspected while it is alive). A restart is one atomic step, and `restarts` bounds how many
//! a run may have (a crashed server that stays down is a server whose messages are never
//! delivered and whose timers never fire, which the network and scheduling already allow);
//! `candidates=k` restricts elections to `S1..Sk` (a restriction, for reaching deep scenarios
//! such as figure 8; verdicts under it hold for that restriction only). Ghost variables record every
//! entry any server applied (`applied`), every entry a leader committed with the term it was
//! committed in (`committed`), and whether a leader ever removed or changed an entry of its
//! own log (`leader_log_rewritten`).
//!
//! Liveness `leader-eventually` ("a leader is eventually elected once elections are fair")
//! assumes weak fairness of election timeouts, deliveries, client requests and replication;
//! restarts are never forced. With `elections = asynchronous` (the default) it is violated:
//! three candidates split the vote in the last term the bound allows — the livelock that Raft's
//! randomized timeouts make unlikely but not impossible. `elections = one-at-a-time` is the fair
//! elections those timeouts aim at: an election timer fires only while no server leads and no
//! election under way can still be won (a candidate whose votes, with those of the servers that
//! may still grant theirs, make a majority). There it holds as long as `max-term` exceeds
//! `restarts` (each restart of a candidate uses up a term).

use crate::sorted_set::SortedSet;
use ftcheck_protocol::{
    permutations, Fairness, ParamKind, ParamSpec, Params, Protocol, Value, VariantSpec, Variants,
};
use serde::{Serialize, Serializer};
use stateright::{Model, Property};
use std::fmt;

/// Largest group the model supports.
pub const MAX_SERVERS: usize = 5;
/// Longest log the model supports (the largest `client-ops`).
pub const MAX_LOG: usize = 4;

/// A log entry: the term it was created in and its operation (`o1`, `o2`, …).
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

fn all_zero(s: &[u8; MAX_SERVERS]) -> bool {
    s.iter().all(|&x| x == 0)
}

fn per_server<S: Serializer>(xs: &[u8; MAX_SERVERS], s: S) -> Result<S::Ok, S::Error> {
    let len = xs.iter().rposition(|&x| x != 0).map_or(0, |i| i + 1);
    xs[..len].serialize(s)
}

/// One server. Durable: `term`, `voted_for`, `log`. The rest is lost in a restart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Server {
    /// currentTerm.
    pub term: u8,
    /// votedFor, in `term`.
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
    /// server, not looked up by its number, so renaming servers is still a symmetry.
    #[serde(skip)]
    pub may_campaign: bool,
}

impl Server {
    fn new(may_campaign: bool) -> Self {
        Server {
            may_campaign,
            term: 0,
            voted_for: None,
            role: Role::Follower,
            log: Log::default(),
            commit: 0,
            votes: 0,
            matched: [0; MAX_SERVERS],
        }
    }

    /// Adopts a later term: follower, no vote yet.
    fn adopt(&mut self, term: u8) {
        if term > self.term {
            self.term = term;
            self.voted_for = None;
            self.step_down();
        }
    }

    fn step_down(&mut self) {
        self.role = Role::Follower;
        self.votes = 0;
        self.matched = [0; MAX_SERVERS];
    }
}

/// A message. Every message carries the sender's term; `from` and `to` are 0-based.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Msg {
    /// RequestVote.
    VoteRequest {
        /// Candidate's term.
        term: u8,
        /// Candidate.
        from: u8,
        /// Voter.
        to: u8,
        /// Term of the candidate's last entry.
        last_term: u8,
        /// Length of the candidate's log.
        last_index: u8,
    },
    /// Reply to RequestVote.
    VoteResponse {
        /// Voter's term.
        term: u8,
        /// Voter.
        from: u8,
        /// Candidate.
        to: u8,
        /// Vote granted.
        granted: bool,
    },
    /// AppendEntries with at most one entry.
    Append {
        /// Leader's term.
        term: u8,
        /// Leader.
        from: u8,
        /// Follower.
        to: u8,
        /// Index of the entry before `entry`.
        prev_index: u8,
        /// Its term.
        prev_term: u8,
        /// The entry at `prev_index + 1`, if any (none: a heartbeat).
        entry: Option<LogEntry>,
        /// Leader's commit index (at most `prev_index` + 1 when carrying an entry).
        commit: u8,
    },
    /// Reply to AppendEntries.
    AppendResponse {
        /// Follower's term.
        term: u8,
        /// Follower.
        from: u8,
        /// Leader.
        to: u8,
        /// The follower's log matched at `prev_index`.
        success: bool,
        /// On success, the index up to which the follower's log matches the leader's.
        match_index: u8,
    },
}

impl Msg {
    fn from(&self) -> u8 {
        match *self {
            Msg::VoteRequest { from, .. }
            | Msg::VoteResponse { from, .. }
            | Msg::Append { from, .. }
            | Msg::AppendResponse { from, .. } => from,
        }
    }

    fn to(&self) -> u8 {
        match *self {
            Msg::VoteRequest { to, .. }
            | Msg::VoteResponse { to, .. }
            | Msg::Append { to, .. }
            | Msg::AppendResponse { to, .. } => to,
        }
    }

    fn rename(self, perm: &[u8]) -> Msg {
        let p = |i: u8| perm[i as usize];
        match self {
            Msg::VoteRequest {
                term,
                from,
                to,
                last_term,
                last_index,
            } => Msg::VoteRequest {
                term,
                from: p(from),
                to: p(to),
                last_term,
                last_index,
            },
            Msg::VoteResponse {
                term,
                from,
                to,
                granted,
            } => Msg::VoteResponse {
                term,
                from: p(from),
                to: p(to),
                granted,
            },
            Msg::Append {
                term,
                from,
                to,
                prev_index,
                prev_term,
                entry,
                commit,
            } => Msg::Append {
                term,
                from: p(from),
                to: p(to),
                prev_index,
                prev_term,
                entry,
                commit,
            },
            Msg::AppendResponse {
                term,
                from,
                to,
                success,
                match_index,
            } => Msg::AppendResponse {
                term,
                from: p(from),
                to: p(to),
                success,
                match_index,
            },
        }
    }
}

impl fmt::Debug for Msg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Msg::VoteRequest {
                term,
                from,
                to,
                last_term,
                last_index,
            } => write!(
                f,
                "RequestVote(t{term}, S{}→S{}, last index {last_index} term {last_term})",
                from + 1,
                to + 1
            ),
            Msg::VoteResponse {
                term,
                from,
                to,
                granted,
            } => write!(
                f,
                "Vote(t{term}, S{}→S{}, {})",
                from + 1,
                to + 1,
                if granted { "granted" } else { "refused" }
            ),
            Msg::Append {
                term,
                from,
                to,
                prev_index,
                prev_term,
                entry,
                commit,
            } => {
                write!(
                    f,
                    "AppendEntries(t{term}, S{}→S{}, prev index {prev_index} term {prev_term}, ",
                    from + 1,
                    to + 1
                )?;
                match entry {
                    Some(e) => write!(f, "[{e:?}]")?,
                    None => write!(f, "[]")?,
                }
                write!(f, ", commit {commit})")
            }
            Msg::AppendResponse {
                term,
                from,
                to,
                success,
                match_index,
            } => {
                write!(f, "AppendReply(t{term}, S{}→S{}, ", from + 1, to + 1)?;
                if success {
                    write!(f, "match {match_index})")
                } else {
                    write!(f, "mismatch)")
                }
            }
        }
    }
}

impl Serialize for Msg {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{self:?}"))
    }
}

fn by_name<S: Serializer>(servers: &[Server], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = s.serialize_map(Some(servers.len()))?;
    for (i, v) in servers.iter().enumerate() {
        map.serialize_entry(&format!("S{}", i + 1), v)?;
    }
    map.end()
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

/// A state of the whole system.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct RaftState {
    /// The servers, `S1..Sn` (serialised as a map from those names).
    #[serde(serialize_with = "by_name")]
    pub servers: Vec<Server>,
    /// Every message sent so far.
    pub network: SortedSet<Msg>,
    /// Client operations appended so far.
    pub ops: u8,
    /// Crash-and-recover steps so far.
    pub restarts: u8,
    /// Ghost: every `(index, entry)` some server applied.
    pub applied: SortedSet<(u8, LogEntry)>,
    /// Ghost: every entry a leader committed, with the term it did so in.
    pub committed: SortedSet<Commit>,
    /// Ghost: a leader removed or changed an entry of its log within its term.
    pub leader_log_rewritten: bool,
}

/// A step.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// A server's election timer expires: it starts an election in the next term.
    Timeout(u8),
    /// A client operation reaches the leader, which appends it.
    ClientRequest(u8),
    /// A leader sends AppendEntries to every follower (the entry at its next index, or a
    /// heartbeat). One step for all: sending to some and not others is the same as sending
    /// to all and some messages never arriving, which the network allows.
    Replicate(u8),
    /// A message is delivered (again, possibly).
    Deliver(Msg),
    /// A server crashes and recovers from its durable state.
    Restart(u8),
}

impl fmt::Debug for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Timeout(i) => write!(f, "S{} times out", i + 1),
            Action::ClientRequest(i) => write!(f, "S{} appends a client operation", i + 1),
            Action::Replicate(i) => write!(f, "S{} sends AppendEntries", i + 1),
            Action::Deliver(m) => write!(f, "deliver {m:?}"),
            Action::Restart(i) => write!(f, "S{} crashes and recovers", i + 1),
        }
    }
}

/// The model.
#[derive(Clone, Debug)]
pub struct Raft {
    /// Number of servers.
    pub servers: usize,
    /// Servers `S1..Sk` whose election timers may fire.
    pub candidates: usize,
    /// Highest term an election may start.
    pub max_term: u8,
    /// Client operations the leaders may append, in all.
    pub client_ops: u8,
    /// Crash-and-recover steps allowed in a run.
    pub restarts: u8,
    /// Elections one at a time: an election timer fires only while every server is a
    /// follower (no leader, no election under way).
    pub one_at_a_time: bool,
    /// Which variant, if any.
    pub variant: Option<Variant>,
}

/// The broken variants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// Votes are granted without the up-to-date check.
    VoteWithoutLogCheck,
    /// A leader commits entries of earlier terms by counting replicas.
    CommitPreviousTerm,
    /// votedFor is volatile: a restart forgets it.
    ForgetVote,
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
    ];
}

impl Raft {
    fn majority(&self) -> usize {
        self.servers / 2 + 1
    }

    /// Whether election timers may fire: always with asynchronous elections; with
    /// one-at-a-time ones only while no server leads and no election under way can be won.
    fn quiet(&self, s: &RaftState) -> bool {
        !self.one_at_a_time
            || !(s.servers.iter().any(|v| v.role == Role::Leader) || self.election_open(s))
    }

    /// Whether the protocol lets server `me` time out and stand (the term bound aside).
    fn may_time_out(me: &Server) -> bool {
        me.role != Role::Leader && me.may_campaign
    }

    /// Whether an election under way can still be won: a candidate whose votes, with those of
    /// the servers that may still grant it theirs (a vote in flight included), make a majority.
    fn election_open(&self, s: &RaftState) -> bool {
        s.servers.iter().enumerate().any(|(c, cand)| {
            let may_grant = |(j, v): &(usize, &Server)| {
                let log_ok = cand.log.last_term() > v.log.last_term()
                    || (cand.log.last_term() == v.log.last_term() && cand.log.len() >= v.log.len());
                *j == c
                    || cand.votes & (1 << j) != 0
                    || ((v.term < cand.term
                        || (v.term == cand.term && v.voted_for.is_none_or(|x| x as usize == c)))
                        && (log_ok || self.variant == Some(Variant::VoteWithoutLogCheck)))
            };
            cand.role == Role::Candidate
                && s.servers.iter().enumerate().filter(may_grant).count() >= self.majority()
        })
    }

    fn apply(next: &mut RaftState, i: usize, upto: u8) {
        let s = next.servers[i];
        for k in s.commit + 1..=upto {
            if let Some(e) = s.log.at(k) {
                next.applied.insert((k, e));
            }
        }
        next.servers[i].commit = next.servers[i].commit.max(upto);
    }

    fn send(next: &mut RaftState, m: Msg) {
        next.network.insert(m);
    }

    fn deliver(&self, next: &mut RaftState, m: Msg) {
        let i = m.to() as usize;
        match m {
            Msg::VoteRequest {
                term,
                from,
                last_term,
                last_index,
                ..
            } => {
                let me = &mut next.servers[i];
                me.adopt(term);
                let log_ok = last_term > me.log.last_term()
                    || (last_term == me.log.last_term() && last_index >= me.log.len());
                let granted = term == me.term
                    && me.voted_for.is_none_or(|v| v == from)
                    && (log_ok || self.variant == Some(Variant::VoteWithoutLogCheck));
                if granted {
                    me.voted_for = Some(from);
                }
                let reply = Msg::VoteResponse {
                    term: me.term,
                    from: i as u8,
                    to: from,
                    granted,
                };
                Self::send(next, reply);
            }
            Msg::VoteResponse {
                term,
                from,
                granted,
                ..
            } => {
                let majority = self.majority();
                let me = &mut next.servers[i];
                me.adopt(term);
                if term == me.term && me.role == Role::Candidate && granted {
                    me.votes |= 1 << from;
                    if me.votes.count_ones() as usize >= majority {
                        me.role = Role::Leader;
                        me.votes = 0;
                        me.matched = [0; MAX_SERVERS];
                    }
                }
            }
            Msg::Append {
                term,
                from,
                prev_index,
                prev_term,
                entry,
                commit,
                ..
            } => {
                let me = &mut next.servers[i];
                me.adopt(term);
                if term == me.term && me.role == Role::Candidate {
                    me.step_down();
                }
                if term < me.term || me.role != Role::Follower {
                    // Stale leader (or, in a broken variant, a second leader of this term).
                    let reply = Msg::AppendResponse {
                        term: me.term,
                        from: i as u8,
                        to: from,
                        success: false,
                        match_index: 0,
                    };
                    if term < me.term {
                        Self::send(next, reply);
                    }
                    return;
                }
                let log_ok = prev_index == 0
                    || (prev_index <= me.log.len() && me.log.term_at(prev_index) == prev_term);
                if !log_ok {
                    let reply = Msg::AppendResponse {
                        term: me.term,
                        from: i as u8,
                        to: from,
                        success: false,
                        match_index: 0,
                    };
                    Self::send(next, reply);
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
                let upto = commit.min(matched);
                let reply = Msg::AppendResponse {
                    term: me.term,
                    from: i as u8,
                    to: from,
                    success: true,
                    match_index: matched,
                };
                if upto > me.commit {
                    Self::apply(next, i, upto);
                }
                Self::send(next, reply);
            }
            Msg::AppendResponse {
                term,
                from,
                success,
                match_index,
                ..
            } => {
                let me = &mut next.servers[i];
                me.adopt(term);
                if term != me.term || me.role != Role::Leader {
                    return;
                }
                let j = from as usize;
                if success && match_index > me.matched[j] {
                    me.matched[j] = match_index;
                    self.advance_commit(next, i);
                }
            }
        }
    }

    /// The leader `i` commits the longest prefix a majority stores (the last entry of it from
    /// its own term, unless the variant counts replicas of earlier terms' entries).
    fn advance_commit(&self, next: &mut RaftState, i: usize) {
        let me = next.servers[i];
        let mut upto = me.commit;
        for n in (me.commit + 1..=me.log.len()).rev() {
            let replicas = (0..self.servers)
                .filter(|&j| j == i || me.matched[j] >= n)
                .count();
            if replicas >= self.majority()
                && (me.log.term_at(n) == me.term
                    || self.variant == Some(Variant::CommitPreviousTerm))
            {
                upto = n;
                break;
            }
        }
        if upto > me.commit {
            for k in me.commit + 1..=upto {
                next.committed.insert(Commit {
                    index: k,
                    entry: me.log.at(k).expect("within the log"),
                    in_term: me.term,
                });
            }
            Self::apply(next, i, upto);
        }
    }

    /// Removes the replies whose delivery can no longer change anything, now or later: the
    /// network stays the set of messages that may still matter, and states that differ only in
    /// spent replies are one state. Terms never decrease and a server leaves candidacy or
    /// leadership of a term for good, so these stay inert: a reply of an earlier term than its
    /// receiver's; a refused, already counted or too late vote; an AppendEntries reply to a
    /// follower of the reply's term (it cannot lead that term any more), or one its leader has
    /// already taken in (a mismatch changes nothing; `matched` only grows within a term).
    fn collect_garbage(next: &mut RaftState) {
        let servers = &next.servers;
        let inert = |m: &Msg| match *m {
            Msg::VoteResponse {
                term,
                from,
                to,
                granted,
            } => {
                let r = &servers[to as usize];
                term < r.term
                    || (term == r.term
                        && (r.role != Role::Candidate || !granted || r.votes & (1 << from) != 0))
            }
            Msg::AppendResponse {
                term,
                from,
                to,
                success,
                match_index,
            } => {
                let r = &servers[to as usize];
                let f = from as usize;
                term < r.term
                    || (term == r.term
                        && (r.role == Role::Follower
                            || (r.role == Role::Leader
                                && (!success || r.matched[f] >= match_index))))
            }
            _ => false,
        };
        let mut network = std::mem::take(&mut next.network);
        network.retain(|m| !inert(m));
        next.network = network;
    }

    /// The state with servers renamed: server `i` becomes `perm[i]`.
    fn renamed(s: &RaftState, perm: &[u8]) -> RaftState {
        RaftState {
            servers: renamed_servers(&s.servers, perm),
            network: s.network.iter().map(|m| m.rename(perm)).collect(),
            ops: s.ops,
            restarts: s.restarts,
            applied: s.applied.clone(),
            committed: s.committed.clone(),
            leader_log_rewritten: s.leader_log_rewritten,
        }
    }
}

/// The servers renamed: server `i` becomes `perm[i]`, and so do the ids they hold.
fn renamed_servers(servers: &[Server], perm: &[u8]) -> Vec<Server> {
    let n = servers.len();
    let mut out = servers.to_vec();
    for (i, old) in servers.iter().enumerate() {
        let mut v = *old;
        v.voted_for = old.voted_for.map(|x| perm[x as usize]);
        v.votes = (0..n)
            .filter(|&j| old.votes & (1 << j) != 0)
            .fold(0, |m, j| m | (1 << perm[j]));
        for (j, &to) in perm.iter().enumerate() {
            v.matched[to as usize] = old.matched[j];
        }
        out[perm[i] as usize] = v;
    }
    out
}

/// The least renaming of the state: servers are interchangeable in Raft (no server is
/// distinguished by its id), so every state of an orbit has the same representative. The
/// servers' own fields are compared first; the network is renamed only for the permutations
/// that tie on them.
pub fn representative(s: &RaftState) -> RaftState {
    let keyed: Vec<(Vec<Server>, Vec<u8>)> = permutations(s.servers.len())
        .into_iter()
        .map(|p| (renamed_servers(&s.servers, &p), p))
        .collect();
    let least = keyed.iter().map(|(k, _)| k).min().expect("servers >= 1");
    keyed
        .iter()
        .filter(|(k, _)| k == least)
        .map(|(_, p)| Raft::renamed(s, p))
        .min()
        .expect("one candidate at least")
}

impl Model for Raft {
    type State = RaftState;
    type Action = Action;

    fn init_states(&self) -> Vec<RaftState> {
        vec![RaftState {
            servers: (0..self.servers)
                .map(|i| Server::new(i < self.candidates))
                .collect(),
            network: SortedSet::new(),
            ops: 0,
            restarts: 0,
            applied: SortedSet::new(),
            committed: SortedSet::new(),
            leader_log_rewritten: false,
        }]
    }

    fn actions(&self, s: &RaftState, actions: &mut Vec<Action>) {
        let quiet = self.quiet(s);
        for (i, me) in s.servers.iter().enumerate() {
            let id = i as u8;
            if quiet && Self::may_time_out(me) && me.term < self.max_term {
                actions.push(Action::Timeout(id));
            }
            if me.role == Role::Leader {
                if s.ops < self.client_ops {
                    actions.push(Action::ClientRequest(id));
                }
                actions.push(Action::Replicate(id));
            }
            if s.restarts < self.restarts {
                actions.push(Action::Restart(id));
            }
        }
        actions.extend(s.network.iter().map(|m| Action::Deliver(*m)));
    }

    fn next_state(&self, s: &RaftState, action: Action) -> Option<RaftState> {
        let mut next = s.clone();
        match action {
            Action::Timeout(i) => {
                let me = &mut next.servers[i as usize];
                me.term += 1;
                me.role = Role::Candidate;
                me.voted_for = Some(i);
                me.votes = 1 << i;
                let (term, last_term, last_index) = (me.term, me.log.last_term(), me.log.len());
                for j in 0..self.servers as u8 {
                    if j != i {
                        Self::send(
                            &mut next,
                            Msg::VoteRequest {
                                term,
                                from: i,
                                to: j,
                                last_term,
                                last_index,
                            },
                        );
                    }
                }
            }
            Action::ClientRequest(i) => {
                next.ops += 1;
                let me = &mut next.servers[i as usize];
                let term = me.term;
                me.log.push(LogEntry { term, op: next.ops });
            }
            Action::Replicate(i) => {
                let me = &s.servers[i as usize];
                for j in (0..self.servers as u8).filter(|&j| j != i) {
                    let prev_index = me.matched[j as usize];
                    let entry = me.log.at(prev_index + 1);
                    let m = Msg::Append {
                        term: me.term,
                        from: i,
                        to: j,
                        prev_index,
                        prev_term: me.log.term_at(prev_index),
                        entry,
                        commit: me.commit.min(prev_index + u8::from(entry.is_some())),
                    };
                    Self::send(&mut next, m);
                }
            }
            Action::Deliver(m) => self.deliver(&mut next, m),
            Action::Restart(i) => {
                let me = &mut next.servers[i as usize];
                let before = *me;
                me.step_down();
                me.commit = 0;
                if self.variant == Some(Variant::ForgetVote) {
                    me.voted_for = None;
                }
                if *me == before {
                    return None; // nothing volatile to lose: the crash changes nothing
                }
                next.restarts += 1;
            }
        }
        for (old, new) in s.servers.iter().zip(&next.servers) {
            if old.role == Role::Leader
                && new.role == Role::Leader
                && old.term == new.term
                && !new.log.entries().starts_with(old.log.entries())
            {
                next.leader_log_rewritten = true;
            }
        }
        Self::collect_garbage(&mut next);
        (next != *s).then_some(next)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always("election-safety", |_: &Self, s: &RaftState| {
                let leaders = s.servers.iter().filter(|v| v.role == Role::Leader);
                leaders
                    .clone()
                    .all(|a| leaders.clone().filter(|b| b.term == a.term).count() == 1)
            }),
            Property::always("leader-append-only", |_: &Self, s: &RaftState| {
                !s.leader_log_rewritten
            }),
            Property::always("log-matching", |_: &Self, s: &RaftState| {
                s.servers.iter().all(|a| {
                    s.servers.iter().all(|b| {
                        let (x, y) = (a.log.entries(), b.log.entries());
                        (0..x.len().min(y.len()))
                            .all(|k| x[k].term != y[k].term || x[..=k] == y[..=k])
                    })
                })
            }),
            Property::always("leader-completeness", |_: &Self, s: &RaftState| {
                s.servers
                    .iter()
                    .filter(|v| v.role == Role::Leader)
                    .all(|l| {
                        s.committed
                            .iter()
                            .filter(|c| c.in_term < l.term)
                            .all(|c| l.log.at(c.index) == Some(c.entry))
                    })
            }),
            Property::always("state-machine-safety", |_: &Self, s: &RaftState| {
                let mut last: Option<(u8, LogEntry)> = None;
                s.applied.iter().all(|&(k, e)| {
                    let ok = last.is_none_or(|(lk, le)| lk != k || le == e);
                    last = Some((k, e));
                    ok
                })
            }),
            Property::sometimes("leader-elected", |_: &Self, s: &RaftState| {
                s.servers.iter().any(|v| v.role == Role::Leader)
            }),
            Property::sometimes("entry-committed", |_: &Self, s: &RaftState| {
                !s.committed.is_empty()
            }),
            Property::eventually("leader-eventually", |_: &Self, s: &RaftState| {
                s.servers.iter().any(|v| v.role == Role::Leader)
            }),
        ]
    }
}

impl Protocol for Raft {
    type Model = Raft;
    type Variant = Variant;
    const NAME: &'static str = "raft";
    const SUMMARY: &'static str =
        "Raft leader election and log replication over a lossy, duplicating, reordering network";
    const SECTION: &'static str = "Consensus in Faulty Systems with Crash Failures: Raft";
    const FAIRNESS: &'static str = "weak: election timeouts, delivering each message, client \
         requests, replication; unfair: restarts";

    fn fairness(_: &Raft, action: &Action) -> Fairness {
        match action {
            Action::Restart(_) => Fairness::Unfair,
            _ => Fairness::Weak,
        }
    }

    /// `max-term`: an election timeout the protocol offers (the server is not a leader, may
    /// campaign, and elections are open) that only the term bound forbids; `client-ops`: a
    /// client request to a leader past the operations bound.
    fn bound_blocked(m: &Raft, s: &RaftState) -> Option<&'static str> {
        if m.quiet(s)
            && s.servers
                .iter()
                .any(|me| Raft::may_time_out(me) && me.term >= m.max_term)
        {
            return Some("max-term");
        }
        let leads = s.servers.iter().any(|v| v.role == Role::Leader);
        (leads && s.ops >= m.client_ops).then_some("client-ops")
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
                name: "elections",
                help: "asynchronous: election timers fire at any time; one-at-a-time: only while \
                       every server is a follower (the fair elections that randomized timeouts \
                       aim at; for liveness)",
                kind: ParamKind::Choice {
                    options: &["asynchronous", "one-at-a-time"],
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
                name: "restarts",
                help: "crashes (each followed by recovery from durable state) allowed in a run",
                kind: ParamKind::Int { min: 0, max: 4 },
                default: Value::Int(1),
            },
        ]
    }

    fn build(params: &Params, variant: Option<Variant>) -> Raft {
        Raft {
            servers: params.usize("servers"),
            candidates: params.usize("candidates").min(params.usize("servers")),
            max_term: params.usize("max-term") as u8,
            client_ops: params.usize("client-ops") as u8,
            restarts: params.usize("restarts") as u8,
            one_at_a_time: params.choice("elections") == "one-at-a-time",
            variant,
        }
    }

    fn symmetry() -> Option<ftcheck_protocol::Symmetry<Raft>> {
        Some(representative)
    }
}

impl ftcheck_protocol::Lanes for Raft {
    fn lanes(&self) -> Vec<String> {
        (1..=self.servers).map(|i| format!("S{i}")).collect()
    }

    fn lane_step(&self, _: &RaftState, action: &Action) -> ftcheck_protocol::LaneStep {
        use ftcheck_protocol::LaneStep;
        let server = |i: u8| format!("S{}", i + 1);
        match action {
            Action::Timeout(i) => LaneStep::Timeout {
                at: server(*i),
                detail: "election: stands as candidate".into(),
            },
            Action::ClientRequest(i) => LaneStep::Local {
                at: server(*i),
                detail: "appends a client operation".into(),
            },
            Action::Replicate(i) => LaneStep::Local {
                at: server(*i),
                detail: "sends AppendEntries".into(),
            },
            Action::Deliver(m) => LaneStep::Deliver {
                from: server(m.from()),
                to: server(m.to()),
                msg: format!("{m:?}"),
            },
            Action::Restart(i) => LaneStep::Recover { at: server(*i) },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> Raft {
        Raft {
            servers: 3,
            candidates: 3,
            max_term: 2,
            client_ops: 1,
            restarts: 1,
            one_at_a_time: false,
            variant: None,
        }
    }

    /// Some state reached by walking the first enabled action a few times.
    fn walk(m: &Raft, choices: &[usize]) -> RaftState {
        let mut s = m.init_states().remove(0);
        for &c in choices {
            let mut actions = vec![];
            m.actions(&s, &mut actions);
            let mut next = None;
            for a in actions.iter().cycle().skip(c).take(actions.len()) {
                next = m.next_state(&s, *a);
                if next.is_some() {
                    break;
                }
            }
            match next {
                Some(n) => s = n,
                None => break,
            }
        }
        s
    }

    /// Over the first 20,000 reachable states (breadth first): the representative is a symmetry
    /// (`check_symmetry`), the same for every renaming of the servers.
    #[test]
    fn the_representative_is_a_symmetry() {
        let m = model();
        let renamings = |s: &RaftState| {
            permutations(3)
                .iter()
                .map(|p| Raft::renamed(s, p))
                .collect()
        };
        assert_eq!(
            crate::check_symmetry::<Raft>(&m, &renamings, 20_000),
            20_000
        );
    }

    #[test]
    fn every_renaming_of_a_state_has_the_same_representative() {
        let m = model();
        for choices in [&[0, 3, 2, 5, 1, 4][..], &[1, 1, 2, 3, 5, 8, 2]] {
            let s = walk(&m, choices);
            assert!(!s.network.is_empty());
            let r = representative(&s);
            for p in permutations(3) {
                assert_eq!(representative(&Raft::renamed(&s, &p)), r, "{p:?}");
            }
        }
    }

    #[test]
    fn a_stale_reply_is_collected_and_a_fresh_one_is_not() {
        let mut s = model().init_states().remove(0);
        s.servers[0].term = 2;
        s.servers[0].role = Role::Candidate;
        let stale = Msg::VoteResponse {
            term: 1,
            from: 1,
            to: 0,
            granted: true,
        };
        let fresh = Msg::VoteResponse {
            term: 2,
            from: 1,
            to: 0,
            granted: true,
        };
        s.network.insert(stale);
        s.network.insert(fresh);
        Raft::collect_garbage(&mut s);
        assert!(!s.network.contains(&stale));
        assert!(s.network.contains(&fresh));
    }
}

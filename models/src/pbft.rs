//! `pbft`: Practical Byzantine Fault Tolerance as the lecture presents it.
//!
//! Lecture section: "Consensus in Faulty Systems with Arbitrary Failures: Practical Byzantine
//! Fault Tolerance".
//!
//! How it maps the lecture: `n = 3k + 1` replicas — `P` (the primary of view 0) and backups
//! `B1..B(n-1)`; the primary of view `v` is replica `v mod n`, the deterministic succession
//! every replica knows. A client `C` has issued `requests` operations `o1, o2, …` (signed: a
//! replica cannot invent one). The primary of the current view timestamps an operation and sends
//! `PRE-PREPARE(t, v, o)`; a backup in view `v` that has not accepted another operation for `t`
//! in `v` accepts it and sends `PREPARE(t, v, o)` to all. A replica holds a *prepare
//! certificate* `PC(t, v, o)` once it has the pre-prepare and `2k` matching prepares from
//! different backups (its own included): `2k + 1` replicas in all. It then sends `COMMIT(t, v,
//! o)` and commits `o` at `t` once `2k + 1` matching commits (its own included) are in; it
//! executes in timestamp order and replies to the client, whose result is the timestamp its
//! operation was executed at. The client accepts a result once `k + 1` replicas replied the same
//! (one of them is nonfaulty). A replica that suspects the primary (a timeout, which may be
//! false: the execution is only partially synchronous) moves to view `v + 1` and sends
//! `VIEW-CHANGE(v + 1, P)` with its latest prepare certificate per timestamp. The new primary,
//! once `2k + 1` view changes are in (the view-change certificate `X`), sends `NEW-VIEW(v + 1,
//! X, O)`: for every timestamp up to the highest certified one, `PRE-PREPARE(t, v + 1, o)` for
//! the most recent certificate in `X`, or `PRE-PREPARE(t, v + 1, none)` where there is none.
//! A backup checks `O` against `X`, enters the view, and prepares every pre-prepare in `O`.
//!
//! `faulty` (k) replicas are Byzantine: they may send any message their role can send, with any
//! operation, to any replica, at any time — equivocating freely — but cannot forge a message
//! signed by another process: a faulty primary can pre-prepare any request at any timestamp, to
//! each backup differently; a faulty replica can prepare, commit and reply anything; its view
//! changes carry any *valid* certificate (one backed by signed messages that exist) or none; a
//! faulty new primary can send any `NEW-VIEW` that some view-change certificate justifies.
//! Every placement of the faulty replicas is an initial state, up to renaming the replicas that
//! are never primary within the bounded views.
//!
//! Quorums are `n - k` (the lecture's `2k + 1` for `n = 3k + 1`): a replica can wait for no more,
//! since `k` may never answer. The variant `n-3k` runs `3k` replicas with those quorums (`2k`),
//! which can intersect only in faulty replicas.
//!
//! Where it abstracts: the network is the set of messages ever sent by nonfaulty replicas, and a
//! step that needs a quorum is taken once the quorum's messages exist (delivery in any order,
//! with loss and delay, is a replica not yet taking the step); faulty replicas' messages are not
//! stored, since any of them exists at any time. Views are bounded by `views` (view changes),
//! timestamps by `slots`; no checkpoints or watermarks. A replica that executes an operation it
//! already executed at an earlier timestamp skips it (requests carry the client's timestamp).
//! Messages no replica can still use are dropped after every step (see `collect_garbage`), and
//! the pre-prepares and prepares of a view every nonfaulty replica has left are replaced by the
//! certificates they prove.
//!
//! Liveness `requests-executed` (the client accepts as many results as there are timestamps) is
//! the lecture's "with a nonfaulty primary and fair delivery the request is executed", under
//! eventual synchrony: every step of a nonfaulty replica and the client's acceptance are weakly
//! fair, and so is a *due* suspicion (the primary of the replica's view is faulty or has left
//! the view, or the replica awaits a NEW-VIEW), while a false suspicion of a working nonfaulty
//! primary may happen but is never forced. It holds with view changes; with `views = 0` a faulty
//! primary can pre-prepare the same request at every timestamp and starve the other.
//!
//! Why a plain model and not a stateright actor system (issue 19): a faulty replica may send
//! every message its key can sign, so the model offers them all at once ("every signable message
//! exists") rather than one forged send per step, and when every nonfaulty replica has left a
//! view its pre-prepares and prepares are replaced by the certificates they prove: a rewrite of
//! the whole system that no single actor's step can make. As actors, each forged message and
//! each spent message would be a state of its own.

use crate::sorted_set::SortedSet;
use ftcheck_protocol::{
    permutations, Fairness, ParamKind, ParamSpec, Params, Protocol, Value, VariantSpec, Variants,
};
use serde::{Serialize, Serializer};
use stateright::{Model, Property};
use std::collections::BTreeMap;
use std::fmt;

/// Most replicas (k = 2, n = 3k + 1).
pub const MAX_REPLICAS: usize = 7;
/// Most faulty replicas.
pub const MAX_FAULTY: usize = 2;
/// Most timestamps.
pub const MAX_SLOTS: usize = 3;
/// Most view changes.
pub const MAX_VIEW_CHANGES: usize = 3;
/// Most client requests.
pub const MAX_REQUESTS: usize = 3;
/// The null operation a new primary pre-prepares for a timestamp without a certificate.
pub const NONE: u8 = 0;

fn name(r: u8) -> String {
    if r == 0 {
        "P".into()
    } else {
        format!("B{r}")
    }
}

fn op_name(op: u8) -> String {
    if op == NONE {
        "none".into()
    } else {
        format!("o{op}")
    }
}

/// A prepare certificate's view and operation (its timestamp is where it is stored).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cert {
    /// The view it was formed in.
    pub view: u8,
    /// The operation.
    pub op: u8,
}

impl fmt::Debug for Cert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} in v{}", op_name(self.op), self.view)
    }
}

/// Per timestamp, the latest prepare certificate.
pub type Certs = [Option<Cert>; MAX_SLOTS];
/// A `NEW-VIEW`'s `O`: per timestamp up to the highest certified one, the operation
/// pre-prepared in the new view.
pub type Reissued = [Option<u8>; MAX_SLOTS];

/// A message sent by a nonfaulty replica.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Msg {
    /// `PRE-PREPARE(t, v, o)` from the primary of `view` (also the pre-prepares of a `NEW-VIEW`).
    PrePrepare {
        /// Timestamp (0-based).
        t: u8,
        /// View.
        view: u8,
        /// Operation.
        op: u8,
    },
    /// `PREPARE(t, v, o)`.
    Prepare {
        /// Sender.
        from: u8,
        /// Timestamp (0-based).
        t: u8,
        /// View.
        view: u8,
        /// Operation.
        op: u8,
    },
    /// `COMMIT(t, v, o)`.
    Commit {
        /// Sender.
        from: u8,
        /// Timestamp (0-based).
        t: u8,
        /// View.
        view: u8,
        /// Operation.
        op: u8,
    },
    /// `VIEW-CHANGE(v, P)`.
    ViewChange {
        /// Sender.
        from: u8,
        /// The view it moves to.
        view: u8,
        /// Its latest prepare certificate per timestamp.
        certs: Certs,
    },
    /// Not a message: once every nonfaulty replica has left `view`, its pre-prepares and
    /// prepares matter only as evidence that a prepare certificate for `(t, view, op)` is valid
    /// (for a faulty replica's view change), and they are replaced by this summary.
    Certified {
        /// Timestamp (0-based).
        t: u8,
        /// View.
        view: u8,
        /// Operation.
        op: u8,
    },
    /// `NEW-VIEW(v, X, O)` from the primary of `view`.
    NewView {
        /// The new view.
        view: u8,
        /// `O`.
        reissued: Reissued,
    },
}

fn slots_text<T>(xs: &[Option<T>], show: impl Fn(&T) -> String) -> String {
    let parts: Vec<String> = xs
        .iter()
        .enumerate()
        .filter_map(|(t, x)| x.as_ref().map(|x| format!("t{}: {}", t + 1, show(x))))
        .collect();
    format!("{{{}}}", parts.join(", "))
}

impl fmt::Debug for Msg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Msg::PrePrepare { t, view, op } => {
                write!(f, "PRE-PREPARE(t{}, v{view}, {})", t + 1, op_name(op))
            }
            Msg::Prepare { from, t, view, op } => write!(
                f,
                "{}: PREPARE(t{}, v{view}, {})",
                name(from),
                t + 1,
                op_name(op)
            ),
            Msg::Commit { from, t, view, op } => write!(
                f,
                "{}: COMMIT(t{}, v{view}, {})",
                name(from),
                t + 1,
                op_name(op)
            ),
            Msg::ViewChange { from, view, certs } => write!(
                f,
                "{}: VIEW-CHANGE(v{view}, P = {})",
                name(from),
                slots_text(&certs, |c| format!("{c:?}"))
            ),
            Msg::Certified { t, view, op } => write!(
                f,
                "(signed messages proving PC(t{}, v{view}, {}))",
                t + 1,
                op_name(op)
            ),
            Msg::NewView { view, reissued } => write!(
                f,
                "NEW-VIEW(v{view}, O = {})",
                slots_text(&reissued, |&o| op_name(o))
            ),
        }
    }
}

impl Serialize for Msg {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{self:?}"))
    }
}

/// A nonfaulty replica.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Replica {
    /// Its view.
    pub view: u8,
    /// In normal operation in `view` (false: waiting for the `NEW-VIEW`).
    pub active: bool,
    /// The operation it accepted (or, as primary, assigned) per timestamp in `view`.
    pub accepted: [Option<u8>; MAX_SLOTS],
    /// Its latest prepare certificate per timestamp.
    pub prepared: Certs,
    /// The operation it committed per timestamp; it executes them in timestamp order, so
    /// the leading run of commits is what it executed.
    pub committed: [Option<u8>; MAX_SLOTS],
}

impl Serialize for Replica {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(None)?;
        let status = if self.active {
            format!("v{}", self.view)
        } else {
            format!("v{}, waiting for NEW-VIEW", self.view)
        };
        map.serialize_entry("view", &status)?;
        let ops = |xs: &[Option<u8>]| slots_text(xs, |&o| op_name(o));
        if self.accepted.iter().any(Option::is_some) {
            map.serialize_entry("accepted", &ops(&self.accepted))?;
        }
        if self.prepared.iter().any(Option::is_some) {
            map.serialize_entry(
                "prepared",
                &slots_text(&self.prepared, |c| format!("{c:?}")),
            )?;
        }
        if self.committed.iter().any(Option::is_some) {
            map.serialize_entry("committed", &ops(&self.committed))?;
        }
        if self.executed() > 0 {
            map.serialize_entry("executed", &self.executed())?;
        }
        map.end()
    }
}

impl Replica {
    const START: Replica = Replica {
        view: 0,
        active: true,
        accepted: [None; MAX_SLOTS],
        prepared: [None; MAX_SLOTS],
        committed: [None; MAX_SLOTS],
    };

    /// How many timestamps it has executed: its commits up to the first gap.
    fn executed(&self) -> u8 {
        self.committed.iter().take_while(|c| c.is_some()).count() as u8
    }

    /// The timestamp at which it first executed `op`: its reply to the client.
    fn result(&self, op: u8) -> Option<u8> {
        (0..self.executed()).find(|&t| self.committed[t as usize] == Some(op))
    }
}

/// A state.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PbftState {
    /// The faulty replicas (bit per replica).
    pub faulty: u8,
    /// Constant: the replicas that are primary of some view within the bound (the others are
    /// interchangeable), for the symmetry reduction.
    pub primaries: u8,
    /// Constant: how many requests the client made (they are interchangeable).
    pub requests: u8,
    /// The replicas (a faulty one's entry is unused).
    pub replicas: Vec<Replica>,
    /// Per request, the result (timestamp) the client accepted.
    pub client: [Option<u8>; MAX_REQUESTS],
    /// The messages nonfaulty replicas sent.
    pub network: SortedSet<Msg>,
}

impl PbftState {
    fn faulty(&self, r: usize) -> bool {
        self.faulty & (1 << r) != 0
    }
    fn nonfaulty(&self) -> impl Iterator<Item = (usize, &Replica)> {
        self.replicas
            .iter()
            .enumerate()
            .filter(|(r, _)| !self.faulty(*r))
    }
}

impl Serialize for PbftState {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(None)?;
        let faulty: Vec<String> = (0..8u8)
            .filter(|&r| self.faulty(r as usize))
            .map(name)
            .collect();
        map.serialize_entry("faulty", &faulty)?;
        let replicas: BTreeMap<String, &Replica> =
            self.nonfaulty().map(|(r, v)| (name(r as u8), v)).collect();
        map.serialize_entry("replicas", &replicas)?;
        let client: BTreeMap<String, String> = self
            .client
            .iter()
            .enumerate()
            .filter_map(|(o, t)| {
                t.map(|t| (op_name(o as u8 + 1), format!("executed at t{}", t + 1)))
            })
            .collect();
        map.serialize_entry("client accepted", &client)?;
        map.serialize_entry("network", &self.network)?;
        map.end()
    }
}

/// A step.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// The nonfaulty primary `r` timestamps `op` with `t` and sends `PRE-PREPARE`.
    PrePrepare {
        /// The primary.
        r: u8,
        /// Timestamp.
        t: u8,
        /// Operation.
        op: u8,
    },
    /// Backup `r` accepts `PRE-PREPARE(t, v, op)` of its view's primary and sends `PREPARE`.
    Accept {
        /// The backup.
        r: u8,
        /// Timestamp.
        t: u8,
        /// Operation.
        op: u8,
    },
    /// `r` holds a prepare certificate for what it accepted at `t` and sends `COMMIT`.
    Prepared {
        /// The replica.
        r: u8,
        /// Timestamp.
        t: u8,
    },
    /// `r` has `2k + 1` matching commits for its certificate at `t`: it commits and executes.
    Commit {
        /// The replica.
        r: u8,
        /// Timestamp.
        t: u8,
    },
    /// `r` suspects the primary and sends `VIEW-CHANGE` for the next view.
    Suspect {
        /// The replica.
        r: u8,
        /// The suspicion is due: the primary of `r`'s view is faulty or has left the view, or
        /// `r` waits for a `NEW-VIEW`. Only a due suspicion is forced (its timer fires under
        /// eventual synchrony); a false one may happen but never has to.
        due: bool,
    },
    /// The nonfaulty new primary `r` sends `NEW-VIEW(view, X, O)`.
    NewView {
        /// The new primary.
        r: u8,
        /// The new view.
        view: u8,
        /// `O`.
        reissued: Reissued,
    },
    /// Backup `r` checks and adopts `NEW-VIEW(view, X, O)`, preparing every pre-prepare in `O`.
    Adopt {
        /// The backup.
        r: u8,
        /// The new view.
        view: u8,
        /// `O`.
        reissued: Reissued,
    },
    /// The client accepts `t` as the result of `op`.
    Result {
        /// Operation.
        op: u8,
        /// Timestamp it was executed at.
        t: u8,
    },
}

impl fmt::Debug for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Action::PrePrepare { r, t, op } => {
                write!(f, "{} pre-prepares {} at t{}", name(r), op_name(op), t + 1)
            }
            Action::Accept { r, t, op } => write!(
                f,
                "{} accepts the pre-prepare of {} at t{} and prepares it",
                name(r),
                op_name(op),
                t + 1
            ),
            Action::Prepared { r, t } => {
                write!(
                    f,
                    "{} has a prepare certificate for t{}: COMMIT",
                    name(r),
                    t + 1
                )
            }
            Action::Commit { r, t } => write!(f, "{} commits t{}", name(r), t + 1),
            Action::Suspect { r, .. } => {
                write!(f, "{} suspects the primary: VIEW-CHANGE", name(r))
            }
            Action::NewView { r, view, reissued } => write!(
                f,
                "{} sends NEW-VIEW(v{view}, O = {})",
                name(r),
                slots_text(&reissued, |&o| op_name(o))
            ),
            Action::Adopt { r, view, reissued } => write!(
                f,
                "{} adopts NEW-VIEW(v{view}, O = {})",
                name(r),
                slots_text(&reissued, |&o| op_name(o))
            ),
            Action::Result { op, t } => {
                write!(f, "C accepts t{} as the result of {}", t + 1, op_name(op))
            }
        }
    }
}

/// The deliberately broken variants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// Prepare and commit quorums one short.
    SmallQuorum,
    /// `3k` replicas.
    N3k,
    /// The new primary's `O` ignores the prepare certificates.
    IgnoreCertificates,
    /// The client accepts the first reply.
    FirstReply,
}

impl Variants for Variant {
    const ALL: &'static [(Variant, VariantSpec)] = &[
        (
            Variant::SmallQuorum,
            VariantSpec {
                name: "small-quorum",
                summary: "prepare and commit quorums one short: 2k - 1 prepares, 2k commits \
                          (agreement)",
            },
        ),
        (
            Variant::N3k,
            VariantSpec {
                name: "n-3k",
                summary: "3k replicas, quorums of n - k = 2k: two quorums can meet only in \
                          faulty replicas (agreement)",
            },
        ),
        (
            Variant::IgnoreCertificates,
            VariantSpec {
                name: "ignore-certificates",
                summary: "the new primary ignores the prepare certificates in NEW-VIEW and \
                          assigns timestamps afresh (agreement across views)",
            },
        ),
        (
            Variant::FirstReply,
            VariantSpec {
                name: "first-reply",
                summary: "the client accepts the first reply instead of k + 1 matching ones \
                          (client-validity)",
            },
        ),
    ];
}

/// The model.
#[derive(Clone, Debug)]
pub struct Pbft {
    /// Replicas.
    pub n: usize,
    /// Faulty replicas (k).
    pub faulty: usize,
    /// Timestamps.
    pub slots: usize,
    /// View changes (the last view is `views`).
    pub views: usize,
    /// Client requests.
    pub requests: usize,
    /// The broken variant, if any.
    pub variant: Option<Variant>,
}

fn ones(mask: u8) -> usize {
    mask.count_ones() as usize
}

impl Pbft {
    fn primary(&self, view: u8) -> usize {
        view as usize % self.n
    }

    /// `n - k`: what a replica can wait for.
    fn quorum(&self) -> usize {
        self.n - self.faulty
    }

    fn short(&self) -> usize {
        usize::from(self.variant == Some(Variant::SmallQuorum))
    }

    /// Matching prepares from different backups a certificate needs (the lecture's `2k`).
    fn prepare_quorum(&self) -> usize {
        self.quorum() - 1 - self.short()
    }

    /// Matching commits a replica needs to commit (the lecture's `2k + 1`).
    fn commit_quorum(&self) -> usize {
        self.quorum() - self.short()
    }

    /// Matching replies the client needs (`k + 1`).
    fn reply_quorum(&self) -> usize {
        if self.variant == Some(Variant::FirstReply) {
            1
        } else {
            self.faulty + 1
        }
    }

    /// The replicas that signed a `PREPARE` (or, with `commit`, a `COMMIT`) for
    /// `(t, view, op)` — every faulty replica could have.
    fn signed(&self, s: &PbftState, commit: bool, t: u8, view: u8, op: u8) -> u8 {
        s.network.iter().fold(s.faulty, |m, msg| match *msg {
            Msg::Prepare {
                from,
                t: t2,
                view: v2,
                op: o2,
            } if !commit && (t2, v2, o2) == (t, view, op) => m | 1 << from,
            Msg::Commit {
                from,
                t: t2,
                view: v2,
                op: o2,
            } if commit && (t2, v2, o2) == (t, view, op) => m | 1 << from,
            _ => m,
        })
    }

    /// The backups of `view` that prepared `(t, view, op)`: the primary's vote is its
    /// pre-prepare.
    fn prepares(&self, s: &PbftState, t: u8, view: u8, op: u8) -> u8 {
        self.signed(s, false, t, view, op) & !(1 << self.primary(view))
    }

    /// A certificate for `(t, c.view, c.op)` backed by signed messages that exist: the
    /// pre-prepare (any, from a faulty primary) and enough prepares. When the primary is faulty
    /// at most `k - 1` backups are, and every prepare quorum here is at least `k` (`2k - 1` one
    /// short), so a nonfaulty backup that accepted a real pre-prepare is among them: granting a
    /// faulty primary every pre-prepare adds no certificate.
    fn valid(&self, s: &PbftState, t: u8, c: Cert) -> bool {
        if s.network.contains(&Msg::Certified {
            t,
            view: c.view,
            op: c.op,
        }) {
            return true;
        }
        let pre_prepared = s.faulty(self.primary(c.view))
            || s.network.contains(&Msg::PrePrepare {
                t,
                view: c.view,
                op: c.op,
            });
        pre_prepared && ones(self.prepares(s, t, c.view, c.op)) >= self.prepare_quorum()
    }

    /// Every `O` a view-change certificate for `view` can justify, given the view changes
    /// nonfaulty replicas sent and anything valid the faulty ones could send.
    fn reissue_options(&self, s: &PbftState, view: u8) -> Vec<Reissued> {
        let mut sent: Vec<(usize, Certs)> = vec![];
        for m in s.network.iter() {
            if let Msg::ViewChange {
                from,
                view: v,
                certs,
            } = *m
            {
                if v == view {
                    sent.push((from as usize, certs));
                }
            }
        }
        let senders = sent.iter().fold(s.faulty, |m, (r, _)| m | 1 << r);
        // Every valid certificate a faulty sender could report, per timestamp.
        let forgeable: Vec<Vec<Cert>> = (0..self.slots as u8)
            .map(|t| {
                (0..view)
                    .flat_map(|v| (0..=self.requests as u8).map(move |op| Cert { view: v, op }))
                    .filter(|&c| self.valid(s, t, c))
                    .collect()
            })
            .collect();
        let mut out = vec![];
        for x in 0..=u8::MAX >> (8 - self.n) {
            if x & !senders != 0 || ones(x) < self.quorum() {
                continue;
            }
            let mut best: Certs = [None; MAX_SLOTS];
            for (r, certs) in &sent {
                if x & (1 << r) != 0 {
                    for t in 0..self.slots {
                        best[t] = best[t].max(certs[t]);
                    }
                }
            }
            if self.variant == Some(Variant::IgnoreCertificates) {
                out.push([None; MAX_SLOTS]);
                continue;
            }
            let mut choices: Vec<Certs> = vec![best];
            if x & s.faulty != 0 {
                for t in 0..self.slots {
                    let mut more = vec![];
                    for c in &choices {
                        for &f in forgeable[t].iter().filter(|&&f| Some(f) > c[t]) {
                            let mut d = *c;
                            d[t] = Some(f);
                            more.push(d);
                        }
                    }
                    choices.extend(more);
                }
            }
            for certs in choices {
                let high = (0..self.slots).rev().find(|&t| certs[t].is_some());
                let mut o: Reissued = [None; MAX_SLOTS];
                if let Some(h) = high {
                    for t in 0..=h {
                        o[t] = Some(certs[t].map_or(NONE, |c| c.op));
                    }
                }
                out.push(o);
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// Replicas that replied `t` as the result of `op` (every faulty one could have).
    fn replies(&self, s: &PbftState, op: u8, t: u8) -> usize {
        ones(s.faulty)
            + s.nonfaulty()
                .filter(|(_, v)| v.result(op) == Some(t))
                .count()
    }

    /// Views after `view` up to the bound whose primary is `r`.
    fn led_by(&self, r: usize, from: u8) -> impl Iterator<Item = u8> + '_ {
        (from..=self.views as u8).filter(move |&v| v > 0 && self.primary(v) == r)
    }

    /// Removes the messages whose delivery can no longer change anything (each rule: inert now
    /// implies inert forever, since views only grow and commits are never undone).
    fn collect_garbage(&self, s: &mut PbftState) {
        // Views every nonfaulty replica has left: their pre-prepares and prepares only prove
        // certificates now.
        let left = s.nonfaulty().map(|(_, v)| v.view).min().unwrap_or(0);
        let mut proven = vec![];
        for view in 0..left {
            if s.network.iter().any(|m| {
                matches!(*m, Msg::PrePrepare { view: v, .. } | Msg::Prepare { view: v, .. } if v == view)
            }) {
                for t in 0..self.slots as u8 {
                    for op in 0..=self.requests as u8 {
                        if self.valid(s, t, Cert { view, op }) {
                            proven.push(Msg::Certified { t, view, op });
                        }
                    }
                }
            }
        }
        let (replicas, faulty) = (&s.replicas, s.faulty);
        let nonfaulty = || {
            replicas
                .iter()
                .enumerate()
                .filter(move |(r, _)| faulty & (1 << r) == 0)
                .map(|(_, v)| v)
        };
        // Settled in `view`: no nonfaulty replica is in it or can still enter it.
        let settled = |view: u8| nonfaulty().all(|v| v.view > view || (v.view == view && v.active));
        s.network.retain(|m| match *m {
            // Only a replica that can still commit `t` in `view` reads a commit.
            Msg::Commit { t, view, .. } => {
                nonfaulty().any(|v| v.view <= view && v.committed[t as usize].is_none())
            }
            // Only the new primary reads view changes, or everyone when it is faulty.
            Msg::ViewChange { view, .. } => {
                let p = self.primary(view);
                if faulty & (1 << p) == 0 {
                    let v = &replicas[p];
                    v.view < view || (v.view == view && !v.active)
                } else {
                    !settled(view)
                }
            }
            Msg::PrePrepare { view, .. } | Msg::Prepare { view, .. } => view >= left,
            _ => true,
        });
        for m in proven {
            s.network.insert(m);
        }
    }

    fn enter(&self, next: &mut PbftState, r: usize, view: u8, reissued: Reissued) {
        let me = &mut next.replicas[r];
        me.view = view;
        me.active = true;
        me.accepted = reissued;
    }
}

impl Model for Pbft {
    type State = PbftState;
    type Action = Action;

    fn init_states(&self) -> Vec<PbftState> {
        // Replicas that are never primary within the bounded views are interchangeable: the
        // faulty ones among them are the lowest-numbered.
        let never_primary = (self.views + 1..self.n).fold(0u8, |m, r| m | 1 << r);
        let mut out = vec![];
        for faulty in 0..=u8::MAX >> (8 - self.n) {
            if ones(faulty) != self.faulty {
                continue;
            }
            let np = faulty & never_primary;
            let first = never_primary.trailing_zeros();
            if np != 0 && np >> first != (1 << ones(np)) - 1 {
                continue; // not the lowest-numbered never-primary replicas
            }
            out.push(PbftState {
                faulty,
                primaries: !never_primary & (u8::MAX >> (8 - self.n)),
                requests: self.requests as u8,
                replicas: vec![Replica::START; self.n],
                client: [None; MAX_REQUESTS],
                network: SortedSet::new(),
            });
        }
        out
    }

    fn actions(&self, s: &PbftState, actions: &mut Vec<Action>) {
        // The NEW-VIEWs a view-change certificate justifies, per view, computed once for every
        // replica that may send or adopt one.
        let mut options: [Option<Vec<Reissued>>; MAX_VIEW_CHANGES + 1] = Default::default();
        let mut reissue = |v: u8| {
            options[v as usize]
                .get_or_insert_with(|| self.reissue_options(s, v))
                .clone()
        };
        for (r, me) in s.nonfaulty() {
            let rr = r as u8;
            let view = me.view;
            if me.active {
                let primary = self.primary(view);
                if primary == r {
                    if let Some(t) = (0..self.slots).find(|&t| me.accepted[t].is_none()) {
                        for op in 1..=self.requests as u8 {
                            if !me.accepted.contains(&Some(op)) && !me.committed.contains(&Some(op))
                            {
                                actions.push(Action::PrePrepare {
                                    r: rr,
                                    t: t as u8,
                                    op,
                                });
                            }
                        }
                    }
                } else {
                    for t in 0..self.slots as u8 {
                        if me.accepted[t as usize].is_some() {
                            continue;
                        }
                        if s.faulty(primary) {
                            for op in 1..=self.requests as u8 {
                                actions.push(Action::Accept { r: rr, t, op });
                            }
                        } else {
                            for m in s.network.iter() {
                                if let Msg::PrePrepare {
                                    t: t2,
                                    view: v2,
                                    op,
                                } = *m
                                {
                                    if (t2, v2) == (t, view) {
                                        actions.push(Action::Accept { r: rr, t, op });
                                    }
                                }
                            }
                        }
                    }
                }
                for t in 0..self.slots as u8 {
                    let Some(op) = me.accepted[t as usize] else {
                        continue;
                    };
                    let cert = Cert { view, op };
                    if me.prepared[t as usize] != Some(cert) {
                        // The primary's vote is its pre-prepare; a backup's own prepare counts.
                        if ones(self.prepares(s, t, view, op)) >= self.prepare_quorum() {
                            actions.push(Action::Prepared { r: rr, t });
                        }
                    } else if me.committed[t as usize].is_none()
                        && ones(self.signed(s, true, t, view, op)) >= self.commit_quorum()
                    {
                        actions.push(Action::Commit { r: rr, t });
                    }
                }
            }
            if (view as usize) < self.views {
                let p = self.primary(view);
                let due = !me.active || s.faulty(p) || s.replicas[p].view != view;
                actions.push(Action::Suspect { r: rr, due });
            }
            for v in self.led_by(r, view) {
                if v == view && me.active {
                    continue;
                }
                for reissued in reissue(v) {
                    actions.push(Action::NewView {
                        r: rr,
                        view: v,
                        reissued,
                    });
                }
            }
            for v in view.max(1)..=self.views as u8 {
                let p = self.primary(v);
                if p == r || (v == view && me.active) {
                    continue;
                }
                if s.faulty(p) {
                    for reissued in reissue(v) {
                        actions.push(Action::Adopt {
                            r: rr,
                            view: v,
                            reissued,
                        });
                    }
                } else {
                    for m in s.network.iter() {
                        if let Msg::NewView { view: v2, reissued } = *m {
                            if v2 == v {
                                actions.push(Action::Adopt {
                                    r: rr,
                                    view: v,
                                    reissued,
                                });
                            }
                        }
                    }
                }
            }
        }
        for op in 1..=self.requests as u8 {
            if s.client[op as usize - 1].is_some() {
                continue;
            }
            for t in 0..self.slots as u8 {
                if self.replies(s, op, t) >= self.reply_quorum() {
                    actions.push(Action::Result { op, t });
                }
            }
        }
    }

    fn next_state(&self, s: &PbftState, action: Action) -> Option<PbftState> {
        let mut next = s.clone();
        match action {
            Action::PrePrepare { r, t, op } => {
                let me = &mut next.replicas[r as usize];
                me.accepted[t as usize] = Some(op);
                let view = me.view;
                next.network.insert(Msg::PrePrepare { t, view, op });
            }
            Action::Accept { r, t, op } => {
                let me = &mut next.replicas[r as usize];
                me.accepted[t as usize] = Some(op);
                let view = me.view;
                next.network.insert(Msg::Prepare {
                    from: r,
                    t,
                    view,
                    op,
                });
            }
            Action::Prepared { r, t } => {
                let me = &mut next.replicas[r as usize];
                let (view, op) = (me.view, me.accepted[t as usize].expect("accepted"));
                me.prepared[t as usize] = Some(Cert { view, op });
                next.network.insert(Msg::Commit {
                    from: r,
                    t,
                    view,
                    op,
                });
            }
            Action::Commit { r, t } => {
                let me = &mut next.replicas[r as usize];
                me.committed[t as usize] = Some(me.accepted[t as usize].expect("accepted"));
            }
            Action::Suspect { r, .. } => {
                let me = &mut next.replicas[r as usize];
                me.view += 1;
                me.active = false;
                me.accepted = [None; MAX_SLOTS];
                let (view, certs) = (me.view, me.prepared);
                next.network.insert(Msg::ViewChange {
                    from: r,
                    view,
                    certs,
                });
            }
            Action::NewView { r, view, reissued } => {
                self.enter(&mut next, r as usize, view, reissued);
                next.network.insert(Msg::NewView { view, reissued });
                for (t, op) in reissued.iter().enumerate() {
                    if let Some(op) = *op {
                        next.network.insert(Msg::PrePrepare {
                            t: t as u8,
                            view,
                            op,
                        });
                    }
                }
            }
            Action::Adopt { r, view, reissued } => {
                self.enter(&mut next, r as usize, view, reissued);
                for (t, op) in reissued.iter().enumerate() {
                    if let Some(op) = *op {
                        next.network.insert(Msg::Prepare {
                            from: r,
                            t: t as u8,
                            view,
                            op,
                        });
                    }
                }
            }
            Action::Result { op, t } => next.client[op as usize - 1] = Some(t),
        }
        self.collect_garbage(&mut next);
        Some(next)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always("agreement", |m: &Self, s: &PbftState| {
                (0..m.slots).all(|t| {
                    let mut ops = s.nonfaulty().filter_map(|(_, v)| v.committed[t]);
                    let first = ops.next();
                    ops.all(|o| Some(o) == first)
                })
            }),
            Property::always("client-validity", |_: &Self, s: &PbftState| {
                s.client.iter().enumerate().all(|(o, t)| {
                    t.is_none_or(|t| {
                        let op = o as u8 + 1;
                        let mut results = s.nonfaulty().filter_map(|(_, v)| v.result(op));
                        let mut any = false;
                        results.all(|r| {
                            any = true;
                            r == t
                        }) && any
                    })
                })
            }),
            Property::sometimes("operation-committed", |_: &Self, s: &PbftState| {
                s.nonfaulty()
                    .any(|(_, v)| v.committed.iter().any(|c| c.is_some_and(|o| o != NONE)))
            }),
            Property::sometimes("view-change-completed", |_: &Self, s: &PbftState| {
                s.nonfaulty().any(|(_, v)| v.active && v.view > 0)
            }),
            Property::sometimes("certificate-carried", |_: &Self, s: &PbftState| {
                s.network.iter().any(|m| {
                    matches!(m, Msg::NewView { reissued, .. }
                        if reissued.iter().any(|o| o.is_some_and(|o| o != NONE)))
                })
            }),
            Property::sometimes("result-accepted", |_: &Self, s: &PbftState| {
                s.client.iter().any(Option::is_some)
            }),
            Property::eventually("requests-executed", |m: &Self, s: &PbftState| {
                // As many results as there are timestamps for them.
                s.client[..m.requests].iter().flatten().count() >= m.requests.min(m.slots)
            }),
        ]
    }
}

impl Msg {
    /// The message with its operations renamed by `op` and its sender by `who`.
    fn renamed(self, op: impl Fn(u8) -> u8, who: impl Fn(u8) -> u8) -> Msg {
        let cert = |c: Option<Cert>| c.map(|c| Cert { op: op(c.op), ..c });
        match self {
            Msg::PrePrepare { t, view, op: o } => Msg::PrePrepare { t, view, op: op(o) },
            Msg::Prepare {
                from,
                t,
                view,
                op: o,
            } => Msg::Prepare {
                from: who(from),
                t,
                view,
                op: op(o),
            },
            Msg::Commit {
                from,
                t,
                view,
                op: o,
            } => Msg::Commit {
                from: who(from),
                t,
                view,
                op: op(o),
            },
            Msg::ViewChange { from, view, certs } => Msg::ViewChange {
                from: who(from),
                view,
                certs: certs.map(cert),
            },
            Msg::Certified { t, view, op: o } => Msg::Certified { t, view, op: op(o) },
            Msg::NewView { view, reissued } => Msg::NewView {
                view,
                reissued: reissued.map(|o| o.map(&op)),
            },
        }
    }

    fn sender(&self) -> Option<u8> {
        match *self {
            Msg::Prepare { from, .. } | Msg::Commit { from, .. } | Msg::ViewChange { from, .. } => {
                Some(from)
            }
            _ => None,
        }
    }
}

/// The symmetry reduction: the least state over every renaming of the requests, with the
/// nonfaulty replicas that are never primary (which play identical roles) sorted by everything
/// about them — their state and the messages they sent — so that equal keys mean the replicas
/// are interchangeable in the state.
pub fn representative(s: &PbftState) -> PbftState {
    let n = s.replicas.len();
    let movable: Vec<usize> = (0..n)
        .filter(|&r| (s.primaries | s.faulty) & (1 << r) == 0)
        .collect();
    let mut best: Option<PbftState> = None;
    for perm in permutations(s.requests as usize) {
        let op = |o: u8| {
            if o == NONE {
                NONE
            } else {
                perm[o as usize - 1] + 1
            }
        };
        let rename = |v: &Replica| Replica {
            accepted: v.accepted.map(|o| o.map(op)),
            prepared: v.prepared.map(|c| c.map(|c| Cert { op: op(c.op), ..c })),
            committed: v.committed.map(|o| o.map(op)),
            ..*v
        };
        let msgs: Vec<Msg> = s.network.iter().map(|m| m.renamed(op, |r| r)).collect();
        // Sort the movable replicas by their key.
        let key = |r: usize| {
            let mut sent: Vec<Msg> = msgs
                .iter()
                .filter(|m| m.sender() == Some(r as u8))
                .map(|m| m.renamed(|o| o, |_| 0))
                .collect();
            sent.sort();
            (rename(&s.replicas[r]), sent)
        };
        let mut order: Vec<(_, usize)> = movable.iter().map(|&r| (key(r), r)).collect();
        order.sort();
        let mut to = [0u8; MAX_REPLICAS];
        for (r, slot) in to.iter_mut().enumerate() {
            *slot = r as u8;
        }
        for (i, (_, r)) in order.iter().enumerate() {
            to[*r] = movable[i] as u8;
        }
        let mut next = PbftState {
            replicas: s.replicas.clone(),
            network: SortedSet::new(),
            client: [None; MAX_REQUESTS],
            ..*s
        };
        for (r, v) in s.replicas.iter().enumerate() {
            next.replicas[to[r] as usize] = rename(v);
        }
        for (o, t) in s.client.iter().enumerate().take(s.requests as usize) {
            next.client[op(o as u8 + 1) as usize - 1] = *t;
        }
        for m in &msgs {
            next.network.insert(m.renamed(|o| o, |r| to[r as usize]));
        }
        if best.as_ref().is_none_or(|b| next < *b) {
            best = Some(next);
        }
    }
    best.expect("at least the identity")
}

impl Protocol for Pbft {
    type Model = Pbft;
    type Variant = Variant;
    const NAME: &'static str = "pbft";
    const SUMMARY: &'static str =
        "PBFT with n = 3k + 1 replicas, k Byzantine, views, prepare certificates and NEW-VIEW";
    const SECTION: &'static str =
        "Consensus in Faulty Systems with Arbitrary Failures: Practical Byzantine Fault Tolerance";
    const FAIRNESS: &'static str = "weak: every step of a nonfaulty replica, a due suspicion (the \
         primary is faulty or gone, or the NEW-VIEW is awaited), the client's acceptance; unfair: \
         a false suspicion of a working nonfaulty primary (eventual synchrony)";

    fn fairness(_: &Pbft, action: &Action) -> Fairness {
        match action {
            Action::Suspect { due: false, .. } => Fairness::Unfair,
            _ => Fairness::Weak,
        }
    }

    fn params() -> Vec<ParamSpec> {
        vec![
            ParamSpec {
                name: "faulty",
                help: "Byzantine replicas (k); the group has 3k + 1 replicas",
                kind: ParamKind::Int {
                    min: 1,
                    max: MAX_FAULTY as i64,
                },
                default: Value::Int(1),
            },
            ParamSpec {
                name: "requests",
                help: "operations the client has requested",
                kind: ParamKind::Int {
                    min: 1,
                    max: MAX_REQUESTS as i64,
                },
                default: Value::Int(2),
            },
            ParamSpec {
                name: "slots",
                help: "timestamps the primaries can assign",
                kind: ParamKind::Int {
                    min: 1,
                    max: MAX_SLOTS as i64,
                },
                default: Value::Int(1),
            },
            ParamSpec {
                name: "views",
                help: "view changes (views 0..=views)",
                kind: ParamKind::Int {
                    min: 0,
                    max: MAX_VIEW_CHANGES as i64,
                },
                default: Value::Int(2),
            },
        ]
    }

    fn symmetry() -> Option<ftcheck_protocol::Symmetry<Pbft>> {
        Some(representative)
    }

    fn build(params: &Params, variant: Option<Variant>) -> Pbft {
        let faulty = params.usize("faulty");
        let n = if variant == Some(Variant::N3k) {
            3 * faulty
        } else {
            3 * faulty + 1
        };
        Pbft {
            n,
            faulty,
            slots: params.usize("slots"),
            views: params.usize("views"),
            requests: params.usize("requests"),
            variant,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(faulty: usize, views: usize, variant: Option<Variant>) -> Pbft {
        let n = if variant == Some(Variant::N3k) {
            3 * faulty
        } else {
            3 * faulty + 1
        };
        Pbft {
            n,
            faulty,
            slots: 1,
            views,
            requests: 2,
            variant,
        }
    }

    #[test]
    fn placements_are_every_primary_and_one_never_primary_backup() {
        let masks = |m: Pbft| -> Vec<u8> { m.init_states().iter().map(|s| s.faulty).collect() };
        assert_eq!(masks(model(1, 0, None)), [0b0001, 0b0010]);
        assert_eq!(masks(model(1, 1, None)), [0b0001, 0b0010, 0b0100]);
        assert_eq!(masks(model(1, 2, None)), [0b0001, 0b0010, 0b0100, 0b1000]);
        // k = 2, n = 7, views 0..1: P and B1 are primaries, B2..B6 interchangeable.
        assert_eq!(
            masks(model(2, 1, None)),
            [0b0000011, 0b0000101, 0b0000110, 0b0001100]
        );
    }

    #[test]
    fn quorums_follow_the_lecture_and_the_variants() {
        let q = |m: Pbft| (m.prepare_quorum(), m.commit_quorum(), m.reply_quorum());
        assert_eq!(q(model(1, 1, None)), (2, 3, 2));
        assert_eq!(q(model(2, 1, None)), (4, 5, 3));
        assert_eq!(q(model(1, 1, Some(Variant::SmallQuorum))), (1, 2, 2));
        assert_eq!(q(model(1, 1, Some(Variant::N3k))), (1, 2, 2));
        assert_eq!(q(model(1, 1, Some(Variant::FirstReply))), (2, 3, 1));
    }

    /// Over every reachable state of a small configuration: the representative is a symmetry
    /// (`check_symmetry`) and keeps the faulty placement.
    #[test]
    fn representative_is_canonical_and_keeps_every_property() {
        let m = Pbft {
            requests: 3,
            ..model(1, 1, None)
        };
        let faulty_kept = |s: &PbftState| {
            assert_eq!(representative(s).faulty, s.faulty);
            vec![]
        };
        assert_eq!(
            crate::check_symmetry::<Pbft>(&m, &faulty_kept, usize::MAX),
            46_505
        );
    }
}

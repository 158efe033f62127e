//! `transaction-commit`: the abstract two-phase commit of Gray and Lamport's "Consensus on
//! Transaction Commit" (the TLA+ module `TwoPhase`), as a plain stateright [`Model`].
//!
//! Lecture section: "Distributed Commit — Two-phase Commit Protocol (2PC)". Where
//! `two-phase-commit` is an actor model with crashes, logs and timeouts, this is the textbook
//! specification itself: a transaction manager (TM), `rms` resource managers (RMs), and a *set*
//! of messages that only grows (messages are never lost, and a message may be received any number
//! of times). The variables are those of the TLA+ module:
//! `rmState`, `tmState`, `tmPrepared` and `msgs`, and the actions are its seven actions
//! (`TMRcvPrepared`, `TMCommit`, `TMAbort`, `RMPrepare`, `RMChooseToAbort`, `RMRcvCommitMsg`,
//! `RMRcvAbortMsg`). The model therefore has exactly the distinct states TLC finds for `TwoPhase`
//! with the same number of RMs (288 for 3, 1,745,408 for 8): a cross-check of ftcheck's engine
//! against an independent checker.
//!
//! The state is packed (two bits per RM, bit sets for `tmPrepared` and the `Prepared` messages):
//! a bijection with the TLA+ state, so the counts are the same, and each state is 12 bytes.
//! `RM` is symmetric: with `--symmetry` the RMs are sorted by their local view.
//!
//! Why a plain model and not a stateright actor system (issue 19): it is Gray and Lamport's TLA+
//! specification transcribed, so that its state counts equal TLC's (the engine's cross-check);
//! the same protocol as actors, with crashes and timers, is
//! [`two_phase_commit`](crate::two_phase_commit).

use ftcheck_protocol::{NoVariants, ParamKind, ParamSpec, Params, Protocol, Value};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use stateright::{Model, Property, Representative};
use std::fmt;

/// Largest number of resource managers the packed state holds.
pub const MAX_RMS: usize = 15;

/// The state of one resource manager (`rmState[r]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RmState {
    /// `"working"`
    Working = 0,
    /// `"prepared"`
    Prepared = 1,
    /// `"committed"`
    Committed = 2,
    /// `"aborted"`
    Aborted = 3,
}

impl RmState {
    fn from_bits(bits: u32) -> Self {
        match bits & 3 {
            0 => RmState::Working,
            1 => RmState::Prepared,
            2 => RmState::Committed,
            _ => RmState::Aborted,
        }
    }
    fn name(self) -> &'static str {
        match self {
            RmState::Working => "working",
            RmState::Prepared => "prepared",
            RmState::Committed => "committed",
            RmState::Aborted => "aborted",
        }
    }
}

/// The transaction manager's state (`tmState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TmState {
    /// `"init"`
    Init,
    /// `"committed"`
    Committed,
    /// `"aborted"`
    Aborted,
}

/// A state of `TwoPhase`, packed.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TcState {
    /// `rmState`: two bits per RM.
    rm_state: u32,
    /// `tmPrepared`: bit r set when RM r's `Prepared` message was received.
    tm_prepared: u16,
    /// The `[type |-> "Prepared", rm |-> r]` messages in `msgs`: bit r.
    msg_prepared: u16,
    /// `tmState`.
    tm_state: TmState,
    /// `[type |-> "Commit"] \in msgs`
    msg_commit: bool,
    /// `[type |-> "Abort"] \in msgs`
    msg_abort: bool,
}

impl TcState {
    /// `rmState[r]`.
    pub fn rm(&self, r: usize) -> RmState {
        RmState::from_bits(self.rm_state >> (2 * r))
    }
    fn set_rm(&mut self, r: usize, s: RmState) {
        self.rm_state = (self.rm_state & !(3 << (2 * r))) | ((s as u32) << (2 * r));
    }
    /// `tmState`.
    pub fn tm(&self) -> TmState {
        self.tm_state
    }
    fn rms(&self, n: usize) -> impl Iterator<Item = RmState> + '_ {
        (0..n).map(move |r| self.rm(r))
    }
    fn rm_count(&self) -> usize {
        // The packed state does not know `RM`; the highest non-working RM bounds it for display.
        MAX_RMS
    }
}

/// The actions of `TwoPhase`, with their RM argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// `TMRcvPrepared(r)`
    TMRcvPrepared(usize),
    /// `TMCommit`
    TMCommit,
    /// `TMAbort`
    TMAbort,
    /// `RMPrepare(r)`
    RMPrepare(usize),
    /// `RMChooseToAbort(r)`
    RMChooseToAbort(usize),
    /// `RMRcvCommitMsg(r)`
    RMRcvCommitMsg(usize),
    /// `RMRcvAbortMsg(r)`
    RMRcvAbortMsg(usize),
}

/// The `TwoPhase` specification with `rms` resource managers.
#[derive(Clone, Debug)]
pub struct TransactionCommit {
    /// Number of resource managers (`RM = 1..rms`).
    pub rms: usize,
}

impl Model for TransactionCommit {
    type State = TcState;
    type Action = Action;

    fn init_states(&self) -> Vec<TcState> {
        vec![TcState {
            rm_state: 0,
            tm_prepared: 0,
            msg_prepared: 0,
            tm_state: TmState::Init,
            msg_commit: false,
            msg_abort: false,
        }]
    }

    fn actions(&self, s: &TcState, actions: &mut Vec<Action>) {
        let all = (1u16 << self.rms) - 1;
        if s.tm_state == TmState::Init {
            if s.tm_prepared == all {
                actions.push(Action::TMCommit);
            }
            actions.push(Action::TMAbort);
        }
        for r in 0..self.rms {
            if s.tm_state == TmState::Init && s.msg_prepared & (1 << r) != 0 {
                actions.push(Action::TMRcvPrepared(r));
            }
            if s.rm(r) == RmState::Working {
                actions.push(Action::RMPrepare(r));
                actions.push(Action::RMChooseToAbort(r));
            }
            if s.msg_commit {
                actions.push(Action::RMRcvCommitMsg(r));
            }
            if s.msg_abort {
                actions.push(Action::RMRcvAbortMsg(r));
            }
        }
    }

    fn next_state(&self, last: &TcState, action: Action) -> Option<TcState> {
        let mut s = *last;
        match action {
            Action::TMRcvPrepared(r) => s.tm_prepared |= 1 << r,
            Action::TMCommit => {
                s.tm_state = TmState::Committed;
                s.msg_commit = true;
            }
            Action::TMAbort => {
                s.tm_state = TmState::Aborted;
                s.msg_abort = true;
            }
            Action::RMPrepare(r) => {
                s.set_rm(r, RmState::Prepared);
                s.msg_prepared |= 1 << r;
            }
            Action::RMChooseToAbort(r) => s.set_rm(r, RmState::Aborted),
            Action::RMRcvCommitMsg(r) => s.set_rm(r, RmState::Committed),
            Action::RMRcvAbortMsg(r) => s.set_rm(r, RmState::Aborted),
        }
        Some(s)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always("TypeOK", |m: &Self, s: &TcState| {
                let outside = !((1u32 << m.rms) - 1) as u16;
                let rm_outside = if m.rms >= 16 {
                    0
                } else {
                    s.rm_state >> (2 * m.rms)
                };
                s.tm_prepared & outside == 0 && s.msg_prepared & outside == 0 && rm_outside == 0
            }),
            Property::always("TCConsistent", |m: &Self, s: &TcState| {
                !(s.rms(m.rms).any(|r| r == RmState::Committed)
                    && s.rms(m.rms).any(|r| r == RmState::Aborted))
            }),
            Property::sometimes("commit-reached", |m: &Self, s: &TcState| {
                s.rms(m.rms).all(|r| r == RmState::Committed)
            }),
            Property::sometimes("abort-reached", |m: &Self, s: &TcState| {
                s.rms(m.rms).all(|r| r == RmState::Aborted)
            }),
        ]
    }
}

impl Representative for TcState {
    /// Sorts the RMs by their local view (`rmState[r]`, `r \in tmPrepared`, its `Prepared`
    /// message): two states that differ by a permutation of RMs map to the same representative.
    fn representative(&self) -> Self {
        let mut views: Vec<(u32, u16, u16)> = (0..MAX_RMS)
            .map(|r| {
                (
                    (self.rm_state >> (2 * r)) & 3,
                    (self.tm_prepared >> r) & 1,
                    (self.msg_prepared >> r) & 1,
                )
            })
            .collect();
        // Only the RMs that exist are permuted; absent ones are all zero and sort first, so
        // sorting descending keeps existing RMs at the low indices.
        views.sort_unstable_by(|a, b| b.cmp(a));
        let mut s = *self;
        s.rm_state = 0;
        s.tm_prepared = 0;
        s.msg_prepared = 0;
        for (r, (st, p, m)) in views.into_iter().enumerate() {
            s.rm_state |= st << (2 * r);
            s.tm_prepared |= p << r;
            s.msg_prepared |= m << r;
        }
        s
    }
}

impl fmt::Debug for TcState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.rm_count();
        let rms: Vec<&str> = (0..n)
            .map(|r| self.rm(r).name())
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .skip_while(|s| *s == "working")
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        write!(
            f,
            "rmState={rms:?} tmState={:?} tmPrepared={:#b} msgs(prepared={:#b}, commit={}, abort={})",
            self.tm_state, self.tm_prepared, self.msg_prepared, self.msg_commit, self.msg_abort
        )
    }
}

/// Serialises as the TLA+ variables: `rmState` (a record from RM name to state), `tmState`,
/// `tmPrepared` (RM names) and `msgs` (records with `type` and `rm`). RMs are named `r1`,
/// `r2`, ...; RMs beyond the highest non-working one are omitted only when all bits are zero.
impl Serialize for TcState {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct RmMap<'a>(&'a TcState, usize);
        impl Serialize for RmMap<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut map = serializer.serialize_map(Some(self.1))?;
                for r in 0..self.1 {
                    map.serialize_entry(&format!("r{}", r + 1), self.0.rm(r).name())?;
                }
                map.end()
            }
        }
        struct Bits(u16);
        impl Serialize for Bits {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut seq = serializer.serialize_seq(None)?;
                for r in 0..16 {
                    if self.0 & (1 << r) != 0 {
                        seq.serialize_element(&format!("r{}", r + 1))?;
                    }
                }
                seq.end()
            }
        }
        #[derive(Serialize)]
        struct Msg {
            #[serde(rename = "type")]
            kind: &'static str,
            #[serde(skip_serializing_if = "Option::is_none")]
            rm: Option<String>,
        }
        let mut msgs = Vec::new();
        for r in 0..16 {
            if self.msg_prepared & (1 << r) != 0 {
                msgs.push(Msg {
                    kind: "Prepared",
                    rm: Some(format!("r{}", r + 1)),
                });
            }
        }
        if self.msg_commit {
            msgs.push(Msg {
                kind: "Commit",
                rm: None,
            });
        }
        if self.msg_abort {
            msgs.push(Msg {
                kind: "Abort",
                rm: None,
            });
        }
        // The number of RMs is not in the packed state: show every RM up to the highest one
        // that is not "working" or is mentioned anywhere, and at least one.
        let mentioned = (self.tm_prepared | self.msg_prepared) as u32;
        let mut n = 1;
        for r in 0..MAX_RMS {
            if self.rm(r) != RmState::Working || mentioned & (1 << r) != 0 {
                n = r + 1;
            }
        }
        let mut map = serializer.serialize_map(Some(4))?;
        map.serialize_entry("rmState", &RmMap(self, n))?;
        map.serialize_entry(
            "tmState",
            match self.tm_state {
                TmState::Init => "init",
                TmState::Committed => "committed",
                TmState::Aborted => "aborted",
            },
        )?;
        map.serialize_entry("tmPrepared", &Bits(self.tm_prepared))?;
        map.serialize_entry("msgs", &msgs)?;
        map.end()
    }
}

impl Protocol for TransactionCommit {
    type Model = TransactionCommit;
    type Variant = NoVariants;
    const NAME: &'static str = "transaction-commit";
    const SUMMARY: &'static str =
        "Gray and Lamport's abstract two-phase commit (TLA+ TwoPhase): TM, RMs, a set of messages";
    const SECTION: &'static str = "Distributed Commit: Two-phase Commit Protocol (2PC)";

    fn params() -> Vec<ParamSpec> {
        vec![ParamSpec {
            name: "rms",
            help: "number of resource managers",
            kind: ParamKind::Int {
                min: 1,
                max: MAX_RMS as i64,
            },
            default: Value::Int(3),
        }]
    }

    fn build(params: &Params, _variant: Option<NoVariants>) -> TransactionCommit {
        TransactionCommit {
            rms: params.usize("rms"),
        }
    }

    fn symmetry() -> Option<ftcheck_protocol::Symmetry<TransactionCommit>> {
        Some(TcState::representative)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stateright::Checker;

    #[test]
    fn stateright_bfs_agrees_with_tlc_for_three_rms() {
        let checker = TransactionCommit { rms: 3 }.checker().spawn_bfs().join();
        assert_eq!(checker.unique_state_count(), 288);
        checker.assert_properties();
    }

    /// Over every reachable state of four resource managers: the representative is a symmetry
    /// (`check_symmetry`).
    #[test]
    fn the_representative_is_a_symmetry() {
        let m = TransactionCommit { rms: 4 };
        assert_eq!(
            crate::check_symmetry::<TransactionCommit>(&m, &|_| vec![], usize::MAX),
            1_568
        );
    }

    #[test]
    fn representative_is_a_permutation_invariant() {
        let m = TransactionCommit { rms: 3 };
        let s0 = m.init_states()[0];
        let a = m.next_state(&s0, Action::RMPrepare(0)).unwrap();
        let b = m.next_state(&s0, Action::RMPrepare(2)).unwrap();
        assert_ne!(a, b);
        assert_eq!(a.representative(), b.representative());
    }
}

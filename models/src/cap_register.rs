//! `cap-register`: a replicated register under a network partition — consistency or availability.
//!
//! Lecture section: "Some Limitations on Realizing Fault Tolerance: the CAP theorem".
//!
//! How it maps the lecture: a register (initially 0) is replicated on `replicas` servers
//! `R1..Rn`. Client `C1` writes 1 through `R1`; client `C2` reads through `R2`; both may start at
//! any time. The network may partition (`partitions` times), cutting `R1` off from the others,
//! and heal. With `policy = consistent` a server answers only after a majority of replicas took
//! part: a write waits for acknowledgements of its update, a read asks a majority for their
//! versioned copies and returns the newest — so a request whose majority is on the other side of
//! a partition waits. With `policy = available` the servers do the same while the network is
//! whole, but during a partition answer with what they have (the local copy, and whatever
//! answers arrived). `linearizability` is checked with stateright's linearizability tester over
//! a register: it holds for `consistent`, and for `available` without partitions; `available`
//! violates it under a partition (`R1` completes the write alone, and `R2` returns 0
//! afterwards). `waits-in-partition` (a request unanswered while its majority is cut
//! off) is reached with `consistent`: the price of consistency. The liveness `all-answered`
//! (both requests are eventually answered) assumes weak fairness of the clients' requests, of
//! each message delivery and of each answer; a partition is never forced, and with
//! `fair-heal = true` (the default) a partition eventually heals: then both policies answer
//! both (holds). With `fair-heal = false` a partition may last forever: `available` still
//! answers both; `consistent` leaves a request unanswered for as long as the partition lasts
//! (violated): the other half of CAP.
//!
//! Where it abstracts: each message between `R1` and a replica is a pending flag, delivered
//! when the two sides are connected, never lost; one write and one read.

use ftcheck_protocol::{Fairness, NoVariants, ParamKind, ParamSpec, Params, Protocol, Value};
use serde::{Serialize, Serializer};
use stateright::semantics::register::{Register, RegisterOp, RegisterRet};
use stateright::semantics::{ConsistencyTester, LinearizabilityTester};
use stateright::{Model, Property};
use std::fmt;

/// Most replicas.
pub const MAX_REPLICAS: usize = 3;

/// A request's progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Request {
    /// Not issued yet.
    Idle,
    /// Issued, not answered yet.
    Pending,
    /// Answered.
    Done,
}

/// A state.
#[derive(Clone, Debug, PartialEq, Hash)]
pub struct CapState {
    /// Constant: the number of replicas.
    pub replicas: u8,
    /// Per replica: version and value of its copy.
    pub copies: [(u8, u8); MAX_REPLICAS],
    /// `R1` is cut off from the others.
    pub partitioned: bool,
    /// Partitions so far.
    pub partitions: u8,
    /// `C1`'s write of 1.
    pub write: Request,
    /// Update messages from `R1` not yet delivered (bit per replica).
    pub updates: u8,
    /// Replicas whose acknowledgement of the update `R1` has (bit per replica, `R1` included).
    pub acks: u8,
    /// `C2`'s read.
    pub read: Request,
    /// Replicas whose copy `R2` has for the read (bit per replica, `R2` included).
    pub answers: u8,
    /// The newest copy among the answers.
    pub newest: (u8, u8),
    /// The clients' history, for the linearizability tester.
    pub history: LinearizabilityTester<u8, Register<u8>>,
}

impl Serialize for CapState {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(None)?;
        let copies: Vec<String> = self
            .copies
            .iter()
            .take(self.replicas as usize)
            .map(|(ver, val)| format!("{val} (version {ver})"))
            .collect();
        map.serialize_entry("copies", &copies)?;
        map.serialize_entry("partitioned", &self.partitioned)?;
        map.serialize_entry("C1 write", &format!("{:?}", self.write))?;
        let read = match self.read {
            Request::Done => format!("Done: returned {}", self.newest.1),
            r => format!("{r:?}"),
        };
        map.serialize_entry("C2 read", &read)?;
        map.end()
    }
}

/// A step.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// `C1` asks `R1` to write 1.
    Write,
    /// `R1`'s update reaches replica `j`, which acknowledges.
    Update(u8),
    /// `R1` answers `C1`.
    WriteDone,
    /// `C2` asks `R2` to read.
    Read,
    /// Replica `j`'s copy reaches `R2` for the read.
    Answer(u8),
    /// `R2` answers `C2` with the newest copy it has.
    ReadDone,
    /// The network partitions: `R1` is cut off.
    Partition,
    /// The partition heals.
    Heal,
}

impl fmt::Debug for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Action::Write => write!(f, "C1 asks R1 to write 1"),
            Action::Update(j) => write!(f, "R1's update reaches R{}", j + 1),
            Action::WriteDone => write!(f, "R1 answers C1: written"),
            Action::Read => write!(f, "C2 asks R2 to read"),
            Action::Answer(j) => write!(f, "R{}'s copy reaches R2", j + 1),
            Action::ReadDone => write!(f, "R2 answers C2 with the newest copy it has"),
            Action::Partition => write!(f, "the network partitions: R1 is cut off"),
            Action::Heal => write!(f, "the partition heals"),
        }
    }
}

/// The model.
#[derive(Clone, Debug)]
pub struct CapRegister {
    /// Replicas.
    pub replicas: usize,
    /// Partitions allowed.
    pub partitions: usize,
    /// Answer from the local copy (`policy = available`).
    pub available: bool,
    /// A partition eventually heals (weak fairness of healing, `fair-heal = true`).
    pub fair_heal: bool,
}

impl CapRegister {
    fn majority(&self) -> u32 {
        self.replicas as u32 / 2 + 1
    }

    /// The available policy answers without a majority while partitioned.
    fn may_answer(&self, s: &CapState) -> bool {
        self.available && s.partitioned
    }

    /// Replicas `a` and `b` can talk.
    fn connected(s: &CapState, a: usize, b: usize) -> bool {
        !s.partitioned || (a == 0) == (b == 0)
    }
}

impl Model for CapRegister {
    type State = CapState;
    type Action = Action;

    fn init_states(&self) -> Vec<CapState> {
        vec![CapState {
            replicas: self.replicas as u8,
            copies: [(0, 0); MAX_REPLICAS],
            partitioned: false,
            partitions: 0,
            write: Request::Idle,
            updates: 0,
            acks: 0,
            read: Request::Idle,
            answers: 0,
            newest: (0, 0),
            history: LinearizabilityTester::new(Register(0)),
        }]
    }

    fn actions(&self, s: &CapState, actions: &mut Vec<Action>) {
        if s.write == Request::Idle {
            actions.push(Action::Write);
        }
        for j in 1..self.replicas {
            if s.updates & (1 << j) != 0 && Self::connected(s, 0, j) {
                actions.push(Action::Update(j as u8));
            }
        }
        if s.write == Request::Pending
            && (self.may_answer(s) || s.acks.count_ones() >= self.majority())
        {
            actions.push(Action::WriteDone);
        }
        if s.read == Request::Idle {
            actions.push(Action::Read);
        }
        if s.read == Request::Pending {
            if self.may_answer(s) || s.answers.count_ones() >= self.majority() {
                actions.push(Action::ReadDone);
            }
            for j in 0..self.replicas {
                if s.answers & (1 << j) == 0 && Self::connected(s, 1, j) {
                    actions.push(Action::Answer(j as u8));
                }
            }
        }
        if s.partitioned {
            actions.push(Action::Heal);
        } else if (s.partitions as usize) < self.partitions {
            actions.push(Action::Partition);
        }
    }

    fn next_state(&self, s: &CapState, action: Action) -> Option<CapState> {
        let mut next = s.clone();
        match action {
            Action::Write => {
                next.write = Request::Pending;
                next.copies[0] = (1, 1);
                next.acks = 1;
                next.updates = (((1u16 << self.replicas) - 1) as u8) & !1;
                let _ = next.history.on_invoke(1, RegisterOp::Write(1));
            }
            Action::Update(j) => {
                next.updates &= !(1 << j);
                next.copies[j as usize] = s.copies[j as usize].max((1, 1));
                next.acks |= 1 << j;
            }
            Action::WriteDone => {
                next.write = Request::Done;
                let _ = next.history.on_return(1, RegisterRet::WriteOk);
            }
            Action::Read => {
                next.read = Request::Pending;
                next.answers = 1 << 1;
                next.newest = s.copies[1];
                let _ = next.history.on_invoke(2, RegisterOp::Read);
            }
            Action::Answer(j) => {
                next.answers |= 1 << j;
                next.newest = s.newest.max(s.copies[j as usize]);
            }
            Action::ReadDone => {
                next.read = Request::Done;
                let _ = next.history.on_return(2, RegisterRet::ReadOk(s.newest.1));
            }
            Action::Partition => {
                next.partitioned = true;
                next.partitions += 1;
            }
            Action::Heal => next.partitioned = false,
        }
        Some(next)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always("linearizability", |_: &Self, s: &CapState| {
                s.history.serialized_history().is_some()
            }),
            Property::sometimes("both-answered", |_: &Self, s: &CapState| {
                s.write == Request::Done && s.read == Request::Done
            }),
            Property::sometimes("waits-in-partition", |m: &Self, s: &CapState| {
                // A pending request whose server cannot reach a majority.
                let reach = |a: usize| {
                    (0..m.replicas)
                        .filter(|&b| CapRegister::connected(s, a, b))
                        .count()
                };
                !m.available
                    && s.partitioned
                    && ((s.write == Request::Pending && (reach(0) as u32) < m.majority())
                        || (s.read == Request::Pending
                            && (s.answers.count_ones() as usize) < reach(1)
                            && (reach(1) as u32) < m.majority()))
            }),
            Property::eventually("all-answered", |_: &Self, s: &CapState| {
                s.write == Request::Done && s.read == Request::Done
            }),
        ]
    }
}

impl Protocol for CapRegister {
    type Model = CapRegister;
    type Variant = NoVariants;
    const NAME: &'static str = "cap-register";
    const SUMMARY: &'static str =
        "a replicated register under partition: consistent (majority) waits, available answers stale";
    const FAIRNESS: &'static str =
        "weak: requests, deliveries, answers, and healing with fair-heal=true (a partition ends); unfair: partitioning, and healing with fair-heal=false (a partition may last forever)";

    fn fairness(m: &CapRegister, action: &Action) -> Fairness {
        match action {
            Action::Heal if m.fair_heal => Fairness::Weak,
            Action::Partition | Action::Heal => Fairness::Unfair,
            _ => Fairness::Weak,
        }
    }
    const SECTION: &'static str = "Some Limitations on Realizing Fault Tolerance: CAP";

    fn params() -> Vec<ParamSpec> {
        vec![
            ParamSpec {
                name: "replicas",
                help: "replicas of the register",
                kind: ParamKind::Int {
                    min: 2,
                    max: MAX_REPLICAS as i64,
                },
                default: Value::Int(2),
            },
            ParamSpec {
                name: "partitions",
                help: "times the network may partition (each may heal)",
                kind: ParamKind::Int { min: 0, max: 2 },
                default: Value::Int(1),
            },
            ParamSpec {
                name: "policy",
                help: "consistent (answer after a majority) or available (answer from the local \
                       copy)",
                kind: ParamKind::Choice {
                    options: &["consistent", "available"],
                },
                default: Value::Choice("consistent"),
            },
            ParamSpec {
                name: "fair-heal",
                help: "a partition eventually heals (false: it may last forever, and the \
                       consistent policy never answers)",
                kind: ParamKind::Bool,
                default: Value::Bool(true),
            },
        ]
    }

    fn build(params: &Params, _variant: Option<NoVariants>) -> CapRegister {
        CapRegister {
            replicas: params.usize("replicas"),
            partitions: params.usize("partitions"),
            available: params.choice("policy") == "available",
            fair_heal: params.bool("fair-heal"),
        }
    }
}

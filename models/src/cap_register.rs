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
//! How it is built: one actor per replica. A client's request arriving is its server's timer
//! (`R1`'s `Write`, `R2`'s `Read`), and its answer is the server's step that completes the
//! request (the clients are the environment, not actors). `R1` sends `UPDATE` to every replica,
//! each of which stores the copy and acknowledges; `R2` sends `QUERY` to every replica, each of
//! which answers with its versioned copy. A consistent server answers once a majority (itself
//! included) took part; an available one also answers, from what it has, by a timeout that
//! fires only while it is cut off (a guarded timer: an accurate timeout). A partition is the
//! fault layer's: `R1`'s links to every other replica are cut in one step, and all heal in one.
//! The clients' history for the linearizability tester is a ghost variable kept by an observer.
//!
//! Where it abstracts: messages are never lost; one write and one read.

use ftcheck_protocol::guarded::{
    soon, Faults, GuardedAction, GuardedActors, GuardedState, TimerGuard,
};
use ftcheck_protocol::{Fairness, NoVariants, ParamKind, ParamSpec, Params, Protocol, Value};
use serde::{Serialize, Serializer};
use stateright::actor::{
    Actor, ActorModel, ActorModelAction, ActorModelState, Envelope, Id, Network, Out,
};
use stateright::semantics::register::{Register, RegisterOp, RegisterRet};
use stateright::semantics::{ConsistencyTester, LinearizabilityTester};
use stateright::Expectation;
use std::borrow::Cow;
use std::fmt;

/// Most replicas.
pub const MAX_REPLICAS: usize = 3;

/// A request's progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Request {
    /// Not issued yet.
    Idle,
    /// Issued, not answered yet.
    Pending,
    /// Answered.
    Done,
}

/// A versioned copy of the register: `(version, value)`.
pub type Versioned = (u8, u8);

/// A message between replicas.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Msg {
    /// `R1` to a replica: store this copy, and acknowledge.
    Update(Versioned),
    /// A replica to `R1`: stored.
    Ack,
    /// `R2` to a replica: send your copy.
    Query,
    /// A replica to `R2`: its copy.
    Reply(Versioned),
}

impl fmt::Debug for Msg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Msg::Update((ver, val)) => write!(f, "UPDATE {val} (version {ver})"),
            Msg::Ack => f.write_str("ACK"),
            Msg::Query => f.write_str("QUERY"),
            Msg::Reply((ver, val)) => write!(f, "COPY {val} (version {ver})"),
        }
    }
}

/// A replica's timers.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Timer {
    /// `C1`'s request to write 1 reaches `R1`.
    Write,
    /// `C2`'s request to read reaches `R2`.
    Read,
    /// The available policy: a server cut off answers its pending request from what it has.
    Answer,
}

impl fmt::Debug for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Timer::Write => "C1 asks R1 to write 1",
            Timer::Read => "C2 asks R2 to read",
            Timer::Answer => "cut off: answers from what it has",
        })
    }
}

/// A replica's state: its copy, and the request it serves (`R1` the write, `R2` the read).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Replica {
    /// Its copy.
    pub copy: Versioned,
    /// `C1`'s write of 1 (at `R1`).
    pub write: Request,
    /// Replicas whose acknowledgement of the update `R1` has (bit per replica, itself
    /// included).
    pub acks: u8,
    /// `C2`'s read (at `R2`).
    pub read: Request,
    /// Replicas whose copy `R2` has for the read (bit per replica, itself included).
    pub answers: u8,
    /// The newest copy among the answers (what the read returns).
    pub newest: Versioned,
}

impl Replica {
    const INITIAL: Replica = Replica {
        copy: (0, 0),
        write: Request::Idle,
        acks: 0,
        read: Request::Idle,
        answers: 0,
        newest: (0, 0),
    };
}

impl fmt::Debug for Replica {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "copy {} (version {})", self.copy.1, self.copy.0)?;
        match self.write {
            Request::Idle => {}
            Request::Pending => write!(f, ", write pending ({} acks)", self.acks.count_ones())?,
            Request::Done => f.write_str(", write answered")?,
        }
        match self.read {
            Request::Idle => {}
            Request::Pending => write!(f, ", read pending ({} copies)", self.answers.count_ones())?,
            Request::Done => write!(f, ", read returned {}", self.newest.1)?,
        }
        Ok(())
    }
}

impl Serialize for Replica {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{self:?}"))
    }
}

/// The run's settings, which every replica knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Config {
    /// Replicas.
    pub replicas: usize,
    /// Answer from the local copy when cut off (`policy = available`).
    pub available: bool,
    /// A partition eventually heals (weak fairness of healing, `fair-heal = true`).
    pub fair_heal: bool,
}

impl Config {
    fn majority(&self) -> u32 {
        self.replicas as u32 / 2 + 1
    }
}

/// A replica: its index and the run's settings.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ReplicaActor {
    /// Its index (`R1` is 0).
    pub me: usize,
    /// The settings.
    pub cfg: Config,
}

impl ReplicaActor {
    fn others(&self) -> impl Iterator<Item = Id> + '_ {
        (0..self.cfg.replicas)
            .filter(move |&j| j != self.me)
            .map(Id::from)
    }

    /// Completes what a majority allows.
    fn settle(&self, r: &mut Replica, o: &mut Out<Self>) {
        let majority = self.cfg.majority();
        if r.write == Request::Pending && r.acks.count_ones() >= majority {
            r.write = Request::Done;
            o.cancel_timer(Timer::Answer);
        }
        if r.read == Request::Pending && r.answers.count_ones() >= majority {
            r.read = Request::Done;
            o.cancel_timer(Timer::Answer);
        }
    }
}

impl Actor for ReplicaActor {
    type Msg = Msg;
    type State = Replica;
    type Timer = Timer;
    type Random = ();
    type Storage = ();

    fn name(&self) -> String {
        format!("R{}", self.me + 1)
    }

    fn on_start(&self, _id: Id, _: &Option<()>, o: &mut Out<Self>) -> Replica {
        match self.me {
            0 => o.set_timer(Timer::Write, soon()),
            1 => o.set_timer(Timer::Read, soon()),
            _ => {}
        }
        Replica::INITIAL
    }

    fn on_msg(&self, _id: Id, state: &mut Cow<Replica>, src: Id, msg: Msg, o: &mut Out<Self>) {
        let mut r = **state;
        let j = usize::from(src);
        match msg {
            Msg::Update(copy) => {
                r.copy = r.copy.max(copy);
                o.send(src, Msg::Ack);
            }
            Msg::Ack if r.write == Request::Pending => r.acks |= 1 << j,
            Msg::Query => o.send(src, Msg::Reply(r.copy)),
            Msg::Reply(copy) if r.read == Request::Pending => {
                r.answers |= 1 << j;
                r.newest = r.newest.max(copy);
            }
            _ => {}
        }
        self.settle(&mut r, o);
        if r != **state {
            *state.to_mut() = r;
        }
    }

    fn on_timeout(&self, _id: Id, state: &mut Cow<Replica>, timer: &Timer, o: &mut Out<Self>) {
        let mut r = **state;
        match timer {
            Timer::Write => {
                r.write = Request::Pending;
                r.copy = r.copy.max((1, 1));
                r.acks = 1 << self.me;
                for j in self.others() {
                    o.send(j, Msg::Update((1, 1)));
                }
            }
            Timer::Read => {
                r.read = Request::Pending;
                r.answers = 1 << self.me;
                r.newest = r.copy;
                for j in self.others() {
                    o.send(j, Msg::Query);
                }
            }
            Timer::Answer => {
                for request in [&mut r.write, &mut r.read] {
                    if *request == Request::Pending {
                        *request = Request::Done;
                    }
                }
            }
        }
        if self.cfg.available && matches!(timer, Timer::Write | Timer::Read) {
            o.set_timer(Timer::Answer, soon());
        }
        self.settle(&mut r, o);
        *state.to_mut() = r;
    }
}

/// The ghost variables: the clients' history, for the linearizability tester.
#[derive(Clone, Debug, PartialEq, Hash)]
pub struct Ghost(pub LinearizabilityTester<u8, Register<u8>>);

impl Serialize for Ghost {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_unit()
    }
}

/// The model.
pub type CapModel = GuardedActors<ReplicaActor, Config, Ghost>;
/// A state of [`CapModel`].
pub type CapState = GuardedState<ReplicaActor, Ghost>;

fn replica(s: &ActorModelState<ReplicaActor, Ghost>, i: usize) -> &Replica {
    &s.actor_states[i]
}

/// Replicas connected to replica `a` (itself included).
fn reach(cfg: &Config, s: &CapState, a: usize) -> usize {
    (0..cfg.replicas)
        .filter(|&b| a == b || !s.1.is_cut(Id::from(a), Id::from(b)))
        .count()
}

/// The available policy's answer fires only while its server is cut off from some replica.
fn timer_guard(cfg: &Config, s: &CapState, id: Id, timer: &Timer) -> bool {
    *timer != Timer::Answer || reach(cfg, s, usize::from(id)) < cfg.replicas
}

/// The clients' invocations (a request becomes pending) and returns (it is answered).
fn observe(
    _: &Config,
    before: &ActorModelState<ReplicaActor, Ghost>,
    after: &ActorModelState<ReplicaActor, Ghost>,
) -> Option<Ghost> {
    let (w0, w1) = (replica(before, 0).write, replica(after, 0).write);
    let (r0, r1) = (replica(before, 1), replica(after, 1));
    if w0 == w1 && r0.read == r1.read {
        return None;
    }
    let mut h = after.history.clone();
    match (w0, w1) {
        (Request::Idle, Request::Pending) => {
            let _ = h.0.on_invoke(1, RegisterOp::Write(1));
        }
        (Request::Pending, Request::Done) => {
            let _ = h.0.on_return(1, RegisterRet::WriteOk);
        }
        _ => {}
    }
    match (r0.read, r1.read) {
        (Request::Idle, Request::Pending) => {
            let _ = h.0.on_invoke(2, RegisterOp::Read);
        }
        (Request::Pending, Request::Done) => {
            let _ = h.0.on_return(2, RegisterRet::ReadOk(r1.newest.1));
        }
        _ => {}
    }
    Some(h)
}

/// An acknowledgement to `R1` once its write is answered, or a copy to `R2` once its read is
/// (or a query from it, whose answer would be such a copy), changes nothing, ever.
fn inert(_: &Config, s: &ActorModelState<ReplicaActor, Ghost>, e: Envelope<&Msg>) -> bool {
    match e.msg {
        Msg::Ack => replica(s, usize::from(e.dst)).write != Request::Pending,
        Msg::Reply(_) => replica(s, usize::from(e.dst)).read != Request::Pending,
        Msg::Query => replica(s, usize::from(e.src)).read != Request::Pending,
        Msg::Update(_) => false,
    }
}

fn answered(s: &CapState) -> bool {
    replica(s, 0).write == Request::Done && replica(s, 1).read == Request::Done
}

/// `cap-register` in the catalog.
pub struct CapRegister;

impl Protocol for CapRegister {
    type Model = CapModel;
    type Variant = NoVariants;
    const NAME: &'static str = "cap-register";
    const SUMMARY: &'static str =
        "a replicated register under partition: consistent (majority) waits, available answers stale";
    const FAIRNESS: &'static str =
        "weak: requests, deliveries, answers, and healing with fair-heal=true (a partition ends); unfair: partitioning, and healing with fair-heal=false (a partition may last forever)";
    const SECTION: &'static str = "Some Limitations on Realizing Fault Tolerance: CAP";

    fn fairness(m: &CapModel, action: &GuardedAction<Msg, Timer, ()>) -> Fairness {
        match action {
            GuardedAction::Actor(ActorModelAction::Deliver { .. })
            | GuardedAction::Actor(ActorModelAction::Timeout(..)) => Fairness::Weak,
            GuardedAction::Heal if m.inner.cfg.fair_heal => Fairness::Weak,
            _ => Fairness::Unfair,
        }
    }

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

    fn build(params: &Params, _variant: Option<NoVariants>) -> CapModel {
        let cfg = Config {
            replicas: params.usize("replicas"),
            available: params.choice("policy") == "available",
            fair_heal: params.bool("fair-heal"),
        };
        let mut actors = ActorModel::new(cfg, Ghost(LinearizabilityTester::new(Register(0))));
        for me in 0..cfg.replicas {
            actors = actors.actor(ReplicaActor { me, cfg });
        }
        let actors = actors.init_network(Network::new_unordered_nonduplicating([]));
        GuardedActors::new(actors, Some(timer_guard as TimerGuard<_, _, _>))
            .observe(observe)
            .inert(inert)
            .partitions(vec![vec![Id::from(0)]])
            .faults(Faults {
                cuts: params.usize("partitions") as u8,
                heal: true,
                ..Faults::default()
            })
            .property(Expectation::Always, "linearizability", |_, s| {
                s.history.0.serialized_history().is_some()
            })
            .property(Expectation::Sometimes, "both-answered", |_, s| answered(s))
            .property(Expectation::Sometimes, "waits-in-partition", |m, s| {
                // A pending request whose server cannot reach a majority.
                let cfg = &m.inner.cfg;
                let (r1, r2) = (replica(s, 0), replica(s, 1));
                !cfg.available
                    && s.1.cut != 0
                    && ((r1.write == Request::Pending
                        && (reach(cfg, s, 0) as u32) < cfg.majority())
                        || (r2.read == Request::Pending
                            && (r2.answers.count_ones() as usize) < reach(cfg, s, 1)
                            && (reach(cfg, s, 1) as u32) < cfg.majority()))
            })
            .property(Expectation::Eventually, "all-answered", |_, s| answered(s))
    }
}

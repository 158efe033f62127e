//! [`GuardedActors`]: a stateright actor model whose timeouts fire only when a guard allows.
//!
//! stateright fires every set timer at any moment: full asynchrony, where a timeout says nothing
//! about the system. That is the right model for safety under false suspicion, but it multiplies
//! the state space by every premature timeout. A guard restricts a timer to the states where the
//! awaited event can no longer happen without a failure (its sender crashed, its message was
//! lost): the bounded-delay, accurate-timeout model of the lecture's "Failure Detection". Each
//! protocol chooses (and documents) its guards; a parameter can switch them off to explore full
//! asynchrony.

use crate::{Fairness, LeadsTo, ParamKind, ParamSpec, Params, Protocol, Symmetry, Value};
use stateright::actor::{
    Actor, ActorModel, ActorModelAction, ActorModelState, Envelope, Id, Network,
};
use stateright::{Model, Property, Rewrite, RewritePlan};
use std::fmt::Debug;
use std::hash::Hash;
use std::marker::PhantomData;

/// May actor `Id`'s `Timer` fire in this state?
pub type TimerGuard<A, C, H> = fn(&C, &GuardedState<A, H>, Id, &<A as Actor>::Timer) -> bool;

/// A state of a [`GuardedActors`] model: stateright's [`ActorModelState`], hashed so that
/// distinct states hash apart.
///
/// stateright 0.31 hashes a `HashableHashSet` (and map) as the sorted hashes of its elements
/// with no length, so its `Vec<Timers>` and `Vec<RandomChoices>` hash the same for
/// `[{}, {t}, {}]` and `[{t}, {}, {}]`: two states that differ only in *which* actor has a
/// timer set (or a choice pending) collide whatever the hasher, and a checker that keeps
/// fingerprints (stateright's, ftcheck's) silently drops one of them. In two-phase commit that
/// merged, e.g., "P1 READY with its timer running" with "P2 READY with its timer running".
/// This hash writes each actor's number of timers and of pending choices before them.
pub struct GuardedState<A: Actor, H>(pub ActorModelState<A, H>, pub FaultsUsed);

/// The fault budget of a run: the failure models of the lecture's "Failure Models", each
/// bounded by a count of faults per run (see [`GuardedActors::faults`]). Every fault is an
/// action of its own ([`GuardedAction`]), never forced: a protocol's fairness says
/// [`Fairness::Unfair`](crate::Fairness) for each (as [`Guarded`] does).
///
/// ```
/// use ftcheck_protocol::guarded::Faults;
/// let budget = Faults { restarts: 1, omissions: 2, ..Faults::default() };
/// assert_eq!(budget.crashes, 0);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Faults {
    /// Crashes in a run, of any actors at any time (`Crash`).
    pub crashes: u8,
    /// Whether a crashed actor may recover later (crash-recovery: `Recover` restarts it from
    /// its storage with `on_start`), or stays down (crash-stop).
    pub recovery: bool,
    /// Restarts in a run: a crash and a recovery from storage in one atomic step
    /// ([`GuardedAction::Restart`]), for protocols whose recovery the lecture treats as atomic.
    pub restarts: u8,
    /// Amnesiac restarts in a run: a restart that loses one of the durable fields the
    /// protocol names ([`GuardedActors::durable`], [`GuardedAction::Forget`]).
    pub amnesia: u8,
    /// Messages the network may lose in a run (omission; `Drop`).
    pub omissions: u8,
    /// Messages the network may duplicate in a run ([`GuardedAction::Duplicate`]; for the
    /// networks that do not already: a multiset or per-channel FIFO).
    pub duplications: u8,
    /// Messages a per-channel FIFO network may deliver ahead of an earlier one on their
    /// channel ([`GuardedAction::Overtake`]).
    pub reorderings: u8,
    /// Links the network may cut in a run ([`GuardedAction::Cut`]): a message on a cut link,
    /// in either direction, is not delivered while the link is cut (it waits, or is lost if
    /// the link never heals). Cutting every link of one actor partitions it from the rest;
    /// cutting some is a partial partition. A protocol that declares the sides of its
    /// partitions ([`GuardedActors::partitions`]) cuts all the links of a side in one step
    /// ([`GuardedAction::Partition`]), and each such step counts as one. At most 8 actors.
    pub cuts: u8,
    /// Whether cut links may heal ([`GuardedAction::Heal`], all at once).
    pub heal: bool,
    /// Actors that may turn Byzantine in a run ([`GuardedAction::Corrupt`]): from then on it
    /// neither receives nor acts as the protocol says, and sends any message the protocol's
    /// generator offers ([`GuardedActors::byzantine`], [`GuardedAction::Forge`]). At most 16
    /// actors.
    pub byzantine: u8,
}

impl Faults {
    /// A count that is never spent: the fault may happen any number of times in a run, and
    /// its uses are not counted (so not part of the state). For the lecture's lossy channel,
    /// say: `Faults { omissions: Faults::UNBOUNDED, .. }`.
    pub const UNBOUNDED: u8 = u8::MAX;

    /// The counted fault kinds by their parameter names (`--param omissions=2`), with what
    /// each counts: the names [`Faults::params`] declares and `ftcheck matrix` varies.
    pub const COUNTS: [(&'static str, &'static str); 8] = [
        ("crashes", "crashes in a run (crash-stop; see recovery)"),
        ("restarts", "atomic crash-and-recover restarts in a run"),
        ("amnesia", "restarts in a run that lose a durable field"),
        ("omissions", "messages the network may lose in a run"),
        (
            "duplications",
            "messages the network may duplicate in a run",
        ),
        (
            "reorderings",
            "messages a FIFO channel may deliver out of order in a run",
        ),
        ("cuts", "links the network may cut in a run (see heal)"),
        ("byzantine", "actors that may turn Byzantine in a run"),
    ];

    /// The fault budget as parameters of a protocol, for the kinds in `kinds` (names of
    /// [`Faults::COUNTS`]), each an integer in `0..=max` defaulting to 0, with the switches
    /// `recovery` (when `crashes` is among them) and `heal` (with `cuts`), off by default. A
    /// protocol that lists them in its `params` and builds with [`Faults::from_params`] gets
    /// the kinds from the command line, manifests and `ftcheck matrix`.
    ///
    /// # Panics
    /// On a name that is not a fault kind.
    pub fn params(kinds: &[&str], max: u8) -> Vec<ParamSpec> {
        let mut out = Vec::new();
        for kind in kinds {
            let (name, help) = Self::COUNTS
                .iter()
                .find(|(n, _)| n == kind)
                .unwrap_or_else(|| panic!("{kind} is not a fault kind"));
            out.push(ParamSpec {
                name,
                help,
                kind: ParamKind::Int {
                    min: 0,
                    max: max.into(),
                },
                default: Value::Int(0),
            });
            let switch = match *name {
                "crashes" => Some(("recovery", "crashed actors may recover from their storage")),
                "cuts" => Some(("heal", "cut links may heal")),
                _ => None,
            };
            if let Some((name, help)) = switch {
                out.push(ParamSpec {
                    name,
                    help,
                    kind: ParamKind::Bool,
                    default: Value::Bool(false),
                });
            }
        }
        out
    }

    /// The count of each kind, in [`Faults::COUNTS`]'s order.
    pub fn counts(&self) -> [u8; 8] {
        [
            self.crashes,
            self.restarts,
            self.amnesia,
            self.omissions,
            self.duplications,
            self.reorderings,
            self.cuts,
            self.byzantine,
        ]
    }

    /// The budget the parameters of [`Faults::params`] give (a kind the protocol does not
    /// declare is 0).
    pub fn from_params(params: &Params) -> Faults {
        let count = |name: &str| match params.0.get(name) {
            Some(Value::Int(n)) => u8::try_from(*n).unwrap_or(u8::MAX),
            _ => 0,
        };
        let switch = |name: &str| matches!(params.0.get(name), Some(Value::Bool(true)));
        Faults {
            crashes: count("crashes"),
            recovery: switch("recovery"),
            restarts: count("restarts"),
            amnesia: count("amnesia"),
            omissions: count("omissions"),
            duplications: count("duplications"),
            reorderings: count("reorderings"),
            cuts: count("cuts"),
            heal: switch("heal"),
            byzantine: count("byzantine"),
        }
    }
}

/// The faults a run has taken so far (part of its state; zero without a [`Faults`] budget).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct FaultsUsed {
    /// Crashes so far.
    pub crashes: u8,
    /// Restarts so far.
    pub restarts: u8,
    /// Amnesiac restarts so far.
    pub amnesia: u8,
    /// Messages lost so far.
    pub omissions: u8,
    /// Messages duplicated so far.
    pub duplications: u8,
    /// Messages delivered out of order so far.
    pub reorderings: u8,
    /// Links cut so far (healed or not).
    pub cuts: u8,
    /// The links cut now: bit `8 * i + j` (and `8 * j + i`) for the link between actors `i`
    /// and `j`.
    pub cut: u64,
    /// The Byzantine actors: bit `i` for actor `i`.
    pub corrupt: u16,
}

impl FaultsUsed {
    /// Whether the link between actors `a` and `b` is cut.
    pub fn is_cut(&self, a: Id, b: Id) -> bool {
        let (a, b) = (usize::from(a), usize::from(b));
        a < 8 && b < 8 && self.cut & (1 << (8 * a + b)) != 0
    }

    /// The faults taken of each kind, in [`Faults::COUNTS`]'s order (Byzantine: the number of
    /// Byzantine actors).
    pub fn counts(&self) -> [u8; 8] {
        [
            self.crashes,
            self.restarts,
            self.amnesia,
            self.omissions,
            self.duplications,
            self.reorderings,
            self.cuts,
            self.byzantine(),
        ]
    }

    /// The number of Byzantine actors.
    pub fn byzantine(&self) -> u8 {
        self.corrupt.count_ones() as u8
    }

    /// Whether actor `a` is Byzantine.
    pub fn is_corrupt(&self, a: Id) -> bool {
        usize::from(a) < 16 && self.corrupt & (1 << usize::from(a)) != 0
    }

    /// The same faults with every actor `i` renamed `rename(i)` (for symmetry).
    pub fn renamed(&self, rename: impl Fn(usize) -> usize) -> FaultsUsed {
        let mut out = FaultsUsed {
            cut: 0,
            corrupt: 0,
            ..*self
        };
        for bit in 0..64 {
            if self.cut & (1 << bit) != 0 {
                out.cut |= 1 << (8 * rename(bit / 8) + rename(bit % 8));
            }
        }
        for i in 0..16 {
            if self.corrupt & (1 << i) != 0 {
                out.corrupt |= 1 << rename(i);
            }
        }
        out
    }
}

/// A step of a [`GuardedActors`] model: one of the actor model's own, or a fault of its budget.
///
/// Its `Debug` text (which trace files record, and replay matches) is the actor model's own
/// for [`GuardedAction::Actor`] (`Deliver { src: Id(0), .. }`, as stateright writes it), and
/// the variant's otherwise (`Restart(Id(0))`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GuardedAction<Msg, Timer, Random> {
    /// A step of the actor model: a delivery, a timeout, a random choice, and the crashes,
    /// recoveries and losses of the budget.
    Actor(ActorModelAction<Msg, Timer, Random>),
    /// An actor crashes and recovers from its storage, in one step.
    Restart(Id),
    /// An actor crashes and recovers from its storage with durable field number `k` (of
    /// [`GuardedActors::durable`]) lost.
    Forget(Id, usize),
    /// The network delivers a second copy of a message in flight (the copy stays in flight).
    Duplicate(Envelope<Msg>),
    /// A message is delivered ahead of an earlier message on its FIFO channel.
    Overtake(Envelope<Msg>),
    /// The link between two actors is cut.
    Cut(Id, Id),
    /// The network partitions: every link between the actors of side `k` (of
    /// [`GuardedActors::partitions`]) and the others is cut, in one step.
    Partition(usize),
    /// Every cut link heals.
    Heal,
    /// An actor turns Byzantine.
    Corrupt(Id),
    /// A Byzantine actor sends a message of the protocol's generator.
    Forge(Envelope<Msg>),
}

impl<Msg: Debug, Timer: Debug, Random: Debug> Debug for GuardedAction<Msg, Timer, Random> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GuardedAction::Actor(a) => a.fmt(f),
            GuardedAction::Restart(id) => f.debug_tuple("Restart").field(id).finish(),
            GuardedAction::Forget(id, k) => f.debug_tuple("Forget").field(id).field(k).finish(),
            GuardedAction::Duplicate(e) => f.debug_tuple("Duplicate").field(e).finish(),
            GuardedAction::Overtake(e) => f.debug_tuple("Overtake").field(e).finish(),
            GuardedAction::Cut(a, b) => f.debug_tuple("Cut").field(a).field(b).finish(),
            GuardedAction::Partition(k) => f.debug_tuple("Partition").field(k).finish(),
            GuardedAction::Heal => f.write_str("Heal"),
            GuardedAction::Corrupt(id) => f.debug_tuple("Corrupt").field(id).finish(),
            GuardedAction::Forge(e) => f.debug_tuple("Forge").field(e).finish(),
        }
    }
}

impl<Msg, Timer, Random> GuardedAction<Msg, Timer, Random> {
    /// The actor model's own step, if this is one.
    pub fn actor(&self) -> Option<&ActorModelAction<Msg, Timer, Random>> {
        match self {
            GuardedAction::Actor(a) => Some(a),
            _ => None,
        }
    }
}

impl<Msg, Timer, Random> From<ActorModelAction<Msg, Timer, Random>>
    for GuardedAction<Msg, Timer, Random>
{
    fn from(a: ActorModelAction<Msg, Timer, Random>) -> Self {
        GuardedAction::Actor(a)
    }
}

/// A durable field an actor keeps in its storage, which an amnesiac restart loses
/// ([`GuardedActors::durable`]).
pub struct Durable<A: Actor> {
    /// The field's name, as traces show it (`"ballot"`, `"current_term"`).
    pub name: &'static str,
    /// What losing it leaves of the storage.
    pub forget: fn(&mut A::Storage),
}

impl<A: Actor> Clone for Durable<A> {
    fn clone(&self) -> Self {
        Durable {
            name: self.name,
            forget: self.forget,
        }
    }
}

/// The messages a Byzantine actor may send in this state: `(receiver, message)` pairs
/// ([`GuardedActors::byzantine`]).
pub type Forger<A, C, H> = fn(&C, &ActorModelState<A, H>, Id) -> Vec<(Id, <A as Actor>::Msg)>;

/// Every message in flight on `network`, each as many times as it was sent and not yet
/// delivered or lost, a FIFO channel's in its order.
///
/// Use this rather than stateright 0.31's `Network::iter_all`, which never ends on an ordered
/// (FIFO) network (it yields a channel's first message forever) and yields a message sent `n`
/// times `n + 1` times on a multiset network.
pub fn in_flight<M: Eq + Hash>(network: &Network<M>) -> Vec<Envelope<&M>> {
    fn envelope<M>(e: &Envelope<M>) -> Envelope<&M> {
        Envelope {
            src: e.src,
            dst: e.dst,
            msg: &e.msg,
        }
    }
    match network {
        Network::UnorderedDuplicating(set, _) => set.iter().map(envelope).collect(),
        Network::UnorderedNonDuplicating(multiset) => multiset
            .iter()
            .flat_map(|(e, n)| std::iter::repeat_n(envelope(e), *n))
            .collect(),
        Network::Ordered(flows) => flows
            .iter()
            .flat_map(|(&(src, dst), flow)| flow.iter().map(move |msg| Envelope { src, dst, msg }))
            .collect(),
    }
}

/// The messages in flight, per actor, with actor ids left out: the part of an actor's view
/// that a symmetry representative ([`sorted_by_key`]) sorts actors by, besides its state.
///
/// ```
/// use ftcheck_protocol::guarded::Mail;
/// assert!(Mail::default() < Mail { sent: 1, ..Mail::default() });
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Mail {
    /// How many messages it sent are in flight.
    pub sent: u32,
    /// How many messages to it are in flight.
    pub received: u32,
    /// The sum of the 64-bit hashes of the messages it sent, then of those to it: the same
    /// for the same messages in any order. Two actors whose different mail sums alike only
    /// tie, and [`sorted_by_key`] tries every order of tied actors, so a representative
    /// stays the same for every state of an orbit. A digest, where a sorted list of the
    /// messages cost a third of a symmetric search's time (Raft's).
    pub digest: (u64, u64),
}

/// Each actor's [`Mail`], indexed by actor.
pub fn mail<A, H>(state: &ActorModelState<A, H>) -> Vec<Mail>
where
    A: Actor,
{
    let mut mail = vec![Mail::default(); state.actor_states.len()];
    let mut add = |src: Id, dst: Id, msg: &A::Msg| {
        let mut h = ElementHasher(0);
        msg.hash(&mut h);
        let h = std::hash::Hasher::finish(&h);
        let from = &mut mail[usize::from(src)];
        from.sent += 1;
        from.digest.0 = from.digest.0.wrapping_add(h);
        let to = &mut mail[usize::from(dst)];
        to.received += 1;
        to.digest.1 = to.digest.1.wrapping_add(h);
    };
    match &state.network {
        Network::UnorderedDuplicating(set, _) => set.iter().for_each(|e| add(e.src, e.dst, &e.msg)),
        network => in_flight(network)
            .into_iter()
            .for_each(|e| add(e.src, e.dst, e.msg)),
    }
    mail
}

/// When an actor's timer fires outside the checker (over UDP with `spawn`): 100 to 200 ms.
/// The checker ignores durations.
pub fn soon() -> std::ops::Range<std::time::Duration> {
    std::time::Duration::from_millis(100)..std::time::Duration::from_millis(200)
}

/// Sends `e` on `network`, as stateright's own (crate-private) send does.
fn send<M: Eq + Hash + Clone>(network: &mut Network<M>, e: Envelope<M>) {
    match network {
        Network::UnorderedDuplicating(set, _) => {
            set.insert(e);
        }
        Network::UnorderedNonDuplicating(multiset) => {
            *multiset.entry(e).or_insert(0) += 1;
        }
        Network::Ordered(flows) => flows.entry((e.src, e.dst)).or_default().push_back(e.msg),
    }
}

/// Takes the delivered `e` off `network`, as stateright's own (crate-private) `on_deliver`
/// does: a duplicating network keeps it; a multiset loses one copy; a FIFO channel loses its
/// first copy, and a channel left empty goes. `e` is in flight (actions come from the
/// network): a miss is a bug of the kit, and panics as stateright's does.
fn take<M: Eq + Hash + Clone>(network: &mut Network<M>, e: Envelope<M>) {
    const MISSING: &str = "a delivered message is in flight";
    match network {
        Network::UnorderedDuplicating(..) => {}
        Network::UnorderedNonDuplicating(multiset) => {
            let n = multiset.get_mut(&e).expect(MISSING);
            *n -= 1;
            if *n == 0 {
                multiset.remove(&e);
            }
        }
        Network::Ordered(flows) => {
            let flow = flows.get_mut(&(e.src, e.dst)).expect(MISSING);
            let k = flow.iter().position(|m| *m == e.msg).expect(MISSING);
            flow.remove(k);
            if flow.is_empty() {
                flows.remove(&(e.src, e.dst));
            }
        }
    }
}

impl<A: Actor, H> std::ops::Deref for GuardedState<A, H> {
    type Target = ActorModelState<A, H>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl<A: Actor, H> std::ops::DerefMut for GuardedState<A, H> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl<A: Actor, H: Clone> Clone for GuardedState<A, H> {
    fn clone(&self) -> Self {
        GuardedState(self.0.clone(), self.1)
    }
}

impl<A: Actor, H: Debug> Debug for GuardedState<A, H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<A: Actor, H: PartialEq> PartialEq for GuardedState<A, H>
where
    A::State: PartialEq,
{
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0 && self.1 == other.1
    }
}

impl<A: Actor, H: Eq> Eq for GuardedState<A, H> where A::State: Eq {}

impl<A: Actor, H: Hash> Hash for GuardedState<A, H> {
    fn hash<S: std::hash::Hasher>(&self, state: &mut S) {
        // Sets (each actor's timers, the network) as the number of elements and the sum of
        // their hashes: independent of the order, without stateright's sorted vector of
        // element hashes (an allocation and a sort per set per state), and with the count
        // first so that `[{}, {t}, {}]` and `[{t}, {}, {}]` differ.
        let s = &self.0;
        s.actor_states.hash(state);
        s.history.hash(state);
        for t in &s.timers_set {
            set_hash(t.iter(), state);
        }
        for r in &s.random_choices {
            state.write_usize(r.map.len());
            // stateright hashes even an empty map through a thread-local buffer and a sort.
            if !r.map.is_empty() {
                r.hash(state);
            }
        }
        match &s.network {
            // The duplicating network's memory of the last message delivered is always
            // `None` here (`next_state` drops it), so it is not hashed.
            Network::UnorderedDuplicating(set, _) => {
                state.write_u8(0);
                set_hash(set.iter(), state);
            }
            Network::UnorderedNonDuplicating(multiset) => {
                state.write_u8(1);
                set_hash(multiset.iter(), state);
            }
            Network::Ordered(flows) => {
                state.write_u8(2);
                flows.hash(state);
            }
        }
        s.crashed.hash(state);
        s.actor_storages.hash(state);
        self.1.hash(state);
    }
}

/// Writes a set's size and the sum of its elements' hashes.
fn set_hash<T: Hash, S: std::hash::Hasher>(items: impl Iterator<Item = T>, state: &mut S) {
    let (mut n, mut sum) = (0usize, 0u64);
    for x in items {
        let mut h = ElementHasher(0);
        x.hash(&mut h);
        sum = sum.wrapping_add(std::hash::Hasher::finish(&h));
        n += 1;
    }
    state.write_usize(n);
    state.write_u64(sum);
}

/// The hash of one element of a set: FxHash's step per word (fast on the few small integers
/// a message or timer holds), then splitmix64's finaliser, so that the sum of a set's
/// element hashes stays as well spread as a hash of the whole.
struct ElementHasher(u64);

impl ElementHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl std::hash::Hasher for ElementHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.add(i.into());
    }
    fn write_u16(&mut self, i: u16) {
        self.add(i.into());
    }
    fn write_u32(&mut self, i: u32) {
        self.add(i.into());
    }
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    fn finish(&self) -> u64 {
        let mut z = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

impl<A: Actor, H> serde::Serialize for GuardedState<A, H>
where
    ActorModelState<A, H>: serde::Serialize,
{
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

/// What a crash leaves of an actor's volatile state.
pub type Wipe<A> = fn(&<A as Actor>::State) -> <A as Actor>::State;

/// The history (ghost variables) after a step, from the states before and after it, or `None`
/// when the step leaves it as it is (see [`GuardedActors::observe`]).
pub type Observe<A, C, H> = fn(&C, &ActorModelState<A, H>, &ActorModelState<A, H>) -> Option<H>;

/// Is this message in flight inert in this state: would delivering it change nothing, now and
/// in every state reachable from here? (See [`GuardedActors::inert`].)
pub type Inert<A, C, H> = fn(&C, &ActorModelState<A, H>, Envelope<&<A as Actor>::Msg>) -> bool;

/// Is this actor quiet in this state: on every path from here of the other actors' steps, is
/// nothing sent to it, does nothing its timer guard (and inert rule) reads change, and does none
/// of its own steps change what theirs read? (See [`GuardedActors::independence`].)
pub type Quiet<A, C, H> = fn(&C, &GuardedState<A, H>, Id) -> bool;

/// An actor model with guarded timeouts and its own properties.
pub struct GuardedActors<A, C, H>
where
    A: Actor,
    A::Msg: Ord,
    A::Timer: Ord,
    H: Clone + Debug + Hash + PartialEq,
{
    /// The actor model (actors, network, crashes, boundary).
    pub inner: ActorModel<A, C, H>,
    /// The timeout guard; `None` lets every timer fire at any time.
    pub guard: Option<TimerGuard<A, C, H>>,
    /// What a crash leaves of an actor's volatile state. stateright keeps a crashed actor's
    /// last state until it recovers (when `on_start` rebuilds it from storage alone), so states
    /// that differ only in the memory of a crashed actor are distinct; mapping that memory to a
    /// canonical value merges them. `None` keeps stateright's behaviour.
    pub on_crash: Option<Wipe<A>>,
    /// The properties, over this model.
    pub properties: Vec<Property<Self>>,
    /// The wrapped actor model's own properties, which [`Model::properties`] forwards after
    /// [`GuardedActors::properties`] (taken from `inner` by [`GuardedActors::new`]).
    pub forwarded: Vec<Property<ActorModel<A, C, H>>>,
    /// The leads-to triggers of a [`Guarded`] protocol, on the wrapped model (set by its
    /// `build`, so that evaluating one per state does not rebuild the protocol's list).
    triggers: Vec<Inner<A, C, H>>,
    /// The protocol's rule for inert messages, which leave the network after every step
    /// (`None`: every message stays until delivered or lost).
    pub inert: Option<Inert<A, C, H>>,
    /// The fault budget (`None`: the faults of the wrapped model's own settings, stateright's
    /// `max_crashes` and `lossy_network`).
    pub faults: Option<Faults>,
    /// The protocol's observer of steps, which updates the history (`None`: only stateright's
    /// `record_msg_in`/`record_msg_out` do).
    pub observe: Option<Observe<A, C, H>>,
    /// The durable fields an amnesiac restart may lose (see [`GuardedActors::durable`]).
    pub durable: Vec<Durable<A>>,
    /// What a Byzantine actor may send (see [`GuardedActors::byzantine`]).
    pub forger: Option<Forger<A, C, H>>,
    /// The actors the budget's crashes, restarts, amnesia and Byzantine turns may strike
    /// (see [`GuardedActors::fault_prone`]; empty: every actor).
    pub fault_prone: Vec<Id>,
    /// A multiset network keeps at most one copy of each message in flight (see
    /// [`GuardedActors::single_copy`]).
    pub single_copy: bool,
    /// The sides the network may partition off (see [`GuardedActors::partitions`]; empty:
    /// a cut is of one link).
    pub sides: Vec<Vec<Id>>,
    /// The protocol's declaration of independence, for partial-order reduction (see
    /// [`GuardedActors::independence`]; `None`: no reduction).
    pub quiet: Option<Quiet<A, C, H>>,
}

impl<A, C, H> Clone for GuardedActors<A, C, H>
where
    A: Actor + Clone,
    A::Msg: Ord,
    A::Timer: Ord,
    C: Clone,
    H: Clone + Debug + Hash + PartialEq,
{
    fn clone(&self) -> Self {
        GuardedActors {
            inner: self.inner.clone(),
            guard: self.guard,
            on_crash: self.on_crash,
            properties: self.properties.clone(),
            forwarded: self.forwarded.clone(),
            triggers: self.triggers.clone(),
            inert: self.inert,
            faults: self.faults,
            observe: self.observe,
            durable: self.durable.clone(),
            forger: self.forger,
            fault_prone: self.fault_prone.clone(),
            sides: self.sides.clone(),
            single_copy: self.single_copy,
            quiet: self.quiet,
        }
    }
}

impl<A, C, H> GuardedActors<A, C, H>
where
    A: Actor,
    A::Msg: Ord,
    A::Timer: Ord,
    H: Clone + Debug + Hash + PartialEq,
{
    /// Wraps an actor model, keeping its properties (its `.property(...)`s): each is checked
    /// as a property of the wrapper, on the wrapped state.
    ///
    /// # Panics
    /// If the actor model has more than [`MAX_FORWARDED`] properties.
    pub fn new(inner: ActorModel<A, C, H>, guard: Option<TimerGuard<A, C, H>>) -> Self {
        let forwarded = inner.properties();
        assert!(
            forwarded.len() <= MAX_FORWARDED,
            "GuardedActors forwards at most {MAX_FORWARDED} properties of an actor model, not {}",
            forwarded.len()
        );
        GuardedActors {
            inner,
            guard,
            on_crash: None,
            properties: Vec::new(),
            forwarded,
            triggers: Vec::new(),
            inert: None,
            faults: None,
            observe: None,
            durable: Vec::new(),
            forger: None,
            fault_prone: Vec::new(),
            sides: Vec::new(),
            single_copy: false,
            quiet: None,
        }
    }

    /// Declares when an actor's steps are independent of the others' (`quiet`), which makes
    /// partial-order reduction (`--por`) available: at a state, the steps of one quiet actor
    /// (its deliveries, timeouts and random choices) are explored, and the rest only when the
    /// search needs them ([`crate::Reduction`]). `quiet(cfg, state, p)` may be `true` only if,
    /// on every path from `state` of steps of actors other than `p`:
    /// 1. no message to `p` is sent (its deliveries stay those in flight);
    /// 2. nothing `p`'s timer guard or the inert rule for messages to `p` reads changes;
    /// 3. no step `p` can take changes what those steps' guards or inert rule read.
    ///
    /// Declaring it also asserts, of the whole model: the observer's history updates of
    /// different actors' steps commute; a crash or recovery of the wrapped model's own (its
    /// `max_crashes`) that the boundary excludes stays excluded on every path of protocol
    /// steps; and no step of an actor that is quiet (or of one whose state is what it was
    /// when it was quiet) turns a state that violates an invariant into one that does not,
    /// or one where a reachability property's condition holds into one where it does not.
    /// The kit adds the rest: no state is reduced while a fault may still strike, now or
    /// later (a fault of the budget with any left, a lossy network, a cut link that may
    /// heal, a Byzantine actor, a crash or recovery the boundary allows), and the quiet actor
    /// with the fewest steps is taken. [`GuardedActors::verify_independence`] checks a
    /// declaration by brute force. Source: persistent sets (Godefroid, LNCS 1032,
    /// 1996); the lecture's processes communicate only by messages, which is what makes the
    /// steps of different processes commute.
    pub fn independence(mut self, quiet: Quiet<A, C, H>) -> Self {
        self.quiet = Some(quiet);
        self
    }

    /// The partial-order reduction this model declares ([`GuardedActors::independence`]), for
    /// its protocol's `Protocol::reduction`.
    pub fn reduction(&self) -> Option<crate::Reduction<Self>> {
        self.quiet
            .map(|_| Self::persistent as crate::Reduction<Self>)
    }

    /// Which actor a step belongs to for the reduction (a delivery: its receiver; a timeout,
    /// a random choice: its actor); `None` for a fault step.
    fn owner(action: &GuardedAction<A::Msg, A::Timer, A::Random>) -> Option<Id> {
        match action {
            GuardedAction::Actor(ActorModelAction::Deliver { dst, .. }) => Some(*dst),
            GuardedAction::Actor(
                ActorModelAction::Timeout(id, _) | ActorModelAction::SelectRandom { actor: id, .. },
            ) => Some(*id),
            _ => None,
        }
    }

    /// Checks the declaration of [`GuardedActors::independence`] by brute force, for a
    /// protocol's tests: explores the whole state space (stopping with an error beyond
    /// `max_states` states) and, from every state where an actor `p` is quiet and the kit
    /// would reduce (no fault can strike there, now or later), every path of the other
    /// actors' steps and faults. Along them it checks that no message to `p` is sent,
    /// that `p`'s enabled steps stay those of the quiet state, that each of them commutes with
    /// each other step (same state in either order, neither disabling the other, both within
    /// the boundary), and that none turns a violated invariant into a holding one or a
    /// reached condition into an unmet one. Returns the number of (state, actor) pairs checked,
    /// or the first breach in words.
    pub fn verify_independence(&self, max_states: usize) -> Result<usize, String>
    where
        A::State: Eq,
        H: Eq,
    {
        use std::collections::{HashSet, VecDeque};
        let quiet = self.quiet.ok_or("the model declares no independence")?;
        let properties = self.properties();
        let step = |s: &GuardedState<A, H>, a: &GuardedAction<A::Msg, A::Timer, A::Random>| {
            // A step that changes nothing (`None`) leaves the state as it is.
            let next = Model::next_state(self, s, a.clone()).unwrap_or_else(|| s.clone());
            Model::within_boundary(self, &next).then_some(next)
        };
        let enabled = |s: &GuardedState<A, H>| {
            let mut v = Vec::new();
            Model::actions(self, s, &mut v);
            v
        };
        let to = |s: &GuardedState<A, H>, p: Id| {
            let mut v: Vec<_> = in_flight(&s.network)
                .into_iter()
                .filter(|e| e.dst == p)
                .map(|e| e.to_cloned_msg())
                .collect();
            v.sort();
            v
        };
        let mut seen: HashSet<GuardedState<A, H>> = HashSet::new();
        let mut queue: VecDeque<GuardedState<A, H>> = VecDeque::new();
        for s in Model::init_states(self) {
            if Model::within_boundary(self, &s) && seen.insert(s.clone()) {
                queue.push_back(s);
            }
        }
        let mut checked = 0;
        while let Some(s) = queue.pop_front() {
            let actions = enabled(&s);
            let reducible = self.may_reduce(&s, &actions);
            for a in &actions {
                if let Some(next) = step(&s, a) {
                    if seen.len() >= max_states {
                        return Err(format!("more than {max_states} states"));
                    }
                    if seen.insert(next.clone()) {
                        queue.push_back(next);
                    }
                }
            }
            if !reducible {
                continue;
            }
            let n = s.actor_states.len();
            for p in (0..n).map(Id::from) {
                if !quiet(&self.inner.cfg, &s, p) {
                    continue;
                }
                checked += 1;
                let mine: Vec<_> = actions
                    .iter()
                    .filter(|a| Self::owner(a) == Some(p))
                    .cloned()
                    .collect();
                let listed = |v: &[GuardedAction<A::Msg, A::Timer, A::Random>]| {
                    let mut v: Vec<String> = v.iter().map(|a| format!("{a:?}")).collect();
                    v.sort();
                    v
                };
                let (messages, place) = (to(&s, p), format!("{p:?} quiet at {s:?}"));
                let mut inner: HashSet<GuardedState<A, H>> = HashSet::from([s.clone()]);
                let mut paths = VecDeque::from([s.clone()]);
                while let Some(u) = paths.pop_front() {
                    if to(&u, p) != messages {
                        return Err(format!("{place}: a message to it is sent, in {u:?}"));
                    }
                    let all = enabled(&u);
                    let (own, others): (Vec<_>, Vec<_>) =
                        all.into_iter().partition(|a| Self::owner(a) == Some(p));
                    if listed(&own) != listed(&mine) {
                        return Err(format!(
                            "{place}: its steps change from {mine:?} to {own:?} in {u:?}"
                        ));
                    }
                    for t in &mine {
                        let Some(tu) = step(&u, t) else {
                            return Err(format!("{place}: {t:?} leaves the boundary in {u:?}"));
                        };
                        for prop in &properties {
                            let (before, after) =
                                ((prop.condition)(self, &u), (prop.condition)(self, &tu));
                            let repaired = match prop.expectation {
                                stateright::Expectation::Always => !before && after,
                                stateright::Expectation::Sometimes => before && !after,
                                stateright::Expectation::Eventually => false,
                            };
                            if repaired {
                                return Err(format!(
                                    "{place}: {t:?} changes the decision of '{}' in {u:?}",
                                    prop.name
                                ));
                            }
                        }
                        for a in &others {
                            let Some(au) = step(&u, a) else { continue };
                            let ta = enabled(&au).contains(t).then(|| step(&au, t)).flatten();
                            let at = enabled(&tu).contains(a).then(|| step(&tu, a)).flatten();
                            if ta.is_none() || ta != at {
                                return Err(format!(
                                    "{place}: {t:?} and {a:?} do not commute in {u:?}"
                                ));
                            }
                        }
                    }
                    for a in &others {
                        if let Some(next) = step(&u, a) {
                            if inner.len() >= max_states {
                                return Err(format!("more than {max_states} states"));
                            }
                            if inner.insert(next.clone()) {
                                paths.push_back(next);
                            }
                        }
                    }
                }
            }
        }
        Ok(checked)
    }

    /// Whether the kit reduces at `state` at all: not while a fault may still strike any
    /// actor, now or after other steps — a fault of the budget with any left, a lossy network,
    /// a cut link that may heal, a Byzantine actor — nor while a fault step the boundary
    /// allows is enabled (the wrapped model's own crashes and recoveries, which only the
    /// boundary bounds).
    fn may_reduce(
        &self,
        state: &GuardedState<A, H>,
        actions: &[GuardedAction<A::Msg, A::Timer, A::Random>],
    ) -> bool {
        let used = state.1;
        if used.corrupt != 0 || self.inner.lossy_network == stateright::actor::LossyNetwork::Yes {
            return false;
        }
        if let Some(b) = self.faults {
            let left = used.counts().iter().zip(b.counts()).any(|(u, b)| *u < b)
                || (b.heal && used.cut != 0)
                || (b.recovery && state.crashed.iter().any(|c| *c));
            if left {
                return false;
            }
        }
        !actions.iter().any(|a| {
            Self::owner(a).is_none()
                && Model::next_state(self, state, a.clone())
                    .is_some_and(|next| Model::within_boundary(self, &next))
        })
    }

    /// A persistent set at `state`: the steps of the quiet actor with the fewest enabled
    /// steps (see [`crate::Reduction`]).
    fn persistent(
        &self,
        state: &GuardedState<A, H>,
        actions: &[GuardedAction<A::Msg, A::Timer, A::Random>],
        keep: &mut Vec<bool>,
    ) -> bool {
        let Some(quiet) = self.quiet else {
            return false;
        };
        let owners: Vec<Option<Id>> = actions.iter().map(Self::owner).collect();
        let mut best: Option<(Id, usize)> = None;
        for (i, owner) in owners.iter().enumerate() {
            let Some(p) = *owner else { continue };
            if owners[..i].contains(owner) {
                continue;
            }
            let steps = owners[i..].iter().filter(|o| **o == Some(p)).count();
            if best.is_none_or(|(_, n)| steps < n) && quiet(&self.inner.cfg, state, p) {
                best = Some((p, steps));
            }
        }
        let Some((p, steps)) = best else {
            return false;
        };
        if steps == actions.len() {
            return false;
        }
        // Looked at last: it may cost a step per fault.
        if !self.may_reduce(state, actions) {
            return false;
        }
        keep.extend(owners.iter().map(|o| *o == Some(p)));
        true
    }

    /// Bounds the run's faults by `budget`, for any actor protocol: each kind of [`Faults`]
    /// (crash-stop, crash-recovery, restarts, amnesia, omission, duplication, reordering,
    /// cut links, Byzantine actors) up to its count, each fault a step of its own
    /// ([`GuardedAction`]). The counts used so far, the links cut now and the Byzantine actors
    /// are part of the state ([`GuardedState`]'s [`FaultsUsed`]). Whether a fault is fair is
    /// the protocol's fairness to say (the lecture's faults are unfair: never forced).
    ///
    /// # Panics
    /// If the wrapped model has faults of its own (`max_crashes` above 0 or a lossy network):
    /// the budget replaces them. If the budget cuts links among more than 8 actors, or turns
    /// Byzantine one of more than 16. If it has amnesia but no durable fields are named
    /// ([`GuardedActors::durable`], called first), or Byzantine actors but no generator
    /// ([`GuardedActors::byzantine`], called first).
    pub fn faults(mut self, budget: Faults) -> Self {
        assert!(
            self.inner.max_crashes == 0
                && self.inner.lossy_network == stateright::actor::LossyNetwork::No,
            "a fault budget replaces the actor model's own max_crashes and lossy_network: set neither"
        );
        let actors = self.inner.actors.len();
        assert!(
            budget.cuts == 0 || actors <= 8,
            "a fault budget cuts links among at most 8 actors, not {actors}"
        );
        assert!(
            budget.byzantine == 0 || actors <= 16,
            "a fault budget turns Byzantine one of at most 16 actors, not {actors}"
        );
        assert!(
            budget.amnesia == 0 || !self.durable.is_empty(),
            "a fault budget with amnesia needs the durable fields it may lose: call .durable(...) first"
        );
        assert!(
            budget.byzantine == 0 || self.forger.is_some(),
            "a fault budget with Byzantine actors needs what they may send: call .byzantine(...) first"
        );
        self.faults = Some(budget);
        self
    }

    /// Names the durable fields of the actors' storage (`A::Storage`, what `Out::save` saved)
    /// that an amnesiac restart ([`Faults::amnesia`]) may lose, one field per fault: the bug of
    /// a value believed durable but kept in memory (Raft's currentTerm, a Paxos ballot).
    pub fn durable(mut self, fields: Vec<Durable<A>>) -> Self {
        self.durable = fields;
        self
    }

    /// Restricts the actors a fault of the budget ([`GuardedActors::faults`]) may strike —
    /// crash, restart, amnesia, turning Byzantine — to `actors` (the servers of a protocol
    /// whose clients stand for the environment, say). Without it every actor may fail. The
    /// network's faults (loss, duplication, reordering, cut links) are not restricted.
    pub fn fault_prone(mut self, actors: Vec<Id>) -> Self {
        self.fault_prone = actors;
        self
    }

    /// Keeps at most one copy of each message in flight on a multiset network
    /// (`Network::new_unordered_nonduplicating`): sending a message already in flight adds
    /// nothing. A lossy network of sets, for protocols whose receivers ignore a duplicate of
    /// what they already received (a retransmission, a repeated NACK), where a second copy
    /// only tells apart states that behave alike and lets copies pile up without bound.
    pub fn single_copy(mut self) -> Self {
        self.single_copy = true;
        self
    }

    /// One copy of each message in flight, if the protocol asked for it.
    fn merge_copies(&self, state: &mut ActorModelState<A, H>) {
        if let (true, Network::UnorderedNonDuplicating(multiset)) =
            (self.single_copy, &mut state.network)
        {
            if multiset.values().any(|&n| n > 1) {
                for n in multiset.values_mut() {
                    *n = 1;
                }
            }
        }
    }

    /// Makes the budget's cuts ([`Faults::cuts`]) partitions: each cuts, in one step
    /// ([`GuardedAction::Partition`]), every link between one of these sides (a set of
    /// actors) and the other actors, as the lecture's network partition that cuts a replica
    /// off from the rest. Without it each cut is of one link, in any pair of actors.
    pub fn partitions(mut self, sides: Vec<Vec<Id>>) -> Self {
        self.sides = sides;
        self
    }

    /// The links (bits of [`FaultsUsed::cut`]) between side `k` and the other actors.
    fn side_links(&self, k: usize) -> u64 {
        let n = self.inner.actors.len();
        let side = &self.sides[k];
        let mut links = 0u64;
        for a in side.iter().map(|&a| usize::from(a)) {
            for b in (0..n).filter(|&b| !side.contains(&Id::from(b))) {
                links |= (1 << (8 * a + b)) | (1 << (8 * b + a));
            }
        }
        links
    }

    /// Sets the messages a Byzantine actor ([`Faults::byzantine`]) may send in a state: the
    /// protocol's generator, which should offer every message a faulty actor could forge
    /// that matters (signed messages it cannot forge are left out).
    pub fn byzantine(mut self, forger: Forger<A, C, H>) -> Self {
        self.forger = Some(forger);
        self
    }

    /// Removes from the network, after every step (and from the initial states), each message
    /// the rule calls inert: one whose delivery would change nothing, now or ever after. Such a
    /// message only tells apart states that behave alike — whether a stale vote or a repeated
    /// answer still lies in the network — so dropping it merges them; stateright cannot,
    /// because it cannot know "ever after", which is the protocol's argument (a decided
    /// participant ignores every later decision, say). The rule must be sound for that
    /// reason: a message it calls inert whose delivery would change something (its receiver,
    /// or a message sent that the rule does not call inert) is checked, and refused by a
    /// panic, before it is removed (the "now" half; "ever after" is the
    /// protocol's to argue). "Ever after" includes the faults of the budget: an amnesiac
    /// restart ([`Faults::amnesia`]) may lower a durable field (a term, a ballot) that the
    /// argument takes to only grow, so a rule that reads one must call nothing inert where the
    /// budget allows amnesia (raft's and paxos's rules do so). Properties that read the network
    /// see it without inert messages.
    pub fn inert(mut self, rule: Inert<A, C, H>) -> Self {
        self.inert = Some(rule);
        self
    }

    /// The fault budget (only called for a fault action, which only a budget offers).
    fn budget(&self) -> Faults {
        self.faults.expect("a fault step comes from a fault budget")
    }

    /// The state after actor `id` crashes and recovers from its storage, in one step.
    fn restart(&self, state: &ActorModelState<A, H>, id: Id) -> ActorModelState<A, H> {
        let mut next = self.crash(state, id);
        self.start(&mut next, id);
        next
    }

    /// Crashes actor `id`, as stateright's `ActorModel` does: its timers and pending choices
    /// go, its state stays (until [`GuardedActors::on_crash`] wipes it or it restarts).
    fn crash(&self, state: &ActorModelState<A, H>, id: Id) -> ActorModelState<A, H> {
        let i = usize::from(id);
        let mut next = state.clone();
        next.timers_set[i].cancel_all();
        next.random_choices[i].map.clear();
        next.crashed[i] = true;
        next
    }

    /// Starts crashed actor `id` again from its storage (`on_start`), in place.
    fn start(&self, state: &mut ActorModelState<A, H>, id: Id) {
        let i = usize::from(id);
        let mut out = stateright::actor::Out::new();
        let local = self.inner.actors[i].on_start(id, &state.actor_storages[i], &mut out);
        state.actor_states[i] = std::sync::Arc::new(local);
        state.crashed[i] = false;
        self.apply(id, out, state);
    }

    /// Carries out what actor `id` asked for in a step, as stateright's `ActorModel` does.
    fn apply(&self, id: Id, out: stateright::actor::Out<A>, state: &mut ActorModelState<A, H>) {
        use stateright::actor::Command;
        let i = usize::from(id);
        for c in out {
            match c {
                Command::Send(dst, msg) => {
                    let e = Envelope {
                        src: id,
                        dst,
                        msg: &msg,
                    };
                    if let Some(history) =
                        (self.inner.record_msg_out)(&self.inner.cfg, &state.history, e)
                    {
                        state.history = history;
                    }
                    send(&mut state.network, Envelope { src: id, dst, msg });
                }
                Command::SetTimer(timer, _) => {
                    state.timers_set[i].set(timer);
                }
                Command::CancelTimer(timer) => {
                    state.timers_set[i].cancel(&timer);
                }
                Command::ChooseRandom(key, random) => {
                    if random.is_empty() {
                        state.random_choices[i].remove(&key);
                    } else {
                        state.random_choices[i].insert(key, random);
                    }
                }
                Command::Save(storage) => state.actor_storages[i] = Some(storage),
            }
        }
    }

    /// Sets an observer that updates the history (`H`) after every step, from the whole
    /// states before and after it: ghost variables in the manner of TLA+ history variables
    /// (every entry a server ever applied, every value ever chosen), kept out of the actors so
    /// that the code that runs (`spawn`) carries none of them. stateright's own
    /// `record_msg_in`/`record_msg_out` see one message at a time; an observer sees what a
    /// step changed (a commit index that grew, a log rewritten). Properties read the history
    /// as `state.history`.
    ///
    /// The observer must depend only on what a step changed: for a step that leaves every
    /// actor's state and storage as they were it must return `None`. The kit relies on it
    /// to decide, without building the next state or calling the observer, that a repeated
    /// delivery on a duplicating network changes nothing (see `deliver`).
    pub fn observe(mut self, observer: Observe<A, C, H>) -> Self {
        self.observe = Some(observer);
        self
    }

    /// Delivers `msg` from `src` to `dst`, as stateright's `ActorModel` does, calling the
    /// receiver once; `None` when the step changes nothing. On a duplicating network (the
    /// message stays in flight) that is decided without building the next state: the
    /// receiver keeps its state and storage, and all it does is send messages already in
    /// flight or inert (which the step would drop again), renew timers already set or cancel
    /// timers not set, with no history recorded. Most deliveries of a set-of-messages network
    /// are such repeats (Raft's), and cloning the state to find out cost more than the rest of
    /// the step.
    fn deliver(
        &self,
        state: &ActorModelState<A, H>,
        src: Id,
        dst: Id,
        msg: A::Msg,
    ) -> Option<ActorModelState<A, H>> {
        use stateright::actor::Command;
        let i = usize::from(dst);
        let (actor, local) = (self.inner.actors.get(i)?, state.actor_states.get(i)?);
        if state.crashed[i] {
            return None;
        }
        let mut local = std::borrow::Cow::Borrowed(&**local);
        let mut out = stateright::actor::Out::new();
        actor.on_msg(dst, &mut local, src, msg.clone(), &mut out);
        // stateright leaves a message that changes nothing in flight, except on FIFO channels,
        // where it must leave to let the next one through.
        if stateright::actor::is_no_op(&local, &out)
            && !matches!(state.network, Network::Ordered(_))
        {
            return None;
        }
        let cfg = &self.inner.cfg;
        let history = (self.inner.record_msg_in)(
            cfg,
            &state.history,
            Envelope {
                src,
                dst,
                msg: &msg,
            },
        );
        if let Network::UnorderedDuplicating(flying, _) = &state.network {
            let unchanged = match &local {
                std::borrow::Cow::Borrowed(_) => true,
                std::borrow::Cow::Owned(s) => *s == *state.actor_states[i],
            };
            let stutters = unchanged
                && history.is_none()
                && out.iter().all(|c| match c {
                    Command::Send(to, m) => {
                        let e = Envelope {
                            src: dst,
                            dst: *to,
                            msg: m,
                        };
                        (self.inner.record_msg_out)(cfg, &state.history, e).is_none()
                            // Inert here, so inert in the next state too: dropped again.
                            && (self.inert.is_some_and(|rule| rule(cfg, state, e))
                                || flying.contains(&e.to_cloned_msg()))
                    }
                    Command::SetTimer(t, _) => state.timers_set[i].iter().any(|x| x == t),
                    Command::CancelTimer(t) => !state.timers_set[i].iter().any(|x| x == t),
                    Command::Save(storage) => state.actor_storages[i].as_ref() == Some(storage),
                    Command::ChooseRandom(..) => false,
                });
            if stutters {
                return None;
            }
        }
        let mut next = state.clone();
        take(&mut next.network, Envelope { src, dst, msg });
        if let std::borrow::Cow::Owned(local) = local {
            next.actor_states[i] = std::sync::Arc::new(local);
        }
        if let Some(history) = history {
            next.history = history;
        }
        self.apply(dst, out, &mut next);
        Some(next)
    }

    /// Fires actor `id`'s `timer`, as stateright's `ActorModel` does; `None` when all the
    /// actor does is renew the timer.
    fn timeout(
        &self,
        state: &ActorModelState<A, H>,
        id: Id,
        timer: A::Timer,
    ) -> Option<ActorModelState<A, H>> {
        let i = usize::from(id);
        let mut local = std::borrow::Cow::Borrowed(&*state.actor_states[i]);
        let mut out = stateright::actor::Out::new();
        self.inner.actors[i].on_timeout(id, &mut local, &timer, &mut out);
        if stateright::actor::is_no_op_with_timer(&local, &out, &timer) {
            return None;
        }
        let mut next = state.clone();
        next.timers_set[i].cancel(&timer);
        if let std::borrow::Cow::Owned(local) = local {
            next.actor_states[i] = std::sync::Arc::new(local);
        }
        self.apply(id, out, &mut next);
        Some(next)
    }

    /// The state with the inert messages removed from its network.
    fn without_inert(&self, mut state: ActorModelState<A, H>) -> ActorModelState<A, H> {
        let Some(rule) = self.inert else {
            return state;
        };
        let is_inert = |e: &Envelope<&A::Msg>| rule(&self.inner.cfg, &state, *e);
        let inert: Vec<Envelope<A::Msg>> = match &state.network {
            // The common case without a list of every message in flight first.
            Network::UnorderedDuplicating(set, _) => set
                .iter()
                .filter(|e| {
                    is_inert(&Envelope {
                        src: e.src,
                        dst: e.dst,
                        msg: &e.msg,
                    })
                })
                .cloned()
                .collect(),
            network => in_flight(network)
                .into_iter()
                .filter(is_inert)
                .map(|e| e.to_cloned_msg())
                .collect(),
        };
        if inert.is_empty() {
            return state;
        }
        for e in &inert {
            let dst = usize::from(e.dst);
            if let (Some(actor), Some(local)) =
                (self.inner.actors.get(dst), state.actor_states.get(dst))
            {
                let mut local = std::borrow::Cow::Borrowed(&**local);
                let mut out = stateright::actor::Out::new();
                actor.on_msg(e.dst, &mut local, e.src, e.msg.clone(), &mut out);
                // What it sends must be inert too (a query whose answer nobody waits for).
                let sends_inert = out.iter().all(|c| match c {
                    stateright::actor::Command::Send(to, m) => is_inert(&Envelope {
                        src: e.dst,
                        dst: *to,
                        msg: m,
                    }),
                    _ => false,
                });
                assert!(
                    state.crashed[dst] || (*local == *state.actor_states[dst] && sends_inert),
                    "the inert rule called {e:?} inert, but delivering it now changes its receiver or sends what is not inert"
                );
            }
        }
        match &mut state.network {
            Network::UnorderedDuplicating(set, _) => set.retain(|e| !inert.contains(e)),
            Network::UnorderedNonDuplicating(multiset) => {
                multiset.retain(|e, _| !inert.contains(e))
            }
            Network::Ordered(flows) => {
                for ((src, dst), flow) in flows.iter_mut() {
                    flow.retain(|msg| {
                        !inert
                            .iter()
                            .any(|e| e.src == *src && e.dst == *dst && e.msg == *msg)
                    });
                }
                // A flow is never empty (stateright's canonical form).
                flows.retain(|_, flow| !flow.is_empty());
            }
        }
        state
    }

    /// Sets what a crash leaves of an actor's volatile state (see [`GuardedActors::on_crash`]).
    pub fn on_crash(mut self, wipe: Wipe<A>) -> Self {
        self.on_crash = Some(wipe);
        self
    }

    /// Adds a property.
    pub fn property(
        mut self,
        expectation: stateright::Expectation,
        name: &'static str,
        condition: fn(&Self, &GuardedState<A, H>) -> bool,
    ) -> Self {
        assert!(
            self.properties.iter().all(|p| p.name != name)
                && self.forwarded.iter().all(|p| p.name != name),
            "duplicate property name {name}"
        );
        self.properties.push(Property {
            expectation,
            name,
            condition,
        });
        self
    }
}

impl<A, C, H> Model for GuardedActors<A, C, H>
where
    A: Actor,
    A::Msg: Ord,
    A::Timer: Ord,
    H: Clone + Debug + Hash + PartialEq,
{
    type State = GuardedState<A, H>;
    type Action = GuardedAction<A::Msg, A::Timer, A::Random>;

    fn init_states(&self) -> Vec<Self::State> {
        self.inner
            .init_states()
            .into_iter()
            .map(|mut s| {
                self.merge_copies(&mut s);
                GuardedState(self.without_inert(s), FaultsUsed::default())
            })
            .collect()
    }

    fn actions(&self, state: &Self::State, actions: &mut Vec<Self::Action>) {
        let mut own = Vec::new();
        self.inner.actions(&state.0, &mut own);
        let used = state.1;
        if let Some(guard) = self.guard {
            own.retain(|a| match a {
                ActorModelAction::Timeout(id, timer) => guard(&self.inner.cfg, state, *id, timer),
                _ => true,
            });
        }
        let Some(budget) = self.faults else {
            actions.extend(own.into_iter().map(GuardedAction::Actor));
            return;
        };
        // A Byzantine actor no longer takes the protocol's steps, and a cut link delivers
        // nothing.
        own.retain(|a| match a {
            ActorModelAction::Deliver { src, dst, .. } => {
                !used.is_corrupt(*dst) && !used.is_cut(*src, *dst)
            }
            ActorModelAction::Timeout(id, _) | ActorModelAction::Recover(id) => {
                !used.is_corrupt(*id)
            }
            ActorModelAction::SelectRandom { actor, .. } => !used.is_corrupt(*actor),
            ActorModelAction::Crash(_) | ActorModelAction::Drop(_) => true,
        });
        if !budget.recovery {
            own.retain(|a| !matches!(a, ActorModelAction::Recover(_)));
        }
        actions.extend(own.into_iter().map(GuardedAction::Actor));
        let up = |i: usize| {
            !state.crashed[i]
                && !used.is_corrupt(Id::from(i))
                && (self.fault_prone.is_empty() || self.fault_prone.contains(&Id::from(i)))
        };
        let n = state.actor_states.len();
        for i in (0..n).filter(|&i| up(i)) {
            let id = Id::from(i);
            if used.crashes < budget.crashes {
                actions.push(GuardedAction::Actor(ActorModelAction::Crash(id)));
            }
            if used.restarts < budget.restarts {
                actions.push(GuardedAction::Restart(id));
            }
            if used.amnesia < budget.amnesia && state.actor_storages[i].is_some() {
                actions.extend((0..self.durable.len()).map(|k| GuardedAction::Forget(id, k)));
            }
            if used.byzantine() < budget.byzantine {
                actions.push(GuardedAction::Corrupt(id));
            }
        }
        if used.omissions < budget.omissions {
            for e in state.network.iter_deliverable() {
                actions.push(GuardedAction::Actor(ActorModelAction::Drop(
                    e.to_cloned_msg(),
                )));
            }
        }
        if used.duplications < budget.duplications
            && !matches!(state.network, Network::UnorderedDuplicating(..))
        {
            let copies: std::collections::BTreeSet<Envelope<A::Msg>> = in_flight(&state.network)
                .into_iter()
                .filter(|e| !used.is_corrupt(e.dst) && !used.is_cut(e.src, e.dst))
                .map(|e| e.to_cloned_msg())
                .collect();
            actions.extend(copies.into_iter().map(GuardedAction::Duplicate));
        }
        if used.reorderings < budget.reorderings {
            if let Network::Ordered(flows) = &state.network {
                for ((src, dst), flow) in flows {
                    if !used.is_corrupt(*dst) && !used.is_cut(*src, *dst) {
                        let head = flow.front();
                        for msg in flow.iter().skip(1).filter(|m| Some(*m) != head) {
                            actions.push(GuardedAction::Overtake(Envelope {
                                src: *src,
                                dst: *dst,
                                msg: msg.clone(),
                            }));
                        }
                    }
                }
            }
        }
        if used.cuts < budget.cuts && !self.sides.is_empty() {
            for k in 0..self.sides.len() {
                if used.cut & self.side_links(k) != self.side_links(k) {
                    actions.push(GuardedAction::Partition(k));
                }
            }
        } else if used.cuts < budget.cuts {
            for a in 0..n {
                for b in a + 1..n {
                    if !used.is_cut(Id::from(a), Id::from(b)) {
                        actions.push(GuardedAction::Cut(Id::from(a), Id::from(b)));
                    }
                }
            }
        }
        if budget.heal && used.cut != 0 {
            actions.push(GuardedAction::Heal);
        }
        if let (Some(forge), true) = (self.forger, used.corrupt != 0) {
            // A message already in flight is not forged again: a second copy is a
            // duplication, which the budget counts apart.
            let flying = in_flight(&state.network);
            for i in (0..n).filter(|&i| used.is_corrupt(Id::from(i))) {
                let src = Id::from(i);
                for (dst, msg) in forge(&self.inner.cfg, &state.0, src) {
                    if !flying
                        .iter()
                        .any(|f| f.src == src && f.dst == dst && *f.msg == msg)
                    {
                        actions.push(GuardedAction::Forge(Envelope { src, dst, msg }));
                    }
                }
            }
        }
    }

    fn next_state(&self, last: &Self::State, action: Self::Action) -> Option<Self::State> {
        let mut used = last.1;
        let next = match action {
            GuardedAction::Actor(ActorModelAction::Deliver { src, dst, msg }) => {
                self.deliver(&last.0, src, dst, msg)?
            }
            GuardedAction::Actor(ActorModelAction::Timeout(id, timer)) => {
                self.timeout(&last.0, id, timer)?
            }
            GuardedAction::Actor(ActorModelAction::Recover(id)) => {
                let mut next = last.0.clone();
                self.start(&mut next, id);
                next
            }
            GuardedAction::Actor(action) => {
                let crashed = match (&action, self.on_crash) {
                    (ActorModelAction::Crash(id), Some(wipe)) => Some((usize::from(*id), wipe)),
                    _ => None,
                };
                if let Some(budget) = self.faults {
                    match &action {
                        ActorModelAction::Crash(_) => spend(&mut used.crashes, budget.crashes),
                        ActorModelAction::Drop(_) => spend(&mut used.omissions, budget.omissions),
                        _ => {}
                    }
                }
                let stops = match (&action, self.faults) {
                    (ActorModelAction::Crash(id), Some(budget)) if !budget.recovery => {
                        Some(usize::from(*id))
                    }
                    _ => None,
                };
                let mut next = match action {
                    ActorModelAction::Crash(id) => self.crash(&last.0, id),
                    // Drop, SelectRandom.
                    action => self.inner.next_state(&last.0, action)?,
                };
                if let Some((i, wipe)) = crashed {
                    next.actor_states[i] = std::sync::Arc::new(wipe(&next.actor_states[i]));
                }
                // An actor that crashes for good never reads its storage again: states that
                // differ only in it behave alike, so it is dropped.
                if let Some(i) = stops {
                    next.actor_storages[i] = None;
                }
                next
            }
            GuardedAction::Restart(id) => {
                spend(&mut used.restarts, self.budget().restarts);
                // A restart that loses nothing is no fault of the run: not a step.
                Some(self.restart(&last.0, id)).filter(|next| *next != last.0)?
            }
            GuardedAction::Forget(id, k) => {
                spend(&mut used.amnesia, self.budget().amnesia);
                let mut state = last.0.clone();
                if let Some(storage) = &mut state.actor_storages[usize::from(id)] {
                    (self.durable[k].forget)(storage);
                }
                Some(self.restart(&state, id)).filter(|next| *next != last.0)?
            }
            GuardedAction::Duplicate(e) => {
                spend(&mut used.duplications, self.budget().duplications);
                let mut next = last.0.clone();
                send(&mut next.network, e);
                next
            }
            GuardedAction::Overtake(e) => {
                spend(&mut used.reorderings, self.budget().reorderings);
                self.deliver(&last.0, e.src, e.dst, e.msg)?
            }
            GuardedAction::Cut(a, b) => {
                spend(&mut used.cuts, self.budget().cuts);
                let (a, b) = (usize::from(a), usize::from(b));
                used.cut |= (1 << (8 * a + b)) | (1 << (8 * b + a));
                last.0.clone()
            }
            GuardedAction::Partition(k) => {
                spend(&mut used.cuts, self.budget().cuts);
                used.cut |= self.side_links(k);
                last.0.clone()
            }
            GuardedAction::Heal => {
                used.cut = 0;
                last.0.clone()
            }
            GuardedAction::Corrupt(id) => {
                used.corrupt |= 1 << usize::from(id);
                let mut next = last.0.clone();
                let i = usize::from(id);
                next.timers_set[i].cancel_all();
                next.random_choices[i].map.clear();
                next
            }
            GuardedAction::Forge(e) => {
                let mut next = last.0.clone();
                send(&mut next.network, e);
                next
            }
        };
        let mut next = next;
        if let Some(history) = self
            .observe
            .and_then(|f| f(&self.inner.cfg, &last.0, &next))
        {
            next.history = history;
        }
        // stateright's duplicating network remembers the last message delivered, "so that a
        // message that does not change the actor state can also produce a different
        // fingerprint": every state then exists once per message that may have led to it
        // (7 times as many states in Raft). A delivery that changes nothing is no step here
        // (below), so the memory is dropped.
        if let Network::UnorderedDuplicating(_, delivered) = &mut next.network {
            *delivered = None;
        }
        self.merge_copies(&mut next);
        // A step that changes nothing (a message delivered again whose answer is already in
        // flight or inert, a timer renewed) is no step: the run stutters. stateright drops
        // such deliveries only when the actor neither writes its state nor sends.
        let next = GuardedState(self.without_inert(next), used);
        (next.0 != last.0 || next.1 != last.1).then_some(next)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        let forwarded = self
            .forwarded
            .iter()
            .zip(lifted::<OwnProperties, A, C, H>())
            .map(|(p, condition)| Property {
                expectation: p.expectation.clone(),
                name: p.name,
                condition,
            });
        self.properties.iter().cloned().chain(forwarded).collect()
    }

    fn within_boundary(&self, state: &Self::State) -> bool {
        Model::within_boundary(&self.inner, &state.0)
    }
}

/// The most properties of a wrapped actor model that [`GuardedActors`] forwards (and the most
/// leads-to properties of a [`Guarded`] protocol).
pub const MAX_FORWARDED: usize = 128;

/// A condition on a wrapped actor model's states, as stateright and [`LeadsTo`] take them.
type Inner<A, C, H> = fn(&ActorModel<A, C, H>, &ActorModelState<A, H>) -> bool;

/// The same condition on the wrapper's states.
type Lifted<A, C, H> = fn(&GuardedActors<A, C, H>, &GuardedState<A, H>) -> bool;

/// Where the `i`th condition of a wrapped actor model comes from: its properties, or its
/// protocol's leads-to triggers.
trait Conditions<A, C, H>
where
    A: Actor,
    A::Msg: Ord,
    A::Timer: Ord,
    H: Clone + Debug + Hash + PartialEq,
{
    fn condition(model: &GuardedActors<A, C, H>, i: usize) -> Inner<A, C, H>;
}

/// The wrapped model's own properties.
struct OwnProperties;

impl<A, C, H> Conditions<A, C, H> for OwnProperties
where
    A: Actor,
    A::Msg: Ord,
    A::Timer: Ord,
    H: Clone + Debug + Hash + PartialEq,
{
    fn condition(model: &GuardedActors<A, C, H>, i: usize) -> Inner<A, C, H> {
        model.forwarded[i].condition
    }
}

/// The leads-to triggers of a [`Guarded`] protocol.
struct Triggers;

impl<A, C, H> Conditions<A, C, H> for Triggers
where
    A: Actor,
    A::Msg: Ord,
    A::Timer: Ord,
    H: Clone + Debug + Hash + PartialEq,
{
    fn condition(model: &GuardedActors<A, C, H>, i: usize) -> Inner<A, C, H> {
        model.triggers[i]
    }
}

/// Condition `I` of source `S`, evaluated on the wrapped state. A condition is a plain `fn`,
/// which cannot capture which condition it stands for, so there is one such function per
/// index.
fn lift<const I: usize, S, A, C, H>(
    model: &GuardedActors<A, C, H>,
    state: &GuardedState<A, H>,
) -> bool
where
    S: Conditions<A, C, H>,
    A: Actor,
    A::Msg: Ord,
    A::Timer: Ord,
    H: Clone + Debug + Hash + PartialEq,
{
    (S::condition(model, I))(&model.inner, &state.0)
}

/// `lift::<0, S>`, `lift::<1, S>`, ... up to [`MAX_FORWARDED`].
fn lifted<S, A, C, H>() -> [Lifted<A, C, H>; MAX_FORWARDED]
where
    S: Conditions<A, C, H>,
    A: Actor,
    A::Msg: Ord,
    A::Timer: Ord,
    H: Clone + Debug + Hash + PartialEq,
{
    [
        lift::<0, S, A, C, H>,
        lift::<1, S, A, C, H>,
        lift::<2, S, A, C, H>,
        lift::<3, S, A, C, H>,
        lift::<4, S, A, C, H>,
        lift::<5, S, A, C, H>,
        lift::<6, S, A, C, H>,
        lift::<7, S, A, C, H>,
        lift::<8, S, A, C, H>,
        lift::<9, S, A, C, H>,
        lift::<10, S, A, C, H>,
        lift::<11, S, A, C, H>,
        lift::<12, S, A, C, H>,
        lift::<13, S, A, C, H>,
        lift::<14, S, A, C, H>,
        lift::<15, S, A, C, H>,
        lift::<16, S, A, C, H>,
        lift::<17, S, A, C, H>,
        lift::<18, S, A, C, H>,
        lift::<19, S, A, C, H>,
        lift::<20, S, A, C, H>,
        lift::<21, S, A, C, H>,
        lift::<22, S, A, C, H>,
        lift::<23, S, A, C, H>,
        lift::<24, S, A, C, H>,
        lift::<25, S, A, C, H>,
        lift::<26, S, A, C, H>,
        lift::<27, S, A, C, H>,
        lift::<28, S, A, C, H>,
        lift::<29, S, A, C, H>,
        lift::<30, S, A, C, H>,
        lift::<31, S, A, C, H>,
        lift::<32, S, A, C, H>,
        lift::<33, S, A, C, H>,
        lift::<34, S, A, C, H>,
        lift::<35, S, A, C, H>,
        lift::<36, S, A, C, H>,
        lift::<37, S, A, C, H>,
        lift::<38, S, A, C, H>,
        lift::<39, S, A, C, H>,
        lift::<40, S, A, C, H>,
        lift::<41, S, A, C, H>,
        lift::<42, S, A, C, H>,
        lift::<43, S, A, C, H>,
        lift::<44, S, A, C, H>,
        lift::<45, S, A, C, H>,
        lift::<46, S, A, C, H>,
        lift::<47, S, A, C, H>,
        lift::<48, S, A, C, H>,
        lift::<49, S, A, C, H>,
        lift::<50, S, A, C, H>,
        lift::<51, S, A, C, H>,
        lift::<52, S, A, C, H>,
        lift::<53, S, A, C, H>,
        lift::<54, S, A, C, H>,
        lift::<55, S, A, C, H>,
        lift::<56, S, A, C, H>,
        lift::<57, S, A, C, H>,
        lift::<58, S, A, C, H>,
        lift::<59, S, A, C, H>,
        lift::<60, S, A, C, H>,
        lift::<61, S, A, C, H>,
        lift::<62, S, A, C, H>,
        lift::<63, S, A, C, H>,
        lift::<64, S, A, C, H>,
        lift::<65, S, A, C, H>,
        lift::<66, S, A, C, H>,
        lift::<67, S, A, C, H>,
        lift::<68, S, A, C, H>,
        lift::<69, S, A, C, H>,
        lift::<70, S, A, C, H>,
        lift::<71, S, A, C, H>,
        lift::<72, S, A, C, H>,
        lift::<73, S, A, C, H>,
        lift::<74, S, A, C, H>,
        lift::<75, S, A, C, H>,
        lift::<76, S, A, C, H>,
        lift::<77, S, A, C, H>,
        lift::<78, S, A, C, H>,
        lift::<79, S, A, C, H>,
        lift::<80, S, A, C, H>,
        lift::<81, S, A, C, H>,
        lift::<82, S, A, C, H>,
        lift::<83, S, A, C, H>,
        lift::<84, S, A, C, H>,
        lift::<85, S, A, C, H>,
        lift::<86, S, A, C, H>,
        lift::<87, S, A, C, H>,
        lift::<88, S, A, C, H>,
        lift::<89, S, A, C, H>,
        lift::<90, S, A, C, H>,
        lift::<91, S, A, C, H>,
        lift::<92, S, A, C, H>,
        lift::<93, S, A, C, H>,
        lift::<94, S, A, C, H>,
        lift::<95, S, A, C, H>,
        lift::<96, S, A, C, H>,
        lift::<97, S, A, C, H>,
        lift::<98, S, A, C, H>,
        lift::<99, S, A, C, H>,
        lift::<100, S, A, C, H>,
        lift::<101, S, A, C, H>,
        lift::<102, S, A, C, H>,
        lift::<103, S, A, C, H>,
        lift::<104, S, A, C, H>,
        lift::<105, S, A, C, H>,
        lift::<106, S, A, C, H>,
        lift::<107, S, A, C, H>,
        lift::<108, S, A, C, H>,
        lift::<109, S, A, C, H>,
        lift::<110, S, A, C, H>,
        lift::<111, S, A, C, H>,
        lift::<112, S, A, C, H>,
        lift::<113, S, A, C, H>,
        lift::<114, S, A, C, H>,
        lift::<115, S, A, C, H>,
        lift::<116, S, A, C, H>,
        lift::<117, S, A, C, H>,
        lift::<118, S, A, C, H>,
        lift::<119, S, A, C, H>,
        lift::<120, S, A, C, H>,
        lift::<121, S, A, C, H>,
        lift::<122, S, A, C, H>,
        lift::<123, S, A, C, H>,
        lift::<124, S, A, C, H>,
        lift::<125, S, A, C, H>,
        lift::<126, S, A, C, H>,
        lift::<127, S, A, C, H>,
    ]
}

/// Counts one use of a fault, unless its budget is [`Faults::UNBOUNDED`].
fn spend(used: &mut u8, budget: u8) {
    if budget != Faults::UNBOUNDED {
        *used += 1;
    }
}

/// A protocol whose model is a plain stateright [`ActorModel`], checked as a [`GuardedActors`]
/// with no guard: its properties, fairness, symmetry, leads-to properties and bounds are the
/// protocol's, and its states hash apart where stateright's collide (see [`GuardedState`]), so
/// no state is lost to a collision. Its state count can therefore exceed the one stateright's
/// own checkers report for the same actor model.
pub struct Guarded<P>(PhantomData<P>);

impl<P, A, C, H> Protocol for Guarded<P>
where
    P: Protocol<Model = ActorModel<A, C, H>>,
    A: Actor,
    A::Msg: Ord,
    A::Timer: Ord,
    H: Clone + Debug + Hash + PartialEq,
{
    type Model = GuardedActors<A, C, H>;
    type Variant = P::Variant;
    const NAME: &'static str = P::NAME;
    const SUMMARY: &'static str = P::SUMMARY;
    const SECTION: &'static str = P::SECTION;
    const FAIRNESS: &'static str = P::FAIRNESS;

    fn params() -> Vec<ParamSpec> {
        P::params()
    }

    fn validate(params: &Params) -> Result<(), String> {
        P::validate(params)
    }

    fn build(params: &Params, variant: Option<P::Variant>) -> Self::Model {
        let mut model = GuardedActors::new(P::build(params, variant), None);
        model.triggers = P::leads_to().into_iter().map(|l| l.trigger).collect();
        model
    }

    fn symmetry() -> Option<Symmetry<Self::Model>> {
        fn representative<P, A, C, H>(state: &GuardedState<A, H>) -> GuardedState<A, H>
        where
            P: Protocol<Model = ActorModel<A, C, H>>,
            A: Actor,
            A::Msg: Ord,
            A::Timer: Ord,
            H: Clone + Debug + Hash + PartialEq,
        {
            let of = P::symmetry().expect("Guarded::symmetry is Some only when P's is");
            // No fault budget here (`Guarded::build` sets none), so no per-actor faults to
            // rename.
            GuardedState(of(&state.0), state.1)
        }
        P::symmetry().map(|_| representative::<P, A, C, H> as Symmetry<Self::Model>)
    }

    /// The protocol's fairness for the actor model's steps; no fault is forced.
    fn fairness(model: &Self::Model, action: &<Self::Model as Model>::Action) -> Fairness {
        match action {
            GuardedAction::Actor(a) => P::fairness(&model.inner, a),
            _ => Fairness::Unfair,
        }
    }

    fn leads_to() -> Vec<LeadsTo<Self::Model>> {
        let own = P::leads_to();
        assert!(
            own.len() <= MAX_FORWARDED,
            "Guarded forwards at most {MAX_FORWARDED} leads-to properties, not {}",
            own.len()
        );
        own.iter()
            .zip(lifted::<Triggers, A, C, H>())
            .map(|(l, trigger)| LeadsTo {
                property: l.property,
                trigger,
            })
            .collect()
    }

    fn bound_blocked(
        model: &Self::Model,
        state: &<Self::Model as Model>::State,
    ) -> Option<&'static str> {
        P::bound_blocked(&model.inner, &state.0)
    }
}

/// The canonical representative of a state's orbit: its actors permuted so that their `key`s
/// are sorted, every per-actor vector reindexed and every actor id inside states, messages,
/// storage and history rewritten, as stateright's own `Representative` does, but ordered by a
/// key the protocol chooses (timers name actors too: `A::Timer` is rewritten). A key that sees an actor's whole local view (state, storage,
/// timers, pending choices, messages in flight) leaves few ties; actors whose keys are equal
/// may still differ in how others refer to them (who sent whom a request), so every order of
/// each group of equal keys is tried and the one whose result hashes least is taken. So any
/// two states of one orbit have the same representative — which liveness under symmetry
/// relies on, not only the size of the reduction.
pub fn sorted_by_key<A, H, K: Ord>(
    state: &GuardedState<A, H>,
    key: impl Fn(usize) -> K,
) -> GuardedState<A, H>
where
    A: Actor,
    A::Msg: Rewrite<Id>,
    A::State: Rewrite<Id>,
    A::Timer: Rewrite<Id>,
    A::Random: Rewrite<Id>,
    A::Storage: Rewrite<Id>,
    H: Rewrite<Id> + Clone + Debug + Hash,
{
    let keys: Vec<K> = (0..state.actor_states.len()).map(key).collect();
    // The actors in key order (a stable sort: equal keys in the order of their ids).
    let mut order: Vec<usize> = (0..keys.len()).collect();
    order.sort_by(|&a, &b| keys[a].cmp(&keys[b]));
    // Each actor's place in key order, then its rank among the actors of equal key: the
    // renaming is by numbers, without comparing keys again.
    let mut first = vec![0; keys.len()];
    for (j, w) in order.iter().enumerate() {
        first[*w] = if j > 0 && keys[order[j - 1]] == keys[*w] {
            first[order[j - 1]]
        } else {
            j
        };
    }
    let rewrite = |rank: &[usize]| {
        let place: Vec<usize> = (0..keys.len()).map(|i| first[i] + rank[i]).collect();
        permuted(state, &place)
    };
    // The groups of actors with equal keys, and each one's rank within its group.
    let groups: Vec<&[usize]> = order
        .chunk_by(|&a, &b| keys[a] == keys[b])
        .filter(|g| g.len() > 1)
        .collect();
    let mut rank = vec![0; keys.len()];
    if groups.is_empty() {
        return rewrite(&rank);
    }
    // Every combination of one order per group.
    let orders: Vec<Vec<Vec<u8>>> = groups
        .iter()
        .map(|g| crate::permutations(g.len()))
        .collect();
    let mut pick = vec![0; groups.len()];
    let mut best: Option<(u64, GuardedState<A, H>)> = None;
    loop {
        for (g, members) in groups.iter().enumerate() {
            for (&actor, &r) in members.iter().zip(&orders[g][pick[g]]) {
                rank[actor] = r as usize;
            }
        }
        let candidate = rewrite(&rank);
        let h = {
            let mut h = ElementHasher(0);
            candidate.hash(&mut h);
            std::hash::Hasher::finish(&h)
        };
        if best.as_ref().is_none_or(|(b, _)| h < *b) {
            best = Some((h, candidate));
        }
        // The next combination, like an odometer.
        let mut g = 0;
        while g < groups.len() {
            pick[g] += 1;
            if pick[g] < orders[g].len() {
                break;
            }
            pick[g] = 0;
            g += 1;
        }
        if g == groups.len() {
            break;
        }
    }
    best.expect("one order at least").1
}

/// The state with its actors reordered so that `sort_by` (a value per actor) is sorted: every
/// per-actor vector reindexed and every actor id inside rewritten.
pub fn permuted<A, H, V: Ord>(state: &GuardedState<A, H>, sort_by: &[V]) -> GuardedState<A, H>
where
    A: Actor,
    A::Msg: Rewrite<Id>,
    A::State: Rewrite<Id>,
    A::Timer: Rewrite<Id>,
    A::Random: Rewrite<Id>,
    A::Storage: Rewrite<Id>,
    H: Rewrite<Id> + Clone + Debug + Hash,
{
    let plan = RewritePlan::<Id, _>::from_values_to_sort(sort_by);
    let n = state.actor_states.len();
    // `old[j]`: the actor that becomes actor `j`.
    let mut old = vec![0; n];
    let mut identity = true;
    for i in 0..n {
        let j = usize::from(Id::from(i).rewrite(&plan));
        old[j] = i;
        identity &= i == j;
    }
    if identity {
        // Every id renamed to itself: the state as it is, without rebuilding it.
        return state.clone();
    }
    fn moved<T: Rewrite<Id>, S>(v: &[T], old: &[usize], plan: &RewritePlan<Id, S>) -> Vec<T> {
        old.iter().map(|&i| v[i].rewrite(plan)).collect()
    }
    let s = &state.0;
    GuardedState(
        ActorModelState {
            actor_states: moved(&s.actor_states, &old, &plan),
            network: match &s.network {
                // Sized and seeded as the original: no table grown insert by insert, no seed
                // drawn per state.
                Network::UnorderedDuplicating(set, _) => {
                    let mut renamed = stateright::util::HashableHashSet::with_capacity_and_hasher(
                        set.len(),
                        set.hasher().clone(),
                    );
                    renamed.extend(set.iter().map(|e| e.rewrite(&plan)));
                    Network::UnorderedDuplicating(renamed, None)
                }
                network => network.rewrite(&plan),
            },
            timers_set: (0..n)
                .map(|j| {
                    let mut renamed = stateright::actor::Timers::new();
                    for t in s.timers_set[old[j]].iter() {
                        renamed.set(t.rewrite(&plan));
                    }
                    renamed
                })
                .collect(),
            random_choices: moved(&s.random_choices, &old, &plan),
            crashed: old.iter().map(|&i| s.crashed[i]).collect(),
            actor_storages: moved(&s.actor_storages, &old, &plan),
            history: s.history.rewrite(&plan),
        },
        state.1.renamed(|i| usize::from(Id::from(i).rewrite(&plan))),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(src: usize, dst: usize, msg: u8) -> Envelope<u8> {
        Envelope {
            src: Id::from(src),
            dst: Id::from(dst),
            msg,
        }
    }

    /// `in_flight` ends on a FIFO network and counts a repeated message as often as it was
    /// sent, where stateright 0.31's `iter_all` does neither.
    #[test]
    fn in_flight_lists_each_message_once_per_send() {
        let sent = [env(0, 1, 7), env(0, 1, 8), env(0, 1, 7), env(1, 0, 9)];
        let fifo = Network::new_ordered(sent);
        let listed: Vec<u8> = in_flight(&fifo).iter().map(|e| *e.msg).collect();
        assert_eq!(listed, [7, 8, 7, 9], "channel order, channel by channel");
        assert!(
            fifo.iter_all().take(100).count() == 100,
            "stateright's never ends"
        );
        let multiset = Network::new_unordered_nonduplicating(sent);
        let mut listed: Vec<u8> = in_flight(&multiset).iter().map(|e| *e.msg).collect();
        listed.sort();
        assert_eq!(listed, [7, 7, 8, 9]);
        assert_eq!(
            multiset.iter_all().count(),
            5,
            "stateright's lists 7 three times"
        );
        let set = Network::new_unordered_duplicating(sent);
        assert_eq!(in_flight(&set).len(), 3);
    }

    /// Renaming actors renames the cut links and the Byzantine actors with them.
    #[test]
    fn faults_used_rename_with_the_actors() {
        let used = FaultsUsed {
            cuts: 1,
            cut: (1 << 1) | (1 << 8),
            corrupt: 1 << 2,
            ..FaultsUsed::default()
        };
        assert!(used.is_cut(Id::from(0), Id::from(1)));
        assert!(!used.is_cut(Id::from(0), Id::from(2)));
        // 0 -> 2, 1 -> 0, 2 -> 1.
        let renamed = used.renamed(|i| [2, 0, 1][i]);
        assert!(
            renamed.is_cut(Id::from(2), Id::from(0)) && renamed.is_cut(Id::from(0), Id::from(2))
        );
        assert!(!renamed.is_cut(Id::from(0), Id::from(1)));
        assert!(renamed.is_corrupt(Id::from(1)) && renamed.byzantine() == 1);
        assert_eq!(renamed.cuts, 1);
    }

    /// The standard fault parameters round-trip into a budget; kinds not declared are 0.
    #[test]
    fn fault_parameters_make_the_budget() {
        let specs = Faults::params(&["crashes", "cuts"], 2);
        let names: Vec<&str> = specs.iter().map(|p| p.name).collect();
        assert_eq!(names, ["crashes", "recovery", "cuts", "heal"]);
        let mut params = Params::default();
        params.0.insert("crashes".into(), Value::Int(2));
        params.0.insert("recovery".into(), Value::Bool(true));
        params.0.insert("heal".into(), Value::Bool(false));
        assert_eq!(
            Faults::from_params(&params),
            Faults {
                crashes: 2,
                recovery: true,
                ..Faults::default()
            }
        );
    }
}

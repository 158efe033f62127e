//! `checkpointing`: recovery lines, coordinated checkpoints and the domino effect.
//!
//! Lecture section: "Recovery: Checkpointing" (coordinated and independent checkpointing).
//!
//! How it maps the lecture: `processes` processes `P1..Pn` exchange application messages
//! (`messages` in all) and take checkpoints; `CP_i(m)` is `P_i`'s `m`-th checkpoint (`CP_i(0)` the
//! initial state) and `INT_i(m)` the interval between `CP_i(m - 1)` and `CP_i(m)`. A message sent
//! in `INT_i(a)` and received in `INT_j(b)` records the dependency `INT_i(a) → INT_j(b)`. After a
//! crash the processes roll back to the *recovery line*: in `independent` mode, start from every
//! process's latest checkpoint and, while some checkpoint records a receipt whose send is not
//! recorded (`b` within the cut but `a` beyond it), roll the receiver back to before the receipt —
//! the lecture's cascaded rollback. In `coordinated` mode the lecture's two-phase blocking
//! protocol runs: `P1` checkpoints and multicasts CHECKPOINT-REQUEST; a process that receives it
//! checkpoints, stops sending application messages and confirms; once all confirmed, `P1`
//! multicasts CHECKPOINT-DONE and everyone resumes; the recovery line is the latest round every
//! process completed.
//!
//! How it is built: one actor per process. Sending an application message to `P_j` is `P_i`'s
//! `Send(j)` timer, allowed while fewer than `messages` were sent in all (and, coordinated,
//! while `P_i` is not stopped); an independent checkpoint is the `Checkpoint` timer; the
//! coordinator's round starts by its `StartRound` timer once no CHECKPOINT-DONE of the last
//! round is still in flight. A message carries its sender's interval; its receiver records the
//! dependency (sender, sent in, received in) in its state, as dependency tracking does, and the
//! recovery line is computed from those records. The confirmations are CONFIRM messages to
//! `P1`; the last one completes the round: `P1` resumes and multicasts CHECKPOINT-DONE. The
//! network is a multiset (no loss, any order).
//!
//! Properties: `consistent-recovery-line` (every message the line records as received it records
//! as sent); reachability `domino-effect` (checkpoints were taken, yet the recovery line is the
//! initial state: reached in `independent` mode, not in `coordinated` mode) and `checkpoint-taken`.
//! Variant `keep-sending` (coordinated, a process sends between its checkpoint and
//! CHECKPOINT-DONE): its message can be received before the receiver's checkpoint, and the line
//! records a receipt without its send.

use ftcheck_protocol::guarded::{soon, GuardedAction, GuardedActors, GuardedState, TimerGuard};
use ftcheck_protocol::{
    Fairness, ParamKind, ParamSpec, Params, Protocol, Value, VariantSpec, Variants,
};
use serde::Serialize;
use stateright::actor::{Actor, ActorModel, ActorModelAction, ActorModelState, Id, Network, Out};
use stateright::{Expectation, Rewrite, RewritePlan};
use std::borrow::Cow;
use std::fmt;

/// Most processes.
pub const MAX_PROCESSES: usize = 3;

/// A dependency a receiver records: `INT_from(sent_in) → INT_me(received_in)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Dep {
    /// The sender.
    pub from: u8,
    /// The sender's interval when sending.
    pub sent_in: u8,
    /// The receiver's interval when receiving.
    pub received_in: u8,
}

/// A message.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Msg {
    /// An application message, sent in the sender's interval `INT_i(sent_in)`.
    App {
        /// The sender's interval.
        sent_in: u8,
    },
    /// CHECKPOINT-REQUEST, from `P1`.
    Request,
    /// A confirmation of the checkpoint, to `P1`.
    Confirm,
    /// CHECKPOINT-DONE, from `P1`.
    Done,
}

impl fmt::Debug for Msg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Msg::App { sent_in } => write!(f, "message (sent in interval {sent_in})"),
            Msg::Request => f.write_str("CHECKPOINT-REQUEST"),
            Msg::Confirm => f.write_str("CONFIRM"),
            Msg::Done => f.write_str("CHECKPOINT-DONE"),
        }
    }
}

impl Rewrite<Id> for Msg {
    fn rewrite<S>(&self, _: &RewritePlan<Id, S>) -> Self {
        *self
    }
}

/// A process's timers.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Timer {
    /// Send an application message to process `j`.
    Send(u8),
    /// Take a checkpoint (independent mode).
    Checkpoint,
    /// `P1` checkpoints and multicasts CHECKPOINT-REQUEST (coordinated mode).
    StartRound,
}

impl Rewrite<Id> for Timer {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        match *self {
            Timer::Send(j) => {
                Timer::Send(usize::from(Id::from(usize::from(j)).rewrite(plan)) as u8)
            }
            t => t,
        }
    }
}

impl fmt::Debug for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Timer::Send(j) => write!(f, "sends a message to P{}", j + 1),
            Timer::Checkpoint => f.write_str("takes a checkpoint"),
            Timer::StartRound => f.write_str("checkpoints and multicasts CHECKPOINT-REQUEST"),
        }
    }
}

/// A process's state.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Process {
    /// It is `P1` in coordinated mode (a constant, which the symmetry reduction keeps in
    /// place).
    pub coordinator: bool,
    /// Checkpoints taken (its current interval is `INT_i(taken + 1)`).
    pub taken: u8,
    /// Application messages it sent.
    pub sent: u8,
    /// Coordinated mode: it must not send (between its checkpoint and CHECKPOINT-DONE).
    pub stopped: bool,
    /// The dependencies of the messages it received, sorted.
    pub received: Vec<Dep>,
    /// `P1`, coordinated: the processes that checkpointed in the current round (none between
    /// rounds).
    pub confirmed: u8,
    /// `P1`, coordinated: the rounds every process completed.
    pub rounds: u8,
}

impl fmt::Debug for Process {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} checkpoint(s), sent {}", self.taken, self.sent)?;
        if self.stopped {
            f.write_str(", stopped")?;
        }
        if !self.received.is_empty() {
            let deps: Vec<String> = self
                .received
                .iter()
                .map(|d| format!("INT_{}({}) → {}", d.from + 1, d.sent_in, d.received_in))
                .collect();
            write!(f, ", received [{}]", deps.join(", "))?;
        }
        if self.confirmed != 0 {
            let by: Vec<String> = (0..8)
                .filter(|i| self.confirmed & (1 << i) != 0)
                .map(|i| format!("P{}", i + 1))
                .collect();
            write!(f, ", confirmed by [{}]", by.join(", "))?;
        }
        if self.rounds != 0 {
            write!(f, ", {} round(s) done", self.rounds)?;
        }
        Ok(())
    }
}

impl Serialize for Process {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{self:?}"))
    }
}

impl Rewrite<Id> for Process {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        let rename = |i: u8| usize::from(Id::from(usize::from(i)).rewrite(plan)) as u8;
        let mut received: Vec<Dep> = self
            .received
            .iter()
            .map(|d| Dep {
                from: rename(d.from),
                ..*d
            })
            .collect();
        received.sort_unstable();
        let confirmed = (0..8u8)
            .filter(|i| self.confirmed & (1 << i) != 0)
            .fold(0, |m, i| m | (1 << rename(i)));
        Process {
            received,
            confirmed,
            ..self.clone()
        }
    }
}

/// The run's settings, which every process knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Config {
    /// Processes.
    pub processes: usize,
    /// Application messages in all.
    pub messages: usize,
    /// Checkpoints (or rounds) per process.
    pub checkpoints: usize,
    /// Coordinated mode.
    pub coordinated: bool,
    /// Variant `keep-sending`.
    pub keep_sending: bool,
}

impl Config {
    fn all(&self) -> u8 {
        ((1u16 << self.processes) - 1) as u8
    }
}

/// A process: every one runs the same code, `P1` (actor 0) coordinating in coordinated mode.
/// Its index only names it (the code reads its id), so processes stay interchangeable.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ProcessActor {
    /// Its index (`P1` is 0), for its name.
    pub me: usize,
    /// The settings.
    pub cfg: Config,
}

impl ProcessActor {
    fn checkpoint(p: &mut Process) {
        p.taken += 1;
        p.stopped = true;
    }
}

impl Actor for ProcessActor {
    type Msg = Msg;
    type State = Process;
    type Timer = Timer;
    type Random = ();
    type Storage = ();

    fn name(&self) -> String {
        format!("P{}", self.me + 1)
    }

    fn on_start(&self, id: Id, _: &Option<()>, o: &mut Out<Self>) -> Process {
        let cfg = &self.cfg;
        for j in (0..cfg.processes).filter(|&j| j != usize::from(id)) {
            o.set_timer(Timer::Send(j as u8), soon());
        }
        if !cfg.coordinated {
            o.set_timer(Timer::Checkpoint, soon());
        } else if usize::from(id) == 0 {
            o.set_timer(Timer::StartRound, soon());
        }
        Process {
            coordinator: cfg.coordinated && usize::from(id) == 0,
            taken: 0,
            sent: 0,
            stopped: false,
            received: Vec::new(),
            confirmed: 0,
            rounds: 0,
        }
    }

    fn on_msg(&self, id: Id, state: &mut Cow<Process>, src: Id, msg: Msg, o: &mut Out<Self>) {
        let cfg = &self.cfg;
        // A confirmation already counted, or DONE to a process that is not stopped, changes
        // nothing: leave the state unwritten (every other step changes it).
        match msg {
            Msg::Confirm if state.confirmed & (1 << usize::from(src)) != 0 => return,
            Msg::Done if !state.stopped => return,
            _ => {}
        }
        let p = state.to_mut();
        match msg {
            Msg::App { sent_in } => {
                let dep = Dep {
                    from: usize::from(src) as u8,
                    sent_in,
                    received_in: p.taken + 1,
                };
                let at = p.received.partition_point(|d| *d < dep);
                p.received.insert(at, dep);
            }
            Msg::Request => {
                Self::checkpoint(p);
                o.send(src, Msg::Confirm);
            }
            Msg::Confirm => {
                p.confirmed |= 1 << usize::from(src);
                if p.confirmed == cfg.all() {
                    p.confirmed = 0;
                    p.rounds += 1;
                    p.stopped = false;
                    for j in (0..cfg.processes).filter(|&j| j != usize::from(id)) {
                        o.send(Id::from(j), Msg::Done);
                    }
                    if usize::from(p.rounds) < cfg.checkpoints {
                        o.set_timer(Timer::StartRound, soon());
                    }
                }
            }
            Msg::Done => p.stopped = false,
        }
    }

    fn on_timeout(&self, id: Id, state: &mut Cow<Process>, timer: &Timer, o: &mut Out<Self>) {
        let cfg = &self.cfg;
        let p = state.to_mut();
        match *timer {
            Timer::Send(j) => {
                p.sent += 1;
                o.send(
                    Id::from(usize::from(j)),
                    Msg::App {
                        sent_in: p.taken + 1,
                    },
                );
                o.set_timer(Timer::Send(j), soon());
            }
            Timer::Checkpoint => {
                p.taken += 1;
                if usize::from(p.taken) < cfg.checkpoints {
                    o.set_timer(Timer::Checkpoint, soon());
                }
            }
            Timer::StartRound => {
                Self::checkpoint(p);
                p.confirmed = 1 << usize::from(id);
                for j in (0..cfg.processes).filter(|&j| j != usize::from(id)) {
                    o.send(Id::from(j), Msg::Request);
                }
            }
        }
    }
}

/// The model.
pub type CpModel = GuardedActors<ProcessActor, Config, ()>;
/// A state of [`CpModel`].
pub type CpState = GuardedState<ProcessActor, ()>;

fn processes(s: &ActorModelState<ProcessActor, ()>) -> impl Iterator<Item = &Process> + '_ {
    s.actor_states.iter().map(|p| &**p)
}

/// Every dependency recorded: `(receiver, dependency)`.
fn deps(s: &ActorModelState<ProcessActor, ()>) -> impl Iterator<Item = (usize, &Dep)> + '_ {
    processes(s)
        .enumerate()
        .flat_map(|(j, p)| p.received.iter().map(move |d| (j, d)))
}

/// The recovery line: per process, the index of the checkpoint it rolls back to. Coordinated:
/// the latest round every process completed. Independent: from every process's latest
/// checkpoint, while some checkpoint records a receipt whose send is not recorded, the receiver
/// rolls back to before the receipt (the cascaded rollback).
pub fn recovery_line(cfg: &Config, s: &ActorModelState<ProcessActor, ()>) -> Vec<u8> {
    if cfg.coordinated {
        return vec![s.actor_states[0].rounds; cfg.processes];
    }
    let mut line: Vec<u8> = processes(s).map(|p| p.taken).collect();
    loop {
        let orphan = deps(s)
            .find(|(j, d)| d.received_in <= line[*j] && d.sent_in > line[usize::from(d.from)]);
        match orphan {
            Some((j, d)) => line[j] = d.received_in - 1,
            None => return line,
        }
    }
}

/// A process sends while fewer than `messages` were sent in all, and (coordinated) while it
/// is not stopped, unless it keeps sending (the variant). `P1` starts a round once the last
/// round's CHECKPOINT-DONEs have arrived.
fn timer_guard(cfg: &Config, s: &CpState, id: Id, timer: &Timer) -> bool {
    match timer {
        Timer::Send(_) => {
            let sent: usize = processes(s).map(|p| usize::from(p.sent)).sum();
            sent < cfg.messages && (!s.actor_states[usize::from(id)].stopped || cfg.keep_sending)
        }
        Timer::Checkpoint => true,
        Timer::StartRound => s.network.iter_deliverable().all(|e| *e.msg != Msg::Done),
    }
}

/// The symmetry reduction. Processes are interchangeable (in coordinated mode all but `P1`, the
/// coordinator): the processes sorted by their view with ids left out.
fn representative(s: &CpState) -> CpState {
    let mail = ftcheck_protocol::guarded::mail(s);
    ftcheck_protocol::guarded::sorted_by_key(s, |i| {
        let p = &s.actor_states[i];
        let mut received: Vec<(u8, u8)> = p
            .received
            .iter()
            .map(|d| (d.sent_in, d.received_in))
            .collect();
        received.sort();
        (
            !p.coordinator,
            (p.taken, p.sent, p.stopped, p.rounds),
            received,
            mail[i],
        )
    })
}

fn check_line(m: &CpModel, s: &CpState) -> bool {
    let line = recovery_line(&m.inner.cfg, s);
    deps(s).all(|(j, d)| d.received_in > line[j] || d.sent_in <= line[usize::from(d.from)])
}

/// The deliberately broken variants (see [`Variants::ALL`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// `keep-sending`.
    KeepSending,
}

impl Variants for Variant {
    const ALL: &'static [(Variant, VariantSpec)] = &[(
        Variant::KeepSending,
        VariantSpec {
            name: "keep-sending",
            summary: "the coordinated protocol (whatever `mode` says), but a process keeps \
                      sending between its checkpoint and CHECKPOINT-DONE \
                      (consistent-recovery-line)",
        },
    )];
}

/// `checkpointing` in the catalog.
pub struct Checkpointing;

impl Protocol for Checkpointing {
    type Model = CpModel;
    type Variant = Variant;
    const NAME: &'static str = "checkpointing";
    const SUMMARY: &'static str =
        "recovery lines: coordinated checkpoints are consistent, independent ones can cascade to the start";
    const SECTION: &'static str = "Recovery: Checkpointing";

    fn fairness(_: &CpModel, action: &GuardedAction<Msg, Timer, ()>) -> Fairness {
        match action.actor() {
            Some(ActorModelAction::Deliver { .. }) => Fairness::Weak,
            _ => Fairness::Unfair,
        }
    }

    fn params() -> Vec<ParamSpec> {
        vec![
            ParamSpec {
                name: "processes",
                help: "processes",
                kind: ParamKind::Int {
                    min: 2,
                    max: MAX_PROCESSES as i64,
                },
                default: Value::Int(2),
            },
            ParamSpec {
                name: "messages",
                help: "application messages in all",
                kind: ParamKind::Int { min: 0, max: 4 },
                default: Value::Int(3),
            },
            ParamSpec {
                name: "checkpoints",
                help: "checkpoints per process (rounds, in coordinated mode)",
                kind: ParamKind::Int { min: 1, max: 3 },
                default: Value::Int(2),
            },
            ParamSpec {
                name: "mode",
                help: "coordinated (the two-phase blocking protocol) or independent (each \
                       process on its own, with dependency tracking)",
                kind: ParamKind::Choice {
                    options: &["coordinated", "independent"],
                },
                default: Value::Choice("independent"),
            },
        ]
    }

    fn symmetry() -> Option<ftcheck_protocol::Symmetry<CpModel>> {
        Some(representative)
    }

    fn build(params: &Params, variant: Option<Variant>) -> CpModel {
        let cfg = Config {
            processes: params.usize("processes"),
            messages: params.usize("messages"),
            checkpoints: params.usize("checkpoints"),
            // The variant breaks the coordinated protocol, so it runs it whatever `mode` says.
            coordinated: params.choice("mode") == "coordinated"
                || variant == Some(Variant::KeepSending),
            keep_sending: variant == Some(Variant::KeepSending),
        };
        let mut actors = ActorModel::new(cfg, ());
        for me in 0..cfg.processes {
            actors = actors.actor(ProcessActor { me, cfg });
        }
        let actors = actors.init_network(Network::new_unordered_nonduplicating([]));
        GuardedActors::new(actors, Some(timer_guard as TimerGuard<_, _, _>))
            .property(Expectation::Always, "consistent-recovery-line", check_line)
            .property(Expectation::Sometimes, "checkpoint-taken", |_, s| {
                processes(s).all(|p| p.taken > 0)
            })
            .property(Expectation::Sometimes, "domino-effect", |m, s| {
                // Every process has a checkpoint it could use (in coordinated mode: a completed
                // round), yet the line is the initial state.
                let cfg = &m.inner.cfg;
                let usable = if cfg.coordinated {
                    s.actor_states[0].rounds > 0
                } else {
                    processes(s).all(|p| p.taken > 0)
                };
                usable && recovery_line(cfg, s).iter().all(|&c| c == 0)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ftcheck_protocol::permutations;

    fn model(coordinated: bool) -> CpModel {
        let mut p = Params::default();
        for spec in Checkpointing::params() {
            p.0.insert(spec.name.into(), spec.default);
        }
        p.0.insert("processes".into(), Value::Int(3));
        if coordinated {
            p.0.insert("mode".into(), Value::Choice("coordinated"));
        }
        Checkpointing::build(&p, None)
    }

    /// Over the first 20,000 reachable states (breadth first) of three processes, in both
    /// modes: the representative is a symmetry (`check_symmetry`), the same for every renaming
    /// of the interchangeable processes.
    #[test]
    fn the_representative_is_a_symmetry() {
        for coordinated in [false, true] {
            let m = model(coordinated);
            let renamings = move |s: &CpState| {
                permutations(3)
                    .into_iter()
                    .filter(|p| !coordinated || p[0] == 0)
                    .map(|p| ftcheck_protocol::guarded::permuted(s, &p))
                    .collect()
            };
            assert_eq!(
                crate::check_symmetry::<Checkpointing>(&m, &renamings, 20_000),
                20_000
            );
        }
    }
}

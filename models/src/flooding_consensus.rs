//! `flooding-consensus`: the lecture's flooding-based consensus under crash failures.
//!
//! Lecture section: "Consensus in Faulty Systems with Crash Failures: Flooding-based Consensus".
//!
//! How it maps the lecture: processes `P1..Pn` each propose a distinct command (`Pi` proposes
//! `ci`) and keep a list of proposed commands. The system is fail-stop with reliable failure
//! detection and proceeds in rounds. In each round every live process sends its list (and its
//! decision, once it has one) to every other process; at the end of the round each process merges
//! the lists it received. A process that received a message from every process that was alive at
//! the start of the round (it detected no crash) decides deterministically: the smallest command
//! it knows. A process that detected a crash cannot know whether others received more, so it
//! waits for the next round, where it adopts any decision it receives. A crash in a round may
//! deliver the crashed process's message to some peers and not others (the lecture's P1 reaching
//! P2 but not P3 and P4): every subset is explored.
//!
//! Where it abstracts: a round is one atomic step (the synchronous round model the lecture
//! assumes), chosen nondeterministically among "no crash" and "process k crashes and its message
//! reaches exactly the set D"; at most `crashes` processes crash. The run ends when every live
//! process has decided. `decisions` is a ghost counter for `integrity`.
//!
//! Liveness `termination` (every live process eventually decides) assumes weak fairness of a
//! round without a crash: rounds go on; a crash is never forced. It holds (a crash-free round
//! after the last crash decides everyone).
//!
//! Agreement is checked among the processes that are alive (uniformly, over every process that
//! ever decided, as `uniform-agreement`): with one crash both hold; with two, a process can
//! decide, crash before its decision reaches anyone, and leave the others to decide otherwise.
//!
//! Why a plain model and not a stateright actor system (issue 19): the lecture's algorithm is
//! synchronous, a round one atomic step of every process; actors deliver one message at a time,
//! which is the asynchronous model the lecture contrasts it with.

use ftcheck_protocol::{
    Fairness, ParamKind, ParamSpec, Params, Protocol, Value, VariantSpec, Variants,
};
use serde::{Serialize, Serializer};
use stateright::{Model, Property};

/// Largest group the model supports.
pub const MAX_PROCESSES: usize = 6;

fn commands<S: Serializer>(mask: &u8, s: S) -> Result<S::Ok, S::Error> {
    let list: Vec<String> = (0..8)
        .filter(|i| mask & (1 << i) != 0)
        .map(|i| format!("c{}", i + 1))
        .collect();
    list.serialize(s)
}

fn command<S: Serializer>(c: &Option<u8>, s: S) -> Result<S::Ok, S::Error> {
    c.map(|c| format!("c{}", c + 1)).serialize(s)
}

/// One process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Process {
    /// Not crashed.
    pub alive: bool,
    /// The commands it knows of (bit i: command `c(i+1)`).
    #[serde(serialize_with = "commands")]
    pub known: u8,
    /// Its decision.
    #[serde(serialize_with = "command")]
    pub decided: Option<u8>,
    /// Ghost: how many times it decided.
    pub decisions: u8,
}

fn by_name<S: Serializer>(ps: &[Process], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = s.serialize_map(Some(ps.len()))?;
    for (i, p) in ps.iter().enumerate() {
        map.serialize_entry(&format!("P{}", i + 1), p)?;
    }
    map.end()
}

/// A state: the rounds completed and the processes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct FloodState {
    /// Rounds completed.
    pub round: u8,
    /// The processes, `P1..Pn` (serialised as a map from those names).
    #[serde(serialize_with = "by_name")]
    pub processes: Vec<Process>,
}

/// A crash during a round.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Crash {
    /// The process that crashes (0-based).
    pub process: u8,
    /// The processes its last message reaches (bit set).
    pub reached: u8,
}

/// One round, with or without a crash.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Round {
    /// The crash in this round, if any.
    pub crash: Option<Crash>,
}

impl std::fmt::Debug for Round {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.crash {
            None => write!(f, "round, no crash"),
            Some(c) => {
                let reached: Vec<String> = (0..8)
                    .filter(|i| c.reached & (1 << i) != 0)
                    .map(|i| format!("P{}", i + 1))
                    .collect();
                write!(
                    f,
                    "round, P{} crashes; its message reaches {{{}}}",
                    c.process + 1,
                    reached.join(", ")
                )
            }
        }
    }
}

/// The model.
#[derive(Clone, Debug)]
pub struct FloodingConsensus {
    /// Number of processes.
    pub processes: usize,
    /// Crashes allowed in a run.
    pub crashes: usize,
    /// `decide-despite-crash`: decide at the end of every round.
    pub decide_despite_crash: bool,
}

impl Model for FloodingConsensus {
    type State = FloodState;
    type Action = Round;

    fn init_states(&self) -> Vec<FloodState> {
        vec![FloodState {
            round: 0,
            processes: (0..self.processes)
                .map(|i| Process {
                    alive: true,
                    known: 1 << i,
                    decided: None,
                    decisions: 0,
                })
                .collect(),
        }]
    }

    fn actions(&self, s: &FloodState, actions: &mut Vec<Round>) {
        if s.processes.iter().all(|p| !p.alive || p.decided.is_some()) {
            return; // every live process has decided
        }
        actions.push(Round { crash: None });
        let crashed = s.processes.iter().filter(|p| !p.alive).count();
        if crashed >= self.crashes {
            return;
        }
        let alive: u8 = (0..self.processes)
            .filter(|&i| s.processes[i].alive)
            .fold(0, |m, i| m | (1 << i));
        for k in 0..self.processes {
            if alive & (1 << k) == 0 {
                continue;
            }
            let others = alive & !(1 << k);
            // Every subset of the others, from none to all.
            let mut sub: u8 = 0;
            loop {
                actions.push(Round {
                    crash: Some(Crash {
                        process: k as u8,
                        reached: sub,
                    }),
                });
                if sub == others {
                    break;
                }
                sub = (sub.wrapping_sub(others)) & others;
            }
        }
    }

    fn next_state(&self, s: &FloodState, round: Round) -> Option<FloodState> {
        let n = self.processes;
        let senders: Vec<usize> = (0..n).filter(|&i| s.processes[i].alive).collect();
        let mut next = s.clone();
        next.round = s.round.saturating_add(1);
        if let Some(c) = round.crash {
            next.processes[c.process as usize].alive = false;
        }
        for &p in &senders {
            if !next.processes[p].alive {
                continue;
            }
            let mut known = s.processes[p].known;
            let mut decision = None;
            let mut heard_all = true;
            for &q in &senders {
                if q == p {
                    continue;
                }
                let received = match round.crash {
                    Some(c) if c.process as usize == q => c.reached & (1 << p) != 0,
                    _ => true,
                };
                if !received {
                    heard_all = false; // a crash detected: q's message is missing
                    continue;
                }
                known |= s.processes[q].known;
                if decision.is_none() {
                    decision = s.processes[q].decided;
                }
            }
            let me = &mut next.processes[p];
            me.known = known;
            if me.decided.is_none() {
                let choice = if decision.is_some() {
                    decision
                } else if heard_all || self.decide_despite_crash {
                    Some(known.trailing_zeros() as u8)
                } else {
                    None
                };
                if choice.is_some() {
                    me.decided = choice;
                    me.decisions += 1;
                }
            }
        }
        Some(next)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        fn agree<'a>(mut ds: impl Iterator<Item = &'a Process>) -> bool {
            let mut first = None;
            ds.all(|p| match (p.decided, first) {
                (None, _) => true,
                (Some(d), None) => {
                    first = Some(d);
                    true
                }
                (Some(d), Some(f)) => d == f,
            })
        }
        vec![
            Property::always("agreement", |_: &Self, s: &FloodState| {
                agree(s.processes.iter().filter(|p| p.alive))
            }),
            Property::always("uniform-agreement", |_: &Self, s: &FloodState| {
                agree(s.processes.iter())
            }),
            Property::always("validity", |m: &Self, s: &FloodState| {
                s.processes
                    .iter()
                    .all(|p| p.decided.is_none_or(|d| (d as usize) < m.processes))
            }),
            Property::always("integrity", |_: &Self, s: &FloodState| {
                s.processes.iter().all(|p| p.decisions <= 1)
            }),
            Property::sometimes("all-decided", |_: &Self, s: &FloodState| {
                s.processes.iter().all(|p| !p.alive || p.decided.is_some())
            }),
            Property::sometimes("decision-deferred-by-crash", |_: &Self, s: &FloodState| {
                // The lecture's P2/P3: one live process decided, another is still waiting.
                s.processes.iter().any(|p| p.alive && p.decided.is_some())
                    && s.processes.iter().any(|p| p.alive && p.decided.is_none())
            }),
            Property::eventually("termination", |_: &Self, s: &FloodState| {
                s.processes.iter().all(|p| !p.alive || p.decided.is_some())
            }),
        ]
    }
}

/// The deliberately broken variants (see [`Variants::ALL`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// `decide-despite-crash`.
    DecideDespiteCrash,
}

impl Variants for Variant {
    const ALL: &'static [(Variant, VariantSpec)] = &[(
        Variant::DecideDespiteCrash,
        VariantSpec {
            name: "decide-despite-crash",
            summary: "decide at the end of a round in which a crash was detected (agreement)",
        },
    )];
}

impl Protocol for FloodingConsensus {
    type Model = FloodingConsensus;
    type Variant = Variant;
    const NAME: &'static str = "flooding-consensus";
    const SUMMARY: &'static str =
        "flooding consensus in rounds, fail-stop with reliable failure detection";
    const SECTION: &'static str =
        "Consensus in Faulty Systems with Crash Failures: Flooding-based Consensus";
    const FAIRNESS: &'static str = "weak: a round without a crash; unfair: crashes";

    fn fairness(_: &FloodingConsensus, round: &Round) -> Fairness {
        match round.crash {
            None => Fairness::Weak,
            Some(_) => Fairness::Unfair,
        }
    }

    fn params() -> Vec<ParamSpec> {
        vec![
            ParamSpec {
                name: "processes",
                help: "number of processes, each proposing its own command",
                kind: ParamKind::Int {
                    min: 2,
                    max: MAX_PROCESSES as i64,
                },
                default: Value::Int(4),
            },
            ParamSpec {
                name: "crashes",
                help: "crashes allowed in a run (at most processes - 1 take effect)",
                kind: ParamKind::Int {
                    min: 0,
                    max: MAX_PROCESSES as i64 - 1,
                },
                default: Value::Int(1),
            },
        ]
    }

    fn build(params: &Params, variant: Option<Variant>) -> FloodingConsensus {
        let processes = params.usize("processes");
        FloodingConsensus {
            processes,
            crashes: params.usize("crashes").min(processes - 1),
            decide_despite_crash: variant == Some(Variant::DecideDespiteCrash),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(n: usize, crashes: usize) -> FloodingConsensus {
        FloodingConsensus {
            processes: n,
            crashes,
            decide_despite_crash: false,
        }
    }

    #[test]
    fn a_round_may_crash_any_process_and_reach_any_subset_of_the_others() {
        let m = model(4, 1);
        let mut actions = Vec::new();
        m.actions(&m.init_states()[0], &mut actions);
        assert_eq!(actions.len(), 1 + 4 * 8);
        assert_eq!(
            format!("{:?}", actions[8]),
            "round, P1 crashes; its message reaches {P2, P3, P4}"
        );
    }

    #[test]
    fn the_lectures_scenario_p2_decides_p3_and_p4_wait_then_adopt() {
        let m = model(4, 1);
        let s = m.init_states()[0].clone();
        let s = m
            .next_state(
                &s,
                Round {
                    crash: Some(Crash {
                        process: 0,
                        reached: 0b0010,
                    }),
                },
            )
            .unwrap();
        let decided: Vec<Option<u8>> = s.processes.iter().map(|p| p.decided).collect();
        assert_eq!(decided, [None, Some(0), None, None]);
        let s = m.next_state(&s, Round { crash: None }).unwrap();
        let decided: Vec<Option<u8>> = s.processes.iter().map(|p| p.decided).collect();
        assert_eq!(decided, [None, Some(0), Some(0), Some(0)]);
        let mut actions = Vec::new();
        m.actions(&s, &mut actions);
        assert!(
            actions.is_empty(),
            "the run ends when every live process decided"
        );
    }
}

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
//! Properties: `consistent-recovery-line` (every message the line records as received it records
//! as sent); reachability `domino-effect` (checkpoints were taken, yet the recovery line is the
//! initial state: reached in `independent` mode, not in `coordinated` mode) and `checkpoint-taken`.
//! Variant `keep-sending` (coordinated, a process sends between its checkpoint and
//! CHECKPOINT-DONE): its message can be received before the receiver's checkpoint, and the line
//! records a receipt without its send.

use ftcheck_protocol::{ParamKind, ParamSpec, Params, Protocol, Value, VariantSpec, Variants};
use serde::Serialize;
use stateright::{Model, Property};
use std::fmt;

/// Most processes.
pub const MAX_PROCESSES: usize = 3;

/// An application message: sender and its interval, receiver and (once received) its interval.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AppMsg {
    /// Sender.
    pub from: u8,
    /// The sender's interval when sending.
    pub sent_in: u8,
    /// Receiver.
    pub to: u8,
    /// The receiver's interval when receiving, once received.
    pub received_in: Option<u8>,
}

impl Serialize for AppMsg {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (i, j) = (self.from + 1, self.to + 1);
        match self.received_in {
            None => s.collect_str(&format_args!(
                "P{i}→P{j}, sent in INT_{i}({}), in flight",
                self.sent_in
            )),
            Some(b) => s.collect_str(&format_args!("INT_{i}({}) → INT_{j}({b})", self.sent_in)),
        }
    }
}

/// A state.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CpState {
    /// Constant: the coordinated protocol runs (it decides how the recovery line is formed).
    pub coordinated: bool,
    /// Per process, the checkpoints taken (its current interval is `INT_i(taken + 1)`).
    pub taken: Vec<u8>,
    /// Application messages sent so far.
    pub messages: Vec<AppMsg>,
    /// Coordinated mode: processes that must not send (between their checkpoint and DONE).
    pub stopped: u8,
    /// Coordinated mode: CHECKPOINT-REQUESTs in flight (bit per process).
    pub requests: u8,
    /// Coordinated mode: processes that checkpointed in the current round.
    pub confirmed: u8,
    /// Coordinated mode: CHECKPOINT-DONEs in flight.
    pub dones: u8,
    /// Coordinated mode: rounds every process completed.
    pub rounds: u8,
}

impl CpState {
    /// The recovery line: per process, the index of the checkpoint it rolls back to.
    pub fn recovery_line(&self) -> Vec<u8> {
        if self.coordinated {
            return vec![self.rounds; self.taken.len()];
        }
        let mut line = self.taken.clone();
        loop {
            let orphan = self.messages.iter().find(|m| {
                m.received_in
                    .is_some_and(|b| b <= line[m.to as usize] && m.sent_in > line[m.from as usize])
            });
            match orphan {
                // Roll the receiver back to the checkpoint before the receipt.
                Some(m) => line[m.to as usize] = m.received_in.expect("received") - 1,
                None => return line,
            }
        }
    }
}

impl CpState {
    /// The state with process `i` renamed `perm[i]`, its messages sorted.
    fn renamed(&self, perm: &[u8]) -> CpState {
        let bits = |mask: u8| (0..perm.len()).fold(0u8, |k, i| k | ((mask >> i) & 1) << perm[i]);
        let mut taken = self.taken.clone();
        for (i, &t) in self.taken.iter().enumerate() {
            taken[perm[i] as usize] = t;
        }
        let mut messages: Vec<AppMsg> = self
            .messages
            .iter()
            .map(|m| AppMsg {
                from: perm[m.from as usize],
                to: perm[m.to as usize],
                ..*m
            })
            .collect();
        messages.sort_unstable();
        CpState {
            coordinated: self.coordinated,
            taken,
            messages,
            stopped: bits(self.stopped),
            requests: bits(self.requests),
            confirmed: bits(self.confirmed),
            dones: bits(self.dones),
            rounds: self.rounds,
        }
    }
}

/// The symmetry reduction. Processes are interchangeable (in coordinated mode all but `P1`, the
/// coordinator), and the order in which messages were sent is only how actions name them: the
/// least renaming, messages sorted, represents the orbit.
pub fn representative(s: &CpState) -> CpState {
    let n = s.taken.len();
    let fixed = usize::from(s.coordinated);
    ftcheck_protocol::permutations(n - fixed)
        .into_iter()
        .map(|p| {
            let perm: Vec<u8> = (0..fixed as u8)
                .chain(p.iter().map(|&i| i + fixed as u8))
                .collect();
            s.renamed(&perm)
        })
        .min_by(|a, b| {
            (
                &a.taken,
                &a.messages,
                a.stopped,
                a.requests,
                a.confirmed,
                a.dones,
            )
                .cmp(&(
                    &b.taken,
                    &b.messages,
                    b.stopped,
                    b.requests,
                    b.confirmed,
                    b.dones,
                ))
        })
        .expect("one permutation at least")
}

impl Serialize for CpState {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("taken", &self.taken)?;
        map.serialize_entry("messages", &self.messages)?;
        map.serialize_entry("stopped", &self.stopped)?;
        map.serialize_entry("requests", &self.requests)?;
        map.serialize_entry("confirmed", &self.confirmed)?;
        map.serialize_entry("dones", &self.dones)?;
        map.serialize_entry("rounds", &self.rounds)?;
        // Not stored: derived from the rest, shown for the reader of a trace.
        map.serialize_entry("recovery_line", &self.recovery_line())?;
        map.end()
    }
}

/// A step.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// `P_i` sends an application message to `P_j`.
    Send(u8, u8),
    /// Message `k` is received.
    Receive(u8),
    /// `P_i` takes a checkpoint on its own (independent mode).
    Checkpoint(u8),
    /// `P1` checkpoints and multicasts CHECKPOINT-REQUEST (coordinated mode).
    StartRound,
    /// `P_i` receives CHECKPOINT-REQUEST: checkpoints, stops sending, confirms.
    Request(u8),
    /// `P1` has every confirmation: multicasts CHECKPOINT-DONE.
    Finish,
    /// `P_i` receives CHECKPOINT-DONE and resumes sending.
    Done(u8),
}

impl fmt::Debug for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Action::Send(i, j) => write!(f, "P{} sends a message to P{}", i + 1, j + 1),
            Action::Receive(k) => write!(f, "message #{} is received", k + 1),
            Action::Checkpoint(i) => write!(f, "P{} takes a checkpoint", i + 1),
            Action::StartRound => write!(f, "P1 checkpoints and multicasts CHECKPOINT-REQUEST"),
            Action::Request(i) => write!(
                f,
                "P{} gets CHECKPOINT-REQUEST: checkpoints, stops sending, confirms",
                i + 1
            ),
            Action::Finish => write!(f, "P1 has every confirmation: CHECKPOINT-DONE"),
            Action::Done(i) => write!(f, "P{} gets CHECKPOINT-DONE and resumes", i + 1),
        }
    }
}

/// The model.
#[derive(Clone, Debug)]
pub struct Checkpointing {
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

impl Checkpointing {
    fn all(&self) -> u8 {
        ((1u16 << self.processes) - 1) as u8
    }
}

impl Model for Checkpointing {
    type State = CpState;
    type Action = Action;

    fn init_states(&self) -> Vec<CpState> {
        vec![CpState {
            taken: vec![0; self.processes],
            messages: vec![],
            stopped: 0,
            requests: 0,
            confirmed: 0,
            dones: 0,
            rounds: 0,
            coordinated: self.coordinated,
        }]
    }

    fn actions(&self, s: &CpState, actions: &mut Vec<Action>) {
        let n = self.processes as u8;
        if s.messages.len() < self.messages {
            for i in 0..n {
                if s.stopped & (1 << i) != 0 && !self.keep_sending {
                    continue;
                }
                for j in (0..n).filter(|&j| j != i) {
                    actions.push(Action::Send(i, j));
                }
            }
        }
        for (k, m) in s.messages.iter().enumerate() {
            if m.received_in.is_none() {
                actions.push(Action::Receive(k as u8));
            }
        }
        if !self.coordinated {
            for i in 0..n {
                if (s.taken[i as usize] as usize) < self.checkpoints {
                    actions.push(Action::Checkpoint(i));
                }
            }
            return;
        }
        let idle = s.confirmed == 0 && s.dones == 0 && s.requests == 0;
        if idle && (s.rounds as usize) < self.checkpoints {
            actions.push(Action::StartRound);
        }
        for i in 0..n {
            if s.requests & (1 << i) != 0 {
                actions.push(Action::Request(i));
            }
            if s.dones & (1 << i) != 0 {
                actions.push(Action::Done(i));
            }
        }
        if s.confirmed == self.all() {
            actions.push(Action::Finish);
        }
    }

    fn next_state(&self, s: &CpState, action: Action) -> Option<CpState> {
        let mut next = s.clone();
        let checkpoint = |next: &mut CpState, i: u8| {
            next.taken[i as usize] += 1;
            next.stopped |= 1 << i;
            next.confirmed |= 1 << i;
        };
        match action {
            Action::Send(i, j) => next.messages.push(AppMsg {
                from: i,
                sent_in: s.taken[i as usize] + 1,
                to: j,
                received_in: None,
            }),
            Action::Receive(k) => {
                let m = &mut next.messages[k as usize];
                m.received_in = Some(s.taken[m.to as usize] + 1);
            }
            Action::Checkpoint(i) => next.taken[i as usize] += 1,
            Action::StartRound => {
                checkpoint(&mut next, 0);
                next.requests = self.all() & !1;
            }
            Action::Request(i) => {
                next.requests &= !(1 << i);
                checkpoint(&mut next, i);
            }
            Action::Finish => {
                next.confirmed = 0;
                next.rounds += 1;
                next.dones = self.all();
            }
            Action::Done(i) => {
                next.dones &= !(1 << i);
                next.stopped &= !(1 << i);
            }
        }
        Some(next)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always("consistent-recovery-line", |_: &Self, s: &CpState| {
                let line = s.recovery_line();
                s.messages.iter().all(|msg| {
                    msg.received_in.is_none_or(|b| {
                        b > line[msg.to as usize] || msg.sent_in <= line[msg.from as usize]
                    })
                })
            }),
            Property::sometimes("checkpoint-taken", |_: &Self, s: &CpState| {
                s.taken.iter().all(|&t| t > 0)
            }),
            Property::sometimes("domino-effect", |m: &Self, s: &CpState| {
                // Every process has a checkpoint it could use (in coordinated mode: a completed
                // round), yet the line is the initial state.
                let usable = if m.coordinated {
                    s.rounds > 0
                } else {
                    s.taken.iter().all(|&t| t > 0)
                };
                usable && s.recovery_line().iter().all(|&c| c == 0)
            }),
        ]
    }
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

impl Protocol for Checkpointing {
    type Model = Checkpointing;
    type Variant = Variant;
    const NAME: &'static str = "checkpointing";
    const SUMMARY: &'static str =
        "recovery lines: coordinated checkpoints are consistent, independent ones can cascade to the start";
    const SECTION: &'static str = "Recovery: Checkpointing";

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

    fn symmetry() -> Option<ftcheck_protocol::Symmetry<Checkpointing>> {
        Some(representative)
    }

    fn build(params: &Params, variant: Option<Variant>) -> Checkpointing {
        Checkpointing {
            processes: params.usize("processes"),
            messages: params.usize("messages"),
            checkpoints: params.usize("checkpoints"),
            // The variant breaks the coordinated protocol, so it runs it whatever `mode` says.
            coordinated: params.choice("mode") == "coordinated"
                || variant == Some(Variant::KeepSending),
            keep_sending: variant == Some(Variant::KeepSending),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Over the first 20,000 reachable states (breadth first) of three processes, in both
    /// modes: the representative is a symmetry (`check_symmetry`), equal for a state with two
    /// interchangeable processes swapped or its messages reordered.
    #[test]
    fn the_representative_is_canonical_and_keeps_every_property() {
        for coordinated in [false, true] {
            let m = Checkpointing {
                processes: 3,
                messages: 3,
                checkpoints: 2,
                coordinated,
                keep_sending: false,
            };
            let renamings = |s: &CpState| {
                let mut reordered = s.clone();
                reordered.messages.reverse();
                vec![s.renamed(&[0, 2, 1]), reordered]
            };
            assert_eq!(
                crate::check_symmetry::<Checkpointing>(&m, &renamings, 20_000),
                20_000
            );
        }
    }
}

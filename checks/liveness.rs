//! The liveness engine on models built to tell sound answers from unsound ones: a fair cycle that
//! stateright's BFS misses, an unfair cycle that must not count, weak against strong fairness,
//! deadlocks, `leads-to` against `eventually`, lasso traces that replay (and fail to replay
//! when tampered with), and fairness under symmetry reduction.

use ftcheck::describe::Plain;
use ftcheck::engine::CheckOptions;
use ftcheck::protocol::{Fairness, LeadsTo};
use ftcheck::runner::{Bound, Checkable, PropertyResult, Trace, Verdict};
use stateright::{Checker, Model, Property};

/// States 0 and 1 form a ring (`Go` 0 → 1, `Back` 1 → 0, both weakly fair); `Exit` leads to
/// 2, the goal, from 1 (and from 0 too with `exit_from_both`), with fairness `exit`. With
/// `dead_end`, `Stop` leads from 0 to 3, a state with no step.
#[derive(Clone)]
struct Ring {
    exit_from_both: bool,
    exit: Fairness,
    dead_end: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum RingStep {
    Go,
    Back,
    Exit,
    Stop,
}

impl Model for Ring {
    type State = u8;
    type Action = RingStep;
    fn init_states(&self) -> Vec<u8> {
        vec![0]
    }
    fn actions(&self, s: &u8, a: &mut Vec<RingStep>) {
        match s {
            0 => {
                a.push(RingStep::Go);
                if self.exit_from_both {
                    a.push(RingStep::Exit);
                }
                if self.dead_end {
                    a.push(RingStep::Stop);
                }
            }
            1 => a.extend([RingStep::Back, RingStep::Exit]),
            _ => {}
        }
    }
    fn next_state(&self, _: &u8, a: RingStep) -> Option<u8> {
        Some(match a {
            RingStep::Go => 1,
            RingStep::Back => 0,
            RingStep::Exit => 2,
            RingStep::Stop => 3,
        })
    }
    fn properties(&self) -> Vec<Property<Self>> {
        vec![Property::eventually("done", |_, s: &u8| *s == 2)]
    }
}

fn ring(exit_from_both: bool, exit: Fairness, dead_end: bool) -> Bound<Ring, Plain> {
    Bound {
        model: Ring {
            exit_from_both,
            exit,
            dead_end,
        },
        describe: Plain,
        symmetry: None,
        reduction: None,
        fairness: |m: &Ring, a: &RingStep| match a {
            RingStep::Exit => m.exit,
            RingStep::Stop => Fairness::Unfair,
            _ => Fairness::Weak,
        },
        leads_to: vec![],
        bounds: None,
    }
}

fn only(run: &ftcheck::runner::Run) -> &PropertyResult {
    assert_eq!(run.results.len(), 1);
    assert!(run.stopped.is_none(), "{:?}", run.stopped);
    &run.results[0]
}

fn actions(t: &Trace) -> Vec<&str> {
    t.steps.iter().map(|s| s.action.as_str()).collect()
}

/// stateright 0.31 checks `eventually` only at terminal states, so a run that circles 0 → 1 →
/// 0 forever passes its BFS. That run is fair (`Exit` is enabled only at 1, so weak fairness
/// never forces it): ftcheck reports the lasso.
#[test]
fn a_fair_cycle_that_stateright_misses_is_a_lasso() {
    let m = ring(false, Fairness::Weak, false);
    let theirs = m.model.clone().checker().spawn_bfs().join();
    assert!(
        theirs.discovery("done").is_none(),
        "stateright's BFS now sees the cycle; update this test"
    );

    let run = m.check(&CheckOptions::default(), &mut |_| {});
    let done = only(&run);
    assert_eq!(done.verdict, Verdict::Violated);
    let trace = done.trace.as_ref().expect("a lasso");
    assert_eq!(actions(trace), ["Go", "Back"]);
    assert_eq!(trace.loop_start, Some(0));
    assert_eq!(m.replay(trace, "done"), Ok(Verdict::Violated));
    assert_eq!(run.stats.unique_states, 3);
    assert_eq!(run.stats.graph_edges, 3);
}

/// When `Exit` is enabled at both states of the ring, circling starves it: weak fairness rules
/// the cycle out, and every fair run reaches the goal.
#[test]
fn a_cycle_that_starves_a_weakly_fair_action_is_not_a_counterexample() {
    let run = ring(true, Fairness::Weak, false).check(&CheckOptions::default(), &mut |_| {});
    assert_eq!(only(&run).verdict, Verdict::Holds);
    // Without fairness on `Exit`, the same cycle is a counterexample.
    let run = ring(true, Fairness::Unfair, false).check(&CheckOptions::default(), &mut |_| {});
    assert_eq!(only(&run).verdict, Verdict::Violated);
}

/// `Exit` is enabled infinitely often on the ring (at 1) but not continuously (not at 0): weak
/// fairness allows circling forever, strong fairness does not.
#[test]
fn weak_and_strong_fairness_give_different_verdicts() {
    let weak = ring(false, Fairness::Weak, false).check(&CheckOptions::default(), &mut |_| {});
    assert_eq!(only(&weak).verdict, Verdict::Violated);
    let strong = ring(false, Fairness::Strong, false).check(&CheckOptions::default(), &mut |_| {});
    assert_eq!(only(&strong).verdict, Verdict::Holds);

    // The weak-fairness lasso does not replay under strong fairness: its loop is unfair there.
    let trace = weak.results[0].trace.clone().unwrap();
    let err = ring(false, Fairness::Strong, false)
        .replay(&trace, "done")
        .unwrap_err();
    assert!(
        err.reason
            .contains("Exit (strongly fair) is enabled in a state"),
        "{err}"
    );
}

/// A run that stops in a state with no step, short of the goal, is a counterexample without a
/// loop; fairness cannot help it.
#[test]
fn a_deadlock_short_of_the_goal_is_a_counterexample_without_a_loop() {
    let m = ring(true, Fairness::Strong, true);
    let run = m.check(&CheckOptions::default(), &mut |_| {});
    let done = only(&run);
    assert_eq!(done.verdict, Verdict::Violated);
    let trace = done.trace.as_ref().unwrap();
    assert_eq!(actions(trace), ["Stop"]);
    assert_eq!(trace.loop_start, None);
    assert_eq!(m.replay(trace, "done"), Ok(Verdict::Violated));
}

/// Lasso traces are checked when replayed: a loop that does not close, or a trace cut short of
/// its deadlock, is refused.
#[test]
fn tampered_lassos_do_not_replay() {
    let m = ring(false, Fairness::Weak, false);
    let run = m.check(&CheckOptions::default(), &mut |_| {});
    let trace = run.results[0].trace.clone().unwrap();

    let mut no_loop = trace.clone();
    no_loop.loop_start = None;
    let err = m.replay(&no_loop, "done").unwrap_err();
    assert!(
        err.reason.contains("cannot stop in the last state"),
        "{err}"
    );

    let mut wrong_loop = trace.clone();
    wrong_loop.loop_start = Some(1);
    let err = m.replay(&wrong_loop, "done").unwrap_err();
    assert!(err.reason.contains("the loop does not close"), "{err}");

    let mut open = trace;
    open.steps.pop();
    let err = m.replay(&open, "done").unwrap_err();
    assert!(err.reason.contains("the loop does not close"), "{err}");
}

/// With a depth bound, a search that found no violation knows nothing: incomplete, not holds.
#[test]
fn a_bounded_search_without_a_counterexample_is_incomplete() {
    let opts = CheckOptions {
        max_depth: Some(1),
        ..CheckOptions::default()
    };
    let run = ring(true, Fairness::Weak, false).check(&opts, &mut |_| {});
    assert!(matches!(run.results[0].verdict, Verdict::Incomplete { .. }));
    // A lasso inside the explored part is still a counterexample.
    let opts = CheckOptions {
        max_depth: Some(2),
        ..CheckOptions::default()
    };
    let run = service(Fairness::Unfair).check(&opts, &mut |_| {});
    assert!(run.stopped.is_some());
    assert_eq!(run.results[1].verdict, Verdict::Violated);
}

/// A service: idle (0) until a client asks (1, not forced), then answered (2) and idle again.
/// `Wait` and `Ignore` are weakly fair steps that change nothing.
#[derive(Clone)]
struct Service {
    answer: Fairness,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum ServiceStep {
    Wait,
    Ask,
    Ignore,
    Answer,
    Reset,
}

impl Model for Service {
    type State = u8;
    type Action = ServiceStep;
    fn init_states(&self) -> Vec<u8> {
        vec![0]
    }
    fn actions(&self, s: &u8, a: &mut Vec<ServiceStep>) {
        match s {
            0 => a.extend([ServiceStep::Wait, ServiceStep::Ask]),
            1 => a.extend([ServiceStep::Ignore, ServiceStep::Answer]),
            _ => a.push(ServiceStep::Reset),
        }
    }
    fn next_state(&self, s: &u8, a: ServiceStep) -> Option<u8> {
        Some(match a {
            ServiceStep::Wait | ServiceStep::Ignore => *s,
            ServiceStep::Ask => 1,
            ServiceStep::Answer => 2,
            ServiceStep::Reset => 0,
        })
    }
    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::eventually("some-answer", |_, s: &u8| *s == 2),
            Property::eventually("request-answered", |_, s: &u8| *s == 2),
        ]
    }
}

fn service(answer: Fairness) -> Bound<Service, Plain> {
    Bound {
        model: Service { answer },
        describe: Plain,
        symmetry: None,
        reduction: None,
        fairness: |m: &Service, a: &ServiceStep| match a {
            ServiceStep::Ask => Fairness::Unfair,
            ServiceStep::Answer => m.answer,
            _ => Fairness::Weak,
        },
        leads_to: vec![LeadsTo {
            property: "request-answered",
            trigger: |_, s: &u8| *s == 1,
        }],
        bounds: None,
    }
}

/// `eventually answered` fails (nobody has to ask), `asked leads-to answered` holds when
/// answering is weakly fair (ignoring a request forever starves `Answer`), and fails with the
/// request ignored forever when it is not.
#[test]
fn leads_to_speaks_of_the_states_after_its_trigger() {
    let run = service(Fairness::Weak).check(&CheckOptions::default(), &mut |_| {});
    assert_eq!(run.results[0].verdict, Verdict::Violated);
    let idle = run.results[0].trace.as_ref().unwrap();
    assert_eq!(actions(idle), ["Wait"]);
    assert_eq!(idle.loop_start, Some(0));
    assert_eq!(run.results[1].verdict, Verdict::Holds);

    let m = service(Fairness::Unfair);
    let run = m.check(&CheckOptions::default(), &mut |_| {});
    assert_eq!(run.results[1].verdict, Verdict::Violated);
    let ignored = run.results[1].trace.as_ref().unwrap();
    assert_eq!(actions(ignored), ["Ask", "Ignore"]);
    assert_eq!(ignored.loop_start, Some(1));
    assert_eq!(m.replay(ignored, "request-answered"), Ok(Verdict::Violated));
    // Before the request, the run is not obliged to anything: a trace that never asks does not
    // violate the leads-to property.
    let err = m.replay(idle, "request-answered").unwrap_err();
    assert!(err.reason.contains("obliges"), "{err}");
}

/// Liveness needs BFS's graph; anything else says so rather than guessing.
#[test]
fn liveness_is_not_checked_where_the_engine_cannot_decide_it() {
    let m = ring(false, Fairness::Weak, false);
    for (opts, why) in [
        (
            CheckOptions {
                liveness: false,
                ..CheckOptions::default()
            },
            "--no-liveness",
        ),
        (
            CheckOptions {
                engine: ftcheck::engine::Engine::Dfs,
                ..CheckOptions::default()
            },
            "--engine bfs",
        ),
    ] {
        let run = m.check(&opts, &mut |_| {});
        match &run.results[0].verdict {
            Verdict::NotChecked { reason } => assert!(reason.contains(why), "{reason}"),
            v => panic!("{v:?}"),
        }
    }
}

/// A random graph: `next[s][l]` is where action `l` leads from state `s` (if enabled);
/// `fair[l]` is action `l`'s fairness; `goal` the states where the property holds.
#[derive(Clone, Debug)]
struct Random {
    next: Vec<Vec<Option<u8>>>,
    fair: Vec<Fairness>,
    goal: Vec<bool>,
}

impl Model for Random {
    type State = u8;
    type Action = u8;
    fn init_states(&self) -> Vec<u8> {
        vec![0]
    }
    fn actions(&self, s: &u8, a: &mut Vec<u8>) {
        for (l, t) in self.next[*s as usize].iter().enumerate() {
            if t.is_some() {
                a.push(l as u8);
            }
        }
    }
    fn next_state(&self, s: &u8, l: u8) -> Option<u8> {
        self.next[*s as usize][l as usize]
    }
    fn properties(&self) -> Vec<Property<Self>> {
        vec![Property::eventually("goal", |m: &Self, s: &u8| {
            m.goal[*s as usize]
        })]
    }
}

impl Random {
    /// Whether a fair run from state 0 avoids the goal forever, by brute force over every set of
    /// states that could be the set a run visits infinitely often.
    fn violated(&self) -> bool {
        let n = self.next.len();
        // States reachable from 0 through non-goal states.
        let mut bad = vec![false; n];
        let mut stack = vec![];
        if !self.goal[0] {
            bad[0] = true;
            stack.push(0);
        }
        while let Some(s) = stack.pop() {
            for t in self.next[s].iter().flatten() {
                let t = *t as usize;
                if !bad[t] && !self.goal[t] {
                    bad[t] = true;
                    stack.push(t);
                }
            }
        }
        // A run may stop where nothing fair is enabled.
        let quiescent = |s: usize| {
            (0..self.fair.len())
                .all(|l| self.next[s][l].is_none() || self.fair[l] == Fairness::Unfair)
        };
        if (0..n).any(|s| bad[s] && quiescent(s)) {
            return true;
        }
        (1u32..1 << n).any(|set| {
            let inside = |s: usize| set >> s & 1 == 1;
            if !(0..n).filter(|&s| inside(s)).all(|s| bad[s]) {
                return false;
            }
            // Strongly connected, with an edge inside.
            let members: Vec<usize> = (0..n).filter(|&s| inside(s)).collect();
            let reach = |from: usize| {
                let mut seen = vec![false; n];
                let mut stack = vec![from];
                while let Some(s) = stack.pop() {
                    for t in self.next[s].iter().flatten() {
                        let t = *t as usize;
                        if inside(t) && !seen[t] {
                            seen[t] = true;
                            stack.push(t);
                        }
                    }
                }
                seen
            };
            if !members
                .iter()
                .all(|&s| members.iter().all(|&t| reach(s)[t]))
            {
                return false;
            }
            (0..self.fair.len()).all(|l| {
                let enabled: Vec<bool> =
                    members.iter().map(|&s| self.next[s][l].is_some()).collect();
                let taken = members
                    .iter()
                    .any(|&s| self.next[s][l].is_some_and(|t| inside(t as usize)));
                match self.fair[l] {
                    Fairness::Unfair => true,
                    Fairness::Weak => taken || !enabled.iter().all(|&e| e),
                    Fairness::Strong => taken || !enabled.iter().any(|&e| e),
                }
            })
        })
    }
}

/// The engine against brute force on 3,000 random graphs of up to 7 states and 3 actions with
/// random fairness: the same verdict every time, and every lasso re-checks.
#[test]
fn the_engine_agrees_with_brute_force_on_random_graphs() {
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut rand = move |k: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % k
    };
    let (mut violated, mut holds) = (0, 0);
    for _ in 0..3000 {
        let n = 2 + rand(6) as usize;
        let labels = 1 + rand(3) as usize;
        let model = Random {
            next: (0..n)
                .map(|_| {
                    (0..labels)
                        .map(|_| (rand(3) > 0).then(|| rand(n as u64) as u8))
                        .collect()
                })
                .collect(),
            fair: (0..labels)
                .map(|_| [Fairness::Unfair, Fairness::Weak, Fairness::Strong][rand(3) as usize])
                .collect(),
            goal: (0..n).map(|_| rand(4) == 0).collect(),
        };
        let expected = model.violated();
        let m = Bound {
            model: model.clone(),
            describe: Plain,
            symmetry: None,
            reduction: None,
            fairness: |m: &Random, l: &u8| m.fair[*l as usize],
            leads_to: vec![],
            bounds: None,
        };
        let run = m.check(&CheckOptions::default(), &mut |_| {});
        let verdict = &run.results[0].verdict;
        if expected {
            violated += 1;
            assert_eq!(verdict, &Verdict::Violated, "{model:?}");
            let trace = run.results[0].trace.as_ref().unwrap();
            assert_eq!(m.replay(trace, "goal"), Ok(Verdict::Violated));
        } else {
            holds += 1;
            assert_eq!(verdict, &Verdict::Holds, "{model:?}");
        }
    }
    assert!(
        violated > 500 && holds > 500,
        "{violated} violated, {holds} hold"
    );
}

/// Runs may stutter, as in TLA+: where only an unfair action (a fault, say a recovery that need
/// not happen) is possible, a run may stay forever; weak fairness of the action forces it.
#[test]
fn an_unfair_action_is_never_forced_even_when_it_is_the_only_step() {
    let bound = |fair: Fairness| Bound {
        model: Random {
            next: vec![vec![Some(1)], vec![None]],
            fair: vec![fair],
            goal: vec![false, true],
        },
        describe: Plain,
        symmetry: None,
        reduction: None,
        fairness: |m: &Random, l: &u8| m.fair[*l as usize],
        leads_to: vec![],
        bounds: None,
    };
    let unfair = bound(Fairness::Unfair);
    let theirs = unfair.model.clone().checker().spawn_bfs().join();
    assert!(theirs.discovery("goal").is_none());
    let run = unfair.check(&CheckOptions::default(), &mut |_| {});
    assert_eq!(run.results[0].verdict, Verdict::Violated);
    let trace = run.results[0].trace.as_ref().unwrap();
    assert!(trace.steps.is_empty() && trace.loop_start.is_none());
    assert_eq!(unfair.replay(trace, "goal"), Ok(Verdict::Violated));
    let err = bound(Fairness::Weak).replay(trace, "goal").unwrap_err();
    assert!(err.reason.contains("cannot stop"), "{err}");

    let run = bound(Fairness::Weak).check(&CheckOptions::default(), &mut |_| {});
    assert_eq!(run.results[0].verdict, Verdict::Holds);
}

/// Two processes pass a token back and forth (`Pass(i)`: `i` has it); the one without it may
/// `Leave(i)`, which ends the run (the goal). Swapping the processes is a symmetry, so the
/// reduced graph has one state with a self-loop labelled `Pass(0)`, where `Leave(1)` is
/// enabled and never taken. In the real run neither `Leave` stays enabled (each process holds
/// the token every other step), so under weak fairness the endless passing is fair and
/// `done` is violated; under strong fairness it is not. Judging fairness by the reduced
/// graph's labels would answer `holds` in both.
#[derive(Clone)]
struct Token {
    leave: Fairness,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum TokenStep {
    Pass(u8),
    Leave(u8),
}

/// `Some(i)`: process `i` holds the token; `None`: a process left.
type TokenState = Option<u8>;

impl Model for Token {
    type State = TokenState;
    type Action = TokenStep;
    fn init_states(&self) -> Vec<TokenState> {
        vec![Some(0)]
    }
    fn actions(&self, s: &TokenState, a: &mut Vec<TokenStep>) {
        if let Some(i) = *s {
            a.extend([TokenStep::Pass(i), TokenStep::Leave(1 - i)]);
        }
    }
    fn next_state(&self, _: &TokenState, a: TokenStep) -> Option<TokenState> {
        Some(match a {
            TokenStep::Pass(i) => Some(1 - i),
            TokenStep::Leave(_) => None,
        })
    }
    fn properties(&self) -> Vec<Property<Self>> {
        vec![Property::eventually("done", |_, s: &TokenState| {
            s.is_none()
        })]
    }
}

fn token(leave: Fairness, symmetry: bool) -> Bound<Token, Plain> {
    Bound {
        model: Token { leave },
        describe: Plain,
        // The representative: process 0 holds the token.
        symmetry: symmetry.then_some(|s: &TokenState| s.map(|_| 0)),
        reduction: None,
        fairness: |m: &Token, a: &TokenStep| match a {
            TokenStep::Leave(_) => m.leave,
            TokenStep::Pass(_) => Fairness::Weak,
        },
        leads_to: vec![],
        bounds: None,
    }
}

#[test]
fn fairness_under_symmetry_is_judged_in_the_real_states() {
    for symmetry in [false, true] {
        let opts = CheckOptions {
            symmetry,
            ..CheckOptions::default()
        };
        let weak = token(Fairness::Weak, symmetry).check(&opts, &mut |_| {});
        assert_eq!(weak.stats.unique_states, if symmetry { 2 } else { 3 });
        let r = only(&weak);
        assert_eq!(r.verdict, Verdict::Violated, "symmetry {symmetry}");
        let t = r.trace.as_ref().expect("a lasso");
        assert_eq!(actions(t), ["Pass(0)", "Pass(1)"], "symmetry {symmetry}");
        assert_eq!(t.loop_start, Some(0));
        let strong = token(Fairness::Strong, symmetry).check(&opts, &mut |_| {});
        assert_eq!(only(&strong).verdict, Verdict::Holds, "symmetry {symmetry}");
    }
}

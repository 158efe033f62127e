//! Partial-order reduction (`--por`, issue 20): a brute-force comparison on random small actor
//! systems (the reduced search decides every property as the full one, its traces replay, and
//! a wrong declaration is caught), and the two-phase-commit model's manifest cases keep their
//! verdicts with the reduction on.

use ftcheck::catalog::Catalog;
use ftcheck::engine::{CheckOptions, Discovery, SearchOutcome};
use ftcheck::protocol::guarded::{Faults, GuardedActors, GuardedState};
use ftcheck::protocol::Reduction;
use stateright::actor::{Actor, ActorModel, Id, Network, Out};
use stateright::{Expectation, Model};
use std::borrow::Cow;
use std::sync::Arc;

/// The largest systems whose declaration is also checked by brute force (which explores, from
/// every state where an actor is quiet, all the others' paths).
const VERIFIED: usize = 3_000;

/// splitmix64: the random models are a pure function of their seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce5_e4b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Local states per actor, message values, sending steps per actor.
const LOCAL: usize = 3;
const VALUES: usize = 2;
const SENDS: u8 = 2;

/// What an actor does in local state `s` on input `i` (0: its timer; `1 + v`: message `v`):
/// its next local state and the messages it sends, `(receiver, value)`.
type Rule = (u8, Vec<(usize, u8)>);

/// A random system: per actor, per local state, per input, a rule; which actors have a timer
/// (it fires forever: the state graph has cycles); the properties' atoms.
#[derive(Debug)]
struct Table {
    rules: Vec<Vec<Vec<Rule>>>,
    timer: Vec<bool>,
    /// `never`: an invariant "not (actor a has been in s and actor b in t)"; `ever`: a
    /// reachability property "actor c has been in u"; `alone`: an invariant "actor a has not
    /// been in s".
    never: (usize, u8, usize, u8),
    ever: (usize, u8),
    alone: (usize, u8),
}

impl Table {
    fn random(seed: u64, actors: usize) -> Table {
        let mut r = Rng(seed);
        let rules = (0..actors)
            .map(|me| {
                (0..LOCAL)
                    .map(|_| {
                        (0..=VALUES)
                            .map(|_| {
                                let next = r.below(LOCAL) as u8;
                                let sends = (0..r.below(3))
                                    .map(|_| {
                                        let to = (me + 1 + r.below(actors - 1)) % actors;
                                        (to, r.below(VALUES) as u8)
                                    })
                                    .collect();
                                (next, sends)
                            })
                            .collect()
                    })
                    .collect()
            })
            .collect();
        // Actor 0 has a timer, so something happens; the others one time in three.
        let timer = (0..actors).map(|i| i == 0 || r.below(3) == 0).collect();
        let mut atom = || (r.below(actors), r.below(LOCAL) as u8);
        let (a, s) = atom();
        let (b, t) = atom();
        Table {
            rules,
            timer,
            never: (a, s, b, t),
            ever: atom(),
            alone: atom(),
        }
    }

    /// Can actor `q`, from local state `s` with `sent` sending steps taken, ever send to `p`
    /// (on any inputs)?
    fn may_send(&self, q: usize, s: u8, sent: u8, p: usize) -> bool {
        if sent >= SENDS {
            return false;
        }
        let mut reach = [false; LOCAL];
        let mut todo = vec![s];
        while let Some(s) = todo.pop() {
            if std::mem::replace(&mut reach[s as usize], true) {
                continue;
            }
            for (next, sends) in &self.rules[q][s as usize] {
                if sends.iter().any(|&(to, _)| to == p) {
                    return true;
                }
                todo.push(*next);
            }
        }
        false
    }
}

/// The configuration: the table, and whether the declaration is the wrong one (every actor
/// quiet everywhere).
#[derive(Clone)]
struct Cfg {
    table: Arc<Table>,
    wrong: bool,
}

#[derive(Clone)]
struct RandomActor {
    table: Arc<Table>,
}

/// Local state, the local states visited (a bit each), sending steps taken.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Local {
    s: u8,
    seen: u8,
    sent: u8,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Tick;

impl RandomActor {
    fn apply(&self, me: Id, state: &mut Cow<Local>, input: usize, o: &mut Out<Self>) {
        let (next, sends) = &self.table.rules[usize::from(me)][state.s as usize][input];
        let l = state.to_mut();
        l.s = *next;
        l.seen |= 1 << next;
        if l.sent < SENDS && !sends.is_empty() {
            l.sent += 1;
            for &(to, v) in sends {
                o.send(Id::from(to), v);
            }
        }
    }
}

impl Actor for RandomActor {
    type Msg = u8;
    type State = Local;
    type Timer = Tick;
    type Random = ();
    type Storage = ();

    fn on_start(&self, id: Id, _: &Option<()>, o: &mut Out<Self>) -> Local {
        if self.table.timer[usize::from(id)] {
            o.set_timer(Tick, std::time::Duration::ZERO..std::time::Duration::ZERO);
        }
        Local {
            s: 0,
            seen: 1,
            sent: 0,
        }
    }

    fn on_msg(&self, id: Id, state: &mut Cow<Local>, _: Id, msg: u8, o: &mut Out<Self>) {
        self.apply(id, state, 1 + msg as usize, o);
    }

    fn on_timeout(&self, id: Id, state: &mut Cow<Local>, _: &Tick, o: &mut Out<Self>) {
        self.apply(id, state, 0, o);
        o.set_timer(Tick, std::time::Duration::ZERO..std::time::Duration::ZERO);
    }
}

type System = GuardedActors<RandomActor, Cfg, ()>;
type SystemState = GuardedState<RandomActor, ()>;

fn has_been(state: &SystemState, (a, s): (usize, u8)) -> bool {
    state.actor_states[a].seen & (1 << s) != 0
}

/// Actor `p` is quiet when no other actor may ever send to it (every property reads only
/// what actors have visited, which no step undoes; there are no guards).
fn quiet(cfg: &Cfg, state: &SystemState, p: Id) -> bool {
    let p = usize::from(p);
    cfg.wrong
        || (0..state.actor_states.len()).filter(|&q| q != p).all(|q| {
            let l = &state.actor_states[q];
            !cfg.table.may_send(q, l.s, l.sent, p)
        })
}

fn system(seed: u64, wrong: bool) -> System {
    let actors = 2 + (seed % 2) as usize;
    let table = Arc::new(Table::random(seed, actors));
    let network = match seed % 4 {
        0 => Network::new_ordered([]),
        1 => Network::new_unordered_duplicating([]),
        _ => Network::new_unordered_nonduplicating([]),
    };
    let mut model = ActorModel::new(
        Cfg {
            table: table.clone(),
            wrong,
        },
        (),
    )
    .init_network(network);
    for _ in 0..actors {
        model = model.actor(RandomActor {
            table: table.clone(),
        });
    }
    // Every fifth system may lose a message, every fifth restart an actor (to its start):
    // nothing is reduced until the fault is spent.
    let faults = match seed % 5 {
        3 => Some(Faults {
            omissions: 1,
            ..Faults::default()
        }),
        4 => Some(Faults {
            restarts: 1,
            ..Faults::default()
        }),
        _ => None,
    };
    let model = GuardedActors::new(model, None);
    let model = match faults {
        Some(budget) => model.faults(budget),
        None => model,
    };
    model
        .independence(quiet)
        .property(Expectation::Always, "never", |m, s| {
            let (a, x, b, y) = m.inner.cfg.table.never;
            !(has_been(s, (a, x)) && has_been(s, (b, y)))
        })
        .property(Expectation::Sometimes, "ever", |m, s| {
            has_been(s, m.inner.cfg.table.ever)
        })
        .property(Expectation::Always, "alone", |m, s| {
            !has_been(s, m.inner.cfg.table.alone)
        })
        // Never decided: both searches explore all they reach, so their counts compare.
        .property(Expectation::Always, "true", |_, _| true)
}

fn search(model: &System, reduce: bool, threads: usize) -> SearchOutcome {
    let opts = CheckOptions {
        threads,
        por: reduce,
        liveness: false,
        ..CheckOptions::default()
    };
    let reduction: Option<Reduction<System>> = model.reduction();
    ftcheck::engine::search(model, None, reduction, &opts, None, &mut |_| {})
}

/// What each property's search found: whether, and the trace's last state re-checked.
fn decided(model: &System, out: &SearchOutcome) -> Vec<bool> {
    let properties = model.properties();
    out.discoveries
        .iter()
        .zip(&properties)
        .map(|(found, p)| {
            let path = match found {
                None => return false,
                Some(Discovery::Trace(path)) => path,
                Some(Discovery::Unconfirmed) => panic!("an unconfirmed trace of {}", p.name),
            };
            let (init, steps) = ftcheck::engine::rebuild(model, path)
                .unwrap_or_else(|n| panic!("step {n} of a trace does not apply"));
            let last = steps.last().map_or(&init, |(_, s)| s);
            let holds = (p.condition)(model, last);
            assert_eq!(
                holds,
                p.expectation == Expectation::Sometimes,
                "the trace of {} does not end where it decides it",
                p.name
            );
            true
        })
        .collect()
}

/// On 300 random systems of 2 or 3 actors (FIFO, set and multiset networks, timers that fire
/// forever, so cycles; a loss or a restart in two fifths of them): the reduced search decides each property as the full one, every
/// trace it finds replays to a state that decides it, it never has more states, its counts
/// are the same on 1 and 2 threads, and the declaration passes the kit's brute-force check.
/// The reduction is not idle: it removes states from most systems, and from some by half.
#[test]
fn the_reduced_search_decides_every_property_as_the_full_one_on_random_systems() {
    let (mut smaller, mut halved, mut violated, mut reached) = (0, 0, 0, 0);
    let mut verified = 0;
    for seed in 0..300 {
        let model = system(seed, false);
        let full = search(&model, false, 1);
        if full.stats.unique_states <= VERIFIED {
            model
                .verify_independence(VERIFIED)
                .unwrap_or_else(|why| panic!("seed {seed}: {why}"));
            verified += 1;
        }
        let reduced = search(&model, true, 1);
        assert!(full.stopped.is_none() && reduced.stopped.is_none());
        let (a, b) = (decided(&model, &full), decided(&model, &reduced));
        assert_eq!(a, b, "seed {seed}: {:?}", model.inner.cfg.table);
        let (n, m) = (full.stats.unique_states, reduced.stats.unique_states);
        assert!(m <= n, "seed {seed}: {m} reduced states, {n} in full");
        assert_eq!(
            search(&model, true, 2).stats.unique_states,
            m,
            "seed {seed}"
        );
        smaller += usize::from(m < n);
        halved += usize::from(2 * m <= n);
        violated += usize::from(a[0] || a[2]);
        reached += usize::from(a[1]);
    }
    // The exact tallies of these 300 systems, a regression oracle.
    assert_eq!(
        (smaller, halved, violated, reached, verified),
        (206, 20, 252, 233, 257)
    );
}

/// The comparison has teeth: declaring every actor quiet everywhere makes the reduced search
/// miss what the full one finds on some systems, and the kit's brute-force check refutes the
/// declaration on each of those.
#[test]
fn a_wrong_declaration_misses_violations_and_is_refuted() {
    let mut missed = 0;
    for seed in 0..300 {
        let model = system(seed, true);
        let (a, b) = (
            decided(&model, &search(&model, false, 1)),
            decided(&model, &search(&model, true, 1)),
        );
        if a != b {
            missed += 1;
            assert!(model.verify_independence(1_000_000).is_err(), "seed {seed}");
        }
    }
    assert_eq!(missed, 5);
}

/// Every BFS case of the two-phase-commit manifest keeps its verdicts with `--por` (liveness
/// is then not checked; state counts and trace lengths are not compared: the reduction changes
/// them). Symmetry cases run without symmetry, which does not combine with the reduction.
#[test]
fn the_two_phase_commit_manifest_keeps_its_verdicts_with_the_reduction() {
    let catalog = Catalog::builtin();
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("checks/two-phase-commit.toml");
    let manifest = ftcheck::suite::load(&path).unwrap();
    let liveness = ["termination"];
    let mut ran = 0;
    for case in &manifest.cases {
        if case
            .engine
            .is_some_and(|e| e != ftcheck::engine::Engine::Bfs)
            || case.max_states.is_some()
        {
            continue;
        }
        let mut case = case.clone();
        case.por = true;
        case.symmetry = false;
        case.liveness = false;
        case.unique_states = None;
        case.trace_lengths.clear();
        for p in liveness {
            case.expect.insert(p.into(), "not-checked".into());
        }
        let id = format!("two-phase-commit/{}", case.name);
        let outcome =
            ftcheck::suite::run_case(&catalog, &manifest, &case, id.clone(), None).unwrap();
        assert!(outcome.problems.is_empty(), "{id}: {:?}", outcome.problems);
        ran += 1;
    }
    assert_eq!(ran, 26);
}

fn ftcheck() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("ftcheck").unwrap();
    c.env("FTCHECK_PROGRESS_SECS", "3600");
    c
}

/// `check --por` on two-phase-commit: the reduced count and what the report says of it; the
/// same count on 2 threads.
#[test]
fn check_por_reports_the_reduction() {
    for threads in ["1", "2"] {
        let out = ftcheck()
            .args(["check", "two-phase-commit", "--por", "--threads", threads])
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        assert_eq!(out.status.code(), Some(0), "{text}");
        assert!(text.contains("states: 158242 unique"), "{text}");
        assert!(
            text.contains("partial-order reduction: 58277 of the 158242 states expanded by a persistent set only"),
            "{text}"
        );
        assert!(
            text.contains("termination            liveness      not-checked (partial-order reduction keeps a part of the state graph; check liveness without --por)"),
            "{text}"
        );
    }
}

/// `--por` where it does not apply is bad input: one line, exit 2.
#[test]
fn por_where_it_does_not_apply_is_refused_in_one_line() {
    let cases: [(&[&str], &str); 4] = [
        (
            &["check", "raft", "--por"],
            "model 'raft' declares no partial-order reduction; drop --por",
        ),
        (
            &["check", "two-phase-commit", "--por", "--symmetry"],
            "--por and --symmetry do not combine; use one",
        ),
        (
            &["check", "two-phase-commit", "--por", "--engine", "dfs"],
            "--por reduces the BFS in one process; drop --engine, --shard and --workers",
        ),
        (
            &["check", "two-phase-commit", "--por", "--workers", "2"],
            "--por reduces the BFS in one process; drop --engine, --shard and --workers",
        ),
    ];
    for (args, message) in cases {
        let out = ftcheck().args(args).output().unwrap();
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err, format!("ftcheck: error: {message}\n"), "{args:?}");
    }
}

//! The verification suite under `cargo test`: every quick case of `checks/*.toml`, plus the
//! regression tests of the engine (each named after the stateright defect it pins) and the
//! trace round trip.

use ftcheck::catalog::{Assignment, Catalog};
use ftcheck::check::{self, CheckRequest};
use ftcheck::engine::{self, CheckOptions, Engine};
use ftcheck::runner::Verdict;
use ftcheck::suite::{self, Selection};
use ftcheck::trace;
use std::path::Path;

fn checks_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/checks"))
}

#[test]
fn quick_cases_match_their_manifests() {
    let outcomes = suite::run(
        &Catalog::builtin(),
        checks_dir(),
        &Selection {
            quick_only: true,
            ..Selection::default()
        },
        &mut |o| println!("{}", suite::table_line(o)),
    )
    .expect("manifests load");
    assert!(
        outcomes.len() >= 20,
        "only {} quick cases ran",
        outcomes.len()
    );
    let failed: Vec<String> = outcomes
        .iter()
        .filter(|o| !o.passed())
        .map(suite::table_line)
        .collect();
    assert!(
        failed.is_empty(),
        "cases differ from manifests:\n{}",
        failed.join("\n")
    );
}

#[test]
fn every_variant_of_every_model_is_a_case_expected_violated() {
    for entry in Catalog::builtin().entries().to_vec() {
        let manifest = suite::load(&checks_dir().join(format!("{}.toml", entry.name)))
            .unwrap_or_else(|e| panic!("{}: {e}", entry.name));
        for v in &entry.variants {
            let refuted = manifest.cases.iter().any(|c| {
                c.variant.as_deref() == Some(v.name) && c.expect.values().any(|e| e == "violated")
            });
            assert!(
                refuted,
                "{} variant {} has no case expecting a violation",
                entry.name, v.name
            );
        }
        for p in entry.properties() {
            if p.kind == ftcheck::runner::PropertyKind::Reachability {
                let reached = manifest.cases.iter().any(|c| {
                    c.variant.is_none()
                        && c.expect.get(&p.name).map(String::as_str) == Some("reached")
                });
                assert!(
                    reached,
                    "{} reachability {} is never expected reached",
                    entry.name, p.name
                );
            }
        }
    }
}

/// Every liveness property of the catalog is decided (holds or violated) by some quick case.
#[test]
fn every_liveness_property_has_a_verdict_in_a_quick_case() {
    for entry in Catalog::builtin().entries().to_vec() {
        let manifest = suite::load(&checks_dir().join(format!("{}.toml", entry.name))).unwrap();
        for p in entry.properties() {
            if p.kind != ftcheck::runner::PropertyKind::Liveness {
                continue;
            }
            let decided = |v: &str| {
                manifest
                    .cases
                    .iter()
                    .any(|c| c.quick && c.expect.get(&p.name).map(String::as_str) == Some(v))
            };
            assert!(
                decided("holds") || decided("violated"),
                "{} liveness {} is never decided by a quick case",
                entry.name,
                p.name
            );
        }
    }
}

#[test]
fn suite_fails_when_a_manifest_count_or_verdict_is_changed() {
    let path = checks_dir().join("transaction-commit.toml");
    let manifest = suite::load(&path).unwrap();
    let case = manifest
        .cases
        .iter()
        .find(|c| c.name == "rms-3")
        .unwrap()
        .clone();
    let run = |case: &suite::Case| {
        suite::run_case(&Catalog::builtin(), &manifest, case, "x".into(), None).unwrap()
    };
    let ok = run(&case);
    assert!(ok.passed(), "{:?}", ok.problems);

    let mut wrong_count = case.clone();
    wrong_count.unique_states = Some(289);
    let out = run(&wrong_count);
    assert_eq!(
        out.problems,
        vec!["expected 289 unique states, got 288".to_string()]
    );

    let mut wrong_verdict = case.clone();
    wrong_verdict
        .expect
        .insert("TCConsistent".into(), "violated".into());
    let out = run(&wrong_verdict);
    assert_eq!(
        out.problems,
        vec!["property TCConsistent: expected violated, got holds".to_string()]
    );

    // A verdict the property's kind never has, even as a moot alternative.
    let mut wrong_kind = case.clone();
    wrong_kind
        .expect
        .insert("TCConsistent".into(), "holds|reached".into());
    let out = run(&wrong_kind);
    assert_eq!(
        out.problems,
        vec![
            "property TCConsistent is a safety property, which is never reached; fix the manifest"
                .to_string()
        ]
    );

    // Every run checks safety: not-checked is liveness's alone.
    wrong_kind
        .expect
        .insert("TCConsistent".into(), "not-checked".into());
    let out = run(&wrong_kind);
    assert!(
        out.problems[0].contains("is a safety property, which is never not-checked"),
        "{:?}",
        out.problems
    );

    let mut wrong_length = case.clone();
    wrong_length.trace_lengths.insert("abort-reached".into(), 4);
    let out = run(&wrong_length);
    assert_eq!(
        out.problems,
        vec!["property abort-reached: expected a trace of 4 steps, got 3".to_string()]
    );

    let mut missing = case;
    missing.expect.remove("TypeOK");
    let out = run(&missing);
    assert_eq!(
        out.problems,
        vec!["property TypeOK is holds but the manifest does not list it".to_string()]
    );
}

/// ftcheck's BFS and stateright's checkers explore the same state space.
#[test]
fn engine_agrees_with_stateright_on_state_counts() {
    use ftcheck::protocol::{Params, Protocol};
    use stateright::{Checker, Model};
    fn both<M>(model: M) -> usize
    where
        M: Model + Clone + Send + Sync + 'static,
        M::State: Clone + std::fmt::Debug + std::hash::Hash + PartialEq + Send + Sync,
        M::Action: Clone + std::fmt::Debug + PartialEq + std::hash::Hash + Send + Sync,
    {
        let theirs = model
            .clone()
            .checker()
            .spawn_bfs()
            .join()
            .unique_state_count();
        let ours = ftcheck::engine::search(
            &model,
            None,
            None,
            &CheckOptions::default(),
            None,
            &mut |_| {},
        );
        assert_eq!(ours.stats.unique_states, theirs);
        assert!(ours.stopped.is_none());
        theirs
    }
    for rms in 1..=6 {
        both(ftcheck_models::transaction_commit::TransactionCommit { rms });
    }
    let build = |name: &str, params: &[&str]| -> Params {
        let params = assignments(params);
        Catalog::builtin()
            .find(name)
            .unwrap()
            .clone()
            .parse_params(&params)
            .unwrap()
    };
    let tpc = build("two-phase-commit", &["participants=2"]);
    let tpc = ftcheck_models::two_phase_commit::TwoPhaseCommit::build(&tpc, None);
    assert_eq!(both(tpc.clone()), 1909);
    // Counted on full states (`Eq`, not fingerprints): stateright's own hash of actor states
    // made 9 of these collide (1,900), which `GuardedState` fixes.
    let mut seen = std::collections::HashSet::new();
    let mut todo = tpc.init_states();
    while let Some(s) = todo.pop() {
        if seen.insert(s.clone()) {
            todo.extend(
                tpc.next_states(&s)
                    .into_iter()
                    .filter(|n| tpc.within_boundary(n)),
            );
        }
    }
    assert_eq!(seen.len(), 1909);
    let raft = build("raft", &["max-term=1"]);
    assert_eq!(both(ftcheck_models::raft::Raft::build(&raft, None)), 3617);
    let paxos = build("paxos", &["clients=1"]);
    assert_eq!(
        both(ftcheck_models::paxos::Paxos::build(&paxos, None)),
        4805
    );
    let pbft = build("pbft", &["views=1"]);
    assert_eq!(both(ftcheck_models::pbft::Pbft::build(&pbft, None)), 23717);
}

/// A grid walker: x and y grow to 20.
#[derive(Clone)]
struct Grid {
    unsatisfiable_extra: bool,
}

impl stateright::Model for Grid {
    type State = (u8, u8);
    type Action = u8;
    fn init_states(&self) -> Vec<(u8, u8)> {
        vec![(0, 0)]
    }
    fn actions(&self, s: &(u8, u8), a: &mut Vec<u8>) {
        if s.0 < 20 {
            a.push(0);
        }
        if s.1 < 20 {
            a.push(1);
        }
    }
    fn next_state(&self, s: &(u8, u8), a: u8) -> Option<(u8, u8)> {
        Some(if a == 0 {
            (s.0 + 1, s.1)
        } else {
            (s.0, s.1 + 1)
        })
    }
    fn properties(&self) -> Vec<stateright::Property<Self>> {
        let mut p = vec![stateright::Property::always(
            "small",
            |_: &Self, s: &(u8, u8)| s.0 + s.1 < 3,
        )];
        if self.unsatisfiable_extra {
            p.push(stateright::Property::sometimes(
                "never",
                |_: &Self, _: &(u8, u8)| false,
            ));
        }
        p
    }
}

/// stateright 0.31's BFS overwrites a discovery with later states: with one extra unsatisfiable
/// property, a 3-step violation came back as a 40-step path. ftcheck's BFS keeps the first.
#[test]
fn bfs_returns_the_shortest_counterexample_with_an_unsatisfiable_extra_property() {
    for extra in [false, true] {
        let out = ftcheck::engine::search(
            &Grid {
                unsatisfiable_extra: extra,
            },
            None,
            None,
            &CheckOptions::default(),
            None,
            &mut |_| {},
        );
        let Some(engine::Discovery::Trace(path)) = &out.discoveries[0] else {
            panic!("violation found: {:?}", out.discoveries[0]);
        };
        assert_eq!(path.actions.len(), 3, "extra property: {extra}");
        let (_, steps) = engine::rebuild(
            &Grid {
                unsatisfiable_extra: extra,
            },
            path,
        )
        .unwrap();
        let last = steps.last().unwrap().1;
        assert_eq!(last.0 + last.1, 3);
        if extra {
            assert_eq!(
                out.stats.unique_states,
                21 * 21,
                "runs on for the open property"
            );
            assert!(out.discoveries[1].is_none());
        }
    }
}

/// stateright 0.31's BFS silently ignores `symmetry()`. ftcheck's honours it.
#[test]
fn bfs_honours_symmetry() {
    let entry = Catalog::builtin()
        .find("transaction-commit")
        .unwrap()
        .clone();
    let model = entry.build(&entry.parse_params(&[]).unwrap(), None);
    let plain = model.check(&CheckOptions::default(), &mut |_| {});
    let reduced = model.check(
        &CheckOptions {
            symmetry: true,
            ..CheckOptions::default()
        },
        &mut |_| {},
    );
    assert_eq!(plain.stats.unique_states, 288);
    assert_eq!(reduced.stats.unique_states, 80);
}

/// Symmetry reduction changes no verdict and no shortest trace: every symmetry case of the
/// manifests expects what the same configuration without symmetry expects (liveness included:
/// its lassos are found in the reduced graph and decided in the real states), and the quick
/// cases check both against the engine.
#[test]
fn symmetry_cases_expect_what_their_unreduced_twins_expect() {
    let mut pairs = 0;
    for entry in Catalog::builtin().entries().to_vec() {
        let manifest = suite::load(&checks_dir().join(format!("{}.toml", entry.name))).unwrap();
        let liveness: Vec<String> = entry
            .properties()
            .into_iter()
            .filter(|p| p.kind == ftcheck::runner::PropertyKind::Liveness)
            .map(|p| p.name)
            .collect();
        let config = |c: &suite::Case| {
            format!(
                "{:?}",
                (
                    &c.params,
                    &c.variant,
                    c.engine,
                    c.max_states,
                    c.max_depth,
                    c.liveness
                )
            )
        };
        for case in manifest.cases.iter().filter(|c| c.symmetry) {
            let Some(twin) = manifest
                .cases
                .iter()
                .find(|t| !t.symmetry && config(t) == config(case))
            else {
                continue;
            };
            pairs += 1;
            assert_eq!(case.expect, twin.expect, "{}/{}", entry.name, case.name);
            let shortest = |c: &suite::Case| {
                c.trace_lengths
                    .iter()
                    .filter(|(p, _)| !liveness.contains(p))
                    .map(|(p, n)| (p.clone(), *n))
                    .collect::<Vec<_>>()
            };
            if case.engine.unwrap_or(Engine::Bfs) == Engine::Bfs {
                assert_eq!(
                    shortest(case),
                    shortest(twin),
                    "{}/{}",
                    entry.name,
                    case.name
                );
            }
        }
    }
    assert!(pairs >= 12, "only {pairs} symmetry cases have a twin");
}

/// A simulation never proves anything: undecided properties are incomplete, never `holds`.
#[test]
fn simulation_never_reports_holds() {
    let req = CheckRequest {
        model: "transaction-commit".into(),
        options: CheckOptions {
            engine: Engine::Simulation,
            max_states: Some(500),
            ..CheckOptions::default()
        },
        ..CheckRequest::default()
    };
    let report = check::check(&Catalog::builtin(), &req, &mut |_| {}).unwrap();
    for r in &report.results {
        assert_ne!(r.verdict.name(), "holds", "{}", r.name);
    }
    assert_eq!(report.results[0].verdict.name(), "incomplete");
    assert_eq!(report.exit_code, check::EXIT_INCOMPLETE);
}

#[test]
fn bounded_searches_are_incomplete_never_holds() {
    for (max_states, max_depth) in [(Some(100), None), (None, Some(3))] {
        let req = CheckRequest {
            model: "two-phase-commit".into(),
            options: CheckOptions {
                max_states,
                max_depth,
                ..CheckOptions::default()
            },
            ..CheckRequest::default()
        };
        let report = check::check(&Catalog::builtin(), &req, &mut |_| {}).unwrap();
        let verdicts: Vec<&str> = report.results.iter().map(|r| r.verdict.name()).collect();
        assert_eq!(
            verdicts,
            [
                "incomplete",
                "incomplete",
                "incomplete",
                "incomplete",
                "incomplete",
                "incomplete",
                "incomplete"
            ],
            "{max_states:?} {max_depth:?}"
        );
        assert_eq!(report.exit_code, check::EXIT_INCOMPLETE);
    }
}

/// A memory budget stops the search before it is spent: `incomplete (max-memory ...)`, never
/// a kill; a budget the search stays within changes nothing.
#[test]
fn a_memory_budget_stops_the_search_with_incomplete() {
    let run = |budget: &str| {
        let req = CheckRequest {
            model: "transaction-commit".into(),
            params: assignments(&["rms=8"]),
            options: CheckOptions {
                max_memory: Some(engine::parse_size(budget).unwrap()),
                ..CheckOptions::default()
            },
            ..CheckRequest::default()
        };
        check::check(&Catalog::builtin(), &req, &mut |_| {}).unwrap()
    };
    let small = run("40M");
    assert_eq!(small.stopped.as_deref(), Some("max-memory 40 MiB"));
    assert_eq!(small.results[0].verdict.name(), "incomplete");
    assert_eq!(small.exit_code, check::EXIT_INCOMPLETE);
    assert!(small.stats.unique_states < 1_745_408);
    let large = run("8G");
    assert_eq!(large.stopped, None);
    assert_eq!(large.stats.unique_states, 1_745_408);
    assert_eq!(large.results[0].verdict.name(), "holds");
    assert_eq!(engine::parse_size("1.5G"), Ok(3 << 29));
    assert_eq!(engine::parse_size("512MiB"), Ok(512 << 20));
    assert!(engine::parse_size("0").is_err());
}

/// A violation is written, replayed with the same verdict; a tampered trace is rejected at the
/// step that was changed.
#[test]
fn trace_round_trip_and_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let req = CheckRequest {
        model: "two-phase-commit".into(),
        variant: Some("ready-timeout-abort".into()),
        trace_dir: Some(dir.path().to_path_buf()),
        ..CheckRequest::default()
    };
    let report = check::check(&Catalog::builtin(), &req, &mut |_| {}).unwrap();
    assert_eq!(report.exit_code, check::EXIT_SAFETY);
    let file = dir
        .path()
        .join("two-phase-commit-ready-timeout-abort-atomicity.trace.json");
    let replayed = trace::replay(&Catalog::builtin(), &file).expect("replays");
    assert_eq!(replayed.verdict, Verdict::Violated);
    assert_eq!(replayed.steps, 12);
    let mmd = std::fs::read_to_string(
        dir.path()
            .join("two-phase-commit-ready-timeout-abort-atomicity.mmd"),
    )
    .unwrap();
    assert!(mmd.starts_with("sequenceDiagram\n    participant A0 as coordinator\n"));
    assert!(mmd.contains("A0->>A1: 1. VoteRequest"));
    assert!(mmd
        .trim_end()
        .ends_with("safety property atomicity violated after 12 steps"));

    let original: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let tampered = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut v = original.clone();
        edit(&mut v);
        let path = dir.path().join("tampered.trace.json");
        std::fs::write(&path, serde_json::to_string(&v).unwrap()).unwrap();
        trace::replay(&Catalog::builtin(), &path)
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    // Another action at step 5: that of step 6.
    let err = tampered(&|v| {
        v["steps"][4]["action"] = v["steps"][5]["action"].clone();
    })
    .unwrap_err();
    assert!(err.contains("diverges at step 5"), "{err}");
    // Another action index alone is the same trace: the index is a hint, the action's text
    // decides (a model that enumerates a hash set orders its actions by the process's seed).
    tampered(&|v| {
        let i = v["steps"][4]["action_index"].as_u64().unwrap();
        v["steps"][4]["action_index"] = (if i == 0 { 1 } else { 0 }).into();
    })
    .unwrap();
    // A recorded state changed at step 9.
    let err =
        tampered(&|v| v["steps"][8]["state"]["actors"][0]["crashed"] = true.into()).unwrap_err();
    assert!(
        err.contains("diverges at step 9: the resulting state differs"),
        "{err}"
    );
    // The trace cut short: the property no longer violated at its end.
    let err = tampered(&|v| {
        v["steps"].as_array_mut().unwrap().truncate(3);
    })
    .unwrap_err();
    assert!(
        err.contains("replayed 3 steps, but property 'atomicity' holds"),
        "{err}"
    );
    // A trace presented as another model's.
    let err = tampered(&|v| v["model"] = "transaction-commit".into()).unwrap_err();
    assert!(err.contains("has no parameter 'crashes'"), "{err}");
    // Not a trace at all.
    let err = tampered(&|v| *v = serde_json::json!({"format": "x"})).unwrap_err();
    assert!(err.contains("not an ftcheck trace"), "{err}");
}

/// The exit codes of the README.
#[test]
fn exit_code_precedence() {
    use ftcheck::runner::PropertyKind;
    let r = |kind, verdict: Verdict| check::ResultRow {
        name: "p".into(),
        kind,
        verdict: verdict.outcome(),
        reason: None,
        bound: match verdict {
            Verdict::Bounded { bound } => Some(bound),
            _ => None,
        },
        trace_length: None,
        minimized_from: None,
        trace_files: Vec::new(),
        part_verdict: None,
    };
    let incomplete = || Verdict::Incomplete { reason: "x".into() };
    assert_eq!(
        check::exit_code(&[r(PropertyKind::Safety, Verdict::Holds)]),
        0
    );
    assert_eq!(
        check::exit_code(&[
            r(PropertyKind::Safety, incomplete()),
            r(PropertyKind::Safety, Verdict::Violated)
        ]),
        12
    );
    assert_eq!(
        check::exit_code(&[
            r(PropertyKind::Reachability, Verdict::Unreached),
            r(PropertyKind::Liveness, Verdict::Violated)
        ]),
        13
    );
    assert_eq!(
        check::exit_code(&[
            r(PropertyKind::Safety, incomplete()),
            r(PropertyKind::Reachability, Verdict::Unreached)
        ]),
        14
    );
    assert_eq!(
        check::exit_code(&[r(PropertyKind::Safety, incomplete())]),
        3
    );
    assert_eq!(
        check::exit_code(&[r(
            PropertyKind::Liveness,
            Verdict::NotChecked { reason: "x".into() }
        )]),
        0
    );
    // A fair run that only a model bound blocks: the search was exhaustive, exit 0.
    let bounded = || Verdict::Bounded {
        bound: "max-term".into(),
    };
    assert_eq!(check::exit_code(&[r(PropertyKind::Liveness, bounded())]), 0);
    assert_eq!(
        check::exit_code(&[
            r(PropertyKind::Liveness, bounded()),
            r(PropertyKind::Liveness, incomplete())
        ]),
        3
    );
}

#[test]
fn mermaid_escapes_semicolons_hashes_and_end() {
    assert_eq!(trace::mermaid_escape("a;b#c"), "a#59;b#35;c");
    assert_eq!(
        trace::mermaid_escape("the end, endless"),
        "the (end), endless"
    );
}

/// Saved counterexamples (`checks/traces/*.trace.json`) still replay with their verdict: a
/// change to a model, to the trace format or to action order shows here. `FTCHECK_BLESS=1`
/// rewrites the Mermaid files beside them (review the diff before committing).
#[test]
fn saved_traces_replay() {
    let dir = checks_dir().join("traces");
    let (mut replayed, mut lassos, mut stops) = (0, 0, 0);
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if !path.to_string_lossy().ends_with(".trace.json") {
            continue;
        }
        let r = trace::replay(&Catalog::builtin(), &path).unwrap_or_else(|e| panic!("{e}"));
        // A liveness run blocked by a model bound is `incomplete (bound: NAME)`.
        let bounded = matches!(&r.verdict, Verdict::Bounded { .. });
        assert!(
            bounded || matches!(r.verdict, Verdict::Violated | Verdict::Reached),
            "{}",
            path.display()
        );
        // The Mermaid file beside it is what `check` writes for it today.
        let mmd = path.with_file_name(
            path.file_name()
                .unwrap()
                .to_string_lossy()
                .replace(".trace.json", ".mmd"),
        );
        if mmd.exists() {
            let file = trace::load(&path).unwrap();
            if std::env::var_os("FTCHECK_BLESS").is_some() {
                // After a deliberate change to the Mermaid output: rewrite, then review the diff.
                std::fs::write(&mmd, trace::mermaid(&file)).unwrap();
            }
            assert_eq!(
                trace::mermaid(&file),
                std::fs::read_to_string(&mmd).unwrap(),
                "{}",
                mmd.display()
            );
        }
        let file = trace::load(&path).unwrap();
        if file.kind == ftcheck::runner::PropertyKind::Liveness {
            match file.trace.loop_start {
                Some(_) => lassos += 1,
                None => stops += 1,
            }
        }
        replayed += 1;
    }
    assert_eq!((replayed, lassos, stops), (47, 1, 7));
}

/// A model with an action that changes nothing, on which stateright 0.31's simulation (which
/// ftcheck's random walks replaced) rebuilt most counterexamples into paths whose last state
/// does not violate the property.
#[derive(Clone)]
struct Counter;

impl stateright::Model for Counter {
    type State = u8;
    type Action = u8;
    fn init_states(&self) -> Vec<u8> {
        vec![0]
    }
    fn actions(&self, s: &u8, a: &mut Vec<u8>) {
        if *s < 10 {
            a.extend([0, 1, 2]);
        }
    }
    fn next_state(&self, s: &u8, a: u8) -> Option<u8> {
        match a {
            0 => None, // ignored
            1 => Some(s + 1),
            _ => Some(s + 2),
        }
    }
    fn properties(&self) -> Vec<stateright::Property<Self>> {
        vec![stateright::Property::always(
            "below-7",
            |_: &Self, s: &u8| *s < 7,
        )]
    }
}

/// Every trace a simulation reports is re-executed, and its last state violates the property:
/// on every seed, where stateright's simulation failed on most (its traces did not re-execute).
#[test]
fn simulation_traces_are_rechecked_before_they_are_reported() {
    use ftcheck::runner::{Bound, Checkable};
    let model = Bound {
        model: Counter,
        describe: ftcheck::describe::Plain,
        symmetry: None,
        reduction: None,
        fairness: |_, _| ftcheck::protocol::Fairness::Unfair,
        leads_to: vec![],
        bounds: None,
    };
    let (mut violated, mut rejected) = (0, 0);
    for seed in 0..40 {
        let opts = CheckOptions {
            engine: Engine::Simulation,
            max_states: Some(200),
            seed,
            ..CheckOptions::default()
        };
        let run = model.check(&opts, &mut |_| {});
        let below_7 = &run.results[0];
        match &below_7.verdict {
            Verdict::Violated => {
                let trace = below_7.trace.as_ref().expect("a violation has a trace");
                let last = trace
                    .steps
                    .last()
                    .map(|s| &s.state)
                    .unwrap_or(&trace.init_state);
                assert!(
                    last.as_u64().unwrap() >= 7,
                    "seed {seed}: a trace ending in {last}"
                );
                violated += 1;
            }
            Verdict::Incomplete { reason } => {
                if reason.contains("did not re-execute") {
                    rejected += 1;
                }
            }
            other => panic!("seed {seed}: {other}"),
        }
    }
    assert_eq!((violated, rejected), (40, 0));
}

/// The random walks are reproducible: the same seed reports the same trace on one thread and
/// on two, and with a timeout; another seed walks otherwise. (Raft's `forget-vote`: a restarted
/// server votes again in its term.)
#[test]
fn a_seed_gives_the_same_trace_on_any_threads() {
    let run = |seed, threads, timeout| {
        let req = CheckRequest {
            model: "raft".into(),
            variant: Some("forget-vote".into()),
            options: CheckOptions {
                engine: Engine::Simulation,
                seed,
                threads,
                // With a timeout there is no default budget: the walks stop at 60,000 states.
                timeout,
                max_states: timeout.map(|_| 60_000),
                ..CheckOptions::default()
            },
            ..CheckRequest::default()
        };
        let report = check::check(&Catalog::builtin(), &req, &mut |_| {}).unwrap();
        let r = report
            .results
            .iter()
            .find(|r| r.name == "election-safety")
            .unwrap();
        assert_eq!(r.verdict.name(), "violated", "seed {seed}");
        let file = report
            .traces
            .iter()
            .find(|t| t.property == "election-safety")
            .unwrap();
        let steps: Vec<String> = file.trace.steps.iter().map(|s| s.action.clone()).collect();
        steps
    };
    let one = run(3, 1, None);
    assert_eq!(one.len(), SEED_3_FORGET_VOTE_STEPS, "{one:#?}");
    assert_eq!(run(3, 2, None), one);
    assert_eq!(run(3, 1, Some(std::time::Duration::from_secs(600))), one);
    assert_ne!(run(0, 1, None), one);
}

/// `--stop-on-violation` stops every engine at a counterexample and leaves the other safety
/// properties `incomplete`, never `holds`: the BFS at the shortest trace (raft `forget-vote`:
/// 7 steps, after 3,133 states of the 1,707,742), the walks at the same trace as without the
/// flag on any threads, stateright's DFS although its own `Eventually` discoveries come first.
/// A model without a violation is checked to the end, its verdicts unchanged.
#[test]
fn stop_on_violation_stops_every_engine_at_a_counterexample() {
    let run = |model: &str, variant: Option<&str>, engine, threads| {
        let req = CheckRequest {
            model: model.into(),
            variant: variant.map(Into::into),
            options: CheckOptions {
                engine,
                threads,
                seed: 3,
                liveness: false,
                stop_on_violation: true,
                ..CheckOptions::default()
            },
            ..CheckRequest::default()
        };
        check::check(&Catalog::builtin(), &req, &mut |_| {}).unwrap()
    };
    for (engine, threads, steps) in [
        (Engine::Bfs, 1, Some(7)),
        (Engine::Bfs, 2, Some(7)),
        (Engine::Dfs, 1, None),
        (Engine::Simulation, 1, Some(SEED_3_FORGET_VOTE_STEPS)),
        (Engine::Simulation, 2, Some(SEED_3_FORGET_VOTE_STEPS)),
    ] {
        let report = run("raft", Some("forget-vote"), engine, threads);
        let verdicts: Vec<(&str, String)> = report
            .results
            .iter()
            .filter(|r| r.kind.to_string() == "safety")
            .map(|r| {
                let reason = r
                    .reason
                    .as_ref()
                    .map_or(String::new(), |w| format!(" ({w})"));
                (r.name.as_str(), format!("{}{reason}", r.verdict.name()))
            })
            .collect();
        assert_eq!(
            verdicts,
            [
                ("election-safety", "violated".to_string()),
                (
                    "leader-append-only",
                    "incomplete (stop-on-violation)".into()
                ),
                ("log-matching", "incomplete (stop-on-violation)".into()),
                (
                    "leader-completeness",
                    "incomplete (stop-on-violation)".into()
                ),
                (
                    "state-machine-safety",
                    "incomplete (stop-on-violation)".into()
                ),
            ],
            "{engine:?} on {threads} threads"
        );
        if let Some(n) = steps {
            assert_eq!(report.results[0].trace_length, Some(n), "{engine:?}");
        }
        if engine == Engine::Bfs {
            assert_eq!(report.stats.unique_states, 3133);
        }
    }
    let whole = run("two-phase-commit", None, Engine::Bfs, 1);
    assert!(whole.stopped.is_none());
    assert!(whole
        .results
        .iter()
        .all(|r| ["holds", "reached", "not-checked"].contains(&r.verdict.name())));
}

/// stateright's DFS stops at `--max-states` states *generated*, below that many distinct ones:
/// the search is still stopped by the bound, never `holds` (2PC `no-vote-log` is broken).
#[test]
fn a_dfs_stopped_by_max_states_below_its_distinct_count_is_incomplete() {
    let req = CheckRequest {
        model: "two-phase-commit".into(),
        variant: Some("no-vote-log".into()),
        options: CheckOptions {
            engine: Engine::Dfs,
            max_states: Some(2000),
            liveness: false,
            ..CheckOptions::default()
        },
        ..CheckRequest::default()
    };
    let report = check::check(&Catalog::builtin(), &req, &mut |_| {}).unwrap();
    assert!(
        report.stats.unique_states < 2000,
        "{}",
        report.stats.unique_states
    );
    assert!(report
        .results
        .iter()
        .all(|r| !["holds", "unreached"].contains(&r.verdict.name())));
}

/// Walks of depth limit 0 visit the initial states, each once, and stop: no million repeats.
#[test]
fn walks_of_depth_zero_visit_each_initial_state_once() {
    let req = CheckRequest {
        model: "two-phase-commit".into(),
        options: CheckOptions {
            engine: Engine::Simulation,
            max_depth: Some(0),
            ..CheckOptions::default()
        },
        ..CheckRequest::default()
    };
    let report = check::check(&Catalog::builtin(), &req, &mut |_| {}).unwrap();
    assert_eq!(
        (report.stats.unique_states, report.stats.generated_states),
        (1, 1)
    );
    assert!(report.results.iter().all(|r| r.verdict.name() != "holds"));
}

/// The length of the trace seed 3 finds for raft's `forget-vote` (the shortest is 7 steps).
const SEED_3_FORGET_VOTE_STEPS: usize = 11;

/// `ftcheck table rpc-semantics` computes, by exhaustive search of every combination, the
/// lecture's table of outcomes; it must equal the lecture's, cell by cell, and no strategy pair
/// is `OK` alone when the crash may fall anywhere.
#[test]
fn rpc_semantics_table_equals_the_lectures() {
    let text = std::fs::read_to_string(checks_dir().join("data/rpc-semantics-table.txt")).unwrap();
    let mut lines = text.lines().filter(|l| !l.starts_with('#'));
    let orderings: Vec<&str> = lines.next().unwrap().split_whitespace().skip(1).collect();
    let t = ftcheck::table::table(
        &Catalog::builtin(),
        "rpc-semantics",
        "client",
        &["server".into(), "ordering".into()],
        &[],
    )
    .unwrap();
    let mut compared = 0;
    for line in lines {
        let mut words = line.split_whitespace();
        let client = words.next().unwrap();
        let r = t.rows.iter().position(|x| x == client).unwrap();
        for (ordering, expected) in orderings.iter().zip(words) {
            let c = t
                .cols
                .iter()
                .position(|x| x.ends_with(&format!(" {ordering}")))
                .unwrap_or_else(|| panic!("no column for {ordering}"));
            assert_eq!(
                t.cells[r][c],
                Some(vec![expected.to_string()]),
                "{client} / {}",
                t.cols[c]
            );
            compared += 1;
        }
    }
    assert_eq!(compared, 24);
    for (r, row) in t.rows.iter().zip(&t.cells) {
        for (c, cell) in t.cols.iter().zip(row) {
            if c.ends_with(" any") {
                assert_ne!(cell, &Some(vec!["OK".to_string()]), "{r} / {c}");
            }
        }
    }
    assert_eq!(t.cols.len(), 8); // three orderings and `any` per server strategy
}

/// Sharding loses nothing: for N = 1, 2 and 4, the shards together find every state the whole
/// search finds (the split level's states each in exactly one part), and merging their
/// reports gives every verdict of the whole search with traces of the same (shortest) length.
#[test]
fn shards_together_find_every_state_and_violation() {
    use ftcheck::engine::Shard;
    use std::collections::HashSet;
    let cases: [(&str, &[&str], Option<&str>); 2] = [
        ("transaction-commit", &["rms=5"], None),
        ("pbft", &["views=1"], Some("small-quorum")),
    ];
    for (name, params, variant) in cases {
        let entry = Catalog::builtin().find(name).unwrap().clone();
        let model = entry.build(&entry.parse_params(&assignments(params)).unwrap(), variant);
        let opts = CheckOptions {
            liveness: false,
            ..CheckOptions::default()
        };
        let whole: HashSet<u64> = model.fingerprints(&opts).into_iter().collect();
        let request = |shard| CheckRequest {
            model: name.into(),
            params: assignments(params),
            variant: variant.map(String::from),
            options: CheckOptions {
                shard,
                ..opts.clone()
            },
            ..CheckRequest::default()
        };
        let single = check::check(&Catalog::builtin(), &request(None), &mut |_| {}).unwrap();
        for count in [1u32, 2, 4] {
            let mut union = HashSet::new();
            let (mut parts, mut level) = (0, 0);
            let dir = tempfile::tempdir().unwrap();
            let mut files = Vec::new();
            for index in 1..=count {
                let shard = Some(Shard { index, count });
                let o = CheckOptions {
                    shard,
                    ..opts.clone()
                };
                union.extend(model.fingerprints(&o));
                let report =
                    check::check(&Catalog::builtin(), &request(shard), &mut |_| {}).unwrap();
                let split = report
                    .stats
                    .split
                    .clone()
                    .expect("a level large enough to split");
                parts += split.part_states;
                level = split.level_states;
                let file = dir.path().join(format!("{index}.json"));
                std::fs::write(&file, serde_json::to_string(&report).unwrap()).unwrap();
                files.push(file);
            }
            assert_eq!(parts, level, "each state of the split level in one part");
            assert_eq!(union, whole, "{name} in {count} shards");
            let merged = check::merge(&Catalog::builtin(), &files).unwrap();
            let verdicts = |r: &check::CheckReport| -> Vec<(String, String, Option<usize>)> {
                r.results
                    .iter()
                    .map(|x| (x.name.clone(), x.verdict.name().to_string(), x.trace_length))
                    .collect()
            };
            assert_eq!(
                verdicts(&merged),
                verdicts(&single),
                "{name} in {count} shards"
            );
            assert_eq!(merged.exit_code, single.exit_code);
            assert!(merged.stats.unique_states >= single.stats.unique_states);
            if count == 1 {
                assert_eq!(merged.stats.unique_states, single.stats.unique_states);
            }
        }
    }
}

fn assignments(v: &[&str]) -> Vec<Assignment> {
    v.iter().map(|s| s.parse().unwrap()).collect()
}

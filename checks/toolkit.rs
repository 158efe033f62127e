//! The open toolkit (issue 18): a protocol written outside the built-in catalog, checked
//! through a catalog value; more properties than fit the old 16-bit word; a state that cannot
//! be written as JSON refused as bad input; replay independent of a hash set's order.

use ftcheck::catalog::{Catalog, Entry};
use ftcheck::check::{self, CheckRequest};
use ftcheck::describe::Plain;
use ftcheck::engine::CheckOptions;
use ftcheck::protocol::{NoVariants, ParamKind, ParamSpec, Params, Protocol, Value};
use serde::Serialize;
use stateright::{Model, Property};
use std::collections::BTreeMap;

/// A counter from 0 to `top`, one step at a time, with many properties: `below-K` (always
/// `n <= K`, violated for K < top) and `reaches-K` (sometimes `n == K`).
#[derive(Clone)]
struct Counter {
    top: u8,
}

/// Names of the properties: `below-0`, ..., `reaches-0`, ...
const BELOW: [&str; 24] = [
    "below-0", "below-1", "below-2", "below-3", "below-4", "below-5", "below-6", "below-7",
    "below-8", "below-9", "below-10", "below-11", "below-12", "below-13", "below-14", "below-15",
    "below-16", "below-17", "below-18", "below-19", "below-20", "below-21", "below-22", "below-23",
];
const REACHES: [&str; 24] = [
    "reaches-0",
    "reaches-1",
    "reaches-2",
    "reaches-3",
    "reaches-4",
    "reaches-5",
    "reaches-6",
    "reaches-7",
    "reaches-8",
    "reaches-9",
    "reaches-10",
    "reaches-11",
    "reaches-12",
    "reaches-13",
    "reaches-14",
    "reaches-15",
    "reaches-16",
    "reaches-17",
    "reaches-18",
    "reaches-19",
    "reaches-20",
    "reaches-21",
    "reaches-22",
    "reaches-23",
];

/// `n <= K` and `n == K` as plain functions, one per K.
macro_rules! conditions {
    ($($k:literal)*) => {
        [$(|_: &Counter, n: &u8| *n <= $k),*]
    };
}
macro_rules! equals {
    ($($k:literal)*) => {
        [$(|_: &Counter, n: &u8| *n == $k),*]
    };
}

impl Model for Counter {
    type State = u8;
    type Action = ();
    fn init_states(&self) -> Vec<u8> {
        vec![0]
    }
    fn actions(&self, n: &u8, actions: &mut Vec<()>) {
        if *n < self.top {
            actions.push(());
        }
    }
    fn next_state(&self, n: &u8, _: ()) -> Option<u8> {
        Some(n + 1)
    }
    fn properties(&self) -> Vec<Property<Self>> {
        let below: [fn(&Counter, &u8) -> bool; 24] =
            conditions!(0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23);
        let reaches: [fn(&Counter, &u8) -> bool; 24] =
            equals!(0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23);
        let mut out = Vec::new();
        for k in 0..24 {
            out.push(Property::always(BELOW[k], below[k]));
            out.push(Property::sometimes(REACHES[k], reaches[k]));
        }
        out
    }
}

struct CounterProtocol;

impl Protocol for CounterProtocol {
    type Model = Counter;
    type Variant = NoVariants;
    const NAME: &'static str = "counter";
    const SUMMARY: &'static str = "a counter with 48 properties";
    const SECTION: &'static str = "none";
    fn params() -> Vec<ParamSpec> {
        vec![ParamSpec {
            name: "top",
            help: "the last value",
            kind: ParamKind::Int { min: 0, max: 40 },
            default: Value::Int(20),
        }]
    }
    fn build(params: &Params, _: Option<NoVariants>) -> Counter {
        Counter {
            top: params.usize("top") as u8,
        }
    }
}

fn request(model: &str, params: &[&str]) -> CheckRequest {
    CheckRequest {
        model: model.into(),
        params: params.iter().map(|p| p.parse().unwrap()).collect(),
        variant: None,
        options: CheckOptions::default(),
        trace_dir: None,
        exports: Vec::new(),
        minimize: false,
    }
}

#[test]
fn a_user_model_with_48_properties_is_checked_without_a_panic() {
    let catalog = Catalog::new().with(Entry::of::<CounterProtocol, Plain>());
    let report = check::check(&catalog, &request("counter", &["top=20"]), &mut |_| {}).unwrap();
    assert_eq!(report.stats.unique_states, 21);
    let verdicts: BTreeMap<&str, &str> = report
        .results
        .iter()
        .map(|r| (r.name.as_str(), r.verdict.name()))
        .collect();
    assert_eq!(verdicts.len(), 48);
    for k in 0..24 {
        let (below, reaches) = (verdicts[BELOW[k]], verdicts[REACHES[k]]);
        assert_eq!(
            below,
            if k < 20 { "violated" } else { "holds" },
            "below-{k}"
        );
        assert_eq!(
            reaches,
            if k <= 20 { "reached" } else { "unreached" },
            "reaches-{k}"
        );
    }
    // Each counterexample is shortest: below-K is violated at K + 1.
    let below_5 = report
        .traces
        .iter()
        .find(|t| t.property == "below-5")
        .unwrap();
    assert_eq!(below_5.trace.steps.len(), 6);
    // The built-in catalog does not know it; this one does not know the built-ins.
    assert!(check::check(&Catalog::builtin(), &request("counter", &[]), &mut |_| {}).is_err());
    let unknown = check::check(&catalog, &request("raft", &[]), &mut |_| {}).unwrap_err();
    assert!(unknown.to_string().contains("raft"), "{unknown}");
}

/// A state whose map has tuple keys: JSON cannot write it.
#[derive(Clone, Debug, Hash, PartialEq, Eq, Serialize)]
struct Pairs {
    map: BTreeMap<(u8, u8), u8>,
}

#[derive(Clone)]
struct Unwritable;

impl Model for Unwritable {
    type State = Pairs;
    type Action = u8;
    fn init_states(&self) -> Vec<Pairs> {
        vec![Pairs {
            map: BTreeMap::new(),
        }]
    }
    fn actions(&self, s: &Pairs, actions: &mut Vec<u8>) {
        if s.map.len() < 2 {
            actions.push(s.map.len() as u8);
        }
    }
    fn next_state(&self, s: &Pairs, a: u8) -> Option<Pairs> {
        let mut s = s.clone();
        s.map.insert((a, a), a);
        Some(s)
    }
    fn properties(&self) -> Vec<Property<Self>> {
        vec![Property::always("small", |_, s: &Pairs| s.map.len() < 2)]
    }
}

struct UnwritableProtocol;

impl Protocol for UnwritableProtocol {
    type Model = Unwritable;
    type Variant = NoVariants;
    const NAME: &'static str = "unwritable";
    const SUMMARY: &'static str = "a state JSON cannot write";
    const SECTION: &'static str = "none";
    fn params() -> Vec<ParamSpec> {
        Vec::new()
    }
    fn build(_: &Params, _: Option<NoVariants>) -> Unwritable {
        Unwritable
    }
}

#[test]
fn a_state_that_cannot_be_written_as_json_is_refused_not_recorded() {
    let catalog = Catalog::new().with(Entry::of::<UnwritableProtocol, Plain>());
    let err = check::check(&catalog, &request("unwritable", &[]), &mut |_| {}).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("cannot be written as JSON") && text.contains("unwritable"),
        "{text}"
    );
    assert!(!text.contains('\n'), "one line: {text}");
}

#[test]
fn replay_does_not_depend_on_the_order_of_a_hash_set() {
    use ftcheck::runner::same_state;
    use serde_json::json;
    // A set written in two orders is the same state; a multiset with other counts is not.
    assert!(same_state(
        &json!({"network": [{"src": 0, "msg": "a"}, {"src": 1, "msg": "b"}]}),
        &json!({"network": [{"src": 1, "msg": "b"}, {"src": 0, "msg": "a"}]})
    ));
    assert!(!same_state(&json!([1, 2]), &json!([2, 2])));
    assert!(!same_state(&json!({"a": 1}), &json!({"a": 2})));
}

#[test]
fn every_saved_trace_replays_the_same_in_20_fresh_processes() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("checks/traces");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".trace.json"))
        .collect();
    files.sort();
    assert!(files.len() >= 30, "the saved traces: {}", files.len());
    for file in &files {
        let answers: Vec<(Option<i32>, Vec<u8>)> = (0..20)
            .map(|_| {
                let out = assert_cmd::Command::cargo_bin("ftcheck")
                    .unwrap()
                    .args(["replay", file.to_str().unwrap(), "--format", "json"])
                    .output()
                    .unwrap();
                (out.status.code(), out.stdout)
            })
            .collect();
        assert_eq!(answers[0].0, Some(0), "{}", file.display());
        assert!(
            answers.iter().all(|a| a == &answers[0]),
            "{} replays differently in different processes",
            file.display()
        );
    }
}

//! The liveness engine's cost beside the safety check of the same configuration, in one run.
//!
//! For each configuration, criterion times `check` with liveness off (`--no-liveness`: the BFS
//! alone) and on (the BFS storing the state graph, then the fair-cycle search); after the groups
//! the ratios of the median times are printed with the bytes per state of both runs (the
//! search's own structures, as `ftcheck check --format json` reports them).
//!
//! Run: `cargo bench --bench liveness`.

mod allocator;
mod median;

use criterion::{BenchmarkId, Criterion};
use ftcheck::catalog::Catalog;
use ftcheck::engine::CheckOptions;
use ftcheck::runner::Checkable;
use median::median_ns;
use std::time::Duration;

/// Configurations with a liveness property, each a few seconds at most.
const CASES: [(&str, &[&str]); 4] = [
    ("two-phase-commit", &[]),
    ("reliable-multicast", &["messages=3"]),
    ("pbft", &[]),
    ("raft", &["elections=one-at-a-time"]),
];

fn model(name: &str, params: &[&str]) -> Box<dyn Checkable> {
    let entry = Catalog::builtin().find(name).unwrap().clone();
    let params: Vec<_> = params.iter().map(|p| p.parse().unwrap()).collect();
    entry.build(&entry.parse_params(&params).unwrap(), None)
}

fn options(liveness: bool) -> CheckOptions {
    CheckOptions {
        liveness,
        ..CheckOptions::default()
    }
}

fn id(name: &str, params: &[&str]) -> String {
    std::iter::once(name)
        .chain(params.iter().copied())
        .collect::<Vec<_>>()
        .join(",")
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("liveness");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    for (name, params) in CASES {
        let m = model(name, params);
        for (label, liveness) in [("safety", false), ("with-liveness", true)] {
            group.bench_function(BenchmarkId::new(label, id(name, params)), |b| {
                b.iter(|| m.check(&options(liveness), &mut |_| {}).stats.unique_states)
            });
        }
    }
    group.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
    for (name, params) in CASES {
        let case = id(name, params);
        let m = model(name, params);
        let safety = m.check(&options(false), &mut |_| {}).stats;
        let live = m.check(&options(true), &mut |_| {}).stats;
        let times = median_ns("liveness", &format!("safety/{case}"))
            .zip(median_ns("liveness", &format!("with-liveness/{case}")));
        if let Some((a, b)) = times {
            println!(
                "{case}: {} states; safety {:.3} s, {:.0} B/state; with liveness {:.3} s ({:.2}x), \
                 {:.0} B/state ({:.2}x), {} edges",
                live.unique_states,
                a / 1e9,
                safety.bytes_per_state(),
                b / 1e9,
                b / a,
                live.bytes_per_state(),
                live.bytes_per_state() / safety.bytes_per_state(),
                live.graph_edges
            );
        }
    }
}

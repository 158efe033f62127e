//! Exploration throughput, side by side with the reference in the same run.
//!
//! `transaction-commit` (ftcheck's BFS through the whole toolkit: catalog, checker, verdicts)
//! against stateright's own `2pc` example (its DFS and its BFS, one thread) on the same state
//! space: TLA+ `TwoPhase` with 8 resource managers, 1,745,408 distinct states. After the
//! criterion groups, the ratios of the median times are printed (`ftcheck / reference`).
//!
//! Then group `models`: every model's default configuration, its first 100,000 states (or all),
//! one thread, safety only: per-model throughput.
//!
//! Run: `cargo bench --bench throughput` (FTCHECK_BENCH_RMS=N for another size).

mod allocator;
mod median;
/// The `2pc` example of stateright 0.31 (`examples/2pc.rs`, MIT licence, by Jonathan Nadal):
/// the reference that `transaction-commit` is measured against. Same specification (TLA+
/// `TwoPhase`), same state space (1,745,408 distinct states for 8 resource managers). The copy
/// is the one `examples/own-protocol` checks through ftcheck's command line.
#[path = "../examples/own-protocol/src/two_phase_commit.rs"]
mod stateright_2pc;

use criterion::{BenchmarkId, Criterion};
use ftcheck::catalog::Catalog;
use ftcheck::engine::CheckOptions;
use median::median_ns;
use stateright::{Checker, Model};
use std::time::Duration;

fn rms() -> usize {
    std::env::var("FTCHECK_BENCH_RMS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(8)
}

fn bench(c: &mut Criterion) {
    let n = rms();
    let entry = Catalog::builtin()
        .find("transaction-commit")
        .unwrap()
        .clone();
    let model = entry.build(
        &entry
            .parse_params(&[format!("rms={n}").parse().unwrap()])
            .unwrap(),
        None,
    );
    let mut group = c.benchmark_group("two-phase");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(30));
    group.bench_function(BenchmarkId::new("ftcheck-bfs", n), |b| {
        b.iter(|| {
            let run = model.check(&CheckOptions::default(), &mut |_| {});
            assert!(run.stopped.is_none());
            run.stats.unique_states
        })
    });
    let two_threads = CheckOptions {
        threads: 2,
        ..CheckOptions::default()
    };
    group.bench_function(BenchmarkId::new("ftcheck-bfs-2-threads", n), |b| {
        b.iter(|| {
            let run = model.check(&two_threads, &mut |_| {});
            assert!(run.stopped.is_none());
            run.stats.unique_states
        })
    });
    group.bench_function(BenchmarkId::new("stateright-2pc-dfs", n), |b| {
        b.iter(|| {
            let checker = stateright_2pc::TwoPhaseSys { rms: 0..n }
                .checker()
                .spawn_dfs()
                .join();
            checker.unique_state_count()
        })
    });
    group.bench_function(BenchmarkId::new("stateright-2pc-bfs", n), |b| {
        b.iter(|| {
            let checker = stateright_2pc::TwoPhaseSys { rms: 0..n }
                .checker()
                .spawn_bfs()
                .join();
            checker.unique_state_count()
        })
    });
    group.finish();
    // Same state space, checked once more outside the timing.
    let ours = model
        .check(&CheckOptions::default(), &mut |_| {})
        .stats
        .unique_states;
    let theirs = stateright_2pc::TwoPhaseSys { rms: 0..n }
        .checker()
        .spawn_dfs()
        .join()
        .unique_state_count();
    assert_eq!(
        ours, theirs,
        "the two models must explore the same state space"
    );
    let _ = stateright_2pc::TwoPhaseSys { rms: 0..n }.init_states();
}

/// The first states of every model's default configuration (all of them if fewer), one
/// thread, safety only: how fast each model's states are generated, hashed and claimed.
const PER_MODEL_STATES: usize = 100_000;

fn per_model(c: &mut Criterion) {
    let mut group = c.benchmark_group("models");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    let opts = CheckOptions {
        max_states: Some(PER_MODEL_STATES),
        liveness: false,
        ..CheckOptions::default()
    };
    for entry in Catalog::builtin().entries().to_vec() {
        let model = entry.build(&entry.parse_params(&[]).unwrap(), None);
        group.bench_function(entry.name, |b| {
            b.iter(|| model.check(&opts, &mut |_| {}).stats.generated_states)
        });
    }
    group.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    per_model(&mut c);
    c.final_summary();
    let n = rms();
    let ours = median_ns("two-phase", &format!("ftcheck-bfs/{n}"));
    for other in [
        "ftcheck-bfs-2-threads",
        "stateright-2pc-dfs",
        "stateright-2pc-bfs",
    ] {
        if let (Some(a), Some(b)) = (ours, median_ns("two-phase", &format!("{other}/{n}"))) {
            println!(
                "rms={n}: ftcheck-bfs {:.3} s, {other} {:.3} s, ratio {:.2}",
                a / 1e9,
                b / 1e9,
                a / b
            );
        }
    }
}

//! The search that `CheckOptions` selects, over any stateright `Model`: ftcheck's own BFS
//! ([`crate::engine::bfs`]) and random walks ([`crate::engine::simulation`]), or stateright's DFS
//! checker, its traces translated to action indices ([`IndexPath`]) so that every engine's
//! traces re-execute alike.

use crate::engine::{
    interrupted, CheckOptions, Discovery, Engine, IndexPath, Recorder, Reduction, Representative,
    SearchOutcome, Stats, StopReason,
};
use stateright::{Checker, Expectation, Model};
use std::hash::Hash;
use std::time::{Duration, Instant};

/// Runs the search that `opts` selects; with a `recorder`, BFS also stores the state graph
/// (and then explores every reachable state, even once the other properties are decided).
pub fn search<M>(
    model: &M,
    symmetry: Option<Representative<M>>,
    reduction: Option<Reduction<M>>,
    opts: &CheckOptions,
    recorder: Option<&Recorder<M>>,
    progress: &mut dyn FnMut(&Stats),
) -> SearchOutcome
where
    M: Model + Clone + Send + Sync + 'static,
    M::State: Hash + Clone + PartialEq + Send + Sync + 'static,
    M::Action: Clone + PartialEq + Hash,
{
    match opts.engine {
        Engine::Bfs if opts.cluster.is_some() => {
            let cluster = opts.cluster.as_ref().expect("checked");
            let symmetry = symmetry.filter(|_| opts.symmetry);
            crate::engine::cluster::search(model, symmetry, opts, cluster, progress).unwrap_or_else(
                |why| SearchOutcome {
                    stats: Stats::default(),
                    stopped: Some(StopReason::WorkerFailed(why)),
                    discoveries: vec![None; model.properties().len()],
                    graph: None,
                },
            )
        }
        Engine::Bfs => crate::engine::bfs::bfs(
            model,
            symmetry.filter(|_| opts.symmetry),
            reduction.filter(|_| opts.por),
            opts,
            recorder,
            progress,
            None,
        ),
        Engine::Simulation | Engine::Swarm => crate::engine::simulation::simulate(
            model,
            symmetry.filter(|_| opts.symmetry),
            opts,
            progress,
        ),
        Engine::Dfs => stateright_dfs(model, symmetry.filter(|_| opts.symmetry), opts, progress),
    }
}

/// stateright's DFS, with its traces translated to action indices.
fn stateright_dfs<M>(
    model: &M,
    symmetry: Option<Representative<M>>,
    opts: &CheckOptions,
    progress: &mut dyn FnMut(&Stats),
) -> SearchOutcome
where
    M: Model + Clone + Send + Sync + 'static,
    M::State: Hash + Clone + PartialEq + Send + Sync + 'static,
    M::Action: Clone + PartialEq,
{
    let start = Instant::now();
    let properties = model.properties();
    let mut builder = model.clone().checker().threads(opts.threads.max(1));
    if let Some(rep) = symmetry {
        builder = builder.symmetry_fn(rep);
    }
    let max_states = opts.max_states;
    if let Some(n) = max_states {
        builder = builder.target_state_count(n);
    }
    if let Some(d) = opts.max_depth {
        // stateright counts the initial state as depth 1 and drops states at the target depth
        // before evaluating them.
        builder = builder.target_max_depth(d + 2);
    }
    if let Some(t) = opts.timeout {
        builder = builder.timeout(t);
    }
    if opts.stop_on_violation {
        // Not `AnyFailures`: that counts stateright's own `Eventually` discoveries, which
        // ftcheck does not take (the DFS leaves liveness to the BFS).
        let safety = properties
            .iter()
            .filter(|p| p.expectation == Expectation::Always)
            .map(|p| p.name)
            .collect();
        builder = builder.finish_when(stateright::HasDiscoveries::AnyOf(safety));
    }
    let checker: Box<dyn Checker<M>> = Box::new(builder.spawn_dfs());
    // The counters stateright's checker keeps (no queue length is exposed).
    let counters = |checker: &dyn Checker<M>| Stats {
        unique_states: checker.unique_state_count(),
        generated_states: checker.state_count(),
        max_depth: checker.max_depth().saturating_sub(1),
        queue: 0,
        elapsed_secs: start.elapsed().as_secs_f64(),
        ..Stats::default()
    };
    let mut last_progress = Instant::now();
    while !checker.is_done() {
        if interrupted() {
            // stateright's threads cannot be stopped; what they found so far is reported.
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
        if last_progress.elapsed() >= opts.progress_every {
            last_progress = Instant::now();
            progress(&counters(&*checker));
        }
    }
    let stats = counters(&*checker);
    let stopped = if interrupted() && !checker.is_done() {
        Some(StopReason::Interrupted)
    } else if opts.timeout.is_some_and(|t| start.elapsed() >= t) {
        opts.timeout.map(|t| StopReason::Timeout(t.as_secs()))
    } else if max_states.is_some_and(|n| stats.generated_states.max(stats.unique_states) >= n) {
        // stateright's DFS stops at `target_state_count` states *generated*, which may be
        // fewer distinct states than the bound.
        max_states.map(StopReason::MaxStates)
    } else if opts.max_depth.is_some_and(|d| stats.max_depth >= d) {
        opts.max_depth.map(StopReason::MaxDepth)
    } else {
        None
    };
    let found = quietly(|| checker.discoveries());
    // Stopped at a violation, if any property is left undecided.
    let stopped = stopped.or_else(|| {
        let failed = |p: &stateright::Property<M>| {
            p.expectation == Expectation::Always
                && found.as_ref().map_or(true, |f| f.contains_key(p.name))
        };
        // The DFS leaves `Eventually` to the BFS.
        let decided = |p: &stateright::Property<M>| {
            p.expectation == Expectation::Eventually
                || found.as_ref().map_or(true, |f| f.contains_key(p.name))
        };
        (opts.stop_on_violation && properties.iter().any(failed) && !properties.iter().all(decided))
            .then_some(StopReason::StopOnViolation)
    });
    // Rebuilding a path can panic inside stateright (all at once: it rebuilds every path); a
    // path that cannot be rebuilt, or does not follow from the model, is still a discovery:
    // the property is not known to hold.
    let discoveries = properties
        .iter()
        .map(|p| {
            if p.expectation == Expectation::Eventually {
                return None;
            }
            let Ok(found) = &found else {
                return Some(Discovery::Unconfirmed);
            };
            let path = found.get(p.name)?;
            Some(
                index_path(model, path.clone().into_vec())
                    .map_or(Discovery::Unconfirmed, Discovery::Trace),
            )
        })
        .collect();
    SearchOutcome {
        stats,
        stopped,
        discoveries,
        graph: None,
    }
}

/// Runs `f`, turning a panic into `Err` without printing it (stateright panics when it cannot
/// rebuild a path of its own).
fn quietly<T>(f: impl FnOnce() -> T) -> Result<T, ()> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    std::panic::set_hook(hook);
    result.map_err(|_| ())
}

/// Translates a path of states and actions into action indices, or `None` if it does not
/// follow from the model.
fn index_path<M>(model: &M, steps: Vec<(M::State, Option<M::Action>)>) -> Option<IndexPath>
where
    M: Model,
    M::State: PartialEq,
    M::Action: PartialEq + Clone,
{
    let first = &steps.first()?.0;
    let init = model.init_states().iter().position(|s| s == first)?;
    let mut out = Vec::new();
    let mut actions = Vec::new();
    for (state, action) in &steps {
        let Some(action) = action else { break };
        // stateright records an ignored action (one whose `next_state` is `None`) as a step
        // that leaves the state unchanged; it is not a step of the model.
        if model.next_state(state, action.clone()).is_none() {
            continue;
        }
        actions.clear();
        model.actions(state, &mut actions);
        out.push(actions.iter().position(|a| a == action)?);
    }
    Some(IndexPath { init, actions: out })
}

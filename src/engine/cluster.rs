//! The distributed breadth-first search (`check --workers N`, or `--hosts FILE --process I` on
//! each machine): worker processes that share one search, on [timely dataflow]'s communication
//! layer, so that no state is explored twice.
//!
//! - **Partitioned seen set.** Every fingerprint has one owner, the worker `fp % workers` (of
//!   bits that the fingerprint table does not index by). Only the owner remembers it.
//! - **Level-synchronous.** A level takes three exchanges, each ended by a barrier (timely's
//!   progress tracking): (1) every worker expands its part of the level and sends each
//!   successor's fingerprint, with its own number and the successor's, to the owner; (2) the
//!   owner keeps the fingerprints it has not seen, and for each tells one of the workers that
//!   generated it to keep the state (chosen by the fingerprint's bits, not by arrival, so the
//!   search is the same in every run); (3) every worker evaluates the properties on the states
//!   it kept and sends every other worker a summary: states owned, states generated,
//!   properties decided, bounds hit. Every worker thus takes the same decision to go
//!   on or stop, after the same level.
//! - **States never cross the wire**, only fingerprints (16 bytes a request, 8 a reply): a
//!   state stays with the worker that generated it, which re-executes the one action that led to
//!   it when told to keep it. Any stateright `Model` can be searched, a user's protocol too, with
//!   no serialization of its states. A kept state's parent is the worker's own, so each worker
//!   holds the whole path of every state it kept: traces are rebuilt where they were found.
//! - **The first levels are searched by every worker** (the owner tells every generator to keep
//!   the state), until a level has 64 states per worker; from then on each worker goes on with
//!   its part. Only the owners count states, so the prefix is counted once.
//! - **Same answers as one process.** The states of a level are the same set whoever expands
//!   them: the summed count of distinct states equals the single-process BFS's exactly, when
//!   both search everything. A property is decided at the first level with a state that decides
//!   it, so the traces are shortest, of the single process's length; of the workers that found
//!   one at that level, the lowest-numbered one's is reported. The search stops between levels
//!   (a single process stops within one): under `--max-states`, `--stop-on-violation` or once
//!   every property is decided, it counts the whole level. Liveness is not checked (it needs the
//!   whole state graph in one place).
//!
//! [timely dataflow]: https://github.com/TimelyDataflow/timely-dataflow

use crate::engine::{
    decides, decision_masks, fingerprint_of, interrupted, path_to, peak_resident_bytes,
    resident_bytes, CheckOptions, Discovery, Representative, SearchOutcome, Stats, StopReason,
    ROOT,
};
use fxhash::FxHashSet;
use serde::{Deserialize, Serialize};
use stateright::Model;
use std::cell::{Cell, RefCell};
use std::hash::Hash;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex, Once};
use std::time::Duration;
use std::time::Instant;
use timely::communication::allocator::zero_copy::initialize::initialize_networking_from_sockets;
use timely::communication::allocator::{AllocatorBuilder, ProcessBuilder};
use timely::dataflow::operators::vec::Broadcast;
use timely::dataflow::operators::{Exchange, Input, Inspect, Probe};
use timely::dataflow::{InputHandle, ProbeHandle};

/// Where the worker processes of a distributed search are, and which one this is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cluster {
    /// This process's position in `addresses`, from 0.
    pub process: usize,
    /// Every process's `host:port`, in order; process `i` listens on `addresses[i]`.
    pub addresses: Vec<String>,
}

/// Each worker's share of a distributed search.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkerStats {
    /// The worker's number, from 0 (process `p` with `t` threads has workers `p*t` to
    /// `p*t+t-1`).
    pub worker: usize,
    /// The worker's process, from 0 (its line in the hosts file).
    pub process: usize,
    /// Distinct states whose fingerprint this worker owns: their sum over the workers is the
    /// search's count of distinct states.
    pub owned_states: usize,
    /// States this worker kept and expanded (the first levels, searched by every worker,
    /// included).
    pub kept_states: usize,
    /// States this worker generated, repeats included.
    pub generated_states: usize,
    /// Fingerprints this worker sent to their owners.
    pub requests: usize,
    /// Bytes of the worker's own structures at the end: its part of the seen set, and the
    /// parent links of the states it kept.
    pub memory_bytes: usize,
    /// Peak resident memory of the worker's process, in bytes (0 if the system does not
    /// report it).
    pub peak_resident_bytes: u64,
}

/// The states of the first levels per worker: every worker searches levels smaller than
/// this many states per worker (as `--shard` splits).
const REPLICATE_BELOW_PER_WORKER: usize = 64;

/// An input of records `D`, by round.
type In<D> = InputHandle<u64, timely::container::CapacityContainerBuilder<Vec<D>>>;

/// A request: the fingerprint, the worker that generated the state, its number there.
type Request = (u64, u32, u32);
/// A reply: keep state number `.1` of worker `.0`.
type Reply = (u32, u32);

/// What a worker tells every other one at the end of a level.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Summary {
    worker: u32,
    /// New fingerprints it owns (this level).
    owned: u64,
    /// States it generated (this level).
    generated: u64,
    /// Properties decided by a state it kept.
    found: u64,
    /// 0, or a bound that stopped it: 1 interrupted, 2 timeout, 3 max-memory.
    stop: u8,
}

/// What a worker tells every other one at the end of the search.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Final {
    stats: WorkerStats,
    /// The traces it found that are reported: (property, initial-state index, action indices).
    traces: Vec<(u32, u32, Vec<u32>)>,
}

/// A worker's inputs to the dataflow, and the round they are at.
#[derive(Default)]
struct Inputs {
    requests: In<Request>,
    replies: In<Reply>,
    summaries: In<Summary>,
    finals: In<Final>,
    round: u64,
}

impl Inputs {
    /// One exchange: every input moves to the next round, and the worker runs the dataflow
    /// until every worker's data of this round has arrived (`probe` has passed it).
    fn exchange(&mut self, worker: &mut timely::worker::Worker, probe: &ProbeHandle<u64>) {
        self.round += 1;
        self.requests.advance_to(self.round);
        self.replies.advance_to(self.round);
        self.summaries.advance_to(self.round);
        self.finals.advance_to(self.round);
        while probe.less_than(&self.round) {
            if FAILED.load(Ordering::Relaxed) {
                // Another thread of this process failed (a lost peer): the round never ends.
                std::panic::resume_unwind(Box::new("a thread of the search failed"));
            }
            worker.step();
        }
    }
}

/// The worker that owns a fingerprint (timely routes by this value modulo the workers).
fn route(fp: u64) -> u64 {
    fp >> 17
}

/// Of the workers that generated a new state (`candidates`, sorted), the one that keeps it:
/// the one this owner has told to keep the fewest states this level (`assigned`, by worker),
/// the first from a place chosen by the fingerprint's bits if several. The requests are
/// sorted before, so the choice does not depend on their order of arrival.
fn choose(candidates: &[Request], fp: u64, assigned: &[u64]) -> Request {
    let start = (fp % candidates.len() as u64) as usize;
    (0..candidates.len())
        .map(|k| candidates[(start + k) % candidates.len()])
        .min_by_key(|&(_, w, _)| assigned[w as usize])
        .expect("a new state has a generator")
}

/// Runs this process's workers of a distributed BFS; every process returns the same outcome.
/// `progress` is called on process 0 only, after each level.
///
/// Errors: the processes could not connect (an address that is not this machine's, a port in
/// use), or a worker failed.
pub fn search<M>(
    model: &M,
    symmetry: Option<Representative<M>>,
    opts: &CheckOptions,
    cluster: &Cluster,
    progress: &mut dyn FnMut(&Stats),
) -> Result<SearchOutcome, String>
where
    M: Model + Clone + Send + Sync + 'static,
    M::State: Hash + Clone + Send + Sync,
    M::Action: Clone,
{
    let threads = opts.threads.max(1);
    let sockets = connect(cluster, CONNECT_WITHIN)?;
    let hooks = timely::communication::Hooks::default();
    let local =
        ProcessBuilder::new_typed_vector(threads, hooks.refill.clone(), hooks.spill.clone());
    let (builders, guard) =
        initialize_networking_from_sockets(local, sockets, cluster.process, threads, hooks)
            .map_err(|e| format!("the worker processes could not connect: {e}"))?;
    let builders = builders.into_iter().map(AllocatorBuilder::Tcp).collect();
    let model = Arc::new(model.clone());
    let options = opts.clone();
    let (tx, rx) = mpsc::channel::<Stats>();
    let tx = Mutex::new(tx);
    let reporter = cluster.process == 0;
    watch_failures();
    let guards = timely::execute::execute_from(
        builders,
        Box::new(guard),
        timely::WorkerConfig::default(),
        move |worker| {
            let tx = tx.lock().map(|t| t.clone()).ok();
            run_worker(worker, &*model, symmetry, &options, &mut |s: &Stats| {
                if let (true, Some(tx)) = (reporter, tx.as_ref()) {
                    let _ = tx.send(s.clone());
                }
            })
        },
    )
    .map_err(|e| format!("the worker processes could not start: {e}"))?;
    for stats in rx {
        progress(&stats);
    }
    // Joining panics too if a networking thread failed: that failure is the report.
    QUIET.set(true);
    let results = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| guards.join()));
    QUIET.set(false);
    let failure = FAILURE
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take()
        .map(|(thread, why)| describe_failure(&thread, &why));
    FAILED.store(false, Ordering::Relaxed);
    let results = match (results, failure) {
        (_, Some(failure)) => return Err(failure),
        (Err(_), None) => return Err("a worker failed".into()),
        (Ok(results), None) => results,
    };
    let mut outcome = None;
    for result in results {
        let o = result.map_err(|e| format!("a worker failed: {e}"))?;
        outcome.get_or_insert(o);
    }
    outcome.ok_or_else(|| "no worker ran".to_string())
}

/// The first panic of a thread of a distributed search in this process: the thread's name
/// and the panic's message.
static FAILURE: Mutex<Option<(String, String)>> = Mutex::new(None);

/// Set by the first such panic; the other workers of this process then stop too.
static FAILED: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// Whether a panic of this thread is expected and reported otherwise (the search's
    /// thread while it joins the workers).
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

/// Installs, once per process, a panic hook that records the panics of timely's threads
/// (named `timely:work-N`, `timely:send-P` and `timely:recv-P`) in `FAILURE` instead of
/// printing them, and prints nothing for a `QUIET` thread. A peer process that dies breaks its
/// connections, and every thread of timely here panics in turn; the search reports the first
/// failure as one line. Other panics go to the hook installed before.
fn watch_failures() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let thread = std::thread::current();
            let name = thread.name().unwrap_or_default();
            if QUIET.get() {
                return;
            }
            if !name.starts_with("timely:") {
                return previous(info);
            }
            FAILED.store(true, Ordering::Relaxed);
            let payload = info.payload();
            let why = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".into());
            let mut first = FAILURE.lock().unwrap_or_else(|e| e.into_inner());
            first.get_or_insert((name.to_string(), why));
        }));
    });
}

/// One line for the first failure of a search's thread `thread` (a timely thread name).
fn describe_failure(thread: &str, why: &str) -> String {
    let why = why.trim_start_matches("timely communication error: ");
    let peer = thread
        .strip_prefix("timely:send-")
        .or_else(|| thread.strip_prefix("timely:recv-"));
    match peer {
        Some(p) => format!("lost process {p} of the search ({why})"),
        None => format!("a worker failed: {why}"),
    }
}

/// How long the processes of a search have to connect to each other, from the start of each.
pub const CONNECT_WITHIN: Duration = Duration::from_secs(120);

/// Why a search stopped while its processes were connecting.
const INTERRUPTED: &str = "interrupted before every process connected";

/// Connects this process to every other one of `cluster`: to the lower-numbered ones as a
/// client (sending its number), from the higher-numbered ones as the server on its own
/// address. One stream per process, `None` for itself, as timely's networking takes them.
///
/// Errors: its own address cannot be listened on, or a process did not connect within
/// `within`.
fn connect(cluster: &Cluster, within: Duration) -> Result<Vec<Option<TcpStream>>, String> {
    let me = cluster.process;
    let deadline = Instant::now() + within;
    let late = |who: &[usize]| {
        let names: Vec<String> = who
            .iter()
            .map(|&p| format!("process {p} ({})", cluster.addresses[p]))
            .collect();
        format!(
            "{} did not connect within {} s; start every process of the hosts file, each with its own --process",
            names.join(", "),
            within.as_secs()
        )
    };
    let listener = TcpListener::bind(&cluster.addresses[me]).map_err(|e| {
        format!(
            "process {me} cannot listen on {} ({e}); give this machine's host:port and a free port in the hosts file",
            cluster.addresses[me]
        )
    })?;
    listener
        .set_nonblocking(true)
        .map_err(|e| format!("cannot listen on {}: {e}", cluster.addresses[me]))?;
    let mut sockets: Vec<Option<TcpStream>> = (0..cluster.addresses.len()).map(|_| None).collect();
    for (p, address) in cluster.addresses.iter().enumerate().take(me) {
        let stream = loop {
            match TcpStream::connect(address) {
                Ok(mut stream) => {
                    stream
                        .write_all(&(me as u64).to_le_bytes())
                        .map_err(|e| format!("process {p} ({address}): {e}"))?;
                    break stream;
                }
                Err(_) if interrupted() => return Err(INTERRUPTED.into()),
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                Err(_) => return Err(late(&[p])),
            }
        };
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        sockets[p] = Some(stream);
    }
    let mut waiting: Vec<usize> = (me + 1..cluster.addresses.len()).collect();
    while !waiting.is_empty() {
        match listener.accept() {
            Ok((mut stream, _)) => {
                stream.set_nonblocking(false).map_err(|e| e.to_string())?;
                stream
                    .set_read_timeout(Some(Duration::from_secs(10)))
                    .map_err(|e| e.to_string())?;
                let mut number = [0u8; 8];
                // Something else than a process of the search: ignore it.
                if stream.read_exact(&mut number).is_err() {
                    continue;
                }
                let p = u64::from_le_bytes(number) as usize;
                let Some(at) = waiting.iter().position(|&w| w == p) else {
                    continue;
                };
                waiting.remove(at);
                stream.set_read_timeout(None).map_err(|e| e.to_string())?;
                stream.set_nodelay(true).map_err(|e| e.to_string())?;
                sockets[p] = Some(stream);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if interrupted() {
                    return Err(INTERRUPTED.into());
                }
                if Instant::now() >= deadline {
                    return Err(late(&waiting));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => return Err(format!("process {me}: {e}")),
        }
    }
    Ok(sockets)
}

/// The search of one worker.
fn run_worker<M>(
    worker: &mut timely::worker::Worker,
    model: &M,
    symmetry: Option<Representative<M>>,
    opts: &CheckOptions,
    progress: &mut dyn FnMut(&Stats),
) -> SearchOutcome
where
    M: Model,
    M::State: Hash + Clone,
    M::Action: Clone,
{
    let start = Instant::now();
    let me = worker.index();
    let workers = worker.peers();

    let mut inputs = Inputs::default();
    let requests: Rc<RefCell<Vec<Request>>> = Rc::default();
    let replies: Rc<RefCell<Vec<Reply>>> = Rc::default();
    let summaries: Rc<RefCell<Vec<Summary>>> = Rc::default();
    let finals: Rc<RefCell<Vec<Final>>> = Rc::default();
    let probe = ProbeHandle::new();
    worker.dataflow::<u64, _, _>(|scope| {
        let (r, p) = (requests.clone(), probe.clone());
        scope
            .input_from(&mut inputs.requests)
            .exchange(|x: &Request| route(x.0))
            .inspect(move |x| r.borrow_mut().push(*x))
            .probe_with(&p);
        let r = replies.clone();
        scope
            .input_from(&mut inputs.replies)
            .exchange(|x: &Reply| x.0 as u64)
            .inspect(move |x| r.borrow_mut().push(*x))
            .probe_with(&probe);
        let r = summaries.clone();
        scope
            .input_from(&mut inputs.summaries)
            .broadcast()
            .inspect(move |x| r.borrow_mut().push(x.clone()))
            .probe_with(&probe);
        let r = finals.clone();
        scope
            .input_from(&mut inputs.finals)
            .broadcast()
            .inspect(move |x| r.borrow_mut().push(x.clone()))
            .probe_with(&probe);
    });
    macro_rules! exchange {
        () => {
            inputs.exchange(worker, &probe)
        };
    }

    let properties = model.properties();
    let (mut undecided, stops) = decision_masks(&properties, opts.stop_on_violation);
    let stop_when_decided = undecided != 0;
    // The states this worker kept, by number: their parent's number and the action index (the
    // initial-state index for an initial state).
    let mut parent: Vec<u32> = Vec::new();
    let mut via: Vec<u32> = Vec::new();
    // The fingerprints this worker owns.
    let mut seen: FxHashSet<u64> = FxHashSet::default();
    // Per property: the state of this worker that decides it, if this worker reports it.
    let mut found: Vec<Option<u32>> = vec![None; properties.len()];
    let mut mine = WorkerStats {
        worker: me,
        process: me / opts.threads.max(1),
        ..WorkerStats::default()
    };
    let mut stats = Stats {
        threads: workers,
        ..Stats::default()
    };
    let mut stopped: Option<StopReason> = None;

    // The level being expanded: this worker's states and their numbers.
    let mut level: Vec<(M::State, u32)> = Vec::new();
    // The successors it generated: (state number of the parent, action index), by request
    // number; for the initial states, (ROOT, initial-state index).
    let mut generated: Vec<(u32, u32)> = Vec::new();
    let inits = model.init_states();
    let mut generated_now = 0usize;
    let mut sent: FxHashSet<u64> = FxHashSet::default();
    for (i, s) in inits.iter().enumerate() {
        generated_now += 1;
        if !model.within_boundary(s) {
            continue;
        }
        let fp = fingerprint_of::<M>(symmetry, s);
        if sent.insert(fp) {
            inputs
                .requests
                .send((fp, me as u32, generated.len() as u32));
            generated.push((ROOT, i as u32));
        }
    }
    let mut replicate = inits.len() < REPLICATE_BELOW_PER_WORKER * workers;
    let mut depth = 0u64;
    let mut last_progress = Instant::now();
    loop {
        mine.generated_states += generated_now;
        mine.requests += generated.len();
        let level_generated = generated_now;
        drop(std::mem::take(&mut sent));
        exchange!();

        // The owner's part: new fingerprints, and who keeps each.
        let mut owned = 0u64;
        {
            let mut reqs = std::mem::take(&mut *requests.borrow_mut());
            reqs.sort_unstable();
            let mut assigned = vec![0u64; workers];
            let mut i = 0;
            while i < reqs.len() {
                let fp = reqs[i].0;
                let mut j = i;
                while j < reqs.len() && reqs[j].0 == fp {
                    j += 1;
                }
                if seen.insert(fp) {
                    owned += 1;
                    if replicate {
                        for &(_, w, n) in &reqs[i..j] {
                            inputs.replies.send((w, n));
                        }
                    } else {
                        let (_, w, n) = choose(&reqs[i..j], fp, &assigned);
                        assigned[w as usize] += 1;
                        inputs.replies.send((w, n));
                    }
                }
                i = j;
            }
        }
        mine.owned_states += owned as usize;
        exchange!();

        // The generator's part: the states to keep, re-executed from their parents.
        let mut keep: Vec<u32> = replies.borrow_mut().drain(..).map(|(_, n)| n).collect();
        keep.sort_unstable();
        let mut next: Vec<(M::State, u32)> = Vec::with_capacity(keep.len());
        let mut local_found = 0u64;
        let mut actions = Vec::new();
        let mut actions_of = u32::MAX;
        let first_kept = parent.len();
        let mut local_first: Vec<Option<u32>> = vec![None; properties.len()];
        for n in keep {
            let (from, index) = generated[n as usize];
            let state = if from == ROOT {
                inits[index as usize].clone()
            } else {
                let (ref p, _) = level[from as usize];
                if actions_of != from {
                    actions.clear();
                    model.actions(p, &mut actions);
                    actions_of = from;
                }
                let action = actions[index as usize].clone();
                match model.next_state(p, action) {
                    Some(s) => s,
                    None => continue,
                }
            };
            let node = parent.len() as u32;
            parent.push(if from == ROOT {
                ROOT
            } else {
                level[from as usize].1
            });
            via.push(index);
            let mut open = undecided & !local_found;
            while open != 0 {
                let i = open.trailing_zeros() as usize;
                open &= open - 1;
                if decides(&properties[i], model, &state) {
                    local_found |= 1 << i;
                    local_first[i] = Some(node);
                }
            }
            next.push((state, node));
        }
        mine.kept_states += parent.len() - first_kept;
        let stop = if interrupted() {
            1
        } else if opts.timeout.is_some_and(|t| start.elapsed() >= t) {
            2
        } else if opts
            .max_memory
            .is_some_and(|b| resident_bytes().is_some_and(|r| r >= b))
        {
            3
        } else {
            0
        };
        inputs.summaries.send(Summary {
            worker: me as u32,
            owned,
            generated: level_generated as u64,
            found: local_found,
            stop,
        });
        exchange!();

        // Every worker takes the same decision from the same summaries.
        let mut all = std::mem::take(&mut *summaries.borrow_mut());
        all.sort_unstable_by_key(|s| s.worker);
        let level_owned: u64 = all.iter().map(|s| s.owned).sum();
        stats.unique_states += level_owned as usize;
        // This level is expanded next, unless the search stops here.
        stats.queue = level_owned as usize;
        stats.generated_states += all.iter().map(|s| s.generated).sum::<u64>() as usize;
        if level_owned > 0 {
            stats.max_depth = depth as usize;
        }
        let mut decided_now = 0u64;
        for s in &all {
            let new = s.found & undecided & !decided_now;
            if s.worker as usize == me {
                let mut m = new;
                while m != 0 {
                    let i = m.trailing_zeros() as usize;
                    m &= m - 1;
                    found[i] = local_first[i];
                }
            }
            decided_now |= new;
        }
        undecided &= !decided_now;
        let violation = decided_now & stops != 0;
        let stop = all.iter().map(|s| s.stop).max().unwrap_or(0);
        level = next;
        if stop != 0 {
            stopped = Some(match stop {
                1 => StopReason::Interrupted,
                2 => StopReason::Timeout(opts.timeout.map_or(0, |t| t.as_secs())),
                _ => StopReason::MaxMemory(opts.max_memory.unwrap_or(0)),
            });
            break;
        }
        if violation {
            if undecided != 0 {
                stopped = Some(StopReason::StopOnViolation);
            }
            break;
        }
        if stop_when_decided && undecided == 0 {
            break;
        }
        if level_owned == 0 {
            break;
        }
        if let Some(max) = opts.max_states {
            if stats.unique_states >= max {
                stopped = Some(StopReason::MaxStates(stats.unique_states));
                break;
            }
        }
        if opts.max_depth.is_some_and(|d| depth as usize >= d) {
            // Whether the bound cut anything off: any successor of the level.
            let cut = level.iter().any(|(s, _)| {
                let mut acts = Vec::new();
                model.actions(s, &mut acts);
                acts.into_iter().any(|a| {
                    model
                        .next_state(s, a)
                        .is_some_and(|n| model.within_boundary(&n))
                })
            });
            inputs.summaries.send(Summary {
                worker: me as u32,
                found: cut as u64,
                ..Summary::default()
            });
            exchange!();
            let any_cut = summaries.borrow_mut().drain(..).any(|s| s.found != 0);
            if any_cut && undecided != 0 {
                stopped = opts.max_depth.map(StopReason::MaxDepth);
            }
            break;
        }
        if me == 0 && last_progress.elapsed() >= opts.progress_every {
            last_progress = Instant::now();
            stats.elapsed_secs = start.elapsed().as_secs_f64();
            progress(&stats);
        }
        if replicate && (level_owned as usize) >= REPLICATE_BELOW_PER_WORKER * workers {
            replicate = false;
        }

        // Expand this worker's part of the level.
        depth += 1;
        generated.clear();
        generated_now = 0;
        for (from, (state, _)) in level.iter().enumerate() {
            actions.clear();
            model.actions(state, &mut actions);
            for (index, action) in actions.drain(..).enumerate() {
                let Some(next) = model.next_state(state, action) else {
                    continue;
                };
                if !model.within_boundary(&next) {
                    continue;
                }
                generated_now += 1;
                let fp = fingerprint_of::<M>(symmetry, &next);
                if sent.insert(fp) {
                    inputs
                        .requests
                        .send((fp, me as u32, generated.len() as u32));
                    generated.push((from as u32, index as u32));
                }
            }
        }
    }

    // Every worker hands every other its share and its traces.
    mine.peak_resident_bytes = peak_resident_bytes().unwrap_or(0);
    let traces = found
        .iter()
        .enumerate()
        .filter_map(|(p, f)| {
            f.map(|node| {
                let path = path_to(&parent, &via, node);
                (
                    p as u32,
                    path.init as u32,
                    path.actions.iter().map(|&a| a as u32).collect(),
                )
            })
        })
        .collect();
    mine.memory_bytes = seen.capacity() * 9 + (parent.capacity() + via.capacity()) * 4;
    inputs.finals.send(Final {
        stats: mine,
        traces,
    });
    exchange!();
    let mut finals = std::mem::take(&mut *finals.borrow_mut());
    finals.sort_unstable_by_key(|f| f.stats.worker);
    let mut discoveries: Vec<Option<Discovery>> = vec![None; properties.len()];
    for f in &finals {
        for (p, init, actions) in &f.traces {
            discoveries[*p as usize].get_or_insert_with(|| {
                Discovery::Trace(crate::engine::IndexPath {
                    init: *init as usize,
                    actions: actions.iter().map(|&a| a as usize).collect(),
                })
            });
        }
    }
    stats.elapsed_secs = start.elapsed().as_secs_f64();
    stats.memory_bytes = finals.iter().map(|f| f.stats.memory_bytes).sum();
    stats.workers = finals.into_iter().map(|f| f.stats).collect();
    SearchOutcome {
        stats,
        stopped,
        discoveries,
        graph: None,
    }
}

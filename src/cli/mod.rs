//! The command line as a library function: [`main`] parses the arguments, runs the
//! subcommand on the models of a [`Catalog`], prints the outcome and returns the exit code.
//! The `ftcheck` binary is `main(Catalog::builtin())`; a user's crate that checks its own
//! protocols has the same one-line `main` with its own catalog:
//!
//! ```no_run
//! use ftcheck::catalog::Catalog;
//! fn main() -> std::process::ExitCode {
//!     ftcheck::cli::main(Catalog::builtin() /* .with(your entries) */)
//! }
//! ```

mod availability;
pub(crate) mod workers;

use crate::catalog::{self, Assignment, Catalog};
use crate::check::{self, CheckRequest, EXIT_OK, EXIT_USAGE};
use crate::engine::{self, CheckOptions, Engine};
use crate::error::{program, InputError};
use crate::protocol::ParamKind;
use crate::report::bench;
use crate::suite;
use crate::trace;
use crate::{matrix, table};
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Model checking for fault-tolerance protocols.
///
/// Exit codes: 0 every safety property holds and every reachability property was reached;
/// 12 a safety property is violated; 13 a liveness property is violated; 14 a reachability
/// property is unreached (the model may be vacuous); 3 the search stopped early (a bound, a
/// timeout or a simulation) with nothing violated; 2 bad usage or input.
#[derive(Parser)]
#[command(name = "ftcheck", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Format {
    Text,
    Json,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum BenchFormat {
    Markdown,
    Csv,
    Json,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum TableFormat {
    Text,
    Markdown,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// List every model: parameters, variants, properties.
    List(ListArgs),
    /// Check a model's properties.
    Check(CheckArgs),
    /// Combine the JSON reports of a sharded check (`check --shard I/N --format json`) into
    /// one verdict per property: violated or reached if any shard says so (with the shortest
    /// trace), holds or unreached only if every shard finished and says so, else incomplete.
    Merge(MergeArgs),
    /// Check a model over a grid of parameter values; each cell names the reachability
    /// properties reached (e.g. `table rpc-semantics --rows client --cols server,ordering`).
    Table(TableArgs),
    /// Every safety and liveness property under k = 0..K faults of each fault kind the
    /// model's parameters declare (crashes, restarts, amnesia, omissions, duplications,
    /// reorderings, cuts, byzantine), and the largest k each survives: the lecture's
    /// "k-fault tolerant" read off by search (e.g. `matrix two-phase-commit`).
    Matrix(MatrixArgs),
    /// Dependability arithmetic: a component's availability MTTF / (MTTF + MTTR), and a k-of-n
    /// group's from its Markov chain (cross-checked against the closed form).
    Availability(AvailabilityArgs),
    /// Write a trace file in another tool's format: ITF (Apalache, Quint), ShiViz, DOT, Mermaid.
    Export(ExportArgs),
    /// Serve stateright's Explorer for a model on 127.0.0.1 and print its address: a web page
    /// that shows the initial states, the actions enabled in a state and the state each leads
    /// to (as the model prints them), and the properties' status, explored on demand.
    Explore(ExploreArgs),
    /// Re-execute a trace file and confirm its verdict.
    Replay(ReplayArgs),
    /// The benchmark table: runs the suite's cases marked `bench = true` and prints states,
    /// time, rate, peak memory, bytes per state and reduction factor (symmetry, partial-order) per configuration.
    Bench(BenchArgs),
    /// Run the verification suite: manifests of expected verdicts and state counts.
    Suite(SuiteArgs),
}

/// The arguments of `ftcheck list`.
#[derive(Args)]
struct ListArgs {
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

/// The arguments of `ftcheck check`.
#[derive(Args)]
struct CheckArgs {
    /// The model (see `ftcheck list`).
    model: String,
    /// A parameter, NAME=VALUE (repeatable).
    #[arg(long = "param", short = 'p', value_name = "NAME=VALUE")]
    params: Vec<Assignment>,
    /// A deliberately broken variant of the model.
    #[arg(long)]
    variant: Option<String>,
    /// The search.
    #[arg(long, value_enum, default_value = "bfs")]
    engine: Engine,
    /// Worker threads, 1 to 1024 (every engine; bfs results are the same for any number).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=MAX_THREADS))]
    threads: u16,
    /// Reduce the state space by the model's symmetry.
    #[arg(long)]
    symmetry: bool,
    /// Partial-order reduction, for models that declare one: explore a persistent set of
    /// each state's steps (safety and reachability; liveness is not checked; a counterexample
    /// is real but may not be a shortest one).
    #[arg(long)]
    por: bool,
    /// Stop after this many unique states, 1 to 4294967295 (verdicts become incomplete).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    max_states: Option<u32>,
    /// Explore at most this many steps from an initial state, 0 to 1000000 (simulation: each
    /// walk's length, 100 if not given; swarm: the longest walk).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=1_000_000))]
    max_depth: Option<u32>,
    /// Stop after this many seconds, 0 to 31536000 (a year).
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u32).range(0..=MAX_TIMEOUT_SECS))]
    timeout: Option<u32>,
    /// Stop (incomplete) before resident memory could exceed this: 512M, 4G (bfs).
    #[arg(long, value_name = "SIZE", value_parser = engine::parse_size)]
    max_memory: Option<u64>,
    /// Seed of the random walks (simulation, swarm): the same seed, the same walks and traces
    /// on any number of threads.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Check safety and reachability only: liveness needs the whole state graph stored
    /// (by the BFS), which costs time and memory.
    #[arg(long)]
    no_liveness: bool,
    /// Stop at the first counterexample to a safety property (as TLC and Spin do); the
    /// properties left undecided are incomplete (every engine).
    #[arg(long)]
    stop_on_violation: bool,
    /// Explore only part I of N (bfs): every shard searches up to the first level with
    /// 64 states per shard, then goes on from the states whose fingerprint is I-1 mod N.
    /// Combine the shards' JSON reports with `ftcheck merge`.
    #[arg(long, value_name = "I/N")]
    shard: Option<engine::Shard>,
    /// Search with this many worker processes on this machine, 1 to 64 (bfs): each owns the
    /// states whose fingerprint falls to it, and no state is explored twice. The same
    /// verdicts, counts and trace lengths as one process; liveness is not checked.
    #[arg(long, value_name = "N", conflicts_with = "hosts", value_parser = clap::value_parser!(u16).range(1..=workers::MAX_WORKERS as i64))]
    workers: Option<u16>,
    /// Join a distributed search whose processes are listed in FILE, one host:port per line
    /// (the same file on every machine); needs --process.
    #[arg(long, value_name = "FILE", requires = "process")]
    hosts: Option<PathBuf>,
    /// This process's line in the --hosts file, from 0; process 0 prints the report and
    /// writes the traces.
    #[arg(long, value_name = "I", requires = "hosts")]
    process: Option<usize>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Write each trace as NAME.trace.json and NAME.mmd into this folder.
    #[arg(long, value_name = "DIR")]
    trace_dir: Option<PathBuf>,
    /// Also write each trace in these formats into the --trace-dir (NAME.html,
    /// NAME.itf.json, NAME.shiviz.log, NAME.dot), comma separated.
    #[arg(
        long,
        value_name = "FORMAT,...",
        value_delimiter = ',',
        requires = "trace_dir"
    )]
    export: Vec<crate::trace::export::Format>,
    /// Minimise the traces a dfs or simulation finds: remove steps while the property
    /// stays violated (or reached) and the trace still replays (bfs traces are shortest
    /// already).
    #[arg(long)]
    minimize: bool,
}

/// The arguments of `ftcheck merge`.
#[derive(Args)]
struct MergeArgs {
    /// The shards' reports.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

/// The arguments of `ftcheck table`.
#[derive(Args)]
struct TableArgs {
    /// The model (see `ftcheck list`).
    model: String,
    /// The parameter whose values are the rows.
    #[arg(long, value_name = "PARAM")]
    rows: String,
    /// The parameters whose value combinations are the columns, comma separated.
    #[arg(long, value_name = "PARAM,...", value_delimiter = ',')]
    cols: Vec<String>,
    /// A fixed parameter for every cell, NAME=VALUE (repeatable).
    #[arg(long = "param", short = 'p', value_name = "NAME=VALUE")]
    params: Vec<Assignment>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: TableFormat,
}

/// The arguments of `ftcheck matrix`.
#[derive(Args)]
struct MatrixArgs {
    /// The model (see `ftcheck list`).
    model: String,
    /// The most faults of each kind to try (fewer where the parameter allows fewer).
    #[arg(long = "max-k", value_name = "K", default_value_t = 2)]
    max_k: u8,
    /// A fixed parameter for every run, NAME=VALUE (repeatable; a fault kind fixed here is not
    /// varied).
    #[arg(long = "param", short = 'p', value_name = "NAME=VALUE")]
    params: Vec<Assignment>,
    /// Check this broken variant instead of the protocol.
    #[arg(long)]
    variant: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: TableFormat,
}

/// The arguments of `ftcheck availability`.
#[derive(Args)]
struct AvailabilityArgs {
    /// Mean time to failure of a component (any unit, the same as --mttr).
    #[arg(long, allow_negative_numbers = true)]
    mttf: f64,
    /// Mean time to repair.
    #[arg(long, allow_negative_numbers = true)]
    mttr: f64,
    /// Components in the group.
    #[arg(long, requires = "k")]
    n: Option<usize>,
    /// Components that must be up for the group to be up.
    #[arg(long, requires = "n")]
    k: Option<usize>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

/// The arguments of `ftcheck export`.
#[derive(Args)]
struct ExportArgs {
    /// A .trace.json file written by `check --trace-dir`.
    file: PathBuf,
    /// The format.
    #[arg(long, value_enum)]
    to: crate::trace::export::Format,
    /// Write here (atomically) instead of to standard output.
    #[arg(long, short)]
    output: Option<PathBuf>,
}

/// The arguments of `ftcheck explore`.
#[derive(Args)]
struct ExploreArgs {
    /// The model (see `ftcheck list`).
    model: String,
    /// A parameter, NAME=VALUE (repeatable).
    #[arg(long = "param", short = 'p', value_name = "NAME=VALUE")]
    params: Vec<Assignment>,
    /// A deliberately broken variant of the model.
    #[arg(long)]
    variant: Option<String>,
    /// The port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 3000)]
    port: u16,
}

/// The arguments of `ftcheck replay`.
#[derive(Args)]
struct ReplayArgs {
    /// A .trace.json file written by `check --trace-dir`.
    file: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

/// The arguments of `ftcheck bench`.
#[derive(Args)]
struct BenchArgs {
    /// A folder of *.toml manifests, or one manifest.
    #[arg(default_value = "checks")]
    path: PathBuf,
    /// Only cases whose id (file/case) or model contains this text.
    #[arg(long)]
    filter: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "markdown")]
    format: BenchFormat,
    /// Run every case on this many threads, 1 to 1024 (default: as its manifest says, else 1).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=MAX_THREADS))]
    threads: Option<u16>,
    /// Run each case as a distributed search of this many processes on this machine, 1 to 64
    /// (`check --workers N`; the breadth-first cases only, liveness not checked): the table
    /// gains each process's peak memory.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=workers::MAX_WORKERS as i64))]
    workers: Option<u16>,
    /// Run only the case with this id here (how bench runs each case in its own process).
    #[arg(long, hide = true)]
    case: Option<String>,
    /// With --case: join the distributed search of this hosts file (how `--workers` starts
    /// the other processes of a case).
    #[arg(
        long,
        hide = true,
        requires = "case",
        requires = "process",
        conflicts_with = "workers"
    )]
    hosts: Option<PathBuf>,
    /// With --hosts: this process's line in it.
    #[arg(long, hide = true, requires = "hosts")]
    process: Option<usize>,
}

/// The arguments of `ftcheck suite`.
#[derive(Args)]
struct SuiteArgs {
    /// A folder of *.toml manifests, or one manifest.
    #[arg(default_value = "checks")]
    path: PathBuf,
    /// Write JUnit XML here.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Write a Markdown summary here (cases, verdicts, a Mermaid diagram per unexpected
    /// counterexample), for a CI job's summary page.
    #[arg(long, value_name = "FILE.md")]
    summary: Option<PathBuf>,
    /// Only cases whose id (file/case) or model contains this text.
    #[arg(long)]
    filter: Option<String>,
    /// Only the quick cases (those `cargo test` runs).
    #[arg(long)]
    quick: bool,
}

/// The most worker threads `--threads` takes.
const MAX_THREADS: i64 = 1024;
/// The longest `--timeout`, in seconds (a year).
const MAX_TIMEOUT_SECS: i64 = 31_536_000;

/// How often a search prints a progress line: `FTCHECK_PROGRESS_SECS` (seconds, 0 to a
/// year), else 5 s.
fn progress_every() -> Result<Duration, InputError> {
    let Ok(text) = std::env::var("FTCHECK_PROGRESS_SECS") else {
        return Ok(Duration::from_secs(5));
    };
    match text.trim().parse::<f64>() {
        Ok(secs) if (0.0..=MAX_TIMEOUT_SECS as f64).contains(&secs) => {
            Ok(Duration::from_secs_f64(secs))
        }
        _ => Err(InputError::Usage(format!(
            "FTCHECK_PROGRESS_SECS={text} is not a number of seconds between 0 and {MAX_TIMEOUT_SECS}; set it like FTCHECK_PROGRESS_SECS=5, or unset it"
        ))),
    }
}

/// Ctrl-C and SIGTERM stop the search (see [`engine::interrupt`]); a second one ends the
/// process at once (exit 130).
fn stop_on_signals(announce: bool) {
    let installed = ctrlc::set_handler(move || {
        if engine::interrupted() {
            // The hosts file of `--workers` is removed here: its owner's drop does not run.
            workers::remove_hosts_file();
            std::process::exit(130);
        }
        engine::interrupt();
        if announce {
            eprintln!(
                "{}: interrupted: stopping the search and reporting what it found (again to quit at once)",
                program()
            );
        }
    });
    if let Err(e) = installed {
        eprintln!(
            "{}: warning: Ctrl-C will end the search without a report ({e})",
            program()
        );
    }
}

/// Runs one subcommand on the models of `catalog`; its exit code.
fn run(catalog: &Catalog, cli: Cli) -> Result<i32, InputError> {
    match cli.command {
        Command::List(args) => list_models(catalog, args),
        Command::Check(args) => check_model(catalog, args),
        Command::Merge(args) => merge_shards(catalog, args),
        Command::Table(args) => table_grid(catalog, args),
        Command::Matrix(args) => fault_matrix(catalog, args),
        Command::Availability(args) => dependability(args),
        Command::Export(args) => export_trace(catalog, args),
        Command::Explore(args) => explore_model(catalog, args),
        Command::Replay(args) => replay_trace(catalog, args),
        Command::Bench(args) => bench_table(catalog, args),
        Command::Suite(args) => run_suite(catalog, args),
    }
}

/// `ftcheck list`: every model of the catalog.
fn list_models(catalog: &Catalog, args: ListArgs) -> Result<i32, InputError> {
    let ListArgs { format } = args;
    let entries = catalog.entries();
    if format == Format::Json {
        let infos: Vec<_> = entries.iter().map(|e| e.info()).collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&infos).expect("serialises")
        );
        return Ok(EXIT_OK);
    }
    for e in entries {
        let info = e.info();
        println!("{} — {}", e.name, e.summary);
        println!("  lecture: {}", e.section);
        for p in &e.params {
            let kind = match p.kind {
                ParamKind::Int { .. } => "int",
                ParamKind::Bool => "bool",
                ParamKind::Choice { .. } => "choice",
            };
            println!(
                "  --param {}={} ({kind}, {}): {}",
                p.name,
                p.default,
                catalog::range_text(&p.kind),
                p.help
            );
        }
        for v in &e.variants {
            println!("  --variant {}: {}", v.name, v.summary);
        }
        for p in &info.properties {
            println!("  property {} ({})", p.name, p.kind);
        }
        if info.symmetry {
            println!("  --symmetry available");
        }
        if info.por {
            println!("  --por available");
        }
        if info
            .properties
            .iter()
            .any(|p| p.kind == crate::runner::PropertyKind::Liveness)
        {
            println!("  fairness (for liveness): {}", e.fairness);
        }
        println!();
    }
    Ok(EXIT_OK)
}

/// `ftcheck check`: checks a model's properties.
fn check_model(catalog: &Catalog, args: CheckArgs) -> Result<i32, InputError> {
    let CheckArgs {
        model,
        params,
        variant,
        engine,
        threads,
        symmetry,
        por,
        max_states,
        max_depth,
        timeout,
        max_memory,
        seed,
        no_liveness,
        stop_on_violation,
        shard,
        workers,
        hosts,
        process,
        format,
        trace_dir,
        export,
        minimize,
    } = args;
    let mut req = CheckRequest {
        model,
        params,
        variant,
        options: CheckOptions {
            engine,
            threads: threads.into(),
            symmetry,
            por,
            max_states: max_states.map(|n| n as usize),
            max_depth: max_depth.map(|n| n as usize),
            timeout: timeout.map(|t| Duration::from_secs(t.into())),
            max_memory,
            seed,
            liveness: !no_liveness,
            shard,
            stop_on_violation,
            cluster: None,
            progress_every: progress_every()?,
        },
        trace_dir,
        exports: export,
        minimize,
    };
    // Only process 0 of a distributed search says so (the others print nothing).
    stop_on_signals(process.is_none_or(|p| p == 0));
    // Process 0 starts the others once the request is known to be good: they would wait for
    // it forever otherwise.
    let mut local = None;
    if let Some(n) = workers {
        // Validated as a distributed search (its options together), before it has addresses.
        req.options.cluster = Some(engine::cluster::Cluster {
            process: 0,
            addresses: Vec::new(),
        });
        check::validate(catalog, &req)?;
        let started = workers::LocalWorkers::start(n.into())?;
        req.options.cluster = Some(started.cluster.clone());
        local = Some(started);
    } else if let (Some(file), Some(i)) = (&hosts, process) {
        req.options.cluster = Some(workers::read_hosts(file, i)?);
    }
    let first = req.options.cluster.as_ref().is_none_or(|c| c.process == 0);
    if !first {
        req.trace_dir = None;
    }
    let report = check::check(catalog, &req, &mut |s| {
        eprintln!("{}", check::progress_line(s));
    });
    drop(local);
    let report = report?;
    match (first, &report.stopped) {
        (true, _) => Ok(print_report(&report, format)),
        // Process 0 reports the search; a failure of this process's part only this one knows.
        (false, Some(why)) if report.worker_failed => {
            let process = req.options.cluster.as_ref().map_or(0, |c| c.process);
            eprintln!("ftcheck: process {process}: {why}");
            Ok(report.exit_code)
        }
        (false, _) => Ok(report.exit_code),
    }
}

/// `ftcheck merge`: combines sharded reports.
fn merge_shards(catalog: &Catalog, args: MergeArgs) -> Result<i32, InputError> {
    let MergeArgs { files, format } = args;
    let report = check::merge(catalog, &files)?;
    Ok(print_report(&report, format))
}

/// `ftcheck table`: verdicts over a grid of parameters.
fn table_grid(catalog: &Catalog, args: TableArgs) -> Result<i32, InputError> {
    let TableArgs {
        model,
        rows,
        cols,
        params,
        format,
    } = args;
    let t = table::table(catalog, &model, &rows, &cols, &params)?;
    print_grid(format, &t, table::Table::text, table::Table::markdown);
    Ok(EXIT_OK)
}

/// Prints a grid of results (`table`, `matrix`) as aligned text, Markdown or JSON.
fn print_grid<T: serde::Serialize>(
    format: TableFormat,
    grid: &T,
    text: fn(&T) -> String,
    markdown: fn(&T) -> String,
) {
    match format {
        TableFormat::Text => print!("{}", text(grid)),
        TableFormat::Markdown => print!("{}", markdown(grid)),
        TableFormat::Json => {
            println!(
                "{}",
                serde_json::to_string_pretty(grid).expect("serialises")
            )
        }
    }
}

/// `ftcheck matrix`: the largest number of faults of each kind each property survives.
fn fault_matrix(catalog: &Catalog, args: MatrixArgs) -> Result<i32, InputError> {
    let MatrixArgs {
        model,
        max_k,
        params,
        variant,
        format,
    } = args;
    let m = matrix::matrix(catalog, &model, &params, variant.as_deref(), max_k)?;
    print_grid(format, &m, matrix::Matrix::text, matrix::Matrix::markdown);
    Ok(EXIT_OK)
}

/// `ftcheck availability`: dependability arithmetic.
fn dependability(args: AvailabilityArgs) -> Result<i32, InputError> {
    let AvailabilityArgs {
        mttf,
        mttr,
        n,
        k,
        format,
    } = args;
    let a = availability::availability(mttf, mttr, n.zip(k))?;
    if format == Format::Json {
        println!("{}", serde_json::to_string_pretty(&a).expect("serialises"));
    } else {
        print!("{}", a.text());
    }
    Ok(EXIT_OK)
}

/// `ftcheck export`: a trace file in another tool's format.
fn export_trace(catalog: &Catalog, args: ExportArgs) -> Result<i32, InputError> {
    let ExportArgs { file, to, output } = args;
    // Every field is checked against the model (the trace is replayed) before use.
    let recorded = trace::load_checked(catalog, &file)?;
    let text = crate::trace::export::export(&recorded, &recorded.stem(catalog), to);
    match output {
        Some(path) => trace::write_atomic(&path, &text, "--output")?,
        None => print!("{text}"),
    }
    Ok(EXIT_OK)
}

/// `ftcheck explore`: stateright's Explorer for a model.
fn explore_model(catalog: &Catalog, args: ExploreArgs) -> Result<i32, InputError> {
    let ExploreArgs {
        model,
        params,
        variant,
        port,
    } = args;
    let resolved = catalog.resolve(&model, &params, variant.as_deref())?;
    // Bind first, so a port in use is bad input rather than a panic in stateright.
    let address = std::net::TcpListener::bind(("127.0.0.1", port))
        .and_then(|l| l.local_addr())
        .map_err(|e| {
            InputError::Usage(format!(
                "cannot listen on 127.0.0.1:{port} ({e}); give a free --port, or --port 0 for any"
            ))
        })?;
    // The address is printed once the server answers, so a script can wait for it.
    let name = resolved.entry.name;
    std::thread::spawn(move || {
        while std::net::TcpStream::connect(address).is_err() {
            std::thread::sleep(Duration::from_millis(20));
        }
        println!("stateright Explorer for {name} at http://{address}/ (Ctrl-C stops it)");
        let _ = std::io::stdout().flush();
    });
    resolved.model.explore(address)
}

/// `ftcheck replay`: re-executes a trace file.
fn replay_trace(catalog: &Catalog, args: ReplayArgs) -> Result<i32, InputError> {
    let ReplayArgs { file, format } = args;
    let r = trace::replay(catalog, &file)?;
    if format == Format::Json {
        println!("{}", serde_json::to_string_pretty(&r).expect("serialises"));
    } else {
        println!(
            "replayed {} steps of {}: property '{}' {} {}, as recorded",
            r.steps, r.model, r.property, r.verdict, r.confirmed
        );
    }
    Ok(EXIT_OK)
}

/// `ftcheck bench`: the benchmark table.
fn bench_table(catalog: &Catalog, args: BenchArgs) -> Result<i32, InputError> {
    let BenchArgs {
        path,
        filter,
        format,
        threads,
        workers,
        case,
        hosts,
        process,
    } = args;
    let threads = threads.map(usize::from);
    // Ctrl-C: the case that runs is reported (incomplete) and no other starts; only the
    // parent process (no `--case`) says so.
    stop_on_signals(case.is_none());
    let rows = match case {
        Some(id) => {
            let distributed = match (&hosts, process, workers) {
                (Some(file), Some(i), _) => {
                    Some(bench::Distributed::Join(workers::read_hosts(file, i)?))
                }
                (_, _, Some(n)) => Some(bench::Distributed::Start(n)),
                _ => None,
            };
            bench::run_here(catalog, &path, &id, threads, distributed)?
        }
        None => bench::run(&path, filter, threads, workers)?,
    };
    match format {
        BenchFormat::Markdown => print!("{}", bench::markdown(&rows)),
        BenchFormat::Csv => print!("{}", bench::csv(&rows)),
        BenchFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&rows).expect("serialises")
        ),
    }
    Ok(if rows.iter().all(|r| r.matches_manifest) {
        EXIT_OK
    } else {
        1
    })
}

/// `ftcheck suite`: the verification suite.
fn run_suite(catalog: &Catalog, args: SuiteArgs) -> Result<i32, InputError> {
    let SuiteArgs {
        path,
        junit,
        summary,
        filter,
        quick,
    } = args;
    let selection = suite::Selection {
        filter,
        quick_only: quick,
        ..suite::Selection::default()
    };
    stop_on_signals(true);
    let outcomes = suite::run(catalog, &path, &selection, &mut |o| {
        println!("{}", suite::table_line(o));
        let _ = std::io::stdout().flush();
    })?;
    let failed: Vec<&str> = outcomes
        .iter()
        .filter(|o| !o.passed())
        .map(|o| o.id.as_str())
        .collect();
    if let Some(path) = junit {
        trace::write_atomic(&path, &suite::junit(&outcomes), "--junit")?;
    }
    if let Some(path) = summary {
        trace::write_atomic(&path, &suite::summary(catalog, &outcomes), "--summary")?;
    }
    println!(
        "{} passed, {} failed",
        outcomes.len() - failed.len(),
        failed.len()
    );
    if engine::interrupted() {
        eprintln!(
            "{}: interrupted: the cases after the last one shown were not run",
            program()
        );
        Ok(1)
    } else if failed.is_empty() {
        Ok(EXIT_OK)
    } else {
        eprintln!(
            "{}: unexpected results in: {}",
            program(),
            failed.join(", ")
        );
        Ok(1)
    }
}

/// Prints a check's report; its exit code.
fn print_report(report: &check::CheckReport, format: Format) -> i32 {
    if format == Format::Json {
        println!(
            "{}",
            serde_json::to_string_pretty(report).expect("serialises")
        );
    } else {
        print!("{}", check::render_text(report));
    }
    report.exit_code
}

/// The program's name, as its messages begin: the file name it was run as (`ftcheck`, or a
/// user's binary), else `ftcheck`.
fn program_name() -> String {
    std::env::args_os()
        .next()
        .and_then(|a| {
            std::path::Path::new(&a)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
        })
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "ftcheck".into())
}

/// Parses the command line, runs the subcommand on the models of `catalog` and returns the
/// exit code (see `ftcheck --help`): the whole `ftcheck` program, for any catalog.
pub fn main(catalog: Catalog) -> ExitCode {
    // A closed standard output (`ftcheck ... | head`) ends the program quietly, as it ends
    // other Unix tools, where `print!` would panic. The distributed search's sockets are not
    // concerned: Rust's `TcpStream` sends with `MSG_NOSIGNAL`.
    #[cfg(unix)]
    // SAFETY: restores one signal's default action, before any other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    crate::error::set_program(program_name());
    let name = program();
    let parsed = Cli::command()
        .bin_name(name)
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                e.exit();
            }
            // One line: clap's lines before its usage (the input, the arguments missing, the
            // values possible, a tip) joined; --help shows the rest.
            let text = e.render().to_string();
            let line = text
                .lines()
                .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            eprintln!(
                "{name}: error: {}; see {name} --help",
                line.trim_start_matches("error: ").trim_end_matches(':')
            );
            return ExitCode::from(EXIT_USAGE as u8);
        }
    };
    match run(&catalog, cli) {
        Ok(code) => ExitCode::from(code as u8),
        Err(InputError::Reported) => ExitCode::from(EXIT_USAGE as u8),
        Err(e) => {
            eprintln!("{name}: error: {e}");
            ExitCode::from(EXIT_USAGE as u8)
        }
    }
}

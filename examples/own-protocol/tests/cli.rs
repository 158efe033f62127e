//! The example crate's own `main` (one line: `ftcheck::cli::main(own_protocol::catalog())`)
//! checks stateright's 2pc, single-copy register and ABD register with ftcheck's commands.
//! Counts and trace lengths are compared with stateright's own checker, run here. The crate's
//! own `ping` protocol checks that what its entry declares beside the `ActorModel` (fairness,
//! leads-to, a bound, symmetry) reaches the liveness search.

use assert_cmd::Command;
use own_protocol::{abd_register, paxos, ping, single_copy_register, two_phase_commit};
use serde_json::Value;
use stateright::actor::Network;
use stateright::{Checker, Model};
use std::path::Path;

fn own() -> Command {
    Command::cargo_bin("own-protocol").expect("the example's binary is built")
}

/// Runs `own-protocol ARGS`; its exit code and standard output.
fn run(args: &[&str]) -> (i32, String) {
    let out = own().args(args).output().expect("runs");
    (
        out.status.code().expect("exits"),
        String::from_utf8(out.stdout).expect("UTF-8"),
    )
}

/// `check ... --format json`: its exit code and report.
fn check_json(args: &[&str]) -> (i32, Value) {
    let mut all = vec!["check"];
    all.extend_from_slice(args);
    all.extend(["--format", "json"]);
    let (code, out) = run(&all);
    (code, serde_json::from_str(&out).expect("a JSON report"))
}

/// The report's row of `property`.
fn row<'a>(report: &'a Value, property: &str) -> &'a Value {
    report["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|r| r["name"] == property)
        .unwrap_or_else(|| panic!("no property {property} in {report}"))
}

fn verdict<'a>(report: &'a Value, property: &str) -> &'a str {
    row(report, property)["verdict"]
        .as_str()
        .expect("a verdict")
}

/// The unique states stateright's own BFS checker counts.
fn stateright_bfs<M>(model: M) -> usize
where
    M: Model + Send + Sync + 'static,
    M::State: Clone + std::fmt::Debug + std::hash::Hash + PartialEq + Send + Sync,
    M::Action: Clone + std::fmt::Debug + PartialEq + Send + Sync,
{
    model.checker().spawn_bfs().join().unique_state_count()
}

#[test]
fn stateright_2pc_has_stateright_s_state_counts_for_3_to_6_resource_managers() {
    for rms in 3..=6 {
        let theirs = stateright_bfs(two_phase_commit::TwoPhaseSys { rms: 0..rms });
        let (code, report) = check_json(&["stateright-2pc", "-p", &format!("rms={rms}")]);
        assert_eq!(code, 0, "rms={rms}: {report}");
        assert_eq!(report["stats"]["unique_states"], theirs, "rms={rms}");
        assert_eq!(verdict(&report, "consistent"), "holds");
        assert_eq!(verdict(&report, "abort agreement"), "reached");
        assert_eq!(verdict(&report, "commit agreement"), "reached");
    }
    // stateright's own test pins rms = 3 and 5.
    let (_, report) = check_json(&["stateright-2pc", "-p", "rms=3"]);
    assert_eq!(report["stats"]["unique_states"], 288);
}

#[test]
fn single_copy_register_is_not_linearizable_with_two_servers_and_the_trace_replays() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let dir_text = dir.path().to_str().expect("UTF-8 path");
    let (code, report) = check_json(&["single-copy-register", "--trace-dir", dir_text]);
    assert_eq!(code, 12, "a violated safety property: {report}");
    assert_eq!(verdict(&report, "linearizable"), "violated");
    // Shortest: 4 steps, the counterexample stateright's own test pins. stateright's BFS
    // reports a longer one (it overwrites a property's discovery with later ones).
    let theirs = single_copy_register::SingleCopyModelCfg {
        client_count: 2,
        server_count: 2,
        network: Network::new_unordered_nonduplicating([]),
    }
    .into_model()
    .checker()
    .spawn_bfs()
    .join()
    .discovery("linearizable")
    .expect("stateright finds it too")
    .into_actions()
    .len();
    let file = dir
        .path()
        .join("single-copy-register-linearizable.trace.json");
    let trace: Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("the trace file")).unwrap();
    assert_eq!(trace["steps"].as_array().unwrap().len(), 4);
    assert!(theirs >= 4, "stateright's is {theirs} steps");
    // The trace replays, the same in every fresh process (the network is a hash set whose
    // order differs from process to process).
    let replayed: Vec<(i32, String)> = (0..20)
        .map(|_| run(&["replay", file.to_str().unwrap()]))
        .collect();
    for r in &replayed {
        assert_eq!(r, &replayed[0]);
    }
    assert_eq!(replayed[0].0, 0);
    assert!(
        replayed[0].1.starts_with(
            "replayed 4 steps of single-copy-register: property 'linearizable' violated"
        ),
        "{}",
        replayed[0].1
    );
    // Another process may order a hash set (the network) differently, in its JSON and in its
    // actions: the same trace with every array reversed and every action index changed
    // replays the same.
    fn reverse_arrays(v: &mut Value) {
        match v {
            Value::Array(items) => {
                items.reverse();
                items.iter_mut().for_each(reverse_arrays);
            }
            Value::Object(fields) => fields.values_mut().for_each(reverse_arrays),
            _ => {}
        }
    }
    let mut shuffled = trace.clone();
    reverse_arrays(&mut shuffled["init_state"]);
    for step in shuffled["steps"].as_array_mut().unwrap() {
        reverse_arrays(&mut step["state"]);
        let index = step["action_index"].as_u64().unwrap();
        step["action_index"] = (index + 1).into();
    }
    assert_ne!(shuffled, trace);
    let other = dir.path().join("shuffled.trace.json");
    std::fs::write(&other, shuffled.to_string()).unwrap();
    assert_eq!(
        run(&["replay", other.to_str().unwrap()]),
        replayed[0],
        "the shuffled trace"
    );
    // An HTML page of it.
    let page = dir.path().join("page.html");
    let (code, _) = run(&[
        "export",
        file.to_str().unwrap(),
        "--to",
        "html",
        "--output",
        page.to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    let html = std::fs::read_to_string(&page).expect("the page");
    assert!(html.starts_with("<!DOCTYPE html>"), "{}", &html[..80]);
    assert!(html.contains("linearizable"));
    // With one server it is linearizable.
    let (code, report) = check_json(&["single-copy-register", "-p", "servers=1"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(verdict(&report, "linearizable"), "holds");
    assert_eq!(verdict(&report, "value chosen"), "reached");
}

#[test]
fn abd_register_is_linearizable() {
    let (code, report) = check_json(&["abd-register"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(verdict(&report, "linearizable"), "holds");
    assert_eq!(verdict(&report, "value chosen"), "reached");
    // At least the states stateright's checker finds: ftcheck's actor states also hash apart
    // where stateright's collide (timers or pending choices of different actors).
    let theirs = stateright_bfs(
        abd_register::AbdModelCfg {
            client_count: 2,
            server_count: 2,
            network: Network::new_unordered_nonduplicating([]),
        }
        .into_model(),
    );
    assert_eq!(theirs, 544);
    assert!(report["stats"]["unique_states"].as_u64().unwrap() >= theirs as u64);
}

#[test]
fn the_suite_and_list_run_on_the_crate_s_protocols() {
    let manifests = Path::new(env!("CARGO_MANIFEST_DIR")).join("checks");
    // The quick cases; the others (stateright-paxos with 3 clients) are `own-protocol suite`'s.
    let (code, out) = run(&["suite", manifests.to_str().unwrap(), "--quick"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("passed, 0 failed"), "{out}");
    let (code, out) = run(&["list"]);
    assert_eq!(code, 0);
    for name in [
        "stateright-2pc",
        "single-copy-register",
        "abd-register",
        "raft",
    ] {
        assert!(out.contains(&format!("{name} — ")), "{name} in {out}");
    }
}

#[test]
fn table_bench_merge_and_explore_run_on_the_crate_s_protocols() {
    // table: which reachability properties each configuration reaches.
    let (code, out) = run(&[
        "table",
        "single-copy-register",
        "--rows",
        "servers",
        "--cols",
        "clients",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{out}");
    let t: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(t["rows"], serde_json::json!(["1", "2", "3"]), "{t}");
    // bench: the manifest's bench cases, each in a child process of this crate's binary.
    let manifests = Path::new(env!("CARGO_MANIFEST_DIR")).join("checks");
    let (code, out) = run(&["bench", manifests.to_str().unwrap(), "--format", "json"]);
    assert_eq!(code, 0, "{out}");
    let rows: Value = serde_json::from_str(&out).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["unique_states"], 8832);
    // merge: two shards' reports make the whole verdicts.
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for shard in ["1/2", "2/2"] {
        let (_, out) = run(&[
            "check",
            "stateright-2pc",
            "-p",
            "rms=4",
            "--shard",
            shard,
            "--format",
            "json",
        ]);
        let file = dir.path().join(format!("shard{}.json", &shard[..1]));
        std::fs::write(&file, out).unwrap();
        files.push(file);
    }
    let (code, out) = run(&[
        "merge",
        files[0].to_str().unwrap(),
        files[1].to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{out}");
    let merged: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(verdict(&merged, "consistent"), "holds");
    // explore: stateright's Explorer on 127.0.0.1, for a model of this crate.
    use std::io::{BufRead, Read, Write};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_own-protocol"))
        .args(["explore", "abd-register", "--port", "0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let address = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .map(str::to_string);
    let page = address.as_ref().map(|address| {
        let mut stream = std::net::TcpStream::connect(address).unwrap();
        write!(stream, "GET /.states/0 HTTP/1.0\r\nHost: {address}\r\n\r\n").unwrap();
        let mut page = String::new();
        stream.read_to_string(&mut page).unwrap();
        page
    });
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        line.starts_with("stateright Explorer for abd-register at http://127.0.0.1:"),
        "{line}"
    );
    // The first steps from the initial state: a client's request reaches a server.
    assert!(page.unwrap().contains("\"action\":\"Deliver {"));
}

/// Each of ping's declarations changes a verdict, so each is seen to be forwarded through
/// `Guarded`: without fairness the reliable network's runs could stop anywhere (violated, not
/// holds); without the bound the lossy network's run would be `violated`; without the leads-to
/// trigger the one-client violation would be the 1-step loss of the ping; without symmetry the
/// counts would not shrink.
#[test]
fn ping_s_fairness_leads_to_bound_and_symmetry_reach_the_liveness_search() {
    const LIVENESS: &str = "every client answered";
    // Fairness: with no losses every fair run answers every client.
    let (code, reliable) = check_json(&["ping", "-p", "lossy=false"]);
    assert_eq!(code, 0, "{reliable}");
    assert_eq!(verdict(&reliable, LIVENESS), "holds");
    // The distinct states of the unwrapped model, told apart by equality. stateright's own
    // BFS counts 9 fewer: it keeps one fingerprint per state, and its hash of the per-actor
    // timer sets writes no set's length, so a timer set at actor 1 or at actor 2 hashes alike.
    // `Guarded` checks the wrapped model, whose states hash apart.
    let model = ping::PingCfg {
        clients: 2,
        max_pings: 2,
        lossy: false,
        retry: true,
    }
    .into_model();
    let mut seen = std::collections::HashSet::new();
    let mut todo = model.init_states();
    while let Some(state) = todo.pop() {
        if seen.insert(state.clone()) {
            todo.extend(model.next_states(&state));
        }
    }
    let theirs = seen.len();
    assert_eq!((theirs, stateright_bfs(model)), (121, 112));
    assert_eq!(reliable["stats"]["unique_states"], theirs);

    // The bound: the fair run that loses a client's pings stops only because max-pings is
    // spent; exit 0, as the search was exhaustive.
    let (code, lossy) = check_json(&["ping"]);
    assert_eq!(code, 0, "{lossy}");
    let r = row(&lossy, LIVENESS);
    assert_eq!(r["verdict"], "incomplete");
    assert_eq!(r["bound"], "max-pings");
    assert_eq!(r["reason"], "bound: max-pings");
    assert_eq!(r["trace_length"], 8);

    // The leads-to trigger (a pong in flight): the shortest violation delivers the ping and
    // loses the pong. It replays from its file.
    let dir = tempfile::tempdir().expect("a temporary folder");
    let dir_text = dir.path().to_str().expect("UTF-8 path");
    let (code, report) = check_json(&[
        "ping",
        "--variant",
        "no-retry",
        "-p",
        "clients=1",
        "--trace-dir",
        dir_text,
    ]);
    assert_eq!(code, 13, "a violated liveness property: {report}");
    let file = row(&report, LIVENESS)["trace_files"]
        .as_array()
        .expect("files")
        .iter()
        .filter_map(Value::as_str)
        .find(|f| f.ends_with(".trace.json"))
        .expect("a trace file")
        .to_string();
    let trace: Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("written")).expect("JSON");
    let events: Vec<(&str, &str)> = trace["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| {
            (
                s["event"]["kind"].as_str().unwrap(),
                s["event"]["msg"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(events, [("deliver", "Ping"), ("drop", "Pong")]);
    let (code, out) = run(&["replay", &file]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("'every client answered' violated by stopping in the last state, as recorded"),
        "{out}"
    );

    // Symmetry: fewer states, the same verdicts.
    for params in ["lossy=false", "lossy=true"] {
        let (_, whole) = check_json(&["ping", "-p", params]);
        let (_, reduced) = check_json(&["ping", "-p", params, "--symmetry"]);
        assert!(
            reduced["stats"]["unique_states"].as_u64() < whole["stats"]["unique_states"].as_u64(),
            "{params}"
        );
        for p in ["pings within max-pings", "a client answered", LIVENESS] {
            assert_eq!(verdict(&whole, p), verdict(&reduced, p), "{params}: {p}");
        }
    }
}

/// Hints name the binary the user runs, not `ftcheck`.
#[test]
fn hints_name_the_user_s_binary() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let file = dir.path().join("x.trace.json");
    std::fs::write(&file, "not json").expect("written");
    let out = own()
        .args(["replay", file.to_str().unwrap()])
        .output()
        .expect("runs");
    let err = String::from_utf8(out.stderr).expect("UTF-8");
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.starts_with("own-protocol: error: "), "{err}");
    assert!(
        err.contains("written by own-protocol check --trace-dir"),
        "{err}"
    );
}

/// stateright's Paxos example has the states stateright's own BFS counts; the actor kit's
/// rule for inert messages leaves fewer with the same verdicts and shortest trace.
#[test]
fn stateright_paxos_counts_as_stateright_and_fewer_with_inert_messages_dropped() {
    let theirs = stateright_bfs(
        paxos::PaxosModelCfg {
            client_count: 2,
            server_count: 3,
            network: Network::new_unordered_nonduplicating([]),
        }
        .into_model(),
    );
    assert_eq!(theirs, 16_668, "the count stateright's own test pins");
    let (code, all) = check_json(&["stateright-paxos"]);
    assert_eq!(code, 0, "{all}");
    assert_eq!(all["stats"]["unique_states"], theirs);
    let (code, pruned) = check_json(&["stateright-paxos", "-p", "inert=true"]);
    assert_eq!(code, 0, "{pruned}");
    assert_eq!(pruned["stats"]["unique_states"], 6_239);
    for p in ["linearizable", "value chosen"] {
        assert_eq!(row(&all, p)["verdict"], row(&pruned, p)["verdict"], "{p}");
        assert_eq!(
            row(&all, p)["trace_length"],
            row(&pruned, p)["trace_length"],
            "{p}"
        );
    }
}

/// `own-protocol matrix ticket`: each fault kind the ticket dispenser declares, one fault at
/// most, and the properties that survive it — the same outcomes as `checks/ticket.toml`'s
/// cases, one per kind.
#[test]
fn the_fault_matrix_of_the_ticket_dispenser() {
    let (code, out) = run(&["matrix", "ticket", "--max-k", "1", "--format", "json"]);
    assert_eq!(code, 0, "{out}");
    let m: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        m["kinds"],
        serde_json::json!([
            "crashes",
            "restarts",
            "amnesia",
            "omissions",
            "duplications",
            "reorderings",
            "cuts",
            "byzantine"
        ])
    );
    // Per property, the kinds it does not survive one fault of (the others it survives).
    let broken = |property: &str| -> Vec<String> {
        let row = m["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["property"] == property)
            .unwrap_or_else(|| panic!("{property}"));
        m["kinds"]
            .as_array()
            .unwrap()
            .iter()
            .zip(row["cells"].as_array().unwrap())
            .filter(|(_, c)| c["survives"] == 0)
            .map(|(k, _)| k.as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(broken("tickets unique"), ["amnesia", "byzantine"]);
    assert_eq!(broken("tickets in order"), ["byzantine"]);
    assert_eq!(
        broken("no more tickets than asked"),
        ["restarts", "duplications", "byzantine"]
    );
    assert_eq!(
        broken("every client served"),
        ["crashes", "omissions", "cuts", "byzantine"]
    );
    let (code, text) = run(&["matrix", "ticket", "--max-k", "1"]);
    assert_eq!(code, 0);
    assert!(
        text.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>()
                == ["tickets", "unique", "≥1", "≥1", "0", "≥1", "≥1", "≥1", "≥1", "0"]),
        "{text}"
    );
}

/// A plain `Model` that implements `Lanes` (here stateright's 2pc example, with the `Laned`
/// describer) draws a lane per process: the shortest commit is both RMs preparing, the TM
/// receiving both `Prepared` and committing, and each RM receiving `Commit`, each step on the
/// lane of its process; the trace replays.
#[test]
fn a_plain_model_with_lanes_draws_a_lane_per_process() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let dir_text = dir.path().to_str().expect("UTF-8 path");
    let (code, report) = check_json(&["stateright-2pc", "-p", "rms=2", "--trace-dir", dir_text]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(verdict(&report, "commit agreement"), "reached");
    let file = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with("commit_agreement.trace.json"))
        .expect("the trace of commit agreement");
    let trace: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(trace["lanes"], serde_json::json!(["TM", "RM1", "RM2"]));
    let mut events: Vec<String> = trace["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let e = &s["event"];
            match e["kind"].as_str().unwrap() {
                "deliver" => format!("{} -> {}: {}", e["from"], e["to"], e["msg"]),
                kind => format!("{kind} {}: {}", e["from"], e["detail"]),
            }
            .replace('"', "")
        })
        .collect();
    // The RMs' preparations and the TM's receptions interleave in some order, as do the
    // RMs' receptions of Commit.
    events[..4].sort();
    events[5..].sort();
    assert_eq!(
        events,
        [
            "RM1 -> TM: Prepared",
            "RM2 -> TM: Prepared",
            "step RM1: prepares: sends Prepared",
            "step RM2: prepares: sends Prepared",
            "step TM: commits: sends Commit",
            "TM -> RM1: Commit",
            "TM -> RM2: Commit",
        ]
    );
    let (code, out) = run(&["replay", file.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
}

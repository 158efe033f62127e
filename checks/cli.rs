//! The `ftcheck` command as a user runs it: outputs, exit codes, bad input.

use assert_cmd::Command;
use std::path::Path;

fn ftcheck() -> Command {
    let mut c = Command::cargo_bin("ftcheck").unwrap();
    c.env("FTCHECK_PROGRESS_SECS", "3600");
    c
}

fn stderr_of(args: &[&str]) -> (i32, String) {
    let out = ftcheck().args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn list_shows_every_model_with_params_variants_and_properties() {
    let out = ftcheck().arg("list").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("two-phase-commit — "));
    assert!(text.contains("--param participants=3 (int, 1..=8)"));
    assert!(text.contains("--variant coordinator-forgets"));
    assert!(text.contains("property atomicity (safety)"));
    assert!(text.contains("property commit-reached (reachability)"));
    assert!(text.contains("property termination (liveness)"));
    assert!(text.contains("transaction-commit — "));

    let out = ftcheck()
        .args(["list", "--format", "json"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "two-phase-commit",
            "transaction-commit",
            "flooding-consensus",
            "paxos",
            "raft",
            "byzantine-agreement",
            "pbft",
            "voting-group",
            "rpc-semantics",
            "rpc-lost-reply",
            "message-logging",
            "failure-detector",
            "reliable-multicast",
            "cap-register",
            "checkpointing"
        ]
    );
    assert_eq!(json[0]["params"][0]["name"], "participants");
    assert_eq!(json[0]["params"][0]["default"], 3);
    assert_eq!(json[0]["params"][0]["type"], "int");
    assert_eq!(json[0]["params"][0]["min"], 1);
    assert_eq!(json[0]["params"][0]["max"], 8);
    assert_eq!(json[0]["params"][2]["name"], "fair-recovery");
    assert_eq!(json[0]["params"][2]["type"], "bool");
    assert_eq!(json[0]["params"][2]["default"], true);
    assert!(json[0]["fairness"]
        .as_str()
        .unwrap()
        .starts_with("weak: delivering each message"));
    assert_eq!(json[0]["symmetry"], true);
    assert_eq!(json[0]["variants"].as_array().unwrap().len(), 3);
    let voting = &json[7]["params"][2];
    assert_eq!(voting["name"], "failure");
    assert_eq!(voting["type"], "choice");
    assert_eq!(
        voting["options"],
        serde_json::json!(["halting", "arbitrary"])
    );
    assert_eq!(voting["default"], "arbitrary");
    assert_eq!(json[1]["properties"][1]["name"], "TCConsistent");
    assert_eq!(json[1]["properties"][1]["kind"], "safety");
}

#[test]
fn check_exit_codes_follow_the_readme() {
    ftcheck()
        .args(["check", "transaction-commit", "-p", "rms=4"])
        .assert()
        .code(0);
    ftcheck()
        .args([
            "check",
            "two-phase-commit",
            "--variant",
            "ready-timeout-abort",
        ])
        .assert()
        .code(12);
    ftcheck()
        .args(["check", "transaction-commit", "--max-states", "50"])
        .assert()
        .code(3);
    let out = ftcheck()
        .args([
            "check",
            "transaction-commit",
            "-p",
            "rms=8",
            "--timeout",
            "0",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("TCConsistent    safety        incomplete (timeout 0s)"),
        "{text}"
    );
}

#[test]
fn check_json_reports_verdicts_and_statistics() {
    let out = ftcheck()
        .args([
            "check",
            "transaction-commit",
            "-p",
            "rms=3",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["stats"]["unique_states"], 288);
    assert_eq!(r["stats"]["generated_states"], 1146);
    assert_eq!(r["stats"]["max_depth"], 10);
    assert_eq!(r["results"][1]["name"], "TCConsistent");
    assert_eq!(r["results"][1]["verdict"], "holds");
    assert_eq!(r["results"][2]["verdict"], "reached");
    assert_eq!(r["results"][2]["trace_length"], 10);
    assert_eq!(r["exit_code"], 0);
}

#[test]
fn text_report_prints_the_shortest_trace_as_numbered_steps() {
    let out = ftcheck()
        .args([
            "check",
            "two-phase-commit",
            "--variant",
            "ready-timeout-abort",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("  atomicity              safety        violated in 12 steps"),
        "{text}"
    );
    assert!(text.contains("Counterexample: safety 'atomicity' in 12 steps:"));
    assert!(text.contains("  1  deliver  coordinator -> participant1: VoteRequest"));
    assert!(text.contains("timeout  participant"));
    assert!(text.contains("fingerprint collision probability"));
}

#[test]
fn progress_lines_go_to_stderr() {
    let out = Command::cargo_bin("ftcheck")
        .unwrap()
        .env("FTCHECK_PROGRESS_SECS", "0")
        .args(["check", "transaction-commit", "-p", "rms=6"])
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.lines()
            .any(|l| l.starts_with("Progress(") && l.contains("distinct states found")),
        "{err}"
    );
}

#[test]
fn bad_input_is_one_line_naming_the_input_and_the_fix_with_exit_2() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["check", "two-phase-comit"],
            "unknown model 'two-phase-comit'; did you mean 'two-phase-commit'?",
        ),
        (
            &["check", "two-phase-commit", "-p", "partcipants=2"],
            "has no parameter 'partcipants'; did you mean 'participants'?",
        ),
        (
            &["check", "two-phase-commit", "-p", "participants=99"],
            "participants=99 of 'two-phase-commit': out of range; allowed 1..=8",
        ),
        (
            &["check", "two-phase-commit", "-p", "participants=many"],
            "expected an integer in 1..=8",
        ),
        (
            &["check", "two-phase-commit", "-p", "lossy=maybe"],
            "expected true or false",
        ),
        (
            &["check", "voting-group", "-p", "failure=halt"],
            "expected one of halting, arbitrary; did you mean 'halting'?",
        ),
        (
            &[
                "check",
                "voting-group",
                "-p",
                "faulty=3",
                "-p",
                "replicas=2",
            ],
            "faulty=3 exceeds replicas=2; give at most 2 faulty members",
        ),
        (
            &["check", "two-phase-commit", "-p", "participants"],
            "'participants' for '--param <NAME=VALUE>': not NAME=VALUE; write e.g. --param participants=3",
        ),
        (
            &["check", "two-phase-commit", "--variant", "no-vote-logg"],
            "no variant 'no-vote-logg'; did you mean 'no-vote-log'?",
        ),
        (
            &["check", "transaction-commit", "--variant", "x"],
            "its variants: none",
        ),
        (
            &["check", "two-phase-commit", "--threads", "0"],
            "1..=1024",
        ),
        (&["replay", "/nonexistent.trace.json"], "cannot read"),
        (
            &["availability", "--mttf", "0", "--mttr", "5"],
            "--mttf 0 must be a positive, finite time",
        ),
        (
            &["availability", "--mttf", "9", "--mttr", "1", "--n", "2", "--k", "3"],
            "--k 3 must be between 1 and --n 2",
        ),
        (
            &["table", "rpc-semantics", "--rows", "clinet", "--cols", "server"],
            "has no parameter 'clinet'; did you mean 'client'?",
        ),
        (
            &["check", "rpc-semantics", "-p", "ordering=PMC"],
            "ordering=PMC is an ordering of the other server strategy; with server=M-then-P use MPC, MC(P), C(MP)",
        ),
        (
            &["suite", "/nonexistent-folder"],
            "no such file or folder; give the checks/ folder or a manifest",
        ),
        (
            &["check", "transaction-commit", "--max-memory", "3X"],
            "'3X' has an unknown unit; write a size like 512M or 4G",
        ),
        (
            &["check", "transaction-commit", "--max-states", "many"],
            "invalid value 'many' for '--max-states <N>'",
        ),
        (
            &[
                "check",
                "transaction-commit",
                "--max-memory",
                "1G",
                "--engine",
                "dfs",
            ],
            "--max-memory bounds the bfs engine only",
        ),
        (
            &["check", "transaction-commit", "--shard", "5/4"],
            "'5/4' is not a shard; write I/N with 1 <= I <= N, like 2/4",
        ),
        (
            &[
                "check",
                "transaction-commit",
                "--shard",
                "1/2",
                "--engine",
                "dfs",
            ],
            "--shard splits the bfs engine's frontier",
        ),
        (&["merge", "/nonexistent.json"], "cannot be read"),
        (
            &["check", "transaction-commit", "--export", "html"],
            "the following required arguments were not provided",
        ),
        (
            &[
                "check",
                "transaction-commit",
                "--trace-dir",
                "/tmp",
                "--export",
                "pdf",
            ],
            "invalid value 'pdf' for '--export <FORMAT,...>'",
        ),
        (
            &["export", "/nonexistent.trace.json", "--to", "html"],
            "cannot read",
        ),
    ];
    for (args, expected) in cases {
        let (code, err) = stderr_of(args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(expected), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    // clap's own usage errors also exit 2.
    let (code, _) = stderr_of(&["check"]);
    assert_eq!(code, 2);
}

#[test]
fn malformed_files_are_rejected_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let bad_json = dir.path().join("bad.trace.json");
    std::fs::write(&bad_json, "{ not json").unwrap();
    let (code, err) = stderr_of(&["replay", bad_json.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("not JSON"), "{err}");

    let bad_manifest = dir.path().join("bad.toml");
    std::fs::write(
        &bad_manifest,
        "model = \"transaction-commit\"\n[[case]]\nname = 3\n",
    )
    .unwrap();
    let (code, err) = stderr_of(&["suite", bad_manifest.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("malformed manifest"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    // A syntax error, whose message from toml has two lines, and a missing path: one line.
    std::fs::write(&bad_manifest, "[raft\nx = 1\n").unwrap();
    let (code, err) = stderr_of(&["suite", bad_manifest.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        err.contains(
            "malformed manifest at line 1, column 6: invalid table header; expected `.`, `]`; see"
        ),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    let missing = dir.path().join("nothere.toml");
    let (code, err) = stderr_of(&["bench", missing.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        err.contains("nothere.toml: no such file or folder; give the checks/ folder or a manifest"),
        "{err}"
    );

    let bad_verdict = dir.path().join("verdict.toml");
    std::fs::write(
        &bad_verdict,
        "model = \"transaction-commit\"\n[[case]]\nname = \"x\"\nexpect = { TypeOK = \"fine\" }\n",
    )
    .unwrap();
    let (code, err) = stderr_of(&["suite", bad_verdict.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        err.contains("expects 'fine'; write one of holds, violated"),
        "{err}"
    );

    let twice = dir.path().join("twice.toml");
    let case = "[[case]]\nname = \"x\"\nexpect = { TypeOK = \"holds\" }\n";
    std::fs::write(
        &twice,
        format!("model = \"transaction-commit\"\n{case}{case}"),
    )
    .unwrap();
    let (code, err) = stderr_of(&["suite", twice.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("case 'x' appears twice"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");

    // Seeds are for random walks, 1 to 10,000 of them; so are alternative verdicts.
    for (extra, verdict, says) in [
        (
            "seeds = 10\n",
            "holds",
            "seed and seeds are for random walks",
        ),
        (
            "engine = \"swarm\"\nseeds = 0\n",
            "holds",
            "seeds = 0 is out of range",
        ),
        (
            "engine = \"swarm\"\nseeds = 9223372036854775807\n",
            "holds",
            "give 1 to 10000",
        ),
        (
            "",
            "holds|incomplete",
            "alternative verdicts (a|b) are for random walks",
        ),
    ] {
        let seeds = dir.path().join("seeds.toml");
        std::fs::write(
            &seeds,
            format!("model = \"transaction-commit\"\n[[case]]\nname = \"x\"\n{extra}expect = {{ TypeOK = \"{verdict}\" }}\n"),
        )
        .unwrap();
        let (code, err) = stderr_of(&["suite", seeds.to_str().unwrap()]);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains(says), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

#[test]
fn unwritable_trace_dir_fails_before_searching_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let target = file.join("traces");
    let (code, err) = stderr_of(&[
        "check",
        "two-phase-commit",
        "--variant",
        "ready-timeout-abort",
        "--trace-dir",
        target.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("give a writable --trace-dir"), "{err}");
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(left.len(), 1, "only the file we made");
}

#[test]
fn check_then_replay_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    ftcheck()
        .args([
            "check",
            "two-phase-commit",
            "--variant",
            "coordinator-forgets",
            "--trace-dir",
        ])
        .arg(dir.path())
        .assert()
        .code(12);
    let trace = dir
        .path()
        .join("two-phase-commit-coordinator-forgets-coordinator-agreement.trace.json");
    assert!(Path::new(&trace).exists());
    // Another configuration does not overwrite it: non-default parameters are in the name.
    ftcheck()
        .args([
            "check",
            "flooding-consensus",
            "-p",
            "crashes=2",
            "--trace-dir",
        ])
        .arg(dir.path())
        .assert()
        .code(12);
    assert!(dir
        .path()
        .join("flooding-consensus-crashes=2-uniform-agreement.trace.json")
        .exists());
    assert!(dir
        .path()
        .join("flooding-consensus-crashes=2-uniform-agreement.mmd")
        .exists());
    let out = ftcheck().arg("replay").arg(&trace).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "replayed 12 steps of two-phase-commit: property 'coordinator-agreement' violated at the last state, as recorded\n"
    );
}

/// `check --minimize --export`: a DFS counterexample minimised (never longer, still
/// replaying), written with every export beside it, each the same as `ftcheck export` writes.
#[test]
fn minimized_traces_are_exported_straight_from_check() {
    let dir = tempfile::tempdir().unwrap();
    let check = |minimize: bool| {
        let mut c = ftcheck();
        c.args([
            "check",
            "two-phase-commit",
            "--variant",
            "coordinator-forgets",
            "--engine",
            "dfs",
            "--format",
            "json",
            "--export",
            "html,itf,shiviz,dot",
            "--trace-dir",
        ])
        .arg(dir.path());
        if minimize {
            c.arg("--minimize");
        }
        let out = c.output().unwrap();
        assert_eq!(out.status.code(), Some(12));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        report["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == "coordinator-agreement")
            .unwrap()
            .clone()
    };
    let found = check(false);
    let minimized = check(true);
    let (n, m) = (
        found["trace_length"].as_u64().unwrap(),
        minimized["trace_length"].as_u64().unwrap(),
    );
    assert_eq!(minimized["minimized_from"].as_u64(), Some(n));
    assert!(found.get("minimized_from").is_none());
    // 14 steps as DFS finds it, 12 minimised (BFS's shortest is 12 too).
    assert_eq!((n, m), (14, 12));
    let stem = dir
        .path()
        .join("two-phase-commit-coordinator-forgets-coordinator-agreement");
    let trace = stem.with_extension("trace.json");
    let out = ftcheck().arg("replay").arg(&trace).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8(out.stdout)
        .unwrap()
        .starts_with("replayed 12 steps"));
    let files: Vec<String> = minimized["trace_files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_string())
        .collect();
    assert_eq!(files.len(), 6, "{files:?}");
    for (format, ext) in [
        ("mermaid", "mmd"),
        ("html", "html"),
        ("itf", "itf.json"),
        ("shiviz", "shiviz.log"),
        ("dot", "dot"),
    ] {
        let path = stem.with_extension(ext);
        assert!(files.contains(&path.display().to_string()), "{path:?}");
        let written = std::fs::read_to_string(&path).unwrap();
        let exported = ftcheck()
            .arg("export")
            .arg(&trace)
            .args(["--to", format])
            .output()
            .unwrap();
        assert_eq!(written.as_bytes(), exported.stdout, "{format}");
    }
}

/// A liveness counterexample: exit 13, a lasso file that replays, and a tampered one (its loop
/// removed) that does not.
#[test]
fn liveness_lassos_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    ftcheck()
        .args([
            "check",
            "reliable-multicast",
            "-p",
            "delivery=weak",
            "--trace-dir",
        ])
        .arg(dir.path())
        .assert()
        .code(13);
    let trace = dir
        .path()
        .join("reliable-multicast-delivery=weak-eventual-delivery.trace.json");
    let out = ftcheck().arg("replay").arg(&trace).output().unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "replayed 10 steps of reliable-multicast: property 'eventual-delivery' violated on the loop back to state 2, as recorded\n"
    );
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&trace).unwrap()).unwrap();
    json.as_object_mut().unwrap().remove("loop_start");
    let tampered = dir.path().join("tampered.trace.json");
    std::fs::write(&tampered, json.to_string()).unwrap();
    let out = ftcheck().arg("replay").arg(&tampered).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("trace diverges at step 10: no loop is marked"),
        "{err}"
    );
}

#[test]
fn suite_names_every_case_that_differs_and_writes_junit() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("tc.toml");
    std::fs::write(
        &manifest,
        r#"model = "transaction-commit"
[[case]]
name = "right"
params = { rms = 2 }
unique_states = 56
expect = { TypeOK = "holds", TCConsistent = "holds", commit-reached = "reached", abort-reached = "reached" }
[[case]]
name = "wrong-count"
params = { rms = 2 }
unique_states = 57
expect = { TypeOK = "holds", TCConsistent = "holds", commit-reached = "reached", abort-reached = "reached" }
"#,
    )
    .unwrap();
    let junit = dir.path().join("junit.xml");
    let out = ftcheck()
        .arg("suite")
        .arg(&manifest)
        .arg("--junit")
        .arg(&junit)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("PASS  tc/right"));
    assert!(stdout.contains("FAIL  tc/wrong-count"));
    assert!(stdout.contains("expected 57 unique states, got 56"));
    assert!(stdout.contains("1 passed, 1 failed"));
    assert!(String::from_utf8(out.stderr)
        .unwrap()
        .contains("tc/wrong-count"));
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains(r#"<testsuite name="transaction-commit" tests="2""#),
        "{xml}"
    );
    assert!(xml.contains(r#"failures="1""#));
    assert!(xml.contains("expected 57 unique states, got 56"));

    let out = ftcheck()
        .arg("suite")
        .arg(&manifest)
        .args(["--filter", "right"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
}

/// A GET on the Explorer; the response's body.
fn http_get(address: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {address}\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    assert!(
        head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
        "{path}: {head}"
    );
    body.to_string()
}

/// `explore` serves stateright's Explorer for a catalog model and prints where; a port in
/// use is bad input (exit 2, one line), not a panic.
#[test]
fn explore_serves_the_explorer_on_localhost() {
    use std::io::BufRead;
    let mut child = KillOnDrop(
        std::process::Command::new(assert_cmd::cargo::cargo_bin("ftcheck"))
            .args(["explore", "rpc-lost-reply", "--variant", "no-dedup"])
            .args(["--port", "0"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    std::io::BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let address = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();
    assert!(line.starts_with("stateright Explorer for rpc-lost-reply at http://127.0.0.1:"));
    let page = http_get(&address, "/");
    assert!(page.contains("<html"), "{page}");
    let inits: serde_json::Value = serde_json::from_str(&http_get(&address, "/.states")).unwrap();
    assert_eq!(inits.as_array().unwrap().len(), 1, "{inits}");
    // The first step: the client's timer sends its transfer, as the trace files record it.
    let steps: serde_json::Value = serde_json::from_str(&http_get(&address, "/.states/0")).unwrap();
    let actions: Vec<&str> = steps
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["action"].as_str())
        .collect();
    assert!(actions.contains(&"Timeout(Id(0), Request)"), "{actions:?}");
    let port = address.rsplit(':').next().unwrap();
    let (code, err) = stderr_of(&["explore", "rpc-lost-reply", "--port", port]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{err}"
    );
}

/// Kills the Explorer's process when its test ends, passed or failed.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `suite --summary`: Markdown for a CI summary page, with the Mermaid diagram of a
/// counterexample the manifest did not expect — the same diagram `check --trace-dir` writes.
#[test]
fn suite_summary_shows_unexpected_counterexamples_as_mermaid() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("rl.toml");
    std::fs::write(
        &manifest,
        r#"model = "rpc-lost-reply"
[[case]]
name = "as-expected"
unique_states = 24
expect = { exactly-once = "holds", retried-after-lost-reply = "reached", answered = "reached" }
[[case]]
name = "believes-dedup"
variant = "no-dedup"
expect = { exactly-once = "holds", retried-after-lost-reply = "reached", answered = "reached" }
trace_lengths = { answered = 3 }
"#,
    )
    .unwrap();
    let summary = dir.path().join("summary.md");
    let out = ftcheck()
        .arg("suite")
        .arg(&manifest)
        .arg("--summary")
        .arg(&summary)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(
        md.starts_with("# ftcheck suite: 1 passed, 1 failed\n"),
        "{md}"
    );
    assert!(md.contains("| pass | `rl/as-expected` | 24 |"), "{md}");
    assert!(
        md.contains("| **FAIL** | `rl/believes-dedup` | 23 |"),
        "{md}"
    );
    assert!(md.contains("\n## FAIL `rl/believes-dedup`\n\n- property exactly-once: expected holds, got violated\n"), "{md}");
    // One diagram: the unexpected counterexample (answered, as expected, has none).
    assert_eq!(md.matches("```mermaid").count(), 1, "{md}");
    ftcheck()
        .args([
            "check",
            "rpc-lost-reply",
            "--variant",
            "no-dedup",
            "--trace-dir",
        ])
        .arg(dir.path())
        .assert()
        .code(12);
    let mmd = std::fs::read_to_string(dir.path().join("rpc-lost-reply-no-dedup-exactly-once.mmd"))
        .unwrap();
    assert!(md.contains(&format!("```mermaid\n{mmd}```\n")), "{md}");
    assert!(
        md.contains("safety property `exactly-once` violated in 5 steps"),
        "{md}"
    );
}

/// A simulation of a model whose `next_state` ignores actions (raft ignores deliveries that
/// change nothing), on which stateright 0.31's simulation panicked rebuilding its own paths:
/// the walks run until the timeout and report what holds in raft as incomplete.
#[test]
fn a_simulation_of_a_model_that_ignores_actions_runs_to_its_timeout() {
    let out = ftcheck()
        .args([
            "check",
            "raft",
            "-p",
            "client-ops=4",
            "-p",
            "max-term=8",
            "--engine",
            "simulation",
            "--timeout",
            "3",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(
        stdout.contains("election-safety       safety        incomplete (timeout 3s)"),
        "{stdout}"
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}

#[test]
fn table_prints_the_lectures_rpc_table_as_markdown() {
    let out = ftcheck()
        .args([
            "table",
            "rpc-semantics",
            "--rows",
            "client",
            "--cols",
            "server,ordering",
            "--format",
            "markdown",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "| client \\ server ordering | M-then-P MPC | M-then-P MC(P) | M-then-P C(MP) | M-then-P any \
         | P-then-M PMC | P-then-M PC(M) | P-then-M C(PM) | P-then-M any |"
    );
    assert_eq!(
        lines[2],
        "| always | DUP | OK | OK | OK DUP | DUP | DUP | OK | OK DUP |"
    );
    assert_eq!(lines.len(), 6);
}

/// `ftcheck bench` prints a row per `bench = true` case, with the symmetry factor against the
/// same configuration's pinned count without symmetry.
#[test]
fn bench_prints_the_benchmark_table() {
    let out = ftcheck()
        .args([
            "bench",
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/checks/transaction-commit.toml"
            ),
            "--format",
            "json",
            "--threads",
            "2",
            "--filter",
            "rms-8",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    let cases: Vec<&str> = rows.iter().map(|r| r["case"].as_str().unwrap()).collect();
    assert_eq!(
        cases,
        [
            "transaction-commit/rms-8",
            "transaction-commit/rms-8-symmetry"
        ]
    );
    assert_eq!(rows[0]["unique_states"], 1_745_408);
    assert_eq!(rows[0]["generated_states"], 18_507_778);
    assert_eq!(rows[0]["threads"], 2);
    assert!(rows[0]["reduction_factor"].is_null());
    let factor = rows[1]["reduction_factor"].as_f64().unwrap();
    assert!((factor - 1_745_408.0 / 1_461.0).abs() < 1e-9, "{factor}");
    assert!(rows[0]["bytes_per_state"].as_f64().unwrap() > 0.0);
    assert_eq!(rows[1]["matches_manifest"], true);

    let out = ftcheck()
        .args([
            "bench",
            concat!(env!("CARGO_MANIFEST_DIR"), "/checks/voting-group.toml"),
            "--format",
            "csv",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].starts_with("case,distinct states,generated,depth,threads,seconds"));
    assert!(
        lines[1].starts_with("voting-group/arbitrary-k3-n7,432,1729,7,1,"),
        "{text}"
    );
    assert!(lines[1].ends_with(",,yes"), "{text}");
    // The symmetry case, with its reduction factor against the pinned count without it.
    assert!(
        lines[2].starts_with("voting-group/arbitrary-k3-n7-symmetry,50,201,7,1,"),
        "{text}"
    );
    assert!(lines[2].ends_with(",8.64,yes"), "{text}");
}

/// `ftcheck bench --workers N` runs each breadth-first case as a distributed search of N
/// processes, still checked against its manifest (liveness then not checked), and the table
/// gains each process's peak memory.
#[test]
fn bench_runs_each_case_distributed_with_workers() {
    let out = ftcheck()
        .args([
            "bench",
            concat!(env!("CARGO_MANIFEST_DIR"), "/checks/voting-group.toml"),
            "--format",
            "csv",
            "--workers",
            "2",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[0].starts_with("case,distinct states,generated,depth,threads,processes,seconds,")
            && lines[0].contains(",peak RSS (MiB),peak RSS per process (MiB),bytes/state,"),
        "{text}"
    );
    for (line, case) in lines[1..].iter().zip([
        "voting-group/arbitrary-k3-n7,432,",
        "voting-group/arbitrary-k3-n7-symmetry,50,",
    ]) {
        let cells: Vec<&str> = line.split(',').collect();
        assert!(line.starts_with(case), "{text}");
        assert_eq!((cells[4], cells[5]), ("2", "2"), "{text}");
        assert_eq!(cells[10].split(" / ").count(), 2, "{text}");
        assert_eq!(cells.last(), Some(&"yes"), "{text}");
    }
    // A case whose input is bad is reported once, on one line naming it.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "model = \"voting-group\"\n[[case]]\nname = \"a\"\nbench = true\nparams = { faulty = 5 }\nexpect = {}\n",
    )
    .unwrap();
    let out = ftcheck()
        .args(["bench", bad.to_str().unwrap(), "--workers", "2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.lines().count() == 1 && err.contains("case bad/a: parameter faulty=5"),
        "{err}"
    );
    // The random walks are not breadth-first searches.
    let out = ftcheck()
        .args(["bench", "--filter", "walks", "--workers", "2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("--workers: no case of") && err.lines().count() == 1,
        "{err}"
    );
}

/// The parallel BFS numbers states as one thread would: the same counts, verdicts, traces
/// (files byte for byte) and liveness lassos, on one thread or three. Only the generated count
/// of a search stopped by a bound may differ.
#[test]
fn bfs_results_are_the_same_on_any_number_of_threads() {
    let cases: [&[&str]; 7] = [
        &["transaction-commit", "-p", "rms=5"],
        &["pbft", "-p", "views=1", "--symmetry"],
        &["pbft", "-p", "views=1", "--variant", "small-quorum"],
        &["reliable-multicast", "-p", "delivery=weak"],
        &["two-phase-commit", "-p", "fair-recovery=false"],
        &[
            "paxos",
            "--variant",
            "no-takeover",
            "-p",
            "clients=1",
            "--no-liveness",
        ],
        &["raft", "--max-states", "30000"],
    ];
    for case in cases {
        type Files = Vec<(String, Vec<u8>)>;
        let runs: Vec<(serde_json::Value, Files)> = ["1", "3"]
            .iter()
            .map(|threads| {
                let dir = tempfile::tempdir().unwrap();
                let out = ftcheck()
                    .arg("check")
                    .args(case)
                    .args(["--threads", threads, "--format", "json", "--trace-dir"])
                    .arg(dir.path())
                    .output()
                    .unwrap();
                let mut r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
                for noise in ["elapsed_secs", "liveness_secs", "threads"] {
                    r["stats"][noise] = serde_json::Value::Null;
                }
                for noise in ["options", "states_per_sec", "traces"] {
                    r[noise] = serde_json::Value::Null;
                }
                for result in r["results"].as_array_mut().unwrap() {
                    result["trace_files"] = serde_json::Value::Null;
                }
                if !r["stopped"].is_null() {
                    // Threads generate the rest of a level before the bound stops the count.
                    r["stats"]["generated_states"] = serde_json::Value::Null;
                    r["collision_probability"] = serde_json::Value::Null;
                }
                let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir.path())
                    .unwrap()
                    .map(|e| {
                        let p = e.unwrap().path();
                        let name = p.file_name().unwrap().to_string_lossy().to_string();
                        (name, std::fs::read(&p).unwrap())
                    })
                    .collect();
                files.sort();
                (r, files)
            })
            .collect();
        assert_eq!(runs[0].0, runs[1].0, "{case:?}");
        assert!(!runs[0].1.is_empty(), "{case:?} wrote no trace");
        assert_eq!(runs[0].1, runs[1].1, "{case:?}");
    }
}

/// `ftcheck merge` as a CI job runs it: the shards' reports in, one verdict out; a missing
/// shard makes "holds" incomplete (exit 3); files that are not one check's shards are refused.
#[test]
fn merge_combines_shards_and_refuses_what_does_not_fit() {
    let dir = tempfile::tempdir().unwrap();
    let shard = |model: &str, i: u32, n: u32| {
        let out = ftcheck()
            .args(["check", model, "--format", "json", "--shard"])
            .arg(format!("{i}/{n}"))
            .output()
            .unwrap();
        let file = dir.path().join(format!("{model}-{i}-of-{n}.json"));
        std::fs::write(&file, &out.stdout).unwrap();
        file.to_str().unwrap().to_string()
    };
    let (a, b, c) = (
        shard("transaction-commit", 1, 3),
        shard("transaction-commit", 2, 3),
        shard("transaction-commit", 3, 3),
    );
    let out = ftcheck().args(["merge", &a, &b, &c]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("merged from shards 1/3, 2/3, 3/3;"), "{text}");
    assert!(
        text.contains("TCConsistent    safety        holds"),
        "{text}"
    );

    let out = ftcheck()
        .args(["merge", &a, &c, "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["results"][1]["verdict"], "incomplete");
    assert_eq!(r["results"][1]["reason"], "shards missing: 2/3");
    assert_eq!(r["results"][2]["verdict"], "reached");
    assert_eq!(r["merged"]["missing"], serde_json::json!([2]));

    let other = shard("two-phase-commit", 2, 3);
    let (code, err) = stderr_of(&["merge", &a, &other]);
    assert_eq!(code, 2);
    assert!(err.contains("is a shard of another check"), "{err}");
    let (code, err) = stderr_of(&["merge", &a, &a]);
    assert_eq!(code, 2);
    assert!(err.contains("repeats shard 1/3"), "{err}");
    let whole = dir.path().join("whole.json");
    let out = ftcheck()
        .args(["check", "transaction-commit", "--format", "json"])
        .output()
        .unwrap();
    std::fs::write(&whole, &out.stdout).unwrap();
    let (code, err) = stderr_of(&["merge", whole.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("is not a shard's report"), "{err}");
    let junk = dir.path().join("junk.json");
    std::fs::write(&junk, "{\"model\": 1}").unwrap();
    let (code, err) = stderr_of(&["merge", junk.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("is not a check report"), "{err}");
}

/// `ftcheck matrix` reads "k-fault tolerant" off the search: two-phase commit with
/// ready-timeout-abort (a READY participant that times out aborts on its own) is safe without
/// crashes — its timers fire only once the coordinator has crashed — and loses atomicity and
/// the coordinator's agreement with the first crash, while the other properties survive two.
/// The correct protocol survives two crashes throughout. Bad input is one line, exit 2.
#[test]
fn matrix_reads_off_the_faults_each_property_survives() {
    let matrix = |extra: &[&str]| {
        let mut args = vec!["matrix", "two-phase-commit", "--param", "participants=2"];
        args.extend_from_slice(extra);
        let out = ftcheck().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let json: serde_json::Value = serde_json::from_str(&matrix(&[
        "--variant",
        "ready-timeout-abort",
        "--format",
        "json",
    ]))
    .unwrap();
    assert_eq!(json["kinds"], serde_json::json!(["crashes"]));
    let survives = |json: &serde_json::Value, property: &str| {
        let row = json["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["property"] == property)
            .unwrap_or_else(|| panic!("{property} in {json}"));
        (
            row["cells"][0]["survives"].clone(),
            row["cells"][0]["verdicts"].clone(),
        )
    };
    use serde_json::json;
    assert_eq!(
        survives(&json, "atomicity"),
        (json!(0), json!(["holds", "violated", "violated"]))
    );
    assert_eq!(survives(&json, "coordinator-agreement").0, json!(0));
    for p in ["commit-validity", "irrevocable", "termination"] {
        assert_eq!(
            survives(&json, p),
            (json!(2), json!(["holds", "holds", "holds"])),
            "{p}"
        );
    }
    let rows: Vec<&str> = json["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["property"].as_str().unwrap())
        .collect();
    assert!(
        !rows.contains(&"commit-reached"),
        "reachability is left out"
    );
    // The correct protocol, as Markdown.
    let md = matrix(&["--format", "markdown"]);
    let lines: Vec<&str> = md.lines().collect();
    assert_eq!(lines[0], "| property | crashes |");
    assert_eq!(lines[2], "| atomicity | ≥2 |");
    assert_eq!(lines.len(), 2 + 5 + 2, "{md}");
    // Bad input.
    for (args, needle) in [
        (
            &["matrix", "rpc-semantics"][..],
            "declares no fault parameter",
        ),
        (
            &["matrix", "two-phase-commit", "--param", "crashes=1"][..],
            "fixes every fault kind of model 'two-phase-commit' (crashes)",
        ),
        (&["matrix", "no-such-model"][..], "no-such-model"),
    ] {
        let (code, err) = stderr_of(args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

/// SIGTERM sent to `bench` alone (as a CI runner's timeout sends it) stops the case that is
/// running, which is reported (incomplete, so it does not match its manifest: exit 1), and no
/// other case starts.
#[test]
#[cfg(target_os = "linux")]
fn bench_stops_its_running_case_on_sigterm_to_it_alone() {
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("ftcheck"))
        .args([
            "bench",
            concat!(env!("CARGO_MANIFEST_DIR"), "/checks/raft.toml"),
            "--filter",
            "raft/two-restarts",
            "--format",
            "json",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // raft/two-restarts's search (1,715,003 states; the case before raft/two-restarts-symmetry)
    // takes longer than this.
    std::thread::sleep(std::time::Duration::from_secs(3));
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["case"], "raft/two-restarts");
    assert_eq!(rows[0]["matches_manifest"], false);
    assert!(
        rows[0]["unique_states"].as_u64().unwrap() < 1_715_003,
        "{rows:?}"
    );
}

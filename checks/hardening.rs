//! Regression tests for the faults of the hardening round (issue 17), each named after its
//! fault: hangs, lost counterexamples, panics on extreme input, trusted tampering, partial
//! searches that said `holds`, suites that ran nothing, usage errors that lost their point,
//! unbounded reads, export defects, a test command that needed set-up by hand, and liveness
//! verdicts caused by a model's bounds. The fuzz test at the end throws random mutations of
//! saved traces and shard reports at `replay`, `export` and `merge`.

use assert_cmd::Command;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::time::Duration;

fn ftcheck() -> Command {
    let mut c = Command::cargo_bin("ftcheck").unwrap();
    c.env("FTCHECK_PROGRESS_SECS", "3600");
    c
}

/// Exit code, stdout, stderr.
fn run(args: &[&str]) -> (i32, String, String) {
    let out = ftcheck()
        .args(args)
        .timeout(Duration::from_secs(300))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// A bad-input outcome: exit 2, one line on stderr, no panic.
fn assert_refused(args: &[&str], mentions: &[&str]) -> String {
    let (code, _, err) = run(args);
    assert_eq!(code, 2, "{args:?}: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
    assert!(!err.contains("panicked"), "{args:?}: {err}");
    for m in mentions {
        assert!(err.contains(m), "{args:?}: {err} lacks {m}");
    }
    err
}

fn saved(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("checks/traces")
        .join(name)
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn write_json(dir: &Path, name: &str, v: &Value) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_string_pretty(v).unwrap()).unwrap();
    p
}

fn read_json(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

#[test]
fn fault01_no_deadlock_with_two_threads_and_max_memory() {
    // The memory check took the fingerprint table's read lock a second time while the other
    // worker waited to grow it: a hang. Each must end, with the verdicts of one thread.
    for (args, code) in [
        (&["transaction-commit", "-p", "rms=7"][..], 0),
        (&["two-phase-commit"][..], 0),
        (&["raft"][..], 0),
    ] {
        let mut all = vec!["check"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--threads", "2", "--max-memory", "3G"]);
        let (got, out, err) = run(&all);
        assert_eq!(got, code, "{all:?}: {out}{err}");
        assert!(!out.contains("incomplete (max-memory"), "{out}");
    }
}

/// Starts a long check, waits for its first progress line, sends `signal`, and returns its
/// exit code and output.
fn interrupted(signal: &str, dir: &Path) -> (i32, String) {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("ftcheck"))
        .args([
            "check",
            "raft",
            "--variant",
            "forget-vote",
            "-p",
            "max-term=3",
        ])
        .arg("--trace-dir")
        .arg(dir)
        .env("FTCHECK_PROGRESS_SECS", "0.2")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    // Once the search is past the depth of the 7-step violation (`Progress(DEPTH): ...`).
    loop {
        let line = lines.next().unwrap().unwrap();
        assert!(line.starts_with("Progress("), "{line}");
        let depth: usize = line["Progress(".len()..]
            .split(')')
            .next()
            .and_then(|d| d.parse().ok())
            .unwrap();
        if depth > 7 {
            break;
        }
    }
    let status = std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let out = child.wait_with_output().unwrap();
    assert!(rest.iter().any(|l| l.contains("interrupted")), "{rest:?}");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
    )
}

#[test]
fn fault02_sigint_and_sigterm_report_and_write_every_counterexample() {
    for signal in ["-INT", "-TERM"] {
        let dir = tmp();
        let (code, out) = interrupted(signal, dir.path());
        // The 7-step violation found early is reported and written; what is undecided says so.
        assert_eq!(code, 12, "{out}");
        assert!(out.contains("violated in 7 steps"), "{out}");
        assert!(out.contains("incomplete (interrupted)"), "{out}");
        assert!(out.contains("stopped by interrupted"), "{out}");
        let file = dir
            .path()
            .join("raft-forget-vote-max-term=3-election-safety.trace.json");
        assert!(file.exists(), "{out}");
        let (code, replayed, err) = run(&["replay", file.to_str().unwrap()]);
        assert_eq!(code, 0, "{err}");
        assert!(replayed.contains("violated at the last state"));
    }
}

#[test]
fn fault03_extreme_numbers_are_refused_in_one_line() {
    let cases: [(&[&str], &[&str]); 7] = [
        (
            &[
                "check",
                "two-phase-commit",
                "--engine",
                "dfs",
                "--threads",
                "100000",
            ],
            &["--threads", "1..=1024"],
        ),
        (
            &["check", "two-phase-commit", "--threads", "100000000"],
            &["--threads"],
        ),
        (
            &["check", "two-phase-commit", "--threads", "0"],
            &["--threads"],
        ),
        (
            &[
                "check",
                "two-phase-commit",
                "--timeout",
                "18446744073709551615",
            ],
            &["--timeout"],
        ),
        (
            &[
                "check",
                "two-phase-commit",
                "--engine",
                "dfs",
                "--max-depth",
                "18446744073709551615",
            ],
            &["--max-depth"],
        ),
        (
            &["check", "two-phase-commit", "--max-states", "0"],
            &["--max-states"],
        ),
        (&["bench", "--threads", "100000"], &["--threads"]),
    ];
    for (args, mentions) in cases {
        assert_refused(args, mentions);
    }
    for bad in ["-1", "nan", "inf", "x", "1e300"] {
        let out = Command::cargo_bin("ftcheck")
            .unwrap()
            .env("FTCHECK_PROGRESS_SECS", bad)
            .args(["check", "two-phase-commit", "-p", "participants=1"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad}: {err}");
        assert!(err.contains("FTCHECK_PROGRESS_SECS"), "{err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    }
}

#[test]
fn fault04_trace_metadata_is_checked_by_replay_and_export() {
    let dir = tmp();
    let safety = read_json(&saved("raft-forget-vote-election-safety.trace.json"));
    let lasso = read_json(&saved(
        "reliable-multicast-delivery=weak-eventual-delivery.trace.json",
    ));
    let steps = lasso["steps"].as_array().unwrap().len();
    let mut cases: Vec<(&str, Value, &str)> = Vec::new();
    let mut t = safety.clone();
    t["loop_start"] = json!(2);
    cases.push(("safety-with-loop", t, "loop_start"));
    let mut t = safety.clone();
    t["kind"] = json!("liveness");
    cases.push(("kind-changed", t, "kind"));
    let mut t = lasso.clone();
    t["loop_start"] = json!(18446744073709551615u64);
    cases.push(("loop-past-end", t, "loop_start"));
    let mut t = lasso.clone();
    t["loop_start"] = json!(steps);
    cases.push(("loop-at-end", t, "loop_start"));
    let mut t = safety.clone();
    t["verdict"] = json!("reached");
    cases.push(("verdict", t, "verdict"));
    let mut t = safety.clone();
    t["steps"][0]["n"] = json!(5);
    cases.push(("numbering", t, "numbered"));
    let mut t = safety.clone();
    t["engine"] = json!("tlc");
    cases.push(("engine", t, "engine"));
    let mut t = safety.clone();
    t["lanes"] = json!(["S1", "S2", "S9"]);
    cases.push(("lanes", t, "lanes"));
    let mut t = safety.clone();
    t["steps"][1]["event"]["from"] = json!("S3");
    cases.push(("event", t, "event"));
    let mut t = safety.clone();
    t["steps"][1]["changes"] = json!([]);
    cases.push(("changes", t, "changes"));
    let mut t = lasso.clone();
    t["bound"] = json!("max-term");
    cases.push(("bound", t, "incomplete"));
    for (name, value, mention) in cases {
        let file = write_json(dir.path(), &format!("{name}.trace.json"), &value);
        let f = file.to_str().unwrap();
        assert_refused(&["replay", f], &[mention]);
        let out = dir.path().join(format!("{name}.html"));
        assert_refused(
            &["export", f, "--to", "html", "-o", out.to_str().unwrap()],
            &[mention],
        );
        assert!(!out.exists(), "{name}: export wrote a file");
        for to in ["itf", "shiviz", "dot", "mermaid"] {
            assert_refused(&["export", f, "--to", to], &[]);
        }
    }
}

/// Two shards' JSON reports of a 2PC check, written in `dir`.
fn shards(dir: &Path) -> (Value, Value) {
    let report = |i: &str| {
        let (code, out, err) = run(&[
            "check",
            "two-phase-commit",
            "--shard",
            i,
            "--no-liveness",
            "--format",
            "json",
        ]);
        assert_eq!(code, 3, "{err}");
        serde_json::from_str::<Value>(&out).unwrap()
    };
    let (a, b) = (report("1/2"), report("2/2"));
    write_json(dir, "s1.json", &a);
    write_json(dir, "s2.json", &b);
    (a, b)
}

#[test]
fn fault05_merge_refuses_tampered_shard_reports() {
    let dir = tmp();
    let (s1, _) = shards(dir.path());
    let s2 = dir.path().join("s2.json");
    let (code, out, err) = run(&[
        "merge",
        dir.path().join("s1.json").to_str().unwrap(),
        s2.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("atomicity              safety        holds"),
        "{out}"
    );
    let mut cases: Vec<(&str, Value, &str)> = Vec::new();
    let mut r = s1.clone();
    r["results"][0]["verdict"] = json!("bogus");
    cases.push(("bogus-verdict", r, "bogus"));
    let mut r = s1.clone();
    r["results"][4]["trace_length"] = json!(3);
    cases.push(("trace-length", r, "steps"));
    let mut r = s1.clone();
    r["stats"]["unique_states"] = json!(5);
    cases.push(("state-count", r, "counts"));
    let mut r = s1.clone();
    r["stats"]["unique_states"] = json!(u64::MAX);
    cases.push(("state-count-overflow", r, ""));
    let mut r = s1.clone();
    // Step 3 takes the action of step 4 (the index is only a hint; the action is what counts).
    r["traces"][0]["steps"][2]["action"] = r["traces"][0]["steps"][3]["action"].clone();
    cases.push(("trace-tampered", r, "does not replay"));
    let mut r = s1.clone();
    r["results"][0]["part_verdict"] = json!("violated");
    cases.push(("part-verdict", r, "part verdict"));
    let mut r = s1.clone();
    r["results"][0]["name"] = json!("safety");
    cases.push(("property-name", r, "properties"));
    let mut r = s1.clone();
    r["results"][4]["verdict"] = json!("unreached");
    cases.push(("verdict-without-trace", r, "trace"));
    for (name, value, mention) in cases {
        let file = write_json(dir.path(), &format!("{name}.json"), &value);
        assert_refused(
            &["merge", file.to_str().unwrap(), s2.to_str().unwrap()],
            &[mention],
        );
    }
}

#[test]
fn fault06_one_shard_never_says_holds() {
    let (code, out, _) = run(&[
        "check",
        "two-phase-commit",
        "--shard",
        "1/2",
        "--no-liveness",
    ]);
    assert_eq!(code, 3, "{out}");
    assert!(!out.contains(" holds"), "{out}");
    assert!(
        out.contains("incomplete (shard 1/2 searched its part only"),
        "{out}"
    );
}

#[test]
fn fault07_a_suite_that_ran_nothing_fails() {
    assert_refused(
        &["suite", "checks", "--filter", "no-such-case"],
        &["no-such-case", "nothing was run"],
    );
    let dir = tmp();
    let empty = dir.path().join("empty.toml");
    std::fs::write(&empty, "model = \"two-phase-commit\"\n").unwrap();
    assert_refused(&["suite", empty.to_str().unwrap()], &["no cases"]);
}

#[test]
fn fault08_usage_errors_keep_the_useful_part() {
    let dir = tmp();
    let d = dir.path().to_str().unwrap();
    assert_refused(
        &["check", "two-phase-commit", "--export", "html"],
        &["--trace-dir"],
    );
    assert_refused(
        &["check", "two-phase-commit", "--engine", "foo"],
        &["bfs, dfs, simulation"],
    );
    assert_refused(
        &["check", "two-phase-commit", "--format", "yaml"],
        &["text, json"],
    );
    assert_refused(
        &[
            "check",
            "rpc-lost-reply",
            "-p",
            "retries=2",
            "-p",
            "retries=1",
        ],
        &["given twice"],
    );
    assert_refused(
        &[
            "table",
            "rpc-semantics",
            "--rows",
            "client",
            "--cols",
            "client",
        ],
        &["client", "twice"],
    );
    assert_refused(
        &[
            "table",
            "rpc-semantics",
            "--rows",
            "client",
            "--cols",
            "server",
            "-p",
            "client=at-least-once",
        ],
        &["axis"],
    );
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "model = \"two-phase-commit\"\n[[case]]\nname = 3\n").unwrap();
    assert_refused(&["suite", bad.to_str().unwrap()], &["line 3, column 8"]);
    let unwritable = format!("{d}/no/such/dir/junit.xml");
    assert_refused(
        &[
            "suite",
            "checks",
            "--filter",
            "cap-register/default",
            "--junit",
            &unwritable,
        ],
        &["--junit"],
    );
    let err = assert_refused(
        &[
            "suite",
            "checks",
            "--filter",
            "cap-register/default",
            "--summary",
            &unwritable,
        ],
        &["--summary"],
    );
    assert!(!err.contains("--trace-dir"), "{err}");
}

#[test]
fn fault09_oversized_input_is_refused() {
    let dir = tmp();
    // Sparse files of 300 MiB that take no disk: never read whole.
    let big = |name: &str| {
        let file = dir.path().join(name);
        std::fs::File::create(&file)
            .unwrap()
            .set_len(300 << 20)
            .unwrap();
        file.to_str().unwrap().to_string()
    };
    assert_refused(&["replay", &big("a.trace.json")], &["larger than"]);
    assert_refused(
        &["export", &big("b.trace.json"), "--to", "dot"],
        &["larger than"],
    );
    assert_refused(&["merge", &big("c.json")], &["larger than"]);
    assert_refused(&["suite", &big("d.toml")], &["larger than"]);
}

#[test]
fn fault10_html_steps_show_actor_names_and_itf_lassos_do_not_repeat() {
    let dir = tmp();
    let html = dir.path().join("2pc.html");
    let (code, _, err) = run(&[
        "export",
        saved("two-phase-commit-coordinator-forgets-atomicity.trace.json")
            .to_str()
            .unwrap(),
        "--to",
        "html",
        "-o",
        html.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let page = std::fs::read_to_string(&html).unwrap();
    let list = &page[page.find("<ol").unwrap()..page.find("</ol>").unwrap()];
    assert!(!list.contains("Deliver {"), "{list}");
    assert!(!list.contains("Id("), "{list}");
    assert!(
        list.contains("coordinator -&gt; participant1: VoteRequest"),
        "{list}"
    );

    let lasso = saved("reliable-multicast-delivery=weak-eventual-delivery.trace.json");
    let t = read_json(&lasso);
    let (code, out, err) = run(&["export", lasso.to_str().unwrap(), "--to", "itf"]);
    assert_eq!(code, 0, "{err}");
    let itf: Value = serde_json::from_str(&out).unwrap();
    let states = itf["states"].as_array().unwrap();
    assert_eq!(states.len(), t["steps"].as_array().unwrap().len());
    assert_eq!(itf["loop"], t["loop_start"]);
    let types = itf["#meta"]["varTypes"].as_object().unwrap();
    for v in itf["vars"].as_array().unwrap() {
        assert!(types.contains_key(v.as_str().unwrap()), "{v} has no type");
    }
}

#[test]
fn fault12_readme_commands_are_what_ci_runs_and_rust_version_is_true() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let ci = std::fs::read_to_string(root.join(".ci/run")).unwrap();
    let block = readme
        .split("## The two commands")
        .nth(1)
        .and_then(|s| s.split("```sh\n").nth(1))
        .and_then(|s| s.split("```").next())
        .expect("README has the two commands");
    let commands: Vec<&str> = block
        .lines()
        .map(|l| l.split('#').next().unwrap().trim())
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(commands.len(), 2, "{commands:?}");
    for c in &commands {
        assert!(
            ci.lines().any(|l| l.trim() == *c),
            ".ci/run does not run the README's `{c}`"
        );
    }
    // Nothing installed by hand: CI installs nothing before the tests; they do.
    assert!(
        !ci.lines()
            .any(|l| !l.trim_start().starts_with('#') && l.contains("apt-get")),
        ".ci/run installs something itself"
    );
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let declared = manifest
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = \""))
        .and_then(|v| v.strip_suffix('"'))
        .expect("Cargo.toml declares rust-version");
    assert!(
        readme.contains(&format!("Rust {declared} or newer")),
        "README does not say Rust {declared}"
    );
}

#[test]
fn fault13_default_check_of_every_model_exits_0() {
    let (_, list, _) = run(&["list", "--format", "json"]);
    let models: Vec<Value> = serde_json::from_str(&list).unwrap();
    for m in &models {
        let name = m["name"].as_str().unwrap();
        let (code, out, err) = run(&["check", name]);
        assert_eq!(code, 0, "{name}: {out}{err}");
    }
    // Runs blocked by a bound are not violations: raft's split vote at the last term.
    let (_, out, _) = run(&["check", "raft"]);
    assert!(
        out.contains("leader-eventually     liveness      incomplete (bound: max-term) in 5 steps"),
        "{out}"
    );
    assert!(
        out.contains("only because bound max-term is spent"),
        "{out}"
    );
}

/// A deterministic generator (xorshift), so a failing case is reproduced by its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Every place in a JSON value, as paths of keys and indexes.
fn places(v: &Value, at: &mut Vec<Value>, out: &mut Vec<Vec<Value>>) {
    out.push(at.clone());
    match v {
        Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                at.push(json!(i));
                places(x, at, out);
                at.pop();
            }
        }
        Value::Object(fields) => {
            for (k, x) in fields {
                at.push(json!(k));
                places(x, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

fn place_mut<'a>(v: &'a mut Value, path: &[Value]) -> &'a mut Value {
    path.iter().fold(v, |v, k| match k {
        Value::Number(i) => &mut v[i.as_u64().unwrap() as usize],
        Value::String(s) => &mut v[s.as_str()],
        _ => unreachable!(),
    })
}

/// One random change at a random place: a number moved or made extreme, a string or a bool
/// changed, a field or an element removed, an element repeated, a value replaced by another
/// kind.
fn mutate(v: &Value, rng: &mut Rng) -> Value {
    let mut all = Vec::new();
    places(v, &mut Vec::new(), &mut all);
    let path = all[rng.below(all.len())].clone();
    let mut out = v.clone();
    let target = place_mut(&mut out, &path);
    let choice = rng.below(10);
    *target = match (choice, target.clone()) {
        (0, Value::Number(n)) => json!(n.as_i64().unwrap_or(0).wrapping_add(1)),
        (1, Value::Number(n)) => json!(n.as_i64().unwrap_or(0).wrapping_sub(1)),
        (2, Value::Number(_)) => json!(u64::MAX),
        (0..=2, Value::String(s)) => json!(format!("{s}x")),
        (0..=2, Value::Bool(b)) => json!(!b),
        (3, Value::Array(mut a)) if !a.is_empty() => {
            let i = rng.below(a.len());
            a.remove(i);
            Value::Array(a)
        }
        (4, Value::Array(mut a)) if !a.is_empty() => {
            let i = rng.below(a.len());
            a.insert(i, a[i].clone());
            Value::Array(a)
        }
        (3 | 4, Value::Object(mut o)) if !o.is_empty() => {
            let k = o.keys().nth(rng.below(o.len())).unwrap().clone();
            o.remove(&k);
            Value::Object(o)
        }
        (5, _) => Value::Null,
        (6, _) => json!(-1),
        (7, _) => json!("bogus"),
        (8, _) => json!([]),
        _ => json!({}),
    };
    out
}

/// Cases per run: a few hundred under `cargo test`; `FTCHECK_FUZZ_CASES=10000` (the bench
/// tier, `cargo bench --bench fuzz`) for more.
fn fuzz_cases() -> usize {
    std::env::var("FTCHECK_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(300)
}

#[test]
fn fuzz_mutated_traces_and_reports_never_panic_nor_pass() {
    use ftcheck::trace;
    let dir = tmp();
    let mut sources: Vec<(PathBuf, Value)> = std::fs::read_dir(saved(""))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".trace.json"))
        .map(|p| {
            let v = read_json(&p);
            (p, v)
        })
        .collect();
    sources.sort_by(|a, b| a.0.cmp(&b.0));
    let (s1, s2) = shards(dir.path());
    let cases = fuzz_cases();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut refused, mut accepted) = (0, 0);
    for case in 0..cases {
        // Library calls (what replay, export and merge run), panics caught: never one.
        if case % 4 != 3 {
            let (origin, v) = &sources[rng.below(sources.len())];
            let mutated = mutate(v, &mut rng);
            let file = write_json(dir.path(), "m.trace.json", &mutated);
            let outcome = std::panic::catch_unwind(|| {
                let checked = trace::load_checked(&ftcheck::catalog::Catalog::builtin(), &file);
                if let Ok(t) = &checked {
                    for f in [
                        ftcheck::trace::export::Format::Itf,
                        ftcheck::trace::export::Format::Html,
                        ftcheck::trace::export::Format::Dot,
                        ftcheck::trace::export::Format::Shiviz,
                        ftcheck::trace::export::Format::Mermaid,
                    ] {
                        ftcheck::trace::export::export(
                            t,
                            &t.stem(&ftcheck::catalog::Catalog::builtin()),
                            f,
                        );
                    }
                }
                checked.is_ok()
            });
            let ok = outcome.unwrap_or_else(|_| {
                panic!("case {case}: a mutation of {origin:?} panicked: {mutated}")
            });
            if ok {
                // Accepted only if it is a valid trace: the same as replayed afresh, and
                // re-serialised it loads again.
                accepted += 1;
                assert!(
                    trace::replay(&ftcheck::catalog::Catalog::builtin(), &file).is_ok(),
                    "case {case}"
                );
            } else {
                refused += 1;
            }
        } else {
            let (which, other) = if rng.below(2) == 0 {
                (&s1, "s2.json")
            } else {
                (&s2, "s1.json")
            };
            let mutated = mutate(which, &mut rng);
            let file = write_json(dir.path(), "m.json", &mutated);
            let paths = [file, dir.path().join(other)];
            let outcome = std::panic::catch_unwind(|| {
                ftcheck::check::merge(&ftcheck::catalog::Catalog::builtin(), &paths).is_ok()
            });
            let ok = outcome.unwrap_or_else(|_| panic!("case {case}: merge panicked: {mutated}"));
            if ok {
                accepted += 1;
            } else {
                refused += 1;
            }
        }
    }
    // Most mutations break a trace or a report; a few are harmless (a reason's text).
    assert!(refused > accepted, "{refused} refused, {accepted} accepted");
    // Through the command line too: a mutated file that does not replay never exits 0.
    let (origin, v) = &sources[0];
    let mut rng = Rng(7);
    for _ in 0..10 {
        let mutated = mutate(v, &mut rng);
        let file = write_json(dir.path(), "cli.trace.json", &mutated);
        let lib = trace::load_checked(&ftcheck::catalog::Catalog::builtin(), &file).is_ok();
        let (code, _, err) = run(&["replay", file.to_str().unwrap()]);
        assert_eq!(code == 0, lib, "{origin:?}: {err}");
        assert!(code == 0 || code == 2, "{err}");
    }
}

/// Each property's name, verdict and trace length.
type Verdicts = Vec<(String, String, Option<usize>)>;

/// The verdicts, trace lengths, unique states and summed owned states of a JSON report.
fn search_outcome(report: &Value) -> (Verdicts, u64, u64) {
    let lengths: std::collections::BTreeMap<String, usize> = report["traces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let steps = t["steps"].as_array().unwrap().len();
            (t["property"].as_str().unwrap().to_string(), steps)
        })
        .collect();
    let verdicts = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let name = r["name"].as_str().unwrap().to_string();
            let verdict = r["verdict"].as_str().unwrap().to_string();
            let length = lengths.get(&name).copied();
            (name, verdict, length)
        })
        .collect();
    let owned = report["stats"]["workers"].as_array().map_or(0, |w| {
        w.iter().map(|w| w["owned_states"].as_u64().unwrap()).sum()
    });
    (
        verdicts,
        report["stats"]["unique_states"].as_u64().unwrap(),
        owned,
    )
}

#[test]
fn the_distributed_search_explores_each_state_once_with_one_two_and_four_processes() {
    // raft's default (every safety property holds) and paxos's no-leader-id on one slot
    // (three violated): the counts are the manifests' oracles.
    for (args, unique) in [
        (&["raft"][..], 911_029),
        (
            &[
                "paxos",
                "-p",
                "slots=1",
                "-p",
                "crashes=0",
                "--variant",
                "no-leader-id",
            ][..],
            733_246,
        ),
    ] {
        let check = |extra: &[&str]| {
            let mut all = vec!["check"];
            all.extend_from_slice(args);
            all.extend_from_slice(&["--no-liveness", "--format", "json"]);
            all.extend_from_slice(extra);
            let (code, out, err) = run(&all);
            let report: Value =
                serde_json::from_str(&out).unwrap_or_else(|e| panic!("{all:?}: {e}: {out} {err}"));
            (code, report)
        };
        let (code, single) = check(&[]);
        let (verdicts, count, _) = search_outcome(&single);
        assert_eq!(count, unique, "{args:?}");
        for workers in ["1", "2", "4"] {
            let (c, report) = check(&["--workers", workers]);
            assert_eq!(c, code, "{args:?} --workers {workers}");
            let (v, n, owned) = search_outcome(&report);
            assert_eq!(v, verdicts, "{args:?} --workers {workers}");
            assert_eq!((n, owned), (unique, unique), "{args:?} --workers {workers}");
            let per_worker = report["stats"]["workers"].as_array().unwrap();
            assert_eq!(per_worker.len(), workers.parse::<usize>().unwrap());
            if workers != "1" {
                // Each process owns about its share of the states.
                for w in per_worker {
                    let share = w["owned_states"].as_u64().unwrap() as f64 / unique as f64;
                    assert!((share - 1.0 / per_worker.len() as f64).abs() < 0.05, "{w}");
                }
            }
        }
    }
    // A search that stops once every property is decided leaves its last level unexpanded.
    let (_, out, err) = run(&[
        "check",
        "failure-detector",
        "--no-liveness",
        "--workers",
        "2",
        "--format",
        "json",
    ]);
    let report: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out} {err}"));
    let stats = &report["stats"];
    assert_eq!(
        (stats["unique_states"].as_u64(), stats["queue"].as_u64()),
        (Some(16), Some(4))
    );
}

#[test]
fn a_distributed_search_refuses_bad_hosts_and_options_in_one_line() {
    let dir = tmp();
    let hosts = dir.path().join("hosts");
    std::fs::write(&hosts, "127.0.0.1:1\nnot-an-address\n").unwrap();
    let file = hosts.to_str().unwrap();
    assert_refused(
        &["check", "raft", "--hosts", file, "--process", "0"],
        &["line 2", "host:port"],
    );
    std::fs::write(&hosts, "127.0.0.1:1\n").unwrap();
    assert_refused(
        &["check", "raft", "--hosts", file, "--process", "3"],
        &["--process 3", "give 0 to 0"],
    );
    assert_refused(
        &["check", "raft", "--workers", "2", "--engine", "dfs"],
        &["--engine bfs"],
    );
    assert_refused(
        &["check", "raft", "--workers", "2", "--shard", "1/2"],
        &["--shard"],
    );
    assert_refused(&["check", "raft", "--workers", "0"], &["--workers"]);
    assert_refused(&["check", "raft", "--hosts", file], &["--process"]);
    assert_refused(&["check", "nosuch", "--workers", "2"], &["unknown model"]);
}

/// A closed standard output (`ftcheck ... | head`) ends the program quietly, as it ends other
/// Unix tools (killed by SIGPIPE), not with a panic of `print!`.
#[test]
#[cfg(unix)]
fn a_closed_stdout_ends_the_program_without_a_panic() {
    use std::os::unix::process::ExitStatusExt;
    use std::process::Stdio;
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("ftcheck"))
        .args(["check", "voting-group"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The reading end is closed before the report is printed.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(out.status.signal(), Some(13), "{:?} {err}", out.status);
}

/// When one process of a distributed search dies (`kill -9`), the other stops at once with
/// one line naming the lost process, exit code 3 (incomplete) and no panic: process 0 in its
/// report, any other process on stderr.
#[test]
#[cfg(unix)]
fn a_lost_process_stops_the_distributed_search_with_one_line() {
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    for victim in [1, 0] {
        let ports: Vec<std::net::TcpListener> = (0..2)
            .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
            .collect();
        let hosts = dir.path().join(format!("hosts-{victim}"));
        let lines: Vec<String> = ports
            .iter()
            .map(|l| l.local_addr().unwrap().to_string())
            .collect();
        std::fs::write(&hosts, lines.join("\n")).unwrap();
        drop(ports);
        let start = |process: usize| {
            Command::new(assert_cmd::cargo::cargo_bin("ftcheck"))
                .args(["check", "raft", "--no-liveness", "--hosts"])
                .arg(&hosts)
                .args(["--process", &process.to_string()])
                .env("FTCHECK_PROGRESS_SECS", "0.2")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let mut children = [start(0), start(1)];
        // Once the search runs: process 0's first progress line.
        let mut progress = BufReader::new(children[0].stderr.take().unwrap()).lines();
        let first = progress.next().unwrap().unwrap();
        assert!(first.starts_with("Progress("), "{first}");
        let [zero, one] = children;
        let (mut dead, survivor) = if victim == 1 {
            (one, zero)
        } else {
            (zero, one)
        };
        dead.kill().unwrap();
        dead.wait().unwrap();
        let out = survivor.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let rest: Vec<String> = progress.map_while(Result::ok).collect();
        let stderr = if victim == 1 {
            rest.join("\n")
        } else {
            String::from_utf8_lossy(&out.stderr).to_string()
        };
        assert_eq!(out.status.code(), Some(3), "{stdout}{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        let lost = format!("lost process {victim} of the search (");
        if victim == 1 {
            assert!(stdout.contains(&lost), "{stdout}");
            assert!(stdout.contains("election-safety       safety        incomplete (lost"));
        } else {
            assert_eq!(stdout, "");
            let lines: Vec<&str> = stderr.lines().collect();
            assert_eq!(lines.len(), 1, "{stderr}");
            assert!(
                lines[0].starts_with(&format!("ftcheck: process 1: {lost}")),
                "{stderr}"
            );
        }
    }
}

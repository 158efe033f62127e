//! Every saved counterexample (`checks/traces/`, one or more per model family, safety,
//! reachability and liveness, with a lasso) exported to each format and read back by that
//! format's own rules: ITF decoded by the `itf` crate, ShiViz by its log and vector-clock
//! rules, DOT by its grammar's shape and by Graphviz's `dot`. (HTML: `checks/browser.rs`.)

mod support;

use ftcheck::catalog::Catalog;
use ftcheck::trace::export::{self, Format, SHIVIZ_REGEX};
use ftcheck::trace::{self, TraceFile};
use std::collections::BTreeMap;
use std::path::PathBuf;

fn saved() -> Vec<(PathBuf, TraceFile)> {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/checks/traces"));
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".trace.json"))
        .collect();
    files.sort();
    assert!(files.len() >= 15, "only {} saved traces", files.len());
    files
        .into_iter()
        .map(|p| {
            let t = trace::load(&p).unwrap();
            (p, t)
        })
        .collect()
}

/// Whether `v` (ITF-encoded) has the Apalache type at the start of `ty`; the rest of `ty`.
fn conforms<'a>(v: &serde_json::Value, ty: &'a str) -> (bool, &'a str) {
    use serde_json::Value;
    let ty = ty.trim_start();
    for (name, ok) in [
        ("Int", v.get("#bigint").is_some_and(|b| b.is_string())),
        ("Bool", v.is_boolean()),
        ("Str", v.is_string()),
    ] {
        if let Some(rest) = ty.strip_prefix(name) {
            return (ok, rest);
        }
    }
    if let Some(inner) = ty.strip_prefix("Seq(") {
        let items = v.as_array().map(Vec::as_slice).unwrap_or_default();
        let (mut ok, mut rest) = (v.is_array(), skip_type(inner));
        for x in items {
            let (good, r) = conforms(x, inner);
            ok &= good;
            rest = r;
        }
        return (ok, rest.trim_start().strip_prefix(')').unwrap_or("!"));
    }
    if let Some(inner) = ty.strip_prefix("(Str -> ") {
        let pairs = v.get("#map").and_then(Value::as_array);
        let mut ok = pairs.is_some();
        for pair in pairs.into_iter().flatten() {
            ok &= pair[0].is_string() && conforms(&pair[1], inner).0;
        }
        let rest = skip_type(inner);
        return (ok, rest.trim_start().strip_prefix(')').unwrap_or("!"));
    }
    if let Some(mut rest) = ty.strip_prefix("{ ") {
        let Some(fields) = v.as_object() else {
            return (false, "!");
        };
        let mut ok = true;
        let mut seen = 0;
        loop {
            let (name, after) = rest.split_once(": ").expect("a field");
            let (good, r) = conforms(&fields[name.trim()], after);
            ok &= good && fields.contains_key(name.trim());
            seen += 1;
            rest = r.trim_start();
            if let Some(r) = rest.strip_prefix(", ") {
                rest = r;
            } else {
                return (
                    ok && seen == fields.len(),
                    rest.strip_prefix('}').unwrap_or("!"),
                );
            }
        }
    }
    (false, "!")
}

/// The rest of `ty` after its first type.
fn skip_type(ty: &str) -> &str {
    let mut depth = 0i32;
    for (i, c) in ty.char_indices() {
        match c {
            '(' | '{' => depth += 1,
            ')' | '}' if depth == 0 => return &ty[i..],
            ')' | '}' => depth -= 1,
            ',' if depth == 0 => return &ty[i..],
            _ => {}
        }
    }
    ""
}

#[test]
fn itf_decodes_with_the_itf_crate() {
    let mut lassos = 0;
    for (path, t) in saved() {
        let text = export::export(&t, &t.stem(&Catalog::builtin()), Format::Itf);
        let decoded: itf::Trace<itf::Value> =
            itf::trace_from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        // A lasso's last state is its loop's first: not repeated (no false stuttering step).
        let repeated = usize::from(t.trace.loop_start.is_some());
        assert_eq!(
            decoded.states.len(),
            t.trace.steps.len() + 1 - repeated,
            "{path:?}"
        );
        // Every variable has an Apalache type, and every state's value has it.
        let types = &decoded.meta.var_types;
        assert_eq!(
            types.keys().collect::<std::collections::BTreeSet<_>>(),
            decoded.vars.iter().collect(),
            "{path:?}"
        );
        let raw: serde_json::Value = serde_json::from_str(&text).unwrap();
        for state in raw["states"].as_array().unwrap() {
            for v in &decoded.vars {
                let (ok, rest) = conforms(&state[v], &types[v]);
                assert!(
                    ok && rest.is_empty(),
                    "{path:?}: {v} = {} is not a {}",
                    state[v],
                    types[v]
                );
            }
        }
        assert_eq!(
            decoded.loop_index,
            t.trace.loop_start.map(|k| k as u64),
            "{path:?}"
        );
        lassos += usize::from(decoded.loop_index.is_some());
        assert_eq!(decoded.vars.last().map(String::as_str), Some("action"));
        for (i, s) in decoded.states.iter().enumerate() {
            assert_eq!(s.meta.index, Some(i as u64), "{path:?}");
            let itf::Value::Record(fields) = &s.value else {
                panic!("{path:?}: state {i} is not a record");
            };
            for v in &decoded.vars {
                assert!(fields.get(v).is_some(), "{path:?}: state {i} lacks {v}");
            }
            let action = match fields.get("action") {
                Some(itf::Value::String(a)) => a.clone(),
                other => panic!("{path:?}: action {other:?}"),
            };
            let expected = if i == 0 {
                "init"
            } else {
                t.trace.steps[i - 1].action.as_str()
            };
            assert_eq!(action, expected);
        }
        // Integers are ITF big integers, never bare JSON numbers.
        let raw: serde_json::Value = serde_json::from_str(&text).unwrap();
        fn no_bare_numbers(v: &serde_json::Value, under_meta: bool) -> bool {
            match v {
                serde_json::Value::Number(_) => under_meta,
                serde_json::Value::Array(a) => a.iter().all(|x| no_bare_numbers(x, under_meta)),
                serde_json::Value::Object(o) => o
                    .iter()
                    .all(|(k, x)| no_bare_numbers(x, under_meta || k == "#meta" || k == "loop")),
                _ => true,
            }
        }
        assert!(no_bare_numbers(&raw, false), "{path:?}");
    }
    assert!(lassos >= 1, "no saved lasso");
}

#[test]
fn shiviz_logs_follow_shiviz_rules() {
    for (path, t) in saved() {
        let text = export::export(&t, &t.stem(&Catalog::builtin()), Format::Shiviz);
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some(SHIVIZ_REGEX), "{path:?}");
        assert_eq!(lines.next(), Some(""), "{path:?}");
        let rest: Vec<&str> = lines.collect();
        assert_eq!(rest.len(), 2 * t.trace.steps.len(), "{path:?}");
        // Each host's own entry: 1, 2, 3, ... over its events; no entry ever decreases; a
        // clock never knows more of a host than that host has done.
        let mut own: BTreeMap<String, u64> = BTreeMap::new();
        let mut last: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
        for pair in rest.chunks(2) {
            assert!(!pair[0].is_empty() && !pair[0].contains('\n'));
            let (host, clock) = pair[1].split_once(' ').expect("host {clock}");
            assert!(!host.is_empty() && !host.contains(char::is_whitespace));
            let clock: BTreeMap<String, u64> = serde_json::from_str(clock)
                .unwrap_or_else(|e| panic!("{path:?}: {} ({e})", pair[1]));
            let n = own.entry(host.to_string()).or_insert(0);
            *n += 1;
            assert_eq!(clock.get(host), Some(&*n), "{path:?}: {}", pair[1]);
            for (h, c) in &clock {
                if h != host {
                    assert!(
                        *c <= own.get(h).copied().unwrap_or(0),
                        "{path:?}: {}",
                        pair[1]
                    );
                }
            }
            for (h, c) in last.get(host).cloned().unwrap_or_default() {
                assert!(
                    clock.get(&h).copied().unwrap_or(0) >= c,
                    "{path:?}: {}",
                    pair[1]
                );
            }
            last.insert(host.to_string(), clock);
        }
    }
}

#[test]
fn dot_graphs_have_a_node_per_state_and_an_edge_per_step() {
    for (path, t) in saved() {
        let text = export::export(&t, &t.stem(&Catalog::builtin()), Format::Dot);
        assert!(text.starts_with("digraph trace {\n") && text.ends_with("}\n"));
        let mut nodes = Vec::new();
        let mut edges = Vec::new();
        for line in text.lines().skip(1) {
            let line = line.trim();
            if line == "}"
                || line.starts_with("label=")
                || line.starts_with("labelloc")
                || line.starts_with("node ")
            {
                continue;
            }
            // `ID [label="..."];` or `ID -> ID [label="..."];`, the label a well-formed string.
            let (head, label) = line
                .split_once(" [label=")
                .unwrap_or_else(|| panic!("{line}"));
            let label = label.strip_suffix("];").unwrap_or_else(|| panic!("{line}"));
            let inner = label
                .strip_prefix('"')
                .and_then(|l| l.strip_suffix('"'))
                .unwrap();
            let mut escaped = false;
            for c in inner.chars() {
                assert!(escaped || c != '"', "{path:?}: unescaped quote in {line}");
                escaped = !escaped && c == '\\';
            }
            match head.split_once(" -> ") {
                Some((a, b)) => edges.push((a.to_string(), b.to_string())),
                None => nodes.push(head.to_string()),
            }
        }
        let states = t.trace.steps.len() + 1 - usize::from(t.trace.loop_start.is_some());
        assert_eq!(nodes.len(), states, "{path:?}");
        assert_eq!(edges.len(), t.trace.steps.len(), "{path:?}");
        for (a, b) in &edges {
            assert!(
                nodes.contains(a) && nodes.contains(b),
                "{path:?}: {a} -> {b}"
            );
        }
        if let Some(k) = t.trace.loop_start {
            assert_eq!(edges.last().unwrap().1, format!("s{k}"));
        }
        // Graphviz itself reads it: the same nodes and edges, the loop's edge back to its start.
        let laid_out = graphviz(&text);
        let objects = laid_out["objects"].as_array().unwrap();
        let names: Vec<&str> = objects
            .iter()
            .map(|o| o["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, nodes, "{path:?}");
        // (Graphviz leaves out the key of a graph without edges: a 0-step trace.)
        let gv_edges = laid_out["edges"].as_array().map_or(&[][..], |e| e);
        assert_eq!(gv_edges.len(), edges.len(), "{path:?}");
        for (e, (a, b)) in gv_edges.iter().zip(&edges) {
            let name = |k: &str| names[e[k].as_u64().unwrap() as usize];
            assert_eq!((name("tail"), name("head")), (a.as_str(), b.as_str()));
        }
        assert!(
            objects.iter().all(|o| o.get("pos").is_some()),
            "{path:?}: not laid out"
        );
    }
}

/// The graph as Graphviz's `dot -Tjson` lays it out (Debian's `graphviz`; `.ci/run`
/// installs it).
fn graphviz(text: &str) -> serde_json::Value {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(support::require("dot", "graphviz"))
        .arg("-Tjson")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("Graphviz's dot runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "dot refused the graph: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

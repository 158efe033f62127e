//! The HTML export in a real browser: headless Chromium (Debian's `chromium`, which the test
//! installs if missing; another binary with `FTCHECK_CHROMIUM=PATH`), driven over the DevTools protocol
//! by `headless_chrome`. Pages are written by `ftcheck export --to html` and opened from
//! files, as a user opens a CI artifact; the page must fetch nothing.
//!
//! Screenshots go to the test's output folder (`target/tmp/browser/`).

mod support;

use assert_cmd::Command;
use ftcheck::trace::{self, TraceFile};
use headless_chrome::protocol::cdp::Page;
use headless_chrome::{Browser, LaunchOptions, Tab};
use serde_json::Value;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn traces_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/checks/traces"))
}

fn out_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn browser() -> Browser {
    let path = match std::env::var_os("FTCHECK_CHROMIUM") {
        Some(p) => PathBuf::from(p),
        None => support::require("chromium", "chromium"),
    };
    assert!(
        path.exists(),
        "{} not found: set FTCHECK_CHROMIUM to a Chromium binary, or unset it to use Debian's",
        path.display()
    );
    // The machine's network is closed: Chromium's background services only waste time.
    let args: Vec<&OsStr> = [
        "--disable-gpu",
        "--disable-quic",
        "--disable-component-update",
        "--disable-background-networking",
        "--no-first-run",
        "--disable-sync",
    ]
    .into_iter()
    .map(OsStr::new)
    .collect();
    Browser::new(LaunchOptions {
        path: Some(path),
        headless: true,
        sandbox: false,
        window_size: Some((1500, 1000)),
        args,
        idle_browser_timeout: Duration::from_secs(300),
        ..LaunchOptions::default()
    })
    .expect("chromium starts")
}

/// Writes the HTML export of `trace` with the command line; its path.
fn export_html(trace: &Path) -> PathBuf {
    let name = trace.file_name().unwrap().to_string_lossy();
    let out = out_dir().join(name.replace(".trace.json", ".html"));
    Command::cargo_bin("ftcheck")
        .unwrap()
        .arg("export")
        .arg(trace)
        .args(["--to", "html", "--output"])
        .arg(&out)
        .assert()
        .success();
    out
}

fn open(browser: &Browser, page: &Path) -> std::sync::Arc<Tab> {
    let tab = browser.new_tab().unwrap();
    show(&tab, page);
    tab
}

/// Loads `page` into `tab`.
fn show(tab: &Tab, page: &Path) {
    tab.navigate_to(&format!(
        "file://{}",
        page.canonicalize().unwrap().display()
    ))
    .unwrap();
    tab.wait_until_navigated().unwrap();
    tab.wait_for_element("#sequence").unwrap();
}

/// Evaluates `body` (a function body that returns a value) in the page, as JSON.
fn eval(tab: &Tab, body: &str) -> Value {
    let r = tab
        .evaluate(&format!("JSON.stringify((() => {{ {body} }})())"), false)
        .unwrap();
    let text = r.value.expect("a value").as_str().unwrap().to_string();
    serde_json::from_str(&text).unwrap()
}

/// What the page shows, read from its DOM.
fn dom(tab: &Tab) -> Value {
    eval(
        tab,
        r##"
        const q = s => Array.from(document.querySelectorAll(s));
        return {
          lanes: q("#sequence .lane").map(g => g.dataset.lane),
          rows: q("#sequence g.step").map(g => Number(g.dataset.step)),
          kinds: q("#sequence g.step").map(g => g.dataset.kind || "init"),
          arrows: q("#sequence g.step line.arrow:not(.dropped)").length,
          dropped: q("#sequence g.step .arrow.dropped").length,
          crashes: q("#sequence g.step .mark.crash").length,
          recoveries: q("#sequence g.step .mark.recover").length,
          timeouts: q("#sequence g.step .mark.timeout").length,
          choices: q("#sequence g.step .mark.choose").length,
          steps: q("#steps li").map(li => Number(li.dataset.step)),
          loop: document.getElementById("loop") ? Number(document.getElementById("loop").dataset.from) : null,
          verdict: document.getElementById("verdict").textContent,
          stateShown: !document.getElementById("detail-state").hidden,
          fetched: performance.getEntriesByType("resource").length,
          selected: q(".selected").map(e => e.tagName.toLowerCase() + ":" + e.dataset.step),
        };
        "##,
    )
}

/// What the detail panel shows.
fn detail(tab: &Tab) -> Value {
    eval(
        tab,
        r##"
        return {
          title: document.getElementById("detail-title").textContent,
          state: JSON.parse(document.getElementById("detail-state").textContent),
          changes: Array.from(document.querySelectorAll("#detail-changes tbody tr"))
            .map(tr => Array.from(tr.cells).map(td => td.textContent)),
          changesShown: !document.getElementById("detail-changes").hidden,
          selected: Array.from(document.querySelectorAll(".selected")).map(e => e.tagName.toLowerCase() + ":" + e.dataset.step),
        };
        "##,
    )
}

fn state_after(t: &TraceFile, n: usize) -> &Value {
    if n == 0 {
        &t.trace.init_state
    } else {
        &t.trace.steps[n - 1].state
    }
}

fn count(t: &TraceFile, kind: &str) -> usize {
    t.trace
        .steps
        .iter()
        .filter(|s| s.event.kind.name() == kind)
        .count()
}

/// The page shows the trace: a lane per actor, a row and a list item per state, an arrow
/// per delivery, a mark per fault, the loop, the verdict; and it fetched nothing.
fn assert_shows(tab: &Tab, t: &TraceFile, page: &Path) {
    let d = dom(tab);
    let n = t.trace.steps.len();
    let all: Vec<usize> = (0..=n).collect();
    assert_eq!(d["lanes"], serde_json::json!(t.trace.lanes), "{page:?}");
    assert_eq!(d["rows"], serde_json::json!(all), "{page:?}");
    assert_eq!(d["steps"], serde_json::json!(all), "{page:?}");
    let kinds: Vec<&str> = std::iter::once("init")
        .chain(t.trace.steps.iter().map(|s| s.event.kind.name()))
        .collect();
    assert_eq!(d["kinds"], serde_json::json!(kinds), "{page:?}");
    assert_eq!(d["arrows"], count(t, "deliver"), "{page:?}");
    assert_eq!(d["dropped"], count(t, "drop"), "{page:?}");
    assert_eq!(d["crashes"], count(t, "crash"), "{page:?}");
    assert_eq!(d["recoveries"], count(t, "recover"), "{page:?}");
    assert_eq!(d["timeouts"], count(t, "timeout"), "{page:?}");
    assert_eq!(d["choices"], count(t, "choose"), "{page:?}");
    assert_eq!(
        d["loop"],
        serde_json::json!(t.trace.loop_start.map(|k| k + 1)),
        "{page:?}"
    );
    let verdict = d["verdict"].as_str().unwrap();
    assert!(
        verdict.contains(&t.property) && verdict.contains(t.verdict.name()),
        "{page:?}: {verdict}"
    );
    assert_eq!(
        d["stateShown"], false,
        "{page:?}: a state shown before any click"
    );
    assert_eq!(d["fetched"], 0, "{page:?}: the page fetched something");
}

#[test]
fn two_phase_commit_counterexample_in_chromium() {
    // The README tour's counterexample: the coordinator crashes after GLOBAL-COMMIT reached
    // participant1, and participant2's READY timeout aborts.
    let path = traces_dir().join("two-phase-commit-ready-timeout-abort-atomicity.trace.json");
    let t = trace::load(&path).unwrap();
    let page = export_html(&path);
    let browser = browser();
    let tab = open(&browser, &page);
    assert_shows(&tab, &t, &page);
    assert_eq!(t.trace.lanes.len(), 4);
    assert!(count(&t, "crash") == 1 && count(&t, "timeout") == 1 && count(&t, "choose") == 3);

    // Clicking a step in the list shows its state and what it changed.
    let crash = t
        .trace
        .steps
        .iter()
        .find(|s| s.event.kind == ftcheck::describe::StepKind::Crash)
        .unwrap()
        .n;
    tab.find_element(&format!("#steps li[data-step=\"{crash}\"]"))
        .unwrap()
        .click()
        .unwrap();
    let d = detail(&tab);
    assert_eq!(&d["state"], state_after(&t, crash));
    assert!(
        d["title"]
            .as_str()
            .unwrap()
            .contains(&format!("after step {crash}: crash coordinator")),
        "{}",
        d["title"]
    );
    assert_eq!(
        d["selected"],
        serde_json::json!([format!("g:{crash}"), format!("li:{crash}")])
    );
    assert_eq!(d["changesShown"], true);
    let changes = d["changes"].as_array().unwrap();
    assert!(!changes.is_empty());
    // Each row is a path whose value really differs between the two states.
    for row in changes {
        let path = row[0].as_str().unwrap();
        let lookup = |v: &Value| {
            path.replace('[', ".")
                .replace(']', "")
                .split('.')
                .try_fold(v.clone(), |v, k| match v {
                    Value::Object(mut o) => o.remove(k),
                    Value::Array(mut a) => k
                        .parse::<usize>()
                        .ok()
                        .filter(|i| *i < a.len())
                        .map(|i| a.swap_remove(i)),
                    _ => None,
                })
        };
        let (before, after) = (
            lookup(state_after(&t, crash - 1)),
            lookup(state_after(&t, crash)),
        );
        assert_ne!(before, after, "{path} listed as changed");
        let shown = |v: &Option<Value>| v.as_ref().map_or("—".to_string(), |v| v.to_string());
        assert_eq!(row[1].as_str().unwrap(), shown(&before), "{path}");
        assert_eq!(row[2].as_str().unwrap(), shown(&after), "{path}");
    }

    // Clicking the chart's last row shows the violating state; ↑ goes back one step.
    let last = t.trace.steps.len();
    tab.find_element(&format!("#sequence g.step[data-step=\"{last}\"]"))
        .unwrap()
        .click()
        .unwrap();
    let d = detail(&tab);
    assert_eq!(&d["state"], state_after(&t, last));
    tab.press_key("ArrowUp").unwrap();
    let d = detail(&tab);
    assert_eq!(&d["state"], state_after(&t, last - 1));
    assert_eq!(
        d["selected"],
        serde_json::json!([format!("g:{}", last - 1), format!("li:{}", last - 1)])
    );
    // The initial state has no changes table.
    tab.find_element("#steps li[data-step=\"0\"]")
        .unwrap()
        .click()
        .unwrap();
    let d = detail(&tab);
    assert_eq!(&d["state"], &t.trace.init_state);
    assert_eq!(d["changesShown"], false);

    // The screenshot shows the crash and what it changed.
    tab.find_element(&format!("#steps li[data-step=\"{crash}\"]"))
        .unwrap()
        .click()
        .unwrap();
    eval(
        &tab,
        "document.getElementById('chart').scrollLeft = 0; return 0;",
    );
    let png = tab
        .capture_screenshot(Page::CaptureScreenshotFormatOption::Png, None, None, true)
        .unwrap();
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000);
    let shot = out_dir().join("two-phase-commit-ready-timeout-abort-atomicity.png");
    std::fs::write(&shot, png).unwrap();
    eprintln!("screenshot: {}", shot.display());
}

/// Every saved counterexample (every model family; safety, reachability, liveness, a lasso)
/// as a page: shown whole, and its last step clickable.
#[test]
fn every_saved_counterexample_renders_in_chromium() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(traces_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".trace.json"))
        .collect();
    files.sort();
    assert!(files.len() >= 15);
    let browser = browser();
    let tab = browser.new_tab().unwrap();
    let mut lassos = 0;
    for path in files {
        let t = trace::load(&path).unwrap();
        let page = export_html(&path);
        show(&tab, &page);
        assert_shows(&tab, &t, &page);
        // A click dispatched in the page (the real mouse is the test above's): the last
        // state is shown.
        let last = t.trace.steps.len();
        let shown = eval(
            &tab,
            &format!(
                "document.querySelector('#steps li[data-step=\"{last}\"]').click(); return JSON.parse(document.getElementById('detail-state').textContent);"
            ),
        );
        assert_eq!(&shown, state_after(&t, last), "{page:?}");
        lassos += usize::from(t.trace.loop_start.is_some());
        if t.trace.loop_start.is_some() {
            let png = tab
                .capture_screenshot(Page::CaptureScreenshotFormatOption::Png, None, None, true)
                .unwrap();
            std::fs::write(page.with_extension("png"), png).unwrap();
        }
    }
    assert!(lassos >= 1);
}

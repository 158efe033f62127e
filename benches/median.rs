//! Reading criterion's results back, for the ratios the benches print after their groups.

/// The median time, in nanoseconds, criterion recorded for benchmark `group/id`.
pub fn median_ns(group: &str, id: &str) -> Option<f64> {
    let path = format!("target/criterion/{group}/{id}/new/estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v["median"]["point_estimate"].as_f64()
}

//! The output of a run: one JSON object for machines (stdout, keys of docs/bench.md, in
//! their order, then the optional W4 and scale keys), and a human table on stderr. Rates
//! are rounded to one decimal, milliseconds to three.

use serde_json::{Map, Value};

use super::workloads::Rates;

/// Everything a run measured, in output order.
#[derive(Debug, Default)]
pub struct Report {
    fields: Vec<(String, Value)>,
    /// Human rows: (label, value text).
    rows: Vec<(String, String)>,
}

fn round(x: f64, digits: i32) -> Value {
    let p = 10f64.powi(digits);
    let r = (x * p).round() / p;
    serde_json::Number::from_f64(r).map_or(Value::Null, Value::Number)
}

impl Report {
    /// A report for `backend` at `durability`.
    pub fn new(backend: &str, durability: &str) -> Self {
        let mut r = Report::default();
        r.text("impl", "adk-sessions");
        r.text("backend", backend);
        r.text("durability", durability);
        r
    }

    /// A text field (shown in the table too).
    pub fn text(&mut self, key: &str, value: &str) {
        self.fields.push((key.into(), Value::from(value)));
        self.rows.push((key.into(), value.into()));
    }

    /// A rate in operations per second.
    pub fn rate(&mut self, key: &str, per_s: f64) {
        self.fields.push((key.into(), round(per_s, 1)));
        self.rows.push((key.into(), format!("{per_s:>12.1} /s")));
    }

    /// A duration in milliseconds.
    pub fn millis(&mut self, key: &str, ms: f64) {
        self.fields.push((key.into(), round(ms, 3)));
        self.rows.push((key.into(), format!("{ms:>12.3} ms")));
    }

    /// A ratio (dimensionless).
    pub fn ratio(&mut self, key: &str, r: f64) {
        self.fields.push((key.into(), round(r, 3)));
        self.rows.push((key.into(), format!("{r:>12.3} x")));
    }

    /// A count.
    pub fn count(&mut self, key: &str, n: u64) {
        self.fields.push((key.into(), Value::from(n)));
        self.rows.push((key.into(), format!("{n:>12}")));
    }

    /// The W1–W3 keys of docs/bench.md.
    pub fn workloads(&mut self, r: &Rates) {
        self.rate("w1_create_per_s", r.w1_create);
        self.rate("w1_append_per_s", r.w1_append);
        self.rate("w1_get_per_s", r.w1_get);
        self.rate("w1_recent_per_s", r.w1_recent);
        self.rate("w1_list_per_s", r.w1_list);
        self.rate("w2_append_per_s", r.w2_append);
        self.millis("w2_get_ms", r.w2_get_ms);
        self.rate("w3_append_per_s", r.w3_append);
    }

    /// The JSON object, as text with its keys in output order (whatever the `serde_json`
    /// map type).
    pub fn to_json_text(&self) -> String {
        let parts: Vec<String> = self
            .fields
            .iter()
            .map(|(k, v)| format!("{}:{}", Value::from(k.as_str()), v))
            .collect();
        format!("{{{}}}", parts.join(","))
    }

    /// The JSON object.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        for (k, v) in &self.fields {
            m.insert(k.clone(), v.clone());
        }
        Value::Object(m)
    }

    /// The human table.
    pub fn table(&self) -> String {
        let width = self.rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        let mut out = String::new();
        for (k, v) in &self.rows {
            out.push_str(&format!("  {k:<width$}  {v}\n"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_keep_their_order_and_rates_are_rounded() {
        let mut r = Report::new("memory", "none");
        r.rate("w1_create_per_s", 1234.5678);
        let text = r.to_json_text();
        assert!(text.starts_with(r#"{"impl":"adk-sessions","backend":"memory","durability":"none","w1_create_per_s":1234.6"#), "{text}");
        let j: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(j, r.to_json());
        assert!(r.table().contains("w1_create_per_s"));
    }
}

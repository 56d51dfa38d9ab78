//! Configuration text (rule sets, report specs) in JSON, YAML or TOML, read into one JSON value so each
//! caller can deserialise it part by part and name the part that is wrong.

use serde_json::Value;

use crate::error::{Error, Result};

/// Parses `text` in `format` (`json`, `yaml` / `yml` or `toml`); errors name `what`.
pub(crate) fn parse_value(text: &str, format: &str, what: &str) -> Result<Value> {
    let bad = |message: String| Error::config(what, message);
    match format {
        "json" => serde_json::from_str(text).map_err(|e| bad(e.to_string())),
        "yaml" | "yml" => serde_norway::from_str(text).map_err(|e| bad(e.to_string())),
        "toml" => toml::from_str(text).map_err(|e| bad(e.to_string())),
        other => Err(bad(format!("unknown format '{other}': use json, yaml or toml"))),
    }
}

//! TOML job configurations: loading, `--set dotted.key=value` overrides, and the job kinds.
//!
//! A config names its job with a top-level `kind`; the rest of the file is that job's table,
//! checked strictly (an unknown key is an error that names it, not a silently ignored typo).

use std::path::Path;

use anyhow::{anyhow, bail, Context as _, Result};
use serde::de::DeserializeOwned;

/// Reads a config file and applies the overrides in order.
pub fn load(path: &Path, sets: &[String]) -> Result<toml::Table> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading config {}", path.display()))?;
    let mut table: toml::Table =
        toml::from_str(&text).with_context(|| format!("parsing config {}", path.display()))?;
    for s in sets {
        apply_set(&mut table, s)?;
    }
    Ok(table)
}

/// Applies one `dotted.key=value` override. The value is read as TOML (`64`, `[32, 32]`,
/// `true`, `"text"`); anything that is not valid TOML is taken as a string.
pub fn apply_set(table: &mut toml::Table, assignment: &str) -> Result<()> {
    let (key, value) = assignment
        .split_once('=')
        .ok_or_else(|| anyhow!("--set {assignment:?}: expected key=value"))?;
    let key = key.trim();
    let value = value.trim();
    let parsed: toml::Value = match toml::from_str::<toml::Table>(&format!("v = {value}")) {
        Ok(mut t) => t.remove("v").expect("just parsed"),
        Err(_) => toml::Value::String(value.to_string()),
    };
    let parts: Vec<&str> = key.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        bail!("--set {assignment:?}: empty part in key {key:?}");
    }
    let mut current = table;
    for part in &parts[..parts.len() - 1] {
        let entry = current
            .entry(part.to_string())
            .or_insert_with(|| toml::Value::Table(Default::default()));
        current = entry
            .as_table_mut()
            .ok_or_else(|| anyhow!("--set {assignment:?}: {part:?} is not a table"))?;
    }
    current.insert(parts[parts.len() - 1].to_string(), parsed);
    Ok(())
}

/// The job kind a config names.
pub fn kind(table: &toml::Table) -> Result<String> {
    match table.get("kind") {
        Some(toml::Value::String(s)) => Ok(s.clone()),
        Some(other) => bail!("config key `kind` must be a string, found {other}"),
        None => bail!("config has no top-level `kind` (e.g. kind = \"poisson-demo\")"),
    }
}

/// The job's own settings: the table without `kind`, deserialised strictly.
pub fn job<T: DeserializeOwned>(table: &toml::Table) -> Result<T> {
    let mut rest = table.clone();
    rest.remove("kind");
    rest.try_into()
        .map_err(|e: toml::de::Error| anyhow!("config: {}", e.message()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_overrides_nested_keys_and_types() {
        let mut t: toml::Table = toml::from_str("kind = \"x\"\n[grid]\nn = [8, 8]\n").unwrap();
        apply_set(&mut t, "grid.n=[16, 16, 16]").unwrap();
        apply_set(&mut t, "poisson.kappa = 2.5").unwrap();
        apply_set(&mut t, "name=hello world").unwrap();
        assert_eq!(t["grid"]["n"].as_array().unwrap().len(), 3);
        assert_eq!(t["poisson"]["kappa"].as_float(), Some(2.5));
        assert_eq!(t["name"].as_str(), Some("hello world"));
        assert!(apply_set(&mut t, "novalue").is_err());
        assert!(apply_set(&mut t, "kind.x=1").is_err());
        assert!(apply_set(&mut t, "a..b=1").is_err());
    }
}

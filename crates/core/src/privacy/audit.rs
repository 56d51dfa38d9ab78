//! The audit log: who generated which report for which role, who erased which account, when, and the
//! SHA-256 of every output, as JSON lines appended to a file (or kept in memory).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// One audited action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// When.
    pub at: DateTime<Utc>,
    /// Who (the host application's user or service name).
    pub actor: String,
    /// The role the action was done for.
    pub role: String,
    /// `report` or `erasure`.
    pub action: String,
    /// What: the template id and filters of a report; the keyed hash token of an erased account.
    pub target: String,
    /// For a report: each output file's name with the SHA-256 of its bytes.
    #[serde(default)]
    pub outputs: Vec<(String, String)>,
}

/// An append-only audit log.
#[derive(Debug)]
pub struct AuditLog {
    path: Option<PathBuf>,
    entries: Mutex<Vec<AuditEntry>>,
}

/// SHA-256 of bytes as hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

impl AuditLog {
    /// A log kept in memory only.
    pub fn in_memory() -> Self {
        Self { path: None, entries: Mutex::new(Vec::new()) }
    }

    /// A log appended to `path` (created if missing; earlier entries are read back).
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let mut entries = Vec::new();
        if path.exists() {
            let text = std::fs::read_to_string(&path).map_err(|e| Error::io(path.display(), e))?;
            for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
                let entry = serde_json::from_str(line).map_err(|e| {
                    Error::invalid(format!("audit log {}, line {}", path.display(), i + 1), e.to_string())
                })?;
                entries.push(entry);
            }
        }
        Ok(Self { path: Some(path), entries: Mutex::new(entries) })
    }

    /// Appends an entry (and writes it through to the file).
    pub fn record(&self, entry: AuditEntry) -> Result<()> {
        if let Some(path) = &self.path {
            let mut line = serde_json::to_string(&entry)?;
            line.push('\n');
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| Error::io(path.display(), e))?;
            file.write_all(line.as_bytes()).map_err(|e| Error::io(path.display(), e))?;
        }
        self.entries.lock().map_err(|_| Error::Internal("audit log lock poisoned".into()))?.push(entry);
        Ok(())
    }

    /// Every entry so far, oldest first.
    pub fn entries(&self) -> Result<Vec<AuditEntry>> {
        Ok(self.entries.lock().map_err(|_| Error::Internal("audit log lock poisoned".into()))?.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_matches_fips_180_example() {
        // FIPS 180-2 appendix B.1: "abc".
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn entries_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let entry = AuditEntry {
            at: DateTime::from_timestamp(0, 0).unwrap(),
            actor: "ci".into(),
            role: "executive".into(),
            action: "report".into(),
            target: "executive".into(),
            outputs: vec![("a.pdf".into(), sha256_hex(b"x"))],
        };
        AuditLog::open(&path).unwrap().record(entry.clone()).unwrap();
        assert_eq!(AuditLog::open(&path).unwrap().entries().unwrap(), vec![entry]);
    }
}

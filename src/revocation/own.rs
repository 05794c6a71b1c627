//! Vietnam's own revocations (`dcc-gateway revoke`): stored in `<data_dir>/revocations/` as
//! EU batch files (one per hash type of a revocation, `<id>-<type>.json`), so that `serve`
//! ingests them through its `vn-revocations` source like any revocation folder; an undone
//! revocation leaves a tombstone (`<id>.undone`) so the publication lists its batches as
//! deleted. Every action appends an audit line to `audit.log` (when, who, action, id, reason,
//! the first 8 hex digits of each hash — never the holder's data).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::hcert::revocation::{Hash, HashType, Keys};

/// The folder of Vietnam's own revocations under a data directory.
pub fn dir(data_dir: &Path) -> PathBuf {
    data_dir.join("revocations")
}

/// What to revoke.
#[derive(Debug, Clone)]
pub struct Request {
    /// The certificate's hashes and, for a QR, its kid and expiry.
    pub keys: Keys,
    pub kid: Option<[u8; 8]>,
    pub expires: OffsetDateTime,
    pub reason: String,
    pub by: String,
}

/// One audit line.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Audit {
    pub at: String,
    pub by: String,
    pub action: String,
    pub id: String,
    pub reason: String,
    pub hashes: Vec<String>,
}

/// A revocation as `revoke --list` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Listed {
    pub id: String,
    pub at: String,
    pub by: String,
    pub reason: String,
    pub undone: bool,
    pub batches: Vec<String>,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> String + '_ {
    move |e| format!("{}: {e}", path.display())
}

fn audit(dir: &Path, line: &Audit) -> Result<(), String> {
    use std::io::Write;
    let path = dir.join("audit.log");
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(io(&path))?;
    let text = serde_json::to_string(line).map_err(|e| e.to_string())?;
    writeln!(file, "{text}").map_err(io(&path))?;
    tracing::info!(action = %line.action, id = %line.id, by = %line.by, hashes = ?line.hashes, "revocation audit");
    Ok(())
}

fn prefix(h: &Hash) -> String {
    crate::util::hex(h.get(..4).unwrap_or_default())
}

/// Records a revocation: one batch per hash type the request has; returns its id.
pub fn revoke(data_dir: &Path, req: &Request, now: OffsetDateTime) -> Result<String, String> {
    let dir = dir(data_dir);
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let stamp = now.unix_timestamp_nanos() / 1_000_000;
    let id = format!("vn-{stamp}");
    let mut hashes = Vec::new();
    let groups: [(HashType, Vec<Hash>); 3] = [
        (HashType::Uci, req.keys.uci.into_iter().collect()),
        (HashType::CountryCodeUci, req.keys.country_uci.clone()),
        (
            HashType::Signature,
            req.keys.signature.into_iter().collect(),
        ),
    ];
    for (hash_type, list) in groups {
        if list.is_empty() {
            continue;
        }
        let batch = crate::revocation::Batch {
            id: format!("{id}-{}", hash_type.name().to_ascii_lowercase()),
            country: "VN".into(),
            expires: req.expires,
            // Country-scoped when the kid is unknown (a UVCI alone).
            kid: req.kid,
            hash_type,
            hashes: list.clone(),
            source: "vn-revocations".into(),
        };
        let path = dir.join(format!("{}.json", batch.id));
        crate::util::write_atomic(&path, crate::revocation::to_json(&batch).as_bytes())
            .map_err(io(&path))?;
        hashes.extend(
            list.iter()
                .map(|h| format!("{}:{}", hash_type.name(), prefix(h))),
        );
    }
    if hashes.is_empty() {
        return Err("the certificate yields no revocation hash (no ci?)".into());
    }
    audit(
        &dir,
        &Audit {
            at: crate::util::rfc3339(now),
            by: req.by.clone(),
            action: "revoke".into(),
            id: id.clone(),
            reason: req.reason.chars().take(500).collect(),
            hashes,
        },
    )?;
    Ok(id)
}

/// Undoes revocation `id`: its batches are removed (and listed as deleted to partners).
pub fn undo(data_dir: &Path, id: &str, by: &str, now: OffsetDateTime) -> Result<(), String> {
    let dir = dir(data_dir);
    let safe = id.starts_with("vn-") && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !safe {
        return Err(format!("{id:?} is not a revocation id (see revoke --list)"));
    }
    let mut removed = Vec::new();
    for entry in std::fs::read_dir(&dir).map_err(io(&dir))?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(&format!("{id}-")) && name.ends_with(".json") {
            std::fs::remove_file(entry.path()).map_err(io(&entry.path()))?;
            removed.push(name.trim_end_matches(".json").to_owned());
        }
    }
    if removed.is_empty() {
        return Err(format!("no revocation {id}"));
    }
    let tombstone = dir.join(format!("{id}.undone"));
    crate::util::write_atomic(&tombstone, removed.join("\n").as_bytes()).map_err(io(&tombstone))?;
    audit(
        &dir,
        &Audit {
            at: crate::util::rfc3339(now),
            by: by.to_owned(),
            action: "undo".into(),
            id: id.to_owned(),
            reason: String::new(),
            hashes: Vec::new(),
        },
    )
}

/// Every revocation of the audit log, newest last.
pub fn list(data_dir: &Path) -> Result<Vec<Listed>, String> {
    let dir = dir(data_dir);
    let path = dir.join("audit.log");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let mut out: Vec<Listed> = Vec::new();
    for line in text
        .lines()
        .filter_map(|l| serde_json::from_str::<Audit>(l).ok())
    {
        match line.action.as_str() {
            "revoke" => out.push(Listed {
                id: line.id.clone(),
                at: line.at,
                by: line.by,
                reason: line.reason,
                undone: false,
                batches: Vec::new(),
            }),
            "undo" => {
                if let Some(r) = out.iter_mut().find(|r| r.id == line.id) {
                    r.undone = true;
                }
            }
            _ => {}
        }
    }
    for r in &mut out {
        r.batches = std::fs::read_dir(&dir)
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.starts_with(&format!("{}-", r.id)) && n.ends_with(".json"))
                    .map(|n| n.trim_end_matches(".json").to_owned())
                    .collect()
            })
            .unwrap_or_default();
        r.batches.sort();
    }
    Ok(out)
}

/// Batch ids of undone revocations, with when they were undone (for the publication's
/// deletions).
pub fn deleted(data_dir: &Path) -> Vec<(String, OffsetDateTime)> {
    let dir = dir(data_dir);
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "undone") {
            continue;
        }
        let at = entry
            .metadata()
            .and_then(|m| m.modified())
            .map(OffsetDateTime::from)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        for id in std::fs::read_to_string(&path).unwrap_or_default().lines() {
            out.push((id.to_owned(), at));
        }
    }
    out
}

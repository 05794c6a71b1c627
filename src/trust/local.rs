//! Loading trust material from the local `trust-lists/` tree (the offline default).
//!
//! Every `*.pem`, `*.crt` or `*.der` file below the directory is read as one or more DSCs
//! (trusted by configuration); the DSC's `source` is the directory it sits in, relative to the
//! root (e.g. `VN`, `partners/DE`). Unreadable or invalid files are reported and skipped: one
//! bad file never hides the others. Bounded: at most 10 000 files of at most 1 MiB each.

use std::path::{Path, PathBuf};

use crate::trust::model::Dsc;

const MAX_FILES: usize = 10_000;
const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// A file that could not be loaded, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub path: PathBuf,
    pub reason: String,
}

/// Loads every certificate below `root`.
pub fn load_dir(root: &Path) -> (Vec<Dsc>, Vec<Skipped>) {
    let mut dscs = Vec::new();
    let mut skipped = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    let mut files = 0usize;
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut entries: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let ext = path
                .extension()
                .and_then(|e| e.to_str())
                .unwrap_or_default();
            if !matches!(ext, "pem" | "crt" | "der") {
                continue;
            }
            files += 1;
            if files > MAX_FILES {
                skipped.push(Skipped {
                    path,
                    reason: "too many files".into(),
                });
                return (dscs, skipped);
            }
            let source = path
                .parent()
                .and_then(|p| p.strip_prefix(root).ok())
                .map(|p| p.to_string_lossy().replace('\\', "/"))
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "local".to_owned());
            match std::fs::metadata(&path) {
                Ok(m) if m.len() > MAX_FILE_BYTES => {
                    skipped.push(Skipped {
                        path,
                        reason: "file larger than 1 MiB".into(),
                    });
                    continue;
                }
                Err(e) => {
                    skipped.push(Skipped {
                        path,
                        reason: e.to_string(),
                    });
                    continue;
                }
                Ok(_) => {}
            }
            match std::fs::read(&path)
                .map_err(|e| e.to_string())
                .and_then(|b| Dsc::from_pem_or_der(&b, &source).map_err(|e| e.to_string()))
            {
                Ok(loaded) => dscs.extend(loaded),
                Err(reason) => skipped.push(Skipped { path, reason }),
            }
        }
    }
    (dscs, skipped)
}
